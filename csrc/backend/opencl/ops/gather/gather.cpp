#include "backend/opencl/ops/gather/gather.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "gather";

}  // namespace

void gather(KernelCache& cache, Stream& stream, GatherMode mode, int axis, const DeviceTensor& data,
            const DeviceTensor& indices, const DeviceTensor& out) {
  const std::size_t rank = data.shape.rank();
  if (axis < 0 || static_cast<std::size_t>(axis) >= rank) {
    throw InvalidArgument(std::string(kLauncher) + ": axis " + std::to_string(axis) + " is outside data " +
                          data.shape.toString());
  }
  if (indices.type != DataType::kINT32 && indices.type != DataType::kINT64) {
    throw InvalidArgument(std::string(kLauncher) + ": indices have type " + dataTypeName(indices.type) +
                          "; expected INT32 or INT64");
  }
  if (out.type != data.type) throw InvalidArgument(std::string(kLauncher) + ": data and output types differ");
  checkPlacement(cache, kLauncher, "data", data);
  checkPlacement(cache, kLauncher, "indices", indices);
  const std::int64_t total = checkPlacement(cache, kLauncher, "output", out);
  const std::string options = joinOptions({bitsElementOption(kLauncher, elementSize(data.type)),
                                           indices.type == DataType::kINT64 ? "-DINDEX=long" : "-DINDEX=int"});
  const auto a = static_cast<std::size_t>(axis);
  if (mode == GatherMode::kELEMENT) {
    if (indices.shape != out.shape || indices.shape.rank() != rank) {
      throw InvalidArgument(std::string(kLauncher) + ": GatherElements needs indices " + indices.shape.toString() +
                            " and output " + out.shape.toString() + " of one shape and data's rank");
    }
    if (total == 0) return;
    Kernel& kernel = cache.get("gather", options, "gather_elements");
    Arguments(kernel, true)
        .tensor(data).tensor(indices).tensor(out)
        .value<cl_long>(total)
        .value<cl_int>(static_cast<cl_int>(rank))
        .value<cl_int>(static_cast<cl_int>(rank - 1 - a))  // innermost-first numbering
        .value(innermostFirst<cl_long8, std::int64_t>(out.shape.extents(), 1))
        .value(innermostFirst<cl_long8, std::int64_t>(data.shape.extents(), 1));
    launchLinear(kernel, stream, total);
    return;
  }
  std::int64_t outer = 1, inner = 1;
  for (std::size_t k = 0; k < a; ++k) outer *= data.shape[k];
  for (std::size_t k = a + 1; k < rank; ++k) inner *= data.shape[k];
  const std::int64_t count = indices.shape.volume();
  if (outer * count * inner != total) {
    throw InvalidArgument(std::string(kLauncher) + ": output " + out.shape.toString() + " does not hold data " +
                          data.shape.toString() + " gathered with indices " + indices.shape.toString());
  }
  if (total == 0) return;
  Kernel& kernel = cache.get("gather", options, "gather_default");
  Arguments(kernel, true)
      .tensor(data).tensor(indices).tensor(out)
      .value<cl_long>(total)
      .value<cl_long>(data.shape[a])
      .value<cl_long>(count)
      .value<cl_long>(inner);
  launchLinear(kernel, stream, total);
}

}  // namespace mlprt::cl
