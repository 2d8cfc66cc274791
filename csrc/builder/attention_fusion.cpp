#include "builder/attention_fusion.h"

#include <optional>
#include <variant>

#include "core/error.h"
#include "network/shape_inference.h"

namespace mlprt::builder {
namespace {

bool isFloating(DataType type) { return type == DataType::kFLOAT || type == DataType::kHALF; }

template <typename Layer>
const Layer* producedBy(const Graph& graph, TensorId tensor, int* index) {
  *index = graph.producer(tensor);
  if (*index < 0) return nullptr;
  return std::get_if<Layer>(&graph.nodes[static_cast<std::size_t>(*index)].parameters);
}

// `tensor` = x * constant or x / constant (either operand order for *): x, and the factor
// folded into `scale`. Otherwise `tensor` itself. Swallowed nodes go to `chain`.
TensorId peelScale(const Graph& graph, TensorId tensor, float& scale, std::vector<int>& chain) {
  int index = -1;
  const auto* elementwise = producedBy<network::ElementWiseLayer>(graph, tensor, &index);
  if (!elementwise || !graph.isPrivate(tensor)) return tensor;
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(index)];
  if (node.inputs.size() != 2) return tensor;
  for (std::size_t side = 0; side < 2; ++side) {
    const std::optional<float> factor = scalarValue(graph.tensor(node.inputs[side]));
    if (!factor) continue;
    if (elementwise->op == ElementWiseOperation::kPROD) {
      scale *= *factor;
    } else if (elementwise->op == ElementWiseOperation::kDIV && side == 1 && *factor != 0.0f) {
      scale /= *factor;
    } else {
      return tensor;
    }
    chain.push_back(index);
    return node.inputs[1 - side];
  }
  return tensor;
}

bool isRank4Floating(const Graph& graph, TensorId tensor) {
  const GraphTensor& t = graph.tensor(tensor);
  return t.shape.rank() == 4 && isFloating(t.type);
}

// softmax(x) guarded by where(isnan(softmax), 0, softmax): the softmax's output, or -1.
TensorId unguardedProbabilities(const Graph& graph, TensorId probs, std::vector<int>& chain) {
  int select_index = -1;
  if (!producedBy<network::SelectLayer>(graph, probs, &select_index)) return -1;
  const GraphNode& select = graph.nodes[static_cast<std::size_t>(select_index)];
  if (select.inputs.size() != 3 || !graph.isPrivate(probs)) return -1;
  const std::optional<float> zero = scalarValue(graph.tensor(select.inputs[1]));
  const TensorId softmax_out = select.inputs[2];
  int test_index = -1;
  const auto* test = producedBy<network::UnaryLayer>(graph, select.inputs[0], &test_index);
  if (!zero || *zero != 0.0f || !test || test->op != UnaryOperation::kISNAN ||
      graph.nodes[static_cast<std::size_t>(test_index)].inputs.at(0) != softmax_out ||
      !graph.isPrivate(select.inputs[0]) || !graph.isPrivate(softmax_out, 2)) {
    return -1;
  }
  chain.push_back(select_index);
  chain.push_back(test_index);
  return softmax_out;
}

// Whether the step's shape rules take these operands (a product may broadcast batch or head axes
// that the kernel does not) and give the chain's output shape.
bool fitsTheKernel(const Graph& graph, const network::AttentionLayer& attention, TensorId q, TensorId k, TensorId v,
                   TensorId mask, TensorId output) {
  std::vector<network::TensorType> inputs;
  for (TensorId operand : {q, k, v, mask}) {
    if (operand >= 0) inputs.push_back({graph.tensor(operand).shape, graph.tensor(operand).type});
  }
  try {
    const network::TensorType result = network::inferOutputs(attention, inputs).at(0);
    return result.shape == graph.tensor(output).shape && result.type == graph.tensor(output).type;
  } catch (const InvalidArgument&) {
    return false;
  }
}

// Tries to replace the chain ending at node `index` (probs x v).
bool fuseAt(Graph& graph, std::size_t index) {
  GraphNode& product = graph.nodes[index];
  const auto* values_product = std::get_if<network::MatrixMultiplyLayer>(&product.parameters);
  if (product.removed || !values_product || values_product->op0 != MatrixOperation::kNONE ||
      values_product->op1 != MatrixOperation::kNONE || product.inputs.size() != 2 ||
      product.epilogue.bias >= 0 || product.epilogue.has_activation) {
    return false;
  }
  std::vector<int> chain;
  network::AttentionLayer attention;
  TensorId probs = product.inputs[0];
  const TensorId v = product.inputs[1];
  TensorId softmax_out = unguardedProbabilities(graph, probs, chain);
  attention.zero_masked_rows = softmax_out >= 0;
  if (softmax_out < 0) {
    if (!graph.isPrivate(probs)) return false;
    softmax_out = probs;
  }
  int softmax_index = -1;
  const auto* softmax = producedBy<network::SoftmaxLayer>(graph, softmax_out, &softmax_index);
  if (!softmax || softmax->log || softmax->axis != 3 || !isRank4Floating(graph, softmax_out)) return false;
  chain.push_back(softmax_index);
  TensorId scores = graph.nodes[static_cast<std::size_t>(softmax_index)].inputs.at(0);
  // An additive mask: scores + mask (either order), where `scores` comes from a product.
  TensorId mask = -1;
  int add_index = -1;
  const auto* add = producedBy<network::ElementWiseLayer>(graph, scores, &add_index);
  if (add && add->op == ElementWiseOperation::kSUM && graph.isPrivate(scores)) {
    const GraphNode& sum = graph.nodes[static_cast<std::size_t>(add_index)];
    for (std::size_t side = 0; side < 2 && mask < 0; ++side) {
      int producer = -1;
      TensorId candidate = sum.inputs[side];
      float ignored = 1.0f;
      std::vector<int> ignored_chain;
      candidate = peelScale(graph, candidate, ignored, ignored_chain);
      if (producedBy<network::MatrixMultiplyLayer>(graph, candidate, &producer) &&
          isRank4Floating(graph, sum.inputs[1 - side])) {
        mask = sum.inputs[1 - side];
        scores = sum.inputs[side];
      }
    }
    if (mask < 0) return false;
    chain.push_back(add_index);
  }
  float scale = 1.0f;
  scores = peelScale(graph, scores, scale, chain);
  int scores_index = -1;
  const auto* scores_product = producedBy<network::MatrixMultiplyLayer>(graph, scores, &scores_index);
  if (!scores_product || !graph.isPrivate(scores) || scores_product->op0 != MatrixOperation::kNONE) return false;
  const GraphNode& qk = graph.nodes[static_cast<std::size_t>(scores_index)];
  if (qk.epilogue.bias >= 0 || qk.epilogue.has_activation || qk.inputs.size() != 2) return false;
  chain.push_back(scores_index);
  const TensorId q = peelScale(graph, qk.inputs[0], scale, chain);
  const TensorId k = peelScale(graph, qk.inputs[1], scale, chain);
  attention.keys_transposed = scores_product->op1 == MatrixOperation::kNONE;
  attention.scale = scale;
  attention.has_mask = mask >= 0;
  for (TensorId operand : {q, k, v}) {
    if (!isRank4Floating(graph, operand) || graph.tensor(operand).is_constant) return false;
  }
  if (!fitsTheKernel(graph, attention, q, k, v, mask, product.output)) return false;
  GraphNode fused;
  fused.name = "attention(" + product.name + ")";
  fused.parameters = attention;
  fused.inputs = {q, k, v};
  if (mask >= 0) fused.inputs.push_back(mask);
  fused.output = product.output;
  for (int swallowed : chain) graph.nodes[static_cast<std::size_t>(swallowed)].removed = true;
  product = fused;
  return true;
}

}  // namespace

int fuseAttention(Graph& graph) {
  int fused = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (fuseAt(graph, i)) ++fused;
  }
  return fused;
}

}  // namespace mlprt::builder
