#include "builder/mlp_fusion.h"

#include <algorithm>
#include <map>
#include <variant>

#include "backend/opencl/kernel_support.h"
#include "backend/opencl/mlp_mma.h"
#include "builder/graph.h"
#include "builder/memory_plan.h"
#include "core/error.h"
#include "runtime/step_runner.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::PlanTensor;
using engine::TensorId;
using engine::TensorRole;

const PlanTensor& tensorOf(const EnginePlan& plan, TensorId id) { return plan.tensors.at(static_cast<std::size_t>(id)); }

bool isFloatingType(DataType type) { return type == DataType::kFLOAT || type == DataType::kHALF; }

// How many steps read each tensor (as an input or an epilogue bias).
std::vector<int> readerCounts(const EnginePlan& plan) {
  std::vector<int> readers(plan.tensors.size(), 0);
  for (const PlanStep& step : plan.steps) {
    for (TensorId input : step.inputs) ++readers[static_cast<std::size_t>(input)];
    if (step.epilogue.bias >= 0) ++readers[static_cast<std::size_t>(step.epilogue.bias)];
  }
  return readers;
}

bool isNetworkOutput(const EnginePlan& plan, TensorId id) {
  return std::find(plan.outputs.begin(), plan.outputs.end(), id) != plan.outputs.end();
}

// An intermediate the chain may swallow: read once, and not a network output.
bool isPrivate(const EnginePlan& plan, const std::vector<int>& readers, TensorId id) {
  return readers[static_cast<std::size_t>(id)] == 1 && !isNetworkOutput(plan, id);
}

// A matrix multiplication the fused kernel can run: a (rank 2, not transposed) times constant
// 2-D weights, bias (if any) a constant.
bool isDenseLayer(const EnginePlan& plan, const PlanStep& step) {
  const auto* matmul = std::get_if<network::MatrixMultiplyLayer>(&step.parameters);
  if (!matmul || matmul->op0 != MatrixOperation::kNONE || step.inputs.size() != 2) return false;
  const PlanTensor& a = tensorOf(plan, step.inputs[0]);
  const PlanTensor& b = tensorOf(plan, step.inputs[1]);
  const PlanTensor& out = tensorOf(plan, step.output);
  if (a.shape.rank() != 2 || b.shape.rank() != 2 || b.role != TensorRole::kConstant) return false;
  if (!isFloatingType(a.type) || b.type != a.type || out.type != a.type) return false;
  if (step.epilogue.bias >= 0) {
    const PlanTensor& bias = tensorOf(plan, step.epilogue.bias);
    if (bias.role != TensorRole::kConstant || bias.type != b.type) return false;
  }
  return true;
}

// A step that only renames or converts its input: a reshape without transposes, or a cast.
bool isViewOrCast(const EnginePlan& plan, const PlanStep& step) {
  if (step.inputs.size() != 1 || !isFloatingType(tensorOf(plan, step.inputs[0]).type) ||
      !isFloatingType(tensorOf(plan, step.output).type)) {
    return false;
  }
  // A reformat (an Identity with a tactic: runtime/plan_formats.h) moves elements; a cast does not.
  if (std::holds_alternative<network::IdentityLayer>(step.parameters)) return step.tactic.empty();
  const auto* shuffle = std::get_if<network::ShuffleLayer>(&step.parameters);
  if (!shuffle) return false;
  const auto identity = [](const std::vector<int>& order) {
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (order[i] != static_cast<int>(i)) return false;
    }
    return true;
  };
  return identity(shuffle->first_transpose) && identity(shuffle->second_transpose) &&
         tensorOf(plan, step.inputs[0]).type == tensorOf(plan, step.output).type;
}

}  // namespace

TensorId addConstant(EnginePlan& plan, const std::string& name, DataType type, const Dims& shape,
                     const std::vector<std::uint8_t>& bytes) {
  PlanTensor tensor;
  tensor.name = name;
  tensor.type = type;
  tensor.shape = shape;
  tensor.role = TensorRole::kConstant;
  tensor.offset = appendAligned(plan.weights, bytes.data(), bytes.size());
  tensor.capacity = bytes.size();
  plan.tensors.push_back(tensor);
  return static_cast<TensorId>(plan.tensors.size() - 1);
}

