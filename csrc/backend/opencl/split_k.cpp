#include "backend/opencl/split_k.h"

#include <algorithm>

namespace mlprt::cl {
namespace {

// Work-groups a split launch aims for: two per compute unit.
std::int64_t wantedWorkGroups(std::uint32_t compute_units) { return 2 * static_cast<std::int64_t>(compute_units); }

}  // namespace

std::int64_t splitKSlices(std::int64_t blocks, std::int64_t k_tiles, std::uint32_t compute_units) {
  constexpr std::int64_t kMinTilesPerSlice = 4;
  const std::int64_t wanted = wantedWorkGroups(compute_units);
  if (blocks <= 0 || blocks >= wanted) return 1;
  const std::int64_t most = std::max<std::int64_t>(1, k_tiles / kMinTilesPerSlice);
  return std::min((wanted + blocks - 1) / blocks, most);
}

std::size_t splitKWorkspaceBound(std::size_t block_elements, std::uint32_t compute_units) {
  // splits <= ceil(wanted / blocks) with blocks < wanted, so blocks x splits < 2 x wanted.
  return static_cast<std::size_t>(2 * wantedWorkGroups(compute_units)) * block_elements * sizeof(float);
}

}  // namespace mlprt::cl
