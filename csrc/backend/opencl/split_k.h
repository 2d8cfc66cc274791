// Split K across work-groups, shared by the products (gemm_mma.cpp) and the convolutions (the
// implicit-GEMM and tensor-core tiles): how many slices of K a launch of few blocks runs in, and
// the most workspace their partial blocks can need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// The slices of K (`k_tiles` tiles deep) a launch of `blocks` work-groups runs in, enough for
// `groups_per_unit` work-groups per compute unit (two for the tiles; more for kernels bound by
// memory), each slice at least four tiles of K; 1 for launches whose blocks fill the device already.
std::int64_t splitKSlices(std::int64_t blocks, std::int64_t k_tiles, std::uint32_t compute_units,
                          std::int64_t groups_per_unit = 2);
// The smallest K that splitKSlices can cut in two slices, for tiles of `k_step` along K: below
// it a split tile runs one slice, the unsplit kernel's work with a second program to compile.
std::int64_t smallestSplittableK(std::int64_t k_step);
// The most workspace a split tile of `block_elements` outputs needs for any launch: slices are only
// added while blocks x slices stays under twice the work-groups wanted, so the bound depends on
// the device, not the shapes.
std::size_t splitKWorkspaceBound(std::size_t block_elements, std::uint32_t compute_units,
                                 std::int64_t groups_per_unit = 2);

// The workspace a split launch of `tactic` stores its partial blocks in, checked: FLOAT, at least
// `bytes`, at an even element (the kernels store pairs of floats). A refusal says "<launcher>:
// tactic '<tactic>' runs this <operation> in <splits> slices of K and needs <bytes> bytes of
// workspace" and what was given instead.
const DeviceTensor& checkSplitWorkspace(const KernelCache& cache, const char* launcher, const std::string& tactic,
                                        const char* operation, const DeviceTensor* workspace, std::size_t bytes,
                                        std::int64_t splits);

}  // namespace mlprt::cl
