// Local response normalization (lrn.cl beside this file) of FLOAT or HALF tensors (N, C, ...).
#pragma once

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// out = in / (k + alpha / window * sum of in^2 over `window` neighbouring channels)^beta.
void localResponseNormalization(KernelCache& cache, Stream& stream, std::int64_t window, float alpha, float beta,
                                float k, const DeviceTensor& in, const DeviceTensor& out);

}  // namespace mlprt::cl