std::optional<MlpChain> findMlpChain(const EnginePlan& plan, std::size_t from) {
  const std::vector<int> readers = readerCounts(plan);
  for (std::size_t start = from; start < plan.steps.size(); ++start) {
    if (!isDenseLayer(plan, plan.steps[start])) continue;
    MlpChain chain;
    chain.first = start;
    chain.input = plan.steps[start].inputs[0];
    // Reshapes and casts right before the chain, of the chain's input only.
    while (chain.first > 0) {
      const PlanStep& before = plan.steps[chain.first - 1];
      if (before.output != chain.input || !isViewOrCast(plan, before) || !isPrivate(plan, readers, before.output)) break;
      --chain.first;
      chain.input = before.inputs[0];
    }
    chain.gemms.push_back(start);
    std::size_t next = start + 1;
    while (next < plan.steps.size() && chain.gemms.size() < cl::kMaxMlpStages) {
      const PlanStep& previous = plan.steps[chain.gemms.back()];
      const PlanStep& step = plan.steps[next];
      if (!isDenseLayer(plan, step) || step.inputs[0] != previous.output || !isPrivate(plan, readers, previous.output)) {
        break;
      }
      chain.gemms.push_back(next++);
    }
    chain.last = chain.gemms.back();
    chain.output = plan.steps[chain.last].output;
    // A cast of the result (FP16 engines' boundary back to FP32).
    if (next < plan.steps.size()) {
      const PlanStep& after = plan.steps[next];
      if (after.inputs.size() == 1 && after.inputs[0] == chain.output && isPrivate(plan, readers, chain.output) &&
          std::holds_alternative<network::IdentityLayer>(after.parameters) &&
          isFloatingType(tensorOf(plan, after.output).type)) {
        chain.last = next;
        chain.output = after.output;
      }
    }
    return chain;
  }
  return std::nullopt;
}

MlpWeightLayout mlpWeightLayout(const std::string& tactic) {
  if (const std::optional<runtime::FusedMlpLayers> layers = runtime::fusedMlpLayers(tactic)) {
    return layers->weights_n_by_k ? MlpWeightLayout::kNxK : MlpWeightLayout::kKxN;
  }
  return cl::fusedMlpMmaRows(tactic) > 0 ? MlpWeightLayout::kNxK : MlpWeightLayout::kKxN;
}

std::optional<MlpWeightLayout> productWeightLayout(const EnginePlan& plan, const MlpChain& chain) {
  std::size_t transposed = 0;
  for (std::size_t index : chain.gemms) {
    const auto& matmul = std::get<network::MatrixMultiplyLayer>(plan.steps[index].parameters);
    if (matmul.op1 == MatrixOperation::kTRANSPOSE) ++transposed;
  }
  if (transposed == 0) return MlpWeightLayout::kKxN;
  if (transposed == chain.gemms.size()) return MlpWeightLayout::kNxK;
  return std::nullopt;
}

std::string fusedStepName(const EnginePlan& plan, const MlpChain& chain) {
  std::string name;
  for (std::size_t index = chain.first; index <= chain.last; ++index) {
    name += (name.empty() ? "" : " + ") + plan.steps[index].name;
  }
  return name;
}

