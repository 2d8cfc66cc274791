// Pooling kernels (pooling.cl beside this file): max and average over windows of NCHW tensors
// with 1 or 2 spatial axes.
#pragma once

#include <vector>

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// Per spatial axis (1 or 2 entries, outermost first).
struct PoolingWindow {
  std::vector<std::int64_t> window;
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> dilation;
  std::vector<std::int64_t> pad_before;
  std::vector<std::int64_t> pad_after;  // with pad_before, the padded input an average counts
  bool exclude_padding = true;          // average over input elements only
};

// out (N, C, o...) = the max or average of each window of in (N, C, d...), of one floating type.
void pooling(KernelCache& cache, Stream& stream, PoolingType type, const DeviceTensor& in, const PoolingWindow& window,
             const DeviceTensor& out);

}  // namespace mlprt::cl
