#include "builder/normalization_fusion.h"

#include <utility>
#include <variant>

#include "backend/opencl/kernels.h"
#include "core/dims.h"

namespace mlprt::builder {
namespace {

// Takes the Add that produces the normalization's input 0 into the normalization: input 0 becomes
// the sum's operand of the sum's shape and the other operand a residual (of that shape, or of its
// trailing axes, as BERT's position embeddings are). False where the input is no such private
// Add or the normalization has all the residuals its kernel takes.
bool fuseOneAdd(Graph& graph, GraphNode& node) {
  const std::size_t residuals = node.inputs.size() - 3;
  if (residuals >= cl::kMaxNormalizationResiduals) return false;
  const TensorId sum_output = node.inputs[0];
  const int index = graph.producer(sum_output);
  if (index < 0 || !graph.isPrivate(sum_output)) return false;
  GraphNode& sum = graph.nodes[static_cast<std::size_t>(index)];
  const auto* add = std::get_if<network::ElementWiseLayer>(&sum.parameters);
  if (!add || add->op != ElementWiseOperation::kSUM || sum.inputs.size() != 2) return false;
  const GraphTensor& result = graph.tensor(sum_output);
  TensorId x = sum.inputs[0];
  TensorId residual = sum.inputs[1];
  if (!(graph.tensor(x).shape == result.shape)) std::swap(x, residual);
  const GraphTensor& x_tensor = graph.tensor(x);
  const GraphTensor& residual_tensor = graph.tensor(residual);
  if (!(x_tensor.shape == result.shape) || x_tensor.type != result.type || residual_tensor.type != result.type ||
      !repeatsOverLeadingAxes(residual_tensor.shape, result.shape)) {
    return false;
  }
  node.inputs[0] = x;
  node.inputs.push_back(residual);
  node.name = sum.name + " + " + node.name;
  sum.removed = true;
  return true;
}

bool fuseAt(Graph& graph, GraphNode& node) {
  if (node.removed || !std::holds_alternative<network::NormalizationLayer>(node.parameters) ||
      node.inputs.size() < 3) {
    return false;
  }
  bool fused = false;
  while (fuseOneAdd(graph, node)) fused = true;
  return fused;
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