PlanStep makeFusedMlpStep(EnginePlan& plan, const MlpChain& chain, MlpWeightLayout layout) {
  network::FusedMlpLayer mlp;
  PlanStep fused;
  fused.inputs.push_back(chain.input);
  fused.name = fusedStepName(plan, chain);
  for (std::size_t index : chain.gemms) {
    // Copies: addConstant below may grow plan.tensors.
    const PlanStep step = plan.steps[index];
    const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
    const PlanTensor weights = tensorOf(plan, step.inputs[1]);
    network::MlpStage stage;
    const bool transposed = matmul.op1 == MatrixOperation::kTRANSPOSE;
    stage.in_features = transposed ? weights.shape[1] : weights.shape[0];
    stage.out_features = transposed ? weights.shape[0] : weights.shape[1];
    TensorId weights_id = step.inputs[1];
    const bool want_nxk = layout == MlpWeightLayout::kNxK;
    if (transposed != want_nxk) {
      // Stored again the way the kernel reads it: a b^T operand (N x K, as Linear layers store
      // it) as K x N for the CUDA-core kernel, a K x N one as N x K for the tensor-core kernel.
      const Dims shape = want_nxk ? Dims({stage.out_features, stage.in_features})
                                  : Dims({stage.in_features, stage.out_features});
      weights_id = addConstant(plan, weights.name + (want_nxk ? "_nxk" : "_kxn"), weights.type, shape,
                               transposedMatrix(plan.weights.data() + weights.offset, weights.shape[0],
                                                weights.shape[1], elementSize(weights.type)));
    }
    fused.inputs.push_back(weights_id);
    stage.has_bias = step.epilogue.bias >= 0;
    if (stage.has_bias) fused.inputs.push_back(step.epilogue.bias);
    stage.has_activation = step.epilogue.has_activation;
    stage.activation = step.epilogue.activation;
    mlp.stages.push_back(stage);
  }
  mlp.output_type = tensorOf(plan, chain.output).type;
  fused.parameters = mlp;
  fused.output = chain.output;
  return fused;
}

void replaceChain(EnginePlan& plan, const MlpChain& chain, PlanStep fused) {
  const auto first = plan.steps.begin() + static_cast<std::ptrdiff_t>(chain.first);
  const auto end = plan.steps.begin() + static_cast<std::ptrdiff_t>(chain.last + 1);
  *first = std::move(fused);
  plan.steps.erase(first + 1, end);
}

void removeUnusedTensors(EnginePlan& plan) {
  std::vector<bool> used(plan.tensors.size(), false);
  const auto mark = [&](TensorId id) { used[static_cast<std::size_t>(id)] = true; };
  for (const PlanStep& step : plan.steps) {
    for (TensorId input : step.inputs) mark(input);
    if (step.epilogue.bias >= 0) mark(step.epilogue.bias);
    mark(step.output);
  }
  for (TensorId id : plan.inputs) mark(id);
  for (TensorId id : plan.outputs) mark(id);
  std::vector<TensorId> renumbered(plan.tensors.size(), -1);
  std::vector<PlanTensor> kept;
  std::vector<std::uint8_t> weights;
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    if (!used[i]) continue;
    PlanTensor tensor = plan.tensors[i];
    if (tensor.role == TensorRole::kConstant) {
      tensor.offset = appendAligned(weights, plan.weights.data() + tensor.offset, tensor.capacity);
    }
    renumbered[i] = static_cast<TensorId>(kept.size());
    kept.push_back(std::move(tensor));
  }
  const auto remap = [&](TensorId& id) { id = renumbered[static_cast<std::size_t>(id)]; };
  for (PlanStep& step : plan.steps) {
    for (TensorId& input : step.inputs) remap(input);
    if (step.epilogue.bias >= 0) remap(step.epilogue.bias);
    remap(step.output);
  }
  for (TensorId& id : plan.inputs) remap(id);
  for (TensorId& id : plan.outputs) remap(id);
  plan.tensors = std::move(kept);
  plan.weights = std::move(weights);
}

std::vector<int> fusedRowChoicesWorthTiming(const std::vector<int>& choices, std::int64_t rows,
                                            std::uint32_t compute_units) {
  std::vector<int> worth;
  for (int choice : choices) {
    const std::int64_t groups = (rows + choice - 1) / choice;
    if (worth.empty() || (choice < 2 * rows && !cl::support::fewWorkGroupsForDevice(groups, compute_units))) {
      worth.push_back(choice);
    }
  }
  return worth;
}

}  // namespace mlprt::builder
