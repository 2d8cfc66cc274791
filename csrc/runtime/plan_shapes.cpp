#include "runtime/plan_shapes.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "core/error.h"
#include "network/shape_inference.h"

namespace mlprt::runtime {

std::size_t tensorBytes(const Dims& shape, DataType type) {
  const auto elements = static_cast<std::uint64_t>(shape.volume());
  const std::size_t element = elementSize(type);
  // Checked: a size that wrapped around would allocate a small buffer for a huge tensor.
  if (elements > std::numeric_limits<std::size_t>::max() / element) {
    throw InvalidArgument("shape " + shape.toString() + " of " + dataTypeName(type) +
                          " has more bytes than fit in 64 bits");
  }
  return static_cast<std::size_t>(elements) * element;
}

std::vector<Dims> inferPlanShapes(const engine::EnginePlan& plan, const std::vector<Dims>& input_shapes) {
  std::vector<Dims> shapes(plan.tensors.size());
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    if (plan.tensors[i].role == engine::TensorRole::kConstant) shapes[i] = plan.tensors[i].shape;
  }
  // Static activations keep their built shape: those that no step writes are views of another
  // tensor (builder/aliasing.h: the concatenation or slice that made them is gone).
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    const engine::PlanTensor& tensor = plan.tensors[i];
    if (tensor.role != engine::TensorRole::kActivation) continue;
    bool known = true;
    for (std::size_t axis = 0; axis < tensor.shape.rank(); ++axis) known = known && tensor.shape[axis] >= 0;
    if (known) shapes[i] = tensor.shape;
  }
  for (std::size_t i = 0; i < plan.inputs.size() && i < input_shapes.size(); ++i) {
    shapes[static_cast<std::size_t>(plan.inputs[i])] = input_shapes[i];
  }
  std::vector<network::TensorType> inputs;
  for (const engine::PlanStep& step : plan.steps) {
    inputs.clear();
    for (engine::TensorId input : step.inputs) {
      const auto index = static_cast<std::size_t>(input);
      inputs.push_back({shapes[index], plan.tensors[index].type});
    }
    try {
      shapes[static_cast<std::size_t>(step.output)] = network::stepOutput(step.parameters, inputs).shape;
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("step '" + step.name + "' cannot run at these input shapes: " + e.what());
    }
  }
  return shapes;
}

namespace {

bool overlap(std::uint64_t a, std::uint64_t a_bytes, std::uint64_t b, std::uint64_t b_bytes) {
  return a < b + b_bytes && b < a + a_bytes;
}

bool within(const engine::PlanTensor& inner, const engine::PlanTensor& outer) {
  return inner.offset >= outer.offset && inner.offset + inner.capacity <= outer.offset + outer.capacity;
}

std::vector<bool> writtenTensors(const engine::EnginePlan& plan) {
  std::vector<bool> written(plan.tensors.size(), false);
  for (const engine::PlanStep& step : plan.steps) written.at(static_cast<std::size_t>(step.output)) = true;
  return written;
}

// A Select whose condition is a constant that is all true (1) or all false (0): the input it
// never picks (2 or 1), else -1.
int unpickedSelectInput(const engine::EnginePlan& plan, const engine::PlanStep& step) {
  if (!std::holds_alternative<network::SelectLayer>(step.parameters) || step.inputs.size() != 3) return -1;
  const engine::PlanTensor& condition = plan.tensors.at(static_cast<std::size_t>(step.inputs[0]));
  if (condition.role != engine::TensorRole::kConstant || condition.type != DataType::kBOOL) return -1;
  const std::uint64_t count = static_cast<std::uint64_t>(condition.shape.volume());
  if (count == 0 || condition.offset + count > plan.weights.size()) return -1;
  const auto* values = plan.weights.data() + condition.offset;
  const bool all_true = std::all_of(values, values + count, [](std::uint8_t v) { return v != 0; });
  const bool all_false = std::all_of(values, values + count, [](std::uint8_t v) { return v == 0; });
  return all_true ? 2 : all_false ? 1 : -1;
}

}  // namespace

