// Axis ranges (axis_range.cl beside this file): 0, 1, ..., n - 1 where n is one axis's extent of a
// tensor whose values are not read. The ONNX parser makes position indices (Range over a run-time
// sequence length) and the carriers of run-time extents with them; as they read no data, an
// execution context computes them once per set of input shapes.
#pragma once

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// out (n) of FLOAT, HALF, INT32 or INT64 = 0, 1, ..., n - 1, n = shape[axis] (axis in [0, rank)).
void axisRange(KernelCache& cache, Stream& stream, const Dims& shape, int axis, const DeviceTensor& out);

}  // namespace mlprt::cl
