// Large register-tiled GEMM kernels (kernels/gemm_large.cl). Being written: no variants yet.
#include "backend/opencl/gemm_launch.h"

namespace mlprt::cl {

std::vector<GemmVariant> largeTileGemmVariants() { return {}; }

}  // namespace mlprt::cl
