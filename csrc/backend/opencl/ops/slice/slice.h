// Slice kernels (slice.cl beside this file): strided windows of any tensor with TensorRT's sample
// modes, which also make ONNX's Pad (constant, edge and reflect).
#pragma once

#include <vector>

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// out[i] = in[start + i * stride] per axis, coordinates outside `in` resolved by `mode`; `fill`
// holds one element of out's type (its bytes) for SampleMode::kFILL. in and out of one type;
// start and stride have one entry per axis (stride may be negative, not 0).
void slice(KernelCache& cache, Stream& stream, const DeviceTensor& in, const std::vector<std::int64_t>& start,
           const std::vector<std::int64_t>& stride, SampleMode mode, const std::vector<std::uint8_t>& fill,
           const DeviceTensor& out);

}  // namespace mlprt::cl