std::vector<engine::TensorId> viewBases(const engine::EnginePlan& plan) {
  const std::vector<bool> written = writtenTensors(plan);
  std::vector<engine::TensorId> bases(plan.tensors.size());
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    bases[i] = static_cast<engine::TensorId>(i);
    const engine::PlanTensor& tensor = plan.tensors[i];
    if (written[i] || tensor.role != engine::TensorRole::kActivation) continue;
    std::uint64_t smallest = 0;
    for (std::size_t j = 0; j < plan.tensors.size(); ++j) {
      const engine::PlanTensor& holder = plan.tensors[j];
      if (!written[j] || holder.role != engine::TensorRole::kActivation || !within(tensor, holder)) continue;
      if (bases[i] == static_cast<engine::TensorId>(i) || holder.capacity < smallest) {
        bases[i] = static_cast<engine::TensorId>(j);
        smallest = holder.capacity;
      }
    }
  }
  // A reshape of dynamic shape keeps its step but is placed on its input (a view that moves
  // nothing, builder/aliasing.h): its output belongs to its input's base.
  for (const engine::PlanStep& step : plan.steps) {
    const auto* shuffle = std::get_if<network::ShuffleLayer>(&step.parameters);
    if (!shuffle || step.inputs.size() != 1 || !network::movesNoAxis(*shuffle)) continue;
    const engine::PlanTensor& in = plan.tensors.at(static_cast<std::size_t>(step.inputs[0]));
    const engine::PlanTensor& out = plan.tensors.at(static_cast<std::size_t>(step.output));
    if (in.role == engine::TensorRole::kActivation && out.role == engine::TensorRole::kActivation &&
        in.offset == out.offset) {
      bases[static_cast<std::size_t>(step.output)] = bases[static_cast<std::size_t>(step.inputs[0])];
    }
  }
  return bases;
}

std::vector<bool> shapeOnlySteps(const engine::EnginePlan& plan, const std::vector<engine::TensorId>& bases) {
  std::vector<bool> shape_only_tensor(plan.tensors.size(), false);
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    shape_only_tensor[i] = plan.tensors[i].role == engine::TensorRole::kConstant;
  }
  const auto known = [&](engine::TensorId id) {
    const auto i = static_cast<std::size_t>(id);
    return shape_only_tensor.at(i) || shape_only_tensor.at(static_cast<std::size_t>(bases.at(i)));
  };
  std::vector<bool> steps(plan.steps.size(), false);
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const engine::PlanStep& step = plan.steps[s];
    const engine::PlanTensor& output = plan.tensors.at(static_cast<std::size_t>(step.output));
    if (output.role != engine::TensorRole::kActivation) continue;
    bool only = std::holds_alternative<network::AxisRangeLayer>(step.parameters);
    if (!only && !step.inputs.empty()) {
      const int unpicked = unpickedSelectInput(plan, step);
      only = step.epilogue.bias < 0 || known(step.epilogue.bias);
      for (std::size_t i = 0; only && i < step.inputs.size(); ++i) {
        only = static_cast<int>(i) == unpicked || known(step.inputs[i]);
      }
    }
    steps[s] = only;
    shape_only_tensor[static_cast<std::size_t>(step.output)] = only;
  }
  return steps;
}

std::vector<bool> reusableShapeSteps(const engine::EnginePlan& plan, std::size_t workspace_offset) {
  const std::vector<engine::TensorId> bases = viewBases(plan);
  std::vector<bool> steps = shapeOnlySteps(plan, bases);
  for (std::size_t s = 0; s < steps.size(); ++s) {
    if (!steps[s]) continue;
    const auto id = static_cast<std::size_t>(plan.steps[s].output);
    const engine::PlanTensor& mine = plan.tensors[id];
    bool alone = mine.offset + mine.capacity <= workspace_offset;
    for (std::size_t other = 0; alone && other < plan.tensors.size(); ++other) {
      const engine::PlanTensor& tensor = plan.tensors[other];
      const bool own_view = static_cast<std::size_t>(bases[other]) == id;
      alone = other == id || own_view || tensor.role != engine::TensorRole::kActivation ||
              !overlap(mine.offset, std::max<std::uint64_t>(mine.capacity, 1), tensor.offset, tensor.capacity);
    }
    steps[s] = alone;
  }
  return steps;
}

}  // namespace mlprt::runtime
