// Fusing chains of dense layers into one FusedMLP step (plan level). The builder times each
// chain both ways and keeps the fused step only where it is faster (builder.cpp); this file
// finds chains, builds the fused step and tidies the plan afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/plan.h"

namespace mlprt::builder {

// Steps [first, last] of a plan that one FusedMLP step can replace: matrix multiplications by
// constant 2-D weights (with their fused bias and activation), each feeding only the next,
// optionally led by reshapes / casts of the chain's input and followed by a cast of its output.
struct MlpChain {
  std::size_t first = 0;
  std::size_t last = 0;
  engine::TensorId input = -1;   // what the fused step reads
  engine::TensorId output = -1;  // what it writes
  std::vector<std::size_t> gemms;  // the matrix multiplication steps, in order
};

// The fused kernel's rows-per-work-group choices (ascending) worth timing for `rows` rows on a
// device of `compute_units`: the smallest, and any below twice `rows` (a larger group only adds
// rows of padding) that still gives at least one work-group per 8 units (fewer leave a GPU idle:
// the tutorial MLP at batch 64 on an H100 took 22 us with 4 rows a group, 74 with 8, 12 with 1;
// issue 16 run 8).
std::vector<int> fusedRowChoicesWorthTiming(const std::vector<int>& choices, std::int64_t rows,
                                            std::uint32_t compute_units);

// The next chain starting at step `from` or later, if any.
std::optional<MlpChain> findMlpChain(const engine::EnginePlan& plan, std::size_t from);

// How a FusedMLP step's weights are stored: K x N for the CUDA-core kernel ("fused_mlp_r<R>"),
// N x K (PyTorch's Linear layout) for the tensor-core one ("fused_mlp_mma_r<R>").
enum class MlpWeightLayout { kKxN, kNxK };
// The layout a FusedMLP tactic reads (the "layers_*" tactics name theirs).
MlpWeightLayout mlpWeightLayout(const std::string& tactic);
// The layout the chain's products read their weights in, when they all read one (a fused step in
// that layout can run the chain's own GEMM tactics one product at a time); nothing when mixed.
std::optional<MlpWeightLayout> productWeightLayout(const engine::EnginePlan& plan, const MlpChain& chain);

// The name of the FusedMLP step that replaces `chain`: its steps' names joined by " + ".
std::string fusedStepName(const engine::EnginePlan& plan, const MlpChain& chain);

// The FusedMLP step for `chain`: weights stored in `layout` (transposed copies appended to the
// plan's constants where a product's b is the other way round). Does not change the plan's steps.
engine::PlanStep makeFusedMlpStep(engine::EnginePlan& plan, const MlpChain& chain,
                                  MlpWeightLayout layout = MlpWeightLayout::kKxN);

// Replaces the chain's steps with `fused`.
void replaceChain(engine::EnginePlan& plan, const MlpChain& chain, engine::PlanStep fused);

// Drops tensors no step, input or output refers to (renumbering the rest) and rebuilds the
// weight bytes from the constants still in use.
void removeUnusedTensors(engine::EnginePlan& plan);

// Appends a constant tensor holding `bytes` to the plan (its weights aligned); returns its id.
engine::TensorId addConstant(engine::EnginePlan& plan, const std::string& name, DataType type, const Dims& shape,
                             const std::vector<std::uint8_t>& bytes);

}  // namespace mlprt::builder
