// Tensor-core GEMM kernels (kernels/gemm_mma.cl). Being written: no variants yet.
#include "backend/opencl/gemm_launch.h"

namespace mlprt::cl {

std::vector<GemmVariant> tensorCoreGemmVariants() { return {}; }

}  // namespace mlprt::cl
