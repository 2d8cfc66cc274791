#include "backend/opencl/ops/cumulative/cumulative.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "cumulative";

}  // namespace

void cumulative(KernelCache& cache, Stream& stream, CumulativeOperation op, int axis, bool exclusive, bool reverse,
                const DeviceTensor& in, const DeviceTensor& out) {
  if (op != CumulativeOperation::kSUM && op != CumulativeOperation::kPROD) {
    throw InvalidArgument(std::string(kLauncher) + ": unknown operation");
  }
  const DataType type = in.type;
  if (type != DataType::kFLOAT && type != DataType::kHALF && type != DataType::kINT32 && type != DataType::kINT64) {
    throw InvalidArgument(describe(kLauncher, "input") + " has type " + dataTypeName(type) +
                          "; expected FLOAT, HALF, INT32 or INT64");
  }
  if (out.type != type || out.shape != in.shape) {
    throw InvalidArgument(describe(kLauncher, "output") + " is not of the input's type and shape " + in.shape.toString());
  }
  const auto a = static_cast<std::size_t>(normalizeAxis(kLauncher, axis, in.shape.rank()));
  checkPlacement(cache, kLauncher, "input", in);
  const std::int64_t total = checkPlacement(cache, kLauncher, "output", out);
  if (total == 0) return;
  const std::int64_t extent = in.shape[a];
  std::int64_t inner = 1;
  for (std::size_t k = a + 1; k < in.shape.rank(); ++k) inner *= in.shape[k];
  const std::int64_t lines = total / extent;
  Kernel& kernel = cache.get("cumulative",
                             joinOptions({storageOption("IN", type), storageOption("OUT", type),
                                          op == CumulativeOperation::kPROD ? "-DPRODUCT" : ""}),
                             "cumulative_sum");
  Arguments(kernel, true)
      .tensor(in).tensor(out)
      .value<cl_long>(lines)
      .value<cl_long>(extent)
      .value<cl_long>(inner)
      .value<cl_int>(exclusive ? 1 : 0)
      .value<cl_int>(reverse ? 1 : 0);
  launchLinear(kernel, stream, lines);
}

}  // namespace mlprt::cl
