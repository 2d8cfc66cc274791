// Cumulative kernels (cumulative.cl beside this file): ONNX's CumSum and CumProd on FLOAT, HALF,
// INT32 and INT64.
#pragma once

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// out = the running sums (kSUM) or products (kPROD) of `in` along `axis` (out of in's shape and
// type); `exclusive` leaves each element out of its own sum or product (the first is then 0 or 1),
// `reverse` runs from the end of the axis.
void cumulative(KernelCache& cache, Stream& stream, CumulativeOperation op, int axis, bool exclusive, bool reverse,
                const DeviceTensor& in, const DeviceTensor& out);

}  // namespace mlprt::cl
