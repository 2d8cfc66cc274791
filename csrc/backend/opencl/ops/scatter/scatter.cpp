#include "backend/opencl/ops/scatter/scatter.h"

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "scatter";

void checkOperands(const KernelCache& cache, ScatterReduction reduction, const DeviceTensor& data,
                   const DeviceTensor& indices, const DeviceTensor& updates, const DeviceTensor& out) {
  if (indices.type != DataType::kINT32 && indices.type != DataType::kINT64) {
    throw InvalidArgument(describe(kLauncher, "indices") + " have type " + dataTypeName(indices.type) +
                          "; expected INT32 or INT64");
  }
  if (updates.type != data.type || out.type != data.type) {
    throw InvalidArgument(std::string(kLauncher) + ": data, updates and output types differ");
  }
  if (reduction != ScatterReduction::kNONE && data.type == DataType::kBOOL) {
    throw InvalidArgument(describe(kLauncher, "data") + " has type BOOL; a reduction needs numbers");
  }
  if (out.shape != data.shape) {
    throw InvalidArgument(describe(kLauncher, "output") + " " + out.shape.toString() + " is not data's shape " +
                          data.shape.toString());
  }
  checkPlacement(cache, kLauncher, "data", data);
  checkPlacement(cache, kLauncher, "indices", indices);
  checkPlacement(cache, kLauncher, "updates", updates);
  checkPlacement(cache, kLauncher, "output", out);
}

std::string storageOptions(const DeviceTensor& data, const DeviceTensor& indices) {
  return joinOptions({storageOption("OUT", data.type), indices.type == DataType::kINT64 ? "-DINDEX=long" : "-DINDEX=int"});
}

void scatterElements(KernelCache& cache, Stream& stream, int axis, ScatterReduction reduction,
                     const DeviceTensor& indices, const DeviceTensor& updates, const DeviceTensor& out) {
  const std::size_t rank = out.shape.rank();
  const auto a = static_cast<std::size_t>(normalizeAxis(kLauncher, axis, rank));
  bool fits = indices.shape == updates.shape && indices.shape.rank() == rank;
  for (std::size_t k = 0; fits && k < rank; ++k) fits = k == a || indices.shape[k] <= out.shape[k];
  if (!fits) {
    throw InvalidArgument(std::string(kLauncher) + ": ELEMENT mode needs indices " + indices.shape.toString() +
                          " and updates " + updates.shape.toString() + " of one shape, of data " +
                          out.shape.toString() + "'s rank and no larger off axis " + std::to_string(a));
  }
  const std::int64_t extent = updates.shape[a];
  if (updates.shape.volume() == 0) return;
  const std::int64_t lines = updates.shape.volume() / extent;
  Kernel& kernel = cache.get("scatter", storageOptions(out, indices), "scatter_elements");
  Arguments(kernel, true)
      .tensor(out).tensor(indices).tensor(updates)
      .value<cl_long>(lines)
      .value<cl_int>(static_cast<cl_int>(rank))
      .value<cl_int>(static_cast<cl_int>(rank - 1 - a))  // innermost-first numbering
      .value(innermostFirst<cl_long8, std::int64_t>(updates.shape.extents(), 1))
      .value(innermostFirst<cl_long8, std::int64_t>(out.shape.extents(), 1))
      .value<cl_int>(static_cast<cl_int>(reduction));
  launchLinear(kernel, stream, lines);
}

void scatterNd(KernelCache& cache, Stream& stream, ScatterReduction reduction, const DeviceTensor& indices,
               const DeviceTensor& updates, const DeviceTensor& out) {
  const std::size_t rank = out.shape.rank();
  const std::size_t index_rank = indices.shape.rank();
  const std::int64_t depth = index_rank == 0 ? 0 : indices.shape[index_rank - 1];
  if (depth < 1 || depth > static_cast<std::int64_t>(rank)) {
    throw InvalidArgument(std::string(kLauncher) + ": ND mode needs indices " + indices.shape.toString() +
                          " whose last extent is between 1 and data " + out.shape.toString() + "'s rank");
  }
  const auto d = static_cast<std::size_t>(depth);
  std::vector<std::int64_t> expected(indices.shape.extents().begin(), indices.shape.extents().end() - 1);
  expected.insert(expected.end(), out.shape.extents().begin() + static_cast<std::ptrdiff_t>(d), out.shape.extents().end());
  if (updates.shape != Dims(expected)) {
    throw InvalidArgument(std::string(kLauncher) + ": ND mode needs updates " + Dims(expected).toString() +
                          " for indices " + indices.shape.toString() + " and data " + out.shape.toString() + ", got " +
                          updates.shape.toString());
  }
  std::int64_t inner = 1;
  for (std::size_t k = d; k < rank; ++k) inner *= out.shape[k];
  const std::int64_t count = indices.shape.volume() / depth;
  if (count == 0 || inner == 0) return;
  // The tuple's extents outermost first; the kernel reads the first `depth`.
  std::vector<std::int64_t> leading(out.shape.extents().begin(), out.shape.extents().begin() + static_cast<std::ptrdiff_t>(d));
  leading.resize(8, 1);
  Kernel& kernel = cache.get("scatter", storageOptions(out, indices), "scatter_nd");
  Arguments(kernel, true)
      .tensor(out).tensor(indices).tensor(updates)
      .value<cl_long>(count)
      .value<cl_int>(static_cast<cl_int>(depth))
      .value<cl_long>(inner)
      .value(cl_long8{{leading[0], leading[1], leading[2], leading[3], leading[4], leading[5], leading[6], leading[7]}})
      .value<cl_int>(static_cast<cl_int>(reduction));
  launchLinear(kernel, stream, inner);
}

}  // namespace

void scatter(KernelCache& cache, Stream& stream, ScatterMode mode, int axis, ScatterReduction reduction,
             const DeviceTensor& data, const DeviceTensor& indices, const DeviceTensor& updates,
             const DeviceTensor& out) {
  checkOperands(cache, reduction, data, indices, updates, out);
  if (out.shape.volume() == 0) return;
  copyTransposed(cache, stream, data, {}, out);
  if (mode == ScatterMode::kELEMENT) {
    scatterElements(cache, stream, axis, reduction, indices, updates, out);
  } else {
    scatterNd(cache, stream, reduction, indices, updates, out);
  }
}

}  // namespace mlprt::cl
