#include "backend/opencl/ops/lrn/lrn.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {

using namespace support;

void localResponseNormalization(KernelCache& cache, Stream& stream, std::int64_t window, float alpha, float beta,
                                float k, const DeviceTensor& in, const DeviceTensor& out) {
  constexpr const char* kLauncher = "lrn";
  requireFloating(kLauncher, "input", in);
  requireFloating(kLauncher, "output", out);
  requireSameShape(kLauncher, "output", out, in, "input");
  if (in.shape.rank() < 2) throw InvalidArgument(std::string(kLauncher) + ": the input needs a channel axis (N, C, ...)");
  if (window <= 0) throw InvalidArgument(std::string(kLauncher) + ": window " + std::to_string(window) + " must be positive");
  checkPlacement(cache, kLauncher, "input", in);
  const std::int64_t volume = checkPlacement(cache, kLauncher, "output", out);
  if (volume == 0) return;
  std::int64_t plane = 1;
  for (std::size_t axis = 2; axis < in.shape.rank(); ++axis) plane *= in.shape[axis];
  Kernel& kernel = cache.get("lrn", joinOptions({halfOption("IN", in.type), halfOption("OUT", out.type)}), "lrn");
  Arguments(kernel, true)
      .tensor(in).tensor(out)
      .value<cl_long>(volume)
      .value<cl_int>(static_cast<cl_int>(in.shape[1]))
      .value<cl_long>(plane)
      .value<cl_int>(static_cast<cl_int>(window))
      .value<cl_float>(alpha).value<cl_float>(beta).value<cl_float>(k);
  launchLinear(kernel, stream, volume);
}

}  // namespace mlprt::cl
