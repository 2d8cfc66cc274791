// Runs one engine step: maps a PlanStep's layer parameters onto the OpenCL kernel launchers.
// Used by the execution context for inference and by the builder to fold constants and time
// tactics, so the kernels that are timed are exactly the kernels that run.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "engine/plan.h"

namespace mlprt::runtime {

// Operands of one step, resolved to device memory at concrete shapes: inputs in step order, the
// epilogue's bias (when the step has one) and the output.
struct StepOperands {
  std::vector<cl::DeviceTensor> inputs;
  cl::DeviceTensor bias;
  bool has_bias = false;
  cl::DeviceTensor output;
  // Scratch memory of stepWorkspaceBytes() bytes (FLOAT elements) for steps that need it; free
  // for reuse by other steps once the step's commands have run.
  cl::DeviceTensor workspace;
  bool has_workspace = false;
};

// The scratch memory `step` needs on `context`'s device at `shapes` (every tensor's, concrete),
// whichever of its tactics runs (split-K tactics: their slices' partial sums; a fused MLP's
// "layers_*" tactics: the activations between stages); 0 for most steps. Never smaller at larger
// shapes, so a profile's max shapes bound it.
std::size_t stepWorkspaceBytes(const engine::PlanStep& step, const cl::Context& context, const std::vector<Dims>& shapes);

void runStep(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
             const StepOperands& operands);

// FusedMLP steps' tactics are this prefix and the rows per work-group: "fused_mlp_r4".
std::string fusedMlpTacticPrefix();

// A FusedMLP step may also run its stages one product at a time, where the fused kernel loses
// (large batches of a dynamic engine): tactic "layers_kxn:<t0>|<t1>|..." (weights K x N) or
// "layers_nxk:..." (weights N x K), one GEMM tactic per stage, the activations between stages in the
// step's workspace.
struct FusedMlpLayers {
  std::vector<std::string> gemm_tactics;
  bool weights_n_by_k = false;
};
std::string fusedMlpLayersTactic(const std::vector<std::string>& gemm_tactics, bool weights_n_by_k);
// The layers a tactic names; nothing for other tactics. Throws InvalidArgument for an empty name.
std::optional<FusedMlpLayers> fusedMlpLayers(const std::string& tactic);

// True when the step's kernel, for its tactic `step.tactic`, can read its input `input_index` (-1:
// write its output) in pinned host memory through the memory's address (cl::DeviceTensor::host),
// so an execution context need not copy that engine input or output. A step with tactic ranges
// answers for the tactic of the range given in step.tactic.
bool stepTakesPinnedHostOperand(const engine::PlanStep& step, int input_index);

// True when a Shuffle step both transposes before and after a reshape; such steps need a
// temporary and are split in two by the builder.
bool shuffleNeedsTwoPasses(const network::ShuffleLayer& shuffle);

}  // namespace mlprt::runtime
