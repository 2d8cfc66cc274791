#include "runtime/plan_shapes.h"

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

}  // namespace mlprt::runtime
