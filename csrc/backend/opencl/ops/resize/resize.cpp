#include "backend/opencl/ops/resize/resize.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "resize";

const char* modeOption(InterpolationMode mode) {
  switch (mode) {
    case InterpolationMode::kNEAREST: return "-DMODE_NEAREST";
    case InterpolationMode::kLINEAR: return "-DMODE_LINEAR";
    case InterpolationMode::kCUBIC: return "-DMODE_CUBIC";
  }
  throw InvalidArgument(std::string(kLauncher) + ": unknown interpolation mode");
}

}  // namespace

void resize(KernelCache& cache, Stream& stream, const DeviceTensor& in, const std::vector<float>& scales,
            const ResizeSampling& sampling, const DeviceTensor& out) {
  const std::size_t rank = in.shape.rank();
  if (out.shape.rank() != rank || scales.size() != rank) {
    throw InvalidArgument(std::string(kLauncher) + ": input " + in.shape.toString() + ", output " +
                          out.shape.toString() + " and " + std::to_string(scales.size()) + " scales disagree in rank");
  }
  requireFloating(kLauncher, "input", in);
  requireFloating(kLauncher, "output", out);
  checkPlacement(cache, kLauncher, "input", in);
  const std::int64_t volume = checkPlacement(cache, kLauncher, "output", out);
  int resized = 0;
  for (std::size_t axis = 0; axis < rank; ++axis) {
    if (scales[axis] <= 0.0f) {
      throw InvalidArgument(std::string(kLauncher) + ": scale " + std::to_string(scales[axis]) + " on axis " +
                            std::to_string(axis) + " must be positive");
    }
    if (in.shape[axis] == 0 && out.shape[axis] > 0) {
      throw InvalidArgument(std::string(kLauncher) + ": axis " + std::to_string(axis) + " of the input is empty");
    }
    if (in.shape[axis] != out.shape[axis] || scales[axis] != 1.0f) ++resized;
  }
  if (resized > 3) {
    throw InvalidArgument(std::string(kLauncher) + ": " + std::to_string(resized) +
                          " axes change; at most 3 can be resized at once");
  }
  if (volume == 0) return;
  const bool wide = needsWideIndex({volume, in.shape.volume()});
  const std::string options = joinOptions(
      {halfOption("IN", in.type), halfOption("OUT", out.type), modeOption(sampling.mode), indexOption(wide)});
  Kernel& kernel = cache.get("resize", options, "resize");
  Arguments(kernel, wide)
      .tensor(in).tensor(out)
      .index(volume)
      .value<cl_int>(static_cast<cl_int>(rank))
      .vector(out.shape.extents())
      .vector(in.shape.extents())
      .value(innermostFirst<cl_float8, float>(scales, 1.0f))
      .value<cl_int>(static_cast<cl_int>(sampling.transform))
      .value<cl_int>(sampling.single_pixel == ResizeSelector::kUPPER ? 1 : 0)
      .value<cl_int>(static_cast<cl_int>(sampling.rounding))
      .value<cl_float>(sampling.cubic_coefficient)
      .value<cl_int>(sampling.exclude_outside ? 1 : 0);
  launchLinear(kernel, stream, volume);
}

}  // namespace mlprt::cl
