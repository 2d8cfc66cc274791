// TopK (topk.cl beside this file): the indices of the k largest or smallest elements along one
// axis, for FLOAT, HALF, INT32 and INT64 data.
#pragma once

#include "backend/opencl/kernels.h"
#include "core/operations.h"

namespace mlprt::cl {

// indices (INT32, data's shape with k along `axis`) = the positions along `axis` of the k
// largest (kMAX) or smallest (kMIN) elements of each line of data along it, in that order; equal
// values keep their order along the axis, and NaN ranks above every number.
void topK(KernelCache& cache, Stream& stream, TopKOperation operation, int axis, const DeviceTensor& data,
          const DeviceTensor& indices);

}  // namespace mlprt::cl
