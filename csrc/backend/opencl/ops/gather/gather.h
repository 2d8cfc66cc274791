// Gather kernels (gather.cl beside this file): ONNX's Gather and GatherElements on any element
// type, with INT32 or INT64 indices.
#pragma once

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// kDEFAULT: out = data[..., indices, ...] along `axis` (out's shape: data's before the axis, the
// indices', data's after it). kELEMENT: out[p] = data[p with p[axis] = indices[p]] (out, indices
// of one shape, data of the same rank). Negative indices count from the end; indices outside
// the axis give zero bits.
void gather(KernelCache& cache, Stream& stream, GatherMode mode, int axis, const DeviceTensor& data,
            const DeviceTensor& indices, const DeviceTensor& out);

}  // namespace mlprt::cl
