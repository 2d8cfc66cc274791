#include "builder/activation_fusion.h"

#include <cmath>
#include <optional>
#include <variant>


namespace mlprt::builder {
namespace {

// The value of a one-element FLOAT constant (the graph is fused before FP16 conversion).
std::optional<float> floatScalar(const GraphTensor& tensor) {
  return tensor.type == DataType::kFLOAT ? scalarValue(tensor) : std::nullopt;
}

bool near(float value, float expected) { return std::fabs(value - expected) <= 1e-4f * std::fabs(expected); }

// The node writing `tensor` when it is an elementwise `op` of two inputs with a private output.
const GraphNode* elementwiseOf(const Graph& graph, TensorId tensor, ElementWiseOperation op, int* index) {
  *index = graph.producer(tensor);
  if (*index < 0 || !graph.isPrivate(tensor)) return nullptr;
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(*index)];
  const auto* layer = std::get_if<network::ElementWiseLayer>(&node.parameters);
  return layer && layer->op == op && node.inputs.size() == 2 ? &node : nullptr;
}

// Multiplicative factors of `tensor` through PROD nodes with private outputs (the leaves), and
// the nodes passed through.
void productFactors(const Graph& graph, TensorId tensor, std::vector<TensorId>& leaves, std::vector<int>& nodes,
                    bool top) {
  int index = -1;
  const GraphNode* node = top ? nullptr : elementwiseOf(graph, tensor, ElementWiseOperation::kPROD, &index);
  if (top) {
    index = graph.producer(tensor);
    const auto* layer = index < 0 ? nullptr : std::get_if<network::ElementWiseLayer>(&graph.nodes[index].parameters);
    if (layer && layer->op == ElementWiseOperation::kPROD && graph.nodes[index].inputs.size() == 2) {
      node = &graph.nodes[static_cast<std::size_t>(index)];
    }
  }
  if (!node || leaves.size() > 4) {
    leaves.push_back(tensor);
    return;
  }
  nodes.push_back(index);
  productFactors(graph, node->inputs[0], leaves, nodes, false);
  productFactors(graph, node->inputs[1], leaves, nodes, false);
}

// The operand of a product with a scalar close to `factor` (either order): the other operand
// (the node added to `nodes`), or -1.
TensorId scaledBy(const Graph& graph, TensorId tensor, float factor, std::vector<int>& nodes) {
  int index = -1;
  const GraphNode* product = elementwiseOf(graph, tensor, ElementWiseOperation::kPROD, &index);
  if (!product) return -1;
  for (std::size_t side = 0; side < 2; ++side) {
    const std::optional<float> value = floatScalar(graph.tensor(product->inputs[side]));
    if (value && near(*value, factor)) {
      nodes.push_back(index);
      return product->inputs[1 - side];
    }
  }
  return -1;
}

// `tensor` = 1 + u (either order) where u feeds only the sum: the node writing u (the sum's index
// in `add_index`), or -1. The GELU forms' 1 + erf(...) and 1 + tanh(...).
int onePlusOperand(const Graph& graph, TensorId tensor, int* add_index) {
  const GraphNode* add = elementwiseOf(graph, tensor, ElementWiseOperation::kSUM, add_index);
  if (!add) return -1;
  for (std::size_t side = 0; side < 2; ++side) {
    const std::optional<float> one = floatScalar(graph.tensor(add->inputs[side]));
    const TensorId term = add->inputs[1 - side];
    const int producer = graph.producer(term);
    if (one && *one == 1.0f && producer >= 0 && graph.isPrivate(term)) return producer;
  }
  return -1;
}

// 1 + erf(x / sqrt(2)) (or x * (1 / sqrt(2))): x, with the nodes passed through; -1 otherwise.
TensorId erfTermOf(const Graph& graph, TensorId tensor, std::vector<int>& nodes) {
  int add_index = -1;
  const int erf_index = onePlusOperand(graph, tensor, &add_index);
  if (erf_index < 0) return -1;
  const GraphNode& erf = graph.nodes[static_cast<std::size_t>(erf_index)];
  const auto* unary = std::get_if<network::UnaryLayer>(&erf.parameters);
  if (!unary || unary->op != UnaryOperation::kERF) return -1;
  const TensorId scaled = erf.inputs.at(0);
  std::vector<int> scale;
  TensorId x = -1;
  int division_index = -1;
  if (const GraphNode* division = elementwiseOf(graph, scaled, ElementWiseOperation::kDIV, &division_index)) {
    const std::optional<float> root = floatScalar(graph.tensor(division->inputs[1]));
    if (root && near(*root, std::sqrt(2.0f))) x = division->inputs[0];
    scale.push_back(division_index);
  } else {
    x = scaledBy(graph, scaled, 1.0f / std::sqrt(2.0f), scale);
  }
  if (x < 0) return -1;
  nodes.insert(nodes.end(), {add_index, erf_index, scale.at(0)});
  return x;
}

// `tensor` = x * x * x or pow(x, 3): x (nodes passed through added), or -1.
TensorId cubed(const Graph& graph, TensorId tensor, std::vector<int>& nodes) {
  int index = -1;
  if (const GraphNode* power = elementwiseOf(graph, tensor, ElementWiseOperation::kPOW, &index)) {
    const std::optional<float> three = floatScalar(graph.tensor(power->inputs[1]));
    if (!three || *three != 3.0f) return -1;
    nodes.push_back(index);
    return power->inputs[0];
  }
  const GraphNode* outer = elementwiseOf(graph, tensor, ElementWiseOperation::kPROD, &index);
  if (!outer) return -1;
  for (std::size_t side = 0; side < 2; ++side) {
    int square_index = -1;
    const GraphNode* square = elementwiseOf(graph, outer->inputs[side], ElementWiseOperation::kPROD, &square_index);
    const TensorId x = outer->inputs[1 - side];
    if (square && square->inputs[0] == x && square->inputs[1] == x) {
      nodes.insert(nodes.end(), {index, square_index});
      return x;
    }
  }
  return -1;
}

bool isTanh(const GraphNode& node) {
  const auto* activation = std::get_if<network::ActivationLayer>(&node.parameters);
  return activation && activation->type == ActivationType::kTANH;
}

// 1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)) (GPT-2's "new GELU", PyTorch's tanh approximation):
// x, with the nodes passed through; -1 otherwise.
TensorId tanhTermOf(const Graph& graph, TensorId tensor, std::vector<int>& nodes) {
  int add_index = -1;
  const int tanh_index = onePlusOperand(graph, tensor, &add_index);
  if (tanh_index < 0 || !isTanh(graph.nodes[static_cast<std::size_t>(tanh_index)])) return -1;
  const GraphNode& tanh = graph.nodes[static_cast<std::size_t>(tanh_index)];
  std::vector<int> inner;
  const TensorId sum = scaledBy(graph, tanh.inputs.at(0), std::sqrt(2.0f / 3.14159265358979f), inner);
  int sum_index = -1;
  const GraphNode* x_plus = sum < 0 ? nullptr : elementwiseOf(graph, sum, ElementWiseOperation::kSUM, &sum_index);
  if (!x_plus) return -1;
  for (std::size_t x_side = 0; x_side < 2; ++x_side) {
    const TensorId x = x_plus->inputs[x_side];
    std::vector<int> cubic;
    const TensorId cube = scaledBy(graph, x_plus->inputs[1 - x_side], 0.044715f, cubic);
    if (cube < 0 || cubed(graph, cube, cubic) != x) continue;
    nodes.insert(nodes.end(), {add_index, tanh_index, sum_index});
    nodes.insert(nodes.end(), inner.begin(), inner.end());
    nodes.insert(nodes.end(), cubic.begin(), cubic.end());
    return x;
  }
  return -1;
}

bool fuseAt(Graph& graph, std::size_t index) {
  GraphNode& last = graph.nodes[index];
  if (last.removed) return false;
  std::vector<TensorId> leaves;
  std::vector<int> products;
  productFactors(graph, last.output, leaves, products, true);
  if (leaves.size() != 3) return false;
  // The leaves: x, 0.5 and 1 + erf(x / sqrt(2)) (or the tanh form), in any order.
  for (std::size_t term = 0; term < 3; ++term) {
    std::vector<int> erf_nodes;
    ActivationType type = ActivationType::kGELU_ERF;
    TensorId x = erfTermOf(graph, leaves[term], erf_nodes);
    if (x < 0) {
      erf_nodes.clear();
      type = ActivationType::kGELU_TANH;
      x = tanhTermOf(graph, leaves[term], erf_nodes);
    }
    if (x < 0) continue;
    const TensorId a = leaves[(term + 1) % 3], b = leaves[(term + 2) % 3];
    const std::optional<float> half_a = floatScalar(graph.tensor(a)), half_b = floatScalar(graph.tensor(b));
    const bool fits = (a == x && half_b && *half_b == 0.5f) || (b == x && half_a && *half_a == 0.5f);
    if (!fits) continue;
    for (int node : erf_nodes) graph.nodes[static_cast<std::size_t>(node)].removed = true;
    for (int node : products) {
      if (static_cast<std::size_t>(node) != index) graph.nodes[static_cast<std::size_t>(node)].removed = true;
    }
    network::ActivationLayer gelu;
    gelu.type = type;
    last.parameters = gelu;
    last.inputs = {x};
    last.name = "gelu(" + last.name + ")";
    return true;
  }
  return false;
}

}  // namespace

int fuseGelu(Graph& graph) {
  int fused = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (fuseAt(graph, i)) ++fused;
  }
  return fused;
}

}  // namespace mlprt::builder
