// Scatter kernels (scatter.cl beside this file): ONNX's ScatterElements and ScatterND, with their
// reductions, on any element type (the reductions on numbers), with INT32 or INT64 indices.
#pragma once

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// out = data with `updates` written at `indices` (see mlprt::ScatterMode; `axis` for kELEMENT),
// combined by `reduction` in the updates' order. Negative indices count from the end; an update
// whose index lies outside its axis is dropped. out may not alias data, indices or updates.
void scatter(KernelCache& cache, Stream& stream, ScatterMode mode, int axis, ScatterReduction reduction,
             const DeviceTensor& data, const DeviceTensor& indices, const DeviceTensor& updates,
             const DeviceTensor& out);

}  // namespace mlprt::cl
