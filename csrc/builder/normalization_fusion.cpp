#include "builder/normalization_fusion.h"

#include <variant>

namespace mlprt::builder {
namespace {

bool fuseAt(Graph& graph, GraphNode& node) {
  if (node.removed || !std::holds_alternative<network::NormalizationLayer>(node.parameters) ||
      node.inputs.size() != 3) {
    return false;
  }
  const TensorId sum_output = node.inputs[0];
  const int index = graph.producer(sum_output);
  if (index < 0 || !graph.isPrivate(sum_output)) return false;
  GraphNode& sum = graph.nodes[static_cast<std::size_t>(index)];
  const auto* add = std::get_if<network::ElementWiseLayer>(&sum.parameters);
  if (!add || add->op != ElementWiseOperation::kSUM || sum.inputs.size() != 2) return false;
  const GraphTensor& result = graph.tensor(sum_output);
  for (TensorId operand : sum.inputs) {
    const GraphTensor& tensor = graph.tensor(operand);
    if (!(tensor.shape == result.shape) || tensor.type != result.type) return false;
  }
  node.inputs[0] = sum.inputs[0];
  node.inputs.push_back(sum.inputs[1]);
  node.name = sum.name + " + " + node.name;
  sum.removed = true;
  return true;
}

}  // namespace

int fuseResidualNormalization(Graph& graph) {
  int fused = 0;
  for (GraphNode& node : graph.nodes) {
    if (fuseAt(graph, node)) ++fused;
  }
  return fused;
}

}  // namespace mlprt::builder
