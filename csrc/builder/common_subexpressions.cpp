#include "builder/common_subexpressions.h"

#include <map>
#include <tuple>
#include <type_traits>
#include <variant>

namespace mlprt::builder {
namespace {

template <typename Value>
bool sameField(const Value& a, const Value& b);

// Field-wise equality through each kind's field description (layers.h): exact, floats included.
template <typename Struct>
bool sameFields(const Struct& a, const Struct& b) {
  bool same = true;
  Struct::fields([&](const char*, auto member, const char*) { same = same && sameField(a.*member, b.*member); });
  return same;
}

template <typename Value>
bool sameField(const Value& a, const Value& b) {
  if constexpr (std::is_arithmetic_v<Value> || std::is_enum_v<Value> || std::is_same_v<Value, Dims>) {
    return a == b;
  } else if constexpr (std::is_same_v<Value, network::Weights>) {
    return a.type == b.type && a.bytes == b.bytes;
  } else if constexpr (std::is_same_v<Value, std::vector<int>> || std::is_same_v<Value, std::vector<std::int64_t>> ||
                       std::is_same_v<Value, std::vector<float>>) {
    return a == b;
  } else if constexpr (std::is_same_v<Value, std::vector<network::MlpStage>>) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!sameFields(a[i], b[i])) return false;
    }
    return true;
  } else {
    return sameFields(a, b);
  }
}

bool sameParameters(const network::LayerParameters& a, const network::LayerParameters& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& layer) { return sameFields(layer, std::get<std::decay_t<decltype(layer)>>(b)); }, a);
}

bool sameEpilogue(const engine::GemmEpilogue& a, const engine::GemmEpilogue& b) {
  return a.bias == b.bias && a.has_activation == b.has_activation &&
         a.residual_after_activation == b.residual_after_activation &&
         (!a.has_activation || sameFields(a.activation, b.activation));
}

// Equal small constants become one: the readers of later copies read the first.
void shareConstants(Graph& graph) {
  std::map<std::tuple<DataType, std::vector<std::int64_t>, std::vector<std::uint8_t>>, TensorId> first;
  for (std::size_t id = 0; id < graph.tensors.size(); ++id) {
    const GraphTensor& tensor = graph.tensors[id];
    if (!tensor.is_constant || tensor.is_output || tensor.value.size() > kMaxSharedConstantBytes) continue;
    const auto key = std::make_tuple(tensor.type, std::vector<std::int64_t>(tensor.shape.extents().begin(),
                                                                            tensor.shape.extents().end()),
                                     tensor.value);
    const auto [found, inserted] = first.emplace(key, static_cast<TensorId>(id));
    if (!inserted) replaceUses(graph, static_cast<TensorId>(id), found->second);
  }
}

}  // namespace

int mergeCommonSubexpressions(Graph& graph) {
  shareConstants(graph);
  int merged = 0;
  // Candidates by their first input: a repeat reads the same tensors as the node it repeats.
  std::multimap<std::vector<TensorId>, std::size_t> seen;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    GraphNode& node = graph.nodes[i];
    if (node.removed) continue;
    bool repeated = false;
    if (!graph.tensor(node.output).is_output) {
      const auto [begin, end] = seen.equal_range(node.inputs);
      for (auto it = begin; it != end && !repeated; ++it) {
        const GraphNode& earlier = graph.nodes[it->second];
        if (earlier.removed || !sameParameters(earlier.parameters, node.parameters) ||
            !sameEpilogue(earlier.epilogue, node.epilogue)) {
          continue;
        }
        const GraphTensor& a = graph.tensor(earlier.output);
        const GraphTensor& b = graph.tensor(node.output);
        if (a.type != b.type || !(a.shape == b.shape)) continue;
        node.removed = true;
        replaceUses(graph, node.output, earlier.output);
        repeated = true;
      }
    }
    if (repeated) {
      ++merged;
    } else {
      seen.emplace(node.inputs, i);
    }
  }
  return merged;
}

}  // namespace mlprt::builder
