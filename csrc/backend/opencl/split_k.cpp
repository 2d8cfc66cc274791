#include "backend/opencl/split_k.h"

#include <algorithm>

#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {
namespace {

// Work-groups a split launch aims for.
std::int64_t wantedWorkGroups(std::uint32_t compute_units, std::int64_t groups_per_unit) {
  return groups_per_unit * static_cast<std::int64_t>(compute_units);
}

}  // namespace

namespace {
constexpr std::int64_t kMinTilesPerSlice = 4;
}  // namespace

std::int64_t smallestSplittableK(std::int64_t k_step) { return (2 * kMinTilesPerSlice - 1) * k_step + 1; }

std::int64_t splitKSlices(std::int64_t blocks, std::int64_t k_tiles, std::uint32_t compute_units,
                          std::int64_t groups_per_unit) {
  const std::int64_t wanted = wantedWorkGroups(compute_units, groups_per_unit);
  if (blocks <= 0 || blocks >= wanted) return 1;
  const std::int64_t most = std::max<std::int64_t>(1, k_tiles / kMinTilesPerSlice);
  return std::min((wanted + blocks - 1) / blocks, most);
}

std::size_t splitKWorkspaceBound(std::size_t block_elements, std::uint32_t compute_units,
                                 std::int64_t groups_per_unit) {
  // splits <= ceil(wanted / blocks) with blocks < wanted, so blocks x splits < 2 x wanted.
  return static_cast<std::size_t>(2 * wantedWorkGroups(compute_units, groups_per_unit)) * block_elements * sizeof(float);
}

const DeviceTensor& checkSplitWorkspace(const KernelCache& cache, const char* launcher, const std::string& tactic,
                                        const char* operation, const DeviceTensor* workspace, std::size_t bytes,
                                        std::int64_t splits) {
  const std::string what = std::string(launcher) + ": tactic '" + tactic + "' runs this " + operation + " in " +
                           std::to_string(splits) + " slices of K and needs " + std::to_string(bytes) +
                           " bytes of workspace";
  if (!workspace) throw InvalidArgument(what + "; none was given");
  const std::int64_t elements = support::checkPlacement(cache, launcher, "workspace", *workspace);
  const std::int64_t offset = support::elementOffset(*workspace);
  if (workspace->type != DataType::kFLOAT || static_cast<std::size_t>(elements) * sizeof(float) < bytes ||
      offset % 2 != 0) {
    throw InvalidArgument(what + "; the workspace given is " + workspace->shape.toString() + " " +
                          dataTypeName(workspace->type) + " at element " + std::to_string(offset));
  }
  return *workspace;
}

}  // namespace mlprt::cl
