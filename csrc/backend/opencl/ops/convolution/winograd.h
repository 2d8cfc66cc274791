// Winograd convolution F(2x2, 3x3) (winograd.cl beside this file): 3x3 kernels at stride 1
// without dilation, one group. Three passes and a batched product: the input's 4x4 patches and the
// kernels are transformed into the workspace, 16 matrix products over the channels (by a GEMM
// tactic the convolution tactic names) give each tile's transformed outputs, and the last pass
// turns those into the output with the bias, residual and activation. 2.25 times fewer
// multiplications than the direct form, for the memory traffic of the transformed operands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// Convolution tactics "winograd_2x2:<GEMM tactic>": the GEMM tactic runs the 16 products.
inline constexpr const char* kWinogradPrefix = "winograd_2x2:";

// The GEMM tactic a Winograd tactic names, or "" for other tactics.
std::string winogradGemmTactic(const std::string& tactic);

// The Winograd tactics offered on this device for convolutions stored as `type` (FLOAT or HALF):
// the register-tiled GEMMs, and the tensor-core ones where they are offered (HALF; FLOAT where
// TF32 is allowed).
std::vector<std::string> winogradTactics(const Context& context, DataType type, const GemmPolicy& policy);

// Whether the Winograd tactics can run a convolution of this kernel extent, stride and dilation
// per spatial axis and these groups: 2-D, 3x3, stride 1, dilation 1, one group.
bool winogradRuns(const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& stride,
                  const std::vector<std::int64_t>& dilation, std::int64_t groups);

// The workspace bytes a Winograd tactic needs for in (N, C, H, W), kernel (M, C, 3, 3), out
// (N, M, OH, OW) stored as `type`: the transformed input, kernels and products.
std::size_t winogradWorkspaceBytes(const Dims& in, const Dims& kernel, const Dims& out, DataType type);

// out = activation(convolution(in, kernel) + bias + residual) by Winograd. Operands as
// convolution() (convolution.h) takes them, already checked there; the window's pad_before places
// the output. Refuses (InvalidArgument) what winogradRuns refuses and a missing or short workspace.
void winogradConvolution(KernelCache& cache, Stream& stream, const std::string& tactic, const DeviceTensor& in,
                         const DeviceTensor& kernel, const std::vector<std::int64_t>& pad_before,
                         const GemmEpilogue& epilogue, const DeviceTensor& out, const DeviceTensor* residual,
                         const DeviceTensor* workspace);

}  // namespace mlprt::cl
