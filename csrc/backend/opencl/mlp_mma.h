// The tensor-core fused MLP (kernels/fused_mlp_mma.cl): a chain of dense layers with HALF
// weights in one launch, on mma.sync through inline PTX. Offered only where the tensor-core
// probe of gemm_mma.cpp passes for f16 (NVIDIA), as FusedMLP tactics "fused_mlp_mma_r<R>"
// beside the CUDA-core "fused_mlp_r<R>" ones; it reads each stage's weights stored N x K
// (PyTorch's Linear layout, the mma "col" operand), not K x N.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// Rows per work-group the tensor-core kernel is built for (its tactics' R).
const std::vector<int>& fusedMlpMmaRowChoices();
// "fused_mlp_mma_r<rows>".
std::string fusedMlpMmaTactic(int rows);
// The rows of a "fused_mlp_mma_r<R>" tactic; 0 for any other name (e.g. "fused_mlp_r4").
// Throws InvalidArgument for a name with the prefix and no valid row count.
int fusedMlpMmaRows(const std::string& tactic);

// Whether the tensor-core MLP exists on this device: the f16 mma probe passed (or the test
// emulation below is on).
bool fusedMlpMmaOffered(const Context& context);
// Whether a chain with these widths (in, hidden..., out) fits `rows` rows per work-group:
// 1 to kMaxMlpStages stages, hidden widths at most 256 (padded to 32 inside), and the local
// memory and work-group size of the device. Input and output widths are unbounded.
bool fusedMlpMmaFits(const Context& context, const std::vector<std::int64_t>& widths, int rows);

// out = stage_S(... stage_0(in)) in one launch, like fusedMlp, but every stage's weights are
// HALF and stored N x K (bias N, same buffer). in and out are FLOAT or HALF. Throws
// InvalidArgument, naming the operand, for anything it cannot run, and when not offered.
void fusedMlpMma(KernelCache& cache, Stream& stream, int rows, const DeviceTensor& in,
                 const std::vector<MlpStageOperands>& stages, const DeviceTensor& out);

// ---- Tests and tuning ----------------------------------------------------------------------

// Process-wide: while on, the tensor-core MLP is offered on every device and its kernels are
// built with the mma done in software (-DMMA_EMULATE), so that the kernel, the builder's choice
// and engines holding it can be tested without tensor cores. Off by default.
void setFusedMlpMmaEmulation(bool on);

// Build choices beyond the rows per work-group; 0 means the default.
struct FusedMlpMmaOptions {
  int warps = 0;  // default: enough warps of 4 column tiles for the widest hidden layer
  int depth = 0;  // weight chunks in flight per warp; default 4
  bool emulate = false;
};

// fusedMlpMma with explicit options, without asking the probe: for the tuning tool and tests.
void runFusedMlpMma(KernelCache& cache, Stream& stream, int rows, const FusedMlpMmaOptions& options,
                    const DeviceTensor& in, const std::vector<MlpStageOperands>& stages, const DeviceTensor& out);

}  // namespace mlprt::cl
