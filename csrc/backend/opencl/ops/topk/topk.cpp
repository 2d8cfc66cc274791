#include "backend/opencl/ops/topk/topk.h"

#include <limits>

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "topK";

}  // namespace

void topK(KernelCache& cache, Stream& stream, TopKOperation operation, int axis, const DeviceTensor& data,
          const DeviceTensor& indices) {
  const std::size_t rank = data.shape.rank();
  const auto a = static_cast<std::size_t>(normalizeAxis(kLauncher, axis, rank));
  if (data.type != DataType::kFLOAT && data.type != DataType::kHALF && data.type != DataType::kINT32 &&
      data.type != DataType::kINT64) {
    throw InvalidArgument(describe(kLauncher, "data") + " has type " + dataTypeName(data.type) +
                          "; expected FLOAT, HALF, INT32 or INT64");
  }
  if (indices.type != DataType::kINT32) {
    throw InvalidArgument(describe(kLauncher, "indices") + " have type " + dataTypeName(indices.type) + "; expected INT32");
  }
  checkPlacement(cache, kLauncher, "data", data);
  const std::int64_t total = checkPlacement(cache, kLauncher, "indices", indices);
  const std::int64_t extent = data.shape[a];
  const std::int64_t k = indices.shape.rank() == rank ? indices.shape[a] : -1;
  bool fits = k >= 1 && k <= extent && extent <= std::numeric_limits<std::int32_t>::max();
  for (std::size_t i = 0; fits && i < rank; ++i) fits = i == a || indices.shape[i] == data.shape[i];
  if (!fits) {
    throw InvalidArgument(std::string(kLauncher) + ": indices " + indices.shape.toString() + " are not data " +
                          data.shape.toString() + " with 1 to " + std::to_string(extent) + " elements along axis " +
                          std::to_string(a));
  }
  if (total == 0) return;
  std::int64_t inner = 1;
  for (std::size_t i = a + 1; i < rank; ++i) inner *= data.shape[i];
  const std::int64_t lines = total / k;
  const std::string options =
      joinOptions({storageOption("IN", data.type), operation == TopKOperation::kMIN ? "-DSMALLEST" : ""});
  Kernel& kernel = cache.get("topk", options, "topk");
  Arguments(kernel, true)
      .tensor(data).tensor(indices)
      .value<cl_long>(lines)
      .value<cl_long>(extent)
      .value<cl_long>(inner)
      .value<cl_int>(static_cast<cl_int>(k));
  launchLinear(kernel, stream, lines);
}

}  // namespace mlprt::cl
