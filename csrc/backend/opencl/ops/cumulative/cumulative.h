// Cumulative kernels (cumulative.cl beside this file): ONNX's CumSum on FLOAT, HALF, INT32 and
// INT64.
#pragma once

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// out = the running sums of `in` along `axis` (out of in's shape and type); `exclusive` leaves
// each element out of its own sum, `reverse` sums from the end of the axis.
void cumulative(KernelCache& cache, Stream& stream, CumulativeOperation op, int axis, bool exclusive, bool reverse,
                const DeviceTensor& in, const DeviceTensor& out);

}  // namespace mlprt::cl
