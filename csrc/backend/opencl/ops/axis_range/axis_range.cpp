#include "backend/opencl/ops/axis_range/axis_range.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "axis_range";

}  // namespace

void axisRange(KernelCache& cache, Stream& stream, const Dims& shape, int axis, const DeviceTensor& out) {
  const DataType type = out.type;
  if (type != DataType::kFLOAT && type != DataType::kHALF && type != DataType::kINT32 && type != DataType::kINT64) {
    throw InvalidArgument(describe(kLauncher, "output") + " has type " + dataTypeName(type) +
                          "; expected FLOAT, HALF, INT32 or INT64");
  }
  const auto a = static_cast<std::size_t>(normalizeAxis(kLauncher, axis, shape.rank()));
  const Dims expected{shape[a]};
  if (out.shape != expected) {
    throw InvalidArgument(describe(kLauncher, "output") + " shape " + out.shape.toString() + " is not " +
                          expected.toString() + ", the extent of axis " + std::to_string(a) + " of " + shape.toString());
  }
  const std::int64_t count = checkPlacement(cache, kLauncher, "output", out);
  if (count == 0) return;
  Kernel& kernel = cache.get("axis_range", storageOption("OUT", type), "axis_range");
  Arguments(kernel, true).tensor(out).value<cl_long>(count);
  launchLinear(kernel, stream, count);
}

}  // namespace mlprt::cl
