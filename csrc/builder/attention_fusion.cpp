#include "builder/attention_fusion.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

// cap x tanh(s / cap) (ONNX Attention's softcap, as the parser writes it: a division, a tanh and a
// product, each feeding only the next): s, with `softcap` set to cap; else `tensor`.
TensorId peelSoftcap(const Graph& graph, TensorId tensor, float& softcap, std::vector<int>& chain) {
  int product_index = -1, tanh_index = -1, divide_index = -1;
  const auto* product = producedBy<network::ElementWiseLayer>(graph, tensor, &product_index);
  if (!product || product->op != ElementWiseOperation::kPROD || !graph.isPrivate(tensor)) return tensor;
  const GraphNode& outer = graph.nodes[static_cast<std::size_t>(product_index)];
  if (outer.inputs.size() != 2) return tensor;
  const std::optional<float> cap = scalarValue(graph.tensor(outer.inputs[1]));
  const TensorId capped = outer.inputs[0];
  const auto* tanh = producedBy<network::ActivationLayer>(graph, capped, &tanh_index);
  if (!cap || !(*cap > 0.0f) || !tanh || tanh->type != ActivationType::kTANH || !graph.isPrivate(capped)) return tensor;
  const TensorId quotient = graph.nodes[static_cast<std::size_t>(tanh_index)].inputs.at(0);
  const auto* divide = producedBy<network::ElementWiseLayer>(graph, quotient, &divide_index);
  if (!divide || divide->op != ElementWiseOperation::kDIV || !graph.isPrivate(quotient)) return tensor;
  const GraphNode& inner = graph.nodes[static_cast<std::size_t>(divide_index)];
  const std::optional<float> divisor = scalarValue(graph.tensor(inner.inputs.at(1)));
  if (!divisor || *divisor != *cap) return tensor;
  softcap = *cap;
  chain.insert(chain.end(), {product_index, tanh_index, divide_index});
  return inner.inputs.at(0);
}

bool isRank4Floating(const Graph& graph, TensorId tensor) {
  const GraphTensor& t = graph.tensor(tensor);
  return t.shape.rank() == 4 && isFloating(t.type);
}

// `tensor` itself, or what a shuffle that only reshapes it (ONNX Unsqueeze) reads.
TensorId beforeReshape(const Graph& graph, TensorId tensor) {
  int index = -1;
  const auto* shuffle = producedBy<network::ShuffleLayer>(graph, tensor, &index);
  if (!shuffle || !shuffle->first_transpose.empty() || !shuffle->second_transpose.empty()) return tensor;
  return graph.nodes[static_cast<std::size_t>(index)].inputs.at(0);
}

// `condition` = (reduce_max over the last axis of b, kept) == -inf, maybe reshaped: the rows of b
// that are -inf everywhere (the ONNX parser's Attention guard). b, or -1.
TensorId everywhereMinusInfinity(const Graph& graph, TensorId condition) {
  int equal_index = -1;
  const auto* equal = producedBy<network::ElementWiseLayer>(graph, beforeReshape(graph, condition), &equal_index);
  if (!equal || equal->op != ElementWiseOperation::kEQUAL) return -1;
  const GraphNode& comparison = graph.nodes[static_cast<std::size_t>(equal_index)];
  const std::optional<float> bound = scalarValue(graph.tensor(comparison.inputs.at(1)));
  int reduce_index = -1;
  const auto* peak = producedBy<network::ReduceLayer>(graph, comparison.inputs.at(0), &reduce_index);
  if (!bound || !(std::isinf(*bound) && *bound < 0) || !peak || peak->op != ReduceOperation::kMAX) return -1;
  const TensorId b = graph.nodes[static_cast<std::size_t>(reduce_index)].inputs.at(0);
  const std::size_t rank = graph.tensor(b).shape.rank();
  return rank > 0 && peak->axes == (1u << (rank - 1)) && peak->keep_dimensions ? b : -1;
}

// softmax(x) guarded by where(isnan(softmax), 0, softmax) (PyTorch's exports), or by
// where(rows of b that are -inf everywhere, 0, softmax) (the ONNX parser's Attention, b the
// additive mask before any reshape: `guarded_mask`): the softmax's output, or -1.
TensorId unguardedProbabilities(const Graph& graph, TensorId probs, std::vector<int>& chain, TensorId& guarded_mask) {
  guarded_mask = -1;
  int select_index = -1;
  if (!producedBy<network::SelectLayer>(graph, probs, &select_index)) return -1;
  const GraphNode& select = graph.nodes[static_cast<std::size_t>(select_index)];
  if (select.inputs.size() != 3 || !graph.isPrivate(probs)) return -1;
  const std::optional<float> zero = scalarValue(graph.tensor(select.inputs[1]));
  if (!zero || *zero != 0.0f) return -1;
  const TensorId softmax_out = select.inputs[2];
  if (const TensorId mask = everywhereMinusInfinity(graph, select.inputs[0]); mask >= 0) {
    if (!graph.isPrivate(softmax_out)) return -1;
    guarded_mask = mask;
    chain.push_back(select_index);
    return softmax_out;
  }
  int test_index = -1;
  const auto* test = producedBy<network::UnaryLayer>(graph, select.inputs[0], &test_index);
  if (!test || test->op != UnaryOperation::kISNAN ||
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

// -- Heads packed along the last axis -----------------------------------------------------------
// The exporters split (B, S, H x D) projections into heads with a reshape to (B, S, H, D) and a
// transpose to (B, H, S, D) (keys also to (B, H, D, S)), and merge the output back the other way.
// The kernel reads and writes (B, S, H x D) in place, so those shuffles (copies) go away.

const std::vector<int> kHeadsFirst = {0, 2, 1, 3};       // (B, S, H, D) -> (B, H, S, D), and back
const std::vector<int> kHeadsFirstKeysT = {0, 2, 3, 1};  // (B, S, H, D) -> (B, H, D, S)

// The shuffle node writing `tensor` when `tensor` is private to one reader.
const network::ShuffleLayer* privateShuffle(const Graph& graph, TensorId tensor, int* index) {
  const auto* shuffle = producedBy<network::ShuffleLayer>(graph, tensor, index);
  if (!shuffle || !graph.isPrivate(tensor) || graph.nodes[static_cast<std::size_t>(*index)].inputs.size() != 1) {
    return nullptr;
  }
  return shuffle;
}

// Whether `reshape` keeps the leading `kept` axes of `input` (0 placeholders or equal static extents).
bool keepsLeadingAxes(const std::vector<std::int64_t>& reshape, const Dims& input, std::size_t kept) {
  if (reshape.size() < kept || input.rank() < kept) return false;
  for (std::size_t axis = 0; axis < kept; ++axis) {
    if (reshape[axis] != 0 && (input[axis] < 0 || reshape[axis] != input[axis])) return false;
  }
  return true;
}

// A reshape of (B, S, H x D) to (B, S, H, D) with static H and D: H, or 0.
std::int64_t splitHeads(const std::vector<std::int64_t>& reshape, const Dims& input) {
  if (reshape.size() != 4 || input.rank() != 3 || !keepsLeadingAxes(reshape, input, 2)) return 0;
  const bool fits = reshape[2] > 0 && reshape[3] > 0 && input[2] == reshape[2] * reshape[3];
  return fits ? reshape[2] : 0;
}

// A reshape of (B, S, H, D) to (B, S, H x D) with static H and D.
bool mergesHeads(const std::vector<std::int64_t>& reshape, const Dims& input) {
  return reshape.size() == 3 && input.rank() == 4 && keepsLeadingAxes(reshape, input, 2) && input[2] > 0 &&
         input[3] > 0 && reshape[2] == input[2] * input[3];
}

bool onlyTransposes(const network::ShuffleLayer& shuffle, const std::vector<int>& order) {
  return !shuffle.has_reshape && shuffle.second_transpose.empty() && shuffle.first_transpose == order;
}

bool onlyReshapes(const network::ShuffleLayer& shuffle) {
  return shuffle.has_reshape && shuffle.first_transpose.empty() && shuffle.second_transpose.empty();
}

// The permutation of applying `earlier` and then `later` (TensorRT's convention: output axis i is
// input axis order[i]).
std::vector<int> thenApply(const std::vector<int>& earlier, const std::vector<int>& later) {
  std::vector<int> combined(later.size());
  for (std::size_t i = 0; i < later.size(); ++i) combined[i] = earlier.at(static_cast<std::size_t>(later[i]));
  return combined;
}

// An operand that is (B, S, H x D) reshaped to heads and then transposed, by one or more shuffles,
// to `order`: the (B, S, H x D) tensor, with H; the shuffles go to `chain`. -1 when `operand` is
// not made that way.
TensorId packedSource(const Graph& graph, TensorId operand, const std::vector<int>& order, std::int64_t& heads,
                      std::vector<int>& chain) {
  std::vector<int> nodes;
  std::vector<int> permutation = {0, 1, 2, 3};  // what the transposes seen so far do, together
  TensorId current = operand;
  int index = -1;
  const network::ShuffleLayer* shuffle = privateShuffle(graph, current, &index);
  while (shuffle && !shuffle->has_reshape && shuffle->second_transpose.empty() &&
         shuffle->first_transpose.size() == 4) {
    permutation = thenApply(shuffle->first_transpose, permutation);
    nodes.push_back(index);
    current = graph.nodes[static_cast<std::size_t>(index)].inputs[0];
    shuffle = privateShuffle(graph, current, &index);
  }
  // The shuffle that splits the heads, maybe transposing after its reshape.
  if (!shuffle || !shuffle->has_reshape || !shuffle->first_transpose.empty()) return -1;
  if (shuffle->second_transpose.size() == 4) {
    permutation = thenApply(shuffle->second_transpose, permutation);
  } else if (!shuffle->second_transpose.empty()) {
    return -1;
  }
  const TensorId source = graph.nodes[static_cast<std::size_t>(index)].inputs[0];
  heads = splitHeads(shuffle->reshape, graph.tensor(source).shape);
  if (heads == 0 || permutation != order) return -1;
  nodes.push_back(index);
  chain.insert(chain.end(), nodes.begin(), nodes.end());
  return source;
}

// The single live reader of `tensor` when it is a shuffle and `tensor` is private.
const network::ShuffleLayer* onlyShuffleReader(const Graph& graph, TensorId tensor, int* index) {
  const std::vector<int> readers = graph.consumers(tensor);
  if (readers.size() != 1 || !graph.isPrivate(tensor)) return nullptr;
  *index = readers[0];
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(*index)];
  if (node.inputs.size() != 1 || node.epilogue.bias >= 0) return nullptr;
  return std::get_if<network::ShuffleLayer>(&node.parameters);
}

// The attention output (B, H, S, Dv) transposed to (B, S, H, Dv) and merged to (B, S, H x Dv), after
// an optional reshape that changes nothing (exporters write one): the merged tensor, with the
// shuffles in `chain`; -1 otherwise.
TensorId packedDestination(const Graph& graph, TensorId output, std::vector<int>& chain) {
  int index = -1;
  const network::ShuffleLayer* shuffle = onlyShuffleReader(graph, output, &index);
  TensorId current = output;
  if (shuffle && onlyReshapes(*shuffle) && shuffle->reshape.size() == 4 &&
      keepsLeadingAxes(shuffle->reshape, graph.tensor(output).shape, 4)) {
    chain.push_back(index);
    current = graph.nodes[static_cast<std::size_t>(index)].output;
    shuffle = onlyShuffleReader(graph, current, &index);
  }
  if (!shuffle) return -1;
  const GraphNode& transpose = graph.nodes[static_cast<std::size_t>(index)];
  if (shuffle->first_transpose == kHeadsFirst && shuffle->has_reshape && shuffle->second_transpose.empty()) {
    const Dims& in = graph.tensor(current).shape;
    const Dims swapped = in.rank() == 4 ? Dims{in[0], in[2], in[1], in[3]} : in;
    if (!mergesHeads(shuffle->reshape, swapped)) return -1;
    chain.push_back(index);
    return transpose.output;
  }
  if (!onlyTransposes(*shuffle, kHeadsFirst)) return -1;
  int merge_index = -1;
  const network::ShuffleLayer* merge = onlyShuffleReader(graph, transpose.output, &merge_index);
  if (!merge || !onlyReshapes(*merge) || !mergesHeads(merge->reshape, graph.tensor(transpose.output).shape)) return -1;
  chain.insert(chain.end(), {index, merge_index});
  return graph.nodes[static_cast<std::size_t>(merge_index)].output;
}

// The values of a constant INT32 or INT64 vector; nothing for anything else.
std::optional<std::vector<std::int64_t>> integerVector(const GraphTensor& tensor) {
  if (!tensor.is_constant || tensor.shape.rank() != 1) return std::nullopt;
  const auto count = static_cast<std::size_t>(tensor.shape[0]);
  std::vector<std::int64_t> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (tensor.type == DataType::kINT64) {
      std::memcpy(&values[i], tensor.value.data() + 8 * i, 8);
    } else if (tensor.type == DataType::kINT32) {
      std::int32_t value = 0;
      std::memcpy(&value, tensor.value.data() + 4 * i, 4);
      values[i] = value;
    } else {
      return std::nullopt;
    }
  }
  return values;
}

// k or v (B, Hk, S, D) with each head repeated g times along axis 1 by a gather of indices
// 0, .., 0, 1, .., 1, ... (the ONNX parser's grouped-query attention): the unrepeated tensor, the
// gather in `chain`; -1 otherwise. The kernel maps query head h to key head h / g itself.
TensorId unrepeatedHeads(const Graph& graph, TensorId operand, std::vector<int>& chain) {
  int index = -1;
  const auto* gather = producedBy<network::GatherLayer>(graph, operand, &index);
  if (!gather || gather->mode != GatherMode::kDEFAULT || gather->gather_axis != 1 || !graph.isPrivate(operand)) {
    return -1;
  }
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(index)];
  const TensorId source = node.inputs.at(0);
  const std::int64_t heads = graph.tensor(source).shape.rank() == 4 ? graph.tensor(source).shape[1] : -1;
  const std::optional<std::vector<std::int64_t>> indices = integerVector(graph.tensor(node.inputs.at(1)));
  if (heads < 1 || !indices || indices->empty() || indices->size() % static_cast<std::size_t>(heads) != 0) return -1;
  const auto group = static_cast<std::int64_t>(indices->size()) / heads;
  for (std::size_t h = 0; h < indices->size(); ++h) {
    if ((*indices)[h] != static_cast<std::int64_t>(h) / group) return -1;
  }
  chain.push_back(index);
  return source;
}

// Grouped-query attention without the repeats: k and v both unrepeated (or neither).
void dropHeadRepeats(const Graph& graph, const network::AttentionLayer& attention, std::vector<TensorId>& operands,
                     TensorId output, std::vector<int>& chain) {
  if (attention.keys_transposed) return;
  std::vector<int> repeats;
  const TensorId k = unrepeatedHeads(graph, operands[1], repeats);
  const TensorId v = unrepeatedHeads(graph, operands[2], repeats);
  if (k < 0 || v < 0 ||
      !fitsTheKernel(graph, attention, operands[0], k, v, operands.size() > 3 ? operands[3] : -1, output)) {
    return;
  }
  operands[1] = k;
  operands[2] = v;
  chain.insert(chain.end(), repeats.begin(), repeats.end());
}

// Reads q, k, v in place where each is a split projection, and writes the merged output directly:
// sets the attention's packed bits and head counts, and swaps in the (B, S, heads x D) tensors. The
// result is kept only where the step's shape rules accept it and give the chain's final shape.
void packHeads(const Graph& graph, network::AttentionLayer& attention, std::vector<TensorId>& operands,
               TensorId& output, std::vector<int>& chain) {
  network::AttentionLayer packed = attention;
  std::vector<TensorId> packed_operands = operands;
  std::vector<int> packed_chain;
  std::int64_t heads = 0;
  if (TensorId q = packedSource(graph, operands[0], kHeadsFirst, heads, packed_chain); q >= 0) {
    packed.packed |= 1U;
    packed.heads = static_cast<std::int32_t>(heads);
    packed_operands[0] = q;
  }
  const std::vector<int>& key_order = attention.keys_transposed ? kHeadsFirstKeysT : kHeadsFirst;
  std::int64_t key_heads = 0, value_heads = 0;
  std::vector<int> key_chain, value_chain;
  const TensorId k = packedSource(graph, operands[1], key_order, key_heads, key_chain);
  const TensorId v = packedSource(graph, operands[2], kHeadsFirst, value_heads, value_chain);
  const bool pack_k = k >= 0;
  const bool pack_v = v >= 0 && (!pack_k || value_heads == key_heads);  // k and v share one head count
  if (pack_k) {
    packed.packed |= 2U;
    packed.keys_transposed = false;
    packed.kv_heads = static_cast<std::int32_t>(key_heads);
    packed_operands[1] = k;
    packed_chain.insert(packed_chain.end(), key_chain.begin(), key_chain.end());
  }
  if (pack_v) {
    packed.packed |= 4U;
    packed.kv_heads = static_cast<std::int32_t>(value_heads);
    packed_operands[2] = v;
    packed_chain.insert(packed_chain.end(), value_chain.begin(), value_chain.end());
  }
  TensorId packed_output = output;
  const Dims& out = graph.tensor(output).shape;
  std::vector<int> output_chain;
  if (const TensorId merged = packedDestination(graph, output, output_chain); merged >= 0 && out[1] > 0) {
    if (!(packed.packed & 1U) || packed.heads == out[1]) {
      packed.packed |= 8U;
      packed.heads = static_cast<std::int32_t>(out[1]);
      packed_output = merged;
      packed_chain.insert(packed_chain.end(), output_chain.begin(), output_chain.end());
    }
  }
  if (packed.packed == 0 || !fitsTheKernel(graph, packed, packed_operands[0], packed_operands[1],
                                           packed_operands[2], operands.size() > 3 ? operands[3] : -1, packed_output)) {
    return;
  }
  attention = packed;
  operands = packed_operands;
  output = packed_output;
  chain.insert(chain.end(), packed_chain.begin(), packed_chain.end());
}

// -- Masks that repeat along the batch (Swin's shifted windows) ----------------------------------
// torchvision's shifted-window attention adds its per-window mask in a 5-D view of the scores:
// reshape (B x nW, H, N, N) -> (B, nW, H, N, N), add a constant (1, nW, 1, N, N), reshape back; the
// relative position bias (1, H, N, N) is added before. The kernel reads one constant mask of
// (nW, H, N, N), the two summed, with batch entry b taking mask entry b mod nW.

// The element of a FLOAT constant of shape `shape` at `index` (one entry per axis), broadcasting
// extents of 1.
float broadcastValue(const std::vector<float>& values, const Dims& shape, const std::vector<std::int64_t>& index) {
  std::int64_t offset = 0;
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) offset = offset * shape[axis] + (shape[axis] == 1 ? 0 : index[axis]);
  return values[static_cast<std::size_t>(offset)];
}

// Whether `extent` broadcasts to `full` (1 or equal, both static).
bool broadcastsTo(std::int64_t extent, std::int64_t full) { return extent == 1 || (extent > 0 && extent == full); }

struct WindowedMask {
  TensorId scores = -1;  // the scores before the bias and the windows' mask: a product's output, maybe scaled
  TensorId mask = -1;    // the new constant (nW, H or 1, Sq or 1, Sk or 1)
  std::int64_t windows = 0;
};

// `softmax_in` = reshape(reshape(s [+ bias], (B, nW, H, Sq, Sk)) + window_mask, (B x nW, H, Sq, Sk)) with
// constant FLOAT bias (1, H or 1, Sq or 1, Sk or 1) and window_mask (1, nW, H or 1, Sq or 1, Sk or 1): s,
// and a new constant holding bias + window_mask as (nW, ...); the nodes go to `chain`. Nothing otherwise.
std::optional<WindowedMask> windowedMask(Graph& graph, TensorId softmax_in, std::vector<int>& chain) {
  int back_index = -1, add_index = -1, split_index = -1;
  const auto* back = producedBy<network::ShuffleLayer>(graph, softmax_in, &back_index);
  if (!back || !onlyReshapes(*back) || !graph.isPrivate(softmax_in)) return std::nullopt;
  const TensorId sum5 = graph.nodes[static_cast<std::size_t>(back_index)].inputs.at(0);
  const auto* add = producedBy<network::ElementWiseLayer>(graph, sum5, &add_index);
  if (!add || add->op != ElementWiseOperation::kSUM || !graph.isPrivate(sum5)) return std::nullopt;
  const GraphNode& sum = graph.nodes[static_cast<std::size_t>(add_index)];
  if (sum.inputs.size() != 2) return std::nullopt;
  const std::size_t mask_side = isFloatConstant(graph.tensor(sum.inputs[1])) ? 1 : 0;
  const GraphTensor& window_mask = graph.tensor(sum.inputs[mask_side]);
  const TensorId scores5 = sum.inputs[1 - mask_side];
  const auto* split = producedBy<network::ShuffleLayer>(graph, scores5, &split_index);
  if (!isFloatConstant(window_mask) || !split || !onlyReshapes(*split) || !graph.isPrivate(scores5)) return std::nullopt;
  TensorId scores = graph.nodes[static_cast<std::size_t>(split_index)].inputs.at(0);
  const Dims& s4 = graph.tensor(scores).shape;
  const Dims& s5 = graph.tensor(scores5).shape;
  const Dims& m5 = window_mask.shape;
  const Dims& out = graph.tensor(softmax_in).shape;
  if (s4.rank() != 4 || s5.rank() != 5 || m5.rank() != 5 || out.rank() != 4 || !isFloating(graph.tensor(scores).type)) {
    return std::nullopt;
  }
  const std::int64_t windows = s5[1];
  for (std::size_t axis = 1; axis < 4; ++axis) {
    if (s4[axis] <= 0 || s5[axis + 1] != s4[axis] || out[axis] != s4[axis]) return std::nullopt;
  }
  if (windows <= 0 || m5[0] != 1 || !broadcastsTo(m5[1], windows)) return std::nullopt;
  for (std::size_t axis = 2; axis < 5; ++axis) {
    if (!broadcastsTo(m5[axis], s5[axis])) return std::nullopt;
  }
  std::vector<int> nodes = {back_index, add_index, split_index};
  // The bias added before the windows' view, when there is one.
  std::optional<GraphTensor> bias;
  int bias_index = -1;
  if (const auto* bias_add = producedBy<network::ElementWiseLayer>(graph, scores, &bias_index);
      bias_add && bias_add->op == ElementWiseOperation::kSUM && graph.isPrivate(scores)) {
    const GraphNode& biased = graph.nodes[static_cast<std::size_t>(bias_index)];
    for (std::size_t side = 0; side < 2 && !bias && biased.inputs.size() == 2; ++side) {
      const GraphTensor& candidate = graph.tensor(biased.inputs[side]);
      const Dims& b = candidate.shape;
      if (isFloatConstant(candidate) && b.rank() == 4 && b[0] == 1 && broadcastsTo(b[1], s4[1]) &&
          broadcastsTo(b[2], s4[2]) && broadcastsTo(b[3], s4[3])) {
        bias = candidate;
        scores = biased.inputs[1 - side];
        nodes.push_back(bias_index);
      }
    }
  }
  // The summed mask (nW, H, Sq, Sk), each axis kept at 1 where both terms broadcast along it.
  std::vector<std::int64_t> extents = {windows, 1, 1, 1};
  for (std::size_t axis = 1; axis < 4; ++axis) {
    extents[axis] = std::max(m5[axis + 1], bias ? bias->shape[axis] : 1);
  }
  const Dims shape(extents);
  const std::vector<float> mask_values = floatsOf(window_mask);
  const std::vector<float> bias_values = bias ? floatsOf(*bias) : std::vector<float>{};
  std::vector<float> combined(static_cast<std::size_t>(shape.volume()));
  std::vector<std::int64_t> index(4, 0);
  for (std::size_t i = 0; i < combined.size(); ++i) {
    std::int64_t rest = static_cast<std::int64_t>(i);
    for (int axis = 3; axis >= 0; --axis) {
      index[static_cast<std::size_t>(axis)] = rest % extents[static_cast<std::size_t>(axis)];
      rest /= extents[static_cast<std::size_t>(axis)];
    }
    float value = broadcastValue(mask_values, m5, {0, index[0], index[1], index[2], index[3]});
    if (bias) value += broadcastValue(bias_values, bias->shape, {0, index[1], index[2], index[3]});
    combined[i] = value;
  }
  WindowedMask result;
  result.scores = scores;
  result.windows = windows;
  result.mask = graph.addConstant(window_mask.name + " (per window)", DataType::kFLOAT, shape, bytesOf(combined));
  chain.insert(chain.end(), nodes.begin(), nodes.end());
  return result;
}

// -- Masks read where they are made ---------------------------------------------------------------
// The exporters make the additive mask as where(condition, 0, -inf) (or a float's lowest value),
// often of the condition expanded to the scores' shape. The kernel reads a BOOL condition with the
// two values, and broadcasts any rank-4 mask itself, so neither the select nor the expand runs.

// `tensor` = select(all true, x, carrier) with rank-4 x of its type (the parser's Expand to a
// run-time shape, and its And with a tensor known to be true everywhere), maybe of such a select
// again: the first x that is no such select; else `tensor`.
TensorId beforeExpand(const Graph& graph, TensorId tensor) {
  int index = -1;
  while (producedBy<network::SelectLayer>(graph, tensor, &index)) {
    const GraphNode& select = graph.nodes[static_cast<std::size_t>(index)];
    const GraphTensor& condition = graph.tensor(select.inputs.at(0));
    const bool all_true = condition.is_constant && condition.type == DataType::kBOOL && !condition.value.empty() &&
                          std::all_of(condition.value.begin(), condition.value.end(), [](std::uint8_t b) { return b != 0; });
    const GraphTensor& x = graph.tensor(select.inputs.at(1));
    if (!all_true || x.shape.rank() != 4 || x.type != graph.tensor(tensor).type) break;
    tensor = select.inputs[1];
  }
  return tensor;
}

// What the kernel can read instead of additive `mask`: the BOOL condition of where(condition, a, b)
// with scalar constants a and b (set as `attention`'s mask values), and either before an expand;
// else `mask`.
TensorId maskReadInPlace(const Graph& graph, TensorId mask, network::AttentionLayer& attention) {
  mask = beforeExpand(graph, mask);
  int index = -1;
  if (!producedBy<network::SelectLayer>(graph, mask, &index)) return mask;
  const GraphNode& select = graph.nodes[static_cast<std::size_t>(index)];
  const GraphTensor& condition = graph.tensor(select.inputs.at(0));
  const std::optional<float> if_true = scalarValue(graph.tensor(select.inputs.at(1)));
  const std::optional<float> if_false = scalarValue(graph.tensor(select.inputs.at(2)));
  if (condition.type != DataType::kBOOL || condition.shape.rank() != 4 || !if_true || !if_false) return mask;
  attention.mask_if_true = *if_true;
  attention.mask_if_false = *if_false;
  return beforeExpand(graph, select.inputs[0]);
}

// Where a BOOL mask is reshapes (no transposes) and casts to BOOL of INT32, INT64 or BOOL data
// (transformers' attention_mask (B, S), unsqueezed to (B, 1, 1, S) and cast): that data, which the
// kernel reads in place (integers as nonzero, a rank-2 tensor as the key padding mask (B, Sk)),
// when the reshapes keep its axes in order: rank 2 becoming (B, 1, 1, Sk), or rank 4 unchanged.
// Else `mask`.
constexpr int kUnitAxis = -1;  // an axis of extent 1, in the symbols below

// The axes of a reshape's output as symbols of its input's (kUnitAxis for extent 1): 0 copies an
// input extent, 1 is a unit axis, one -1 takes what is left (one symbol, or none); false where that
// is not known (other extents, or more than one symbol left).
bool reshapedAxes(const network::ShuffleLayer& shuffle, std::vector<int>& symbols) {
  if (!shuffle.has_reshape) return true;
  std::vector<int> left;
  for (int symbol : symbols) {
    if (symbol != kUnitAxis) left.push_back(symbol);
  }
  std::vector<int> out(shuffle.reshape.size(), kUnitAxis);
  int inferred = -1;
  for (std::size_t axis = 0; axis < shuffle.reshape.size(); ++axis) {
    const std::int64_t extent = shuffle.reshape[axis];
    if (extent == 0) {
      if (axis >= symbols.size()) return false;
      out[axis] = symbols[axis];
      if (out[axis] != kUnitAxis) left.erase(std::find(left.begin(), left.end(), out[axis]));
    } else if (extent == -1 && inferred < 0) {
      inferred = static_cast<int>(axis);
    } else if (extent != 1) {
      return false;
    }
  }
  if (left.size() > 1 || (!left.empty() && inferred < 0)) return false;
  if (inferred >= 0) out[static_cast<std::size_t>(inferred)] = left.empty() ? kUnitAxis : left.front();
  symbols = std::move(out);
  return true;
}

TensorId maskSource(const Graph& graph, TensorId mask) {
  if (graph.tensor(mask).type != DataType::kBOOL) return mask;
  std::vector<const network::ShuffleLayer*> reshapes;  // from the mask back to the source
  TensorId source = mask;
  for (int index = graph.producer(source); index >= 0; index = graph.producer(source)) {
    const GraphNode& node = graph.nodes[static_cast<std::size_t>(index)];
    const auto* shuffle = std::get_if<network::ShuffleLayer>(&node.parameters);
    const bool reshape = shuffle && node.inputs.size() == 1 && network::movesNoAxis(*shuffle);
    const DataType from = node.inputs.empty() ? DataType::kFLOAT : graph.tensor(node.inputs[0]).type;
    const bool cast = std::holds_alternative<network::IdentityLayer>(node.parameters) && node.inputs.size() == 1 &&
                      graph.tensor(source).type == DataType::kBOOL &&
                      (from == DataType::kBOOL || from == DataType::kINT32 || from == DataType::kINT64);
    if (!reshape && !cast) break;
    if (reshape) reshapes.push_back(shuffle);
    source = node.inputs[0];
  }
  const Dims& shape = graph.tensor(source).shape;
  if (source == mask || (shape.rank() != 2 && shape.rank() != 4)) return mask;
  std::vector<int> symbols(shape.rank());
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) symbols[axis] = shape[axis] == 1 ? kUnitAxis : static_cast<int>(axis);
  const std::vector<int> original = symbols;
  for (auto shuffle = reshapes.rbegin(); shuffle != reshapes.rend(); ++shuffle) {
    if (!reshapedAxes(**shuffle, symbols)) return mask;
  }
  const std::vector<int> wanted =
      shape.rank() == 2 ? std::vector<int>{original[0], kUnitAxis, kUnitAxis, original[1]} : original;
  return symbols == wanted ? source : mask;
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
  TensorId guarded_mask = -1;
  TensorId softmax_out = unguardedProbabilities(graph, probs, chain, guarded_mask);
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
  // An additive mask: scores + mask (either order), where `scores` comes from a product; or one
  // that repeats along the batch.
  TensorId mask = -1;
  int add_index = -1;
  const auto* add = producedBy<network::ElementWiseLayer>(graph, scores, &add_index);
  std::vector<int> window_chain;
  const std::optional<WindowedMask> windowed = guarded_mask < 0 ? windowedMask(graph, scores, window_chain) : std::nullopt;
  if (windowed) {
    scores = windowed->scores;
    mask = windowed->mask;
    attention.mask_batch_period = static_cast<std::int32_t>(windowed->windows);
    chain.insert(chain.end(), window_chain.begin(), window_chain.end());
  } else if (add && add->op == ElementWiseOperation::kSUM && graph.isPrivate(scores)) {
    const GraphNode& sum = graph.nodes[static_cast<std::size_t>(add_index)];
    for (std::size_t side = 0; side < 2 && mask < 0; ++side) {
      int producer = -1;
      TensorId candidate = sum.inputs[side];
      float ignored = 1.0f;
      std::vector<int> ignored_chain;
      candidate = peelScale(graph, peelSoftcap(graph, candidate, ignored, ignored_chain), ignored, ignored_chain);
      if (producedBy<network::MatrixMultiplyLayer>(graph, candidate, &producer) &&
          isRank4Floating(graph, sum.inputs[1 - side])) {
        mask = sum.inputs[1 - side];
        scores = sum.inputs[side];
      }
    }
    if (mask < 0) return false;
    chain.push_back(add_index);
  }
  // The parser's guard zeroes the rows its mask hides whole: the same mask must be the one added.
  if (guarded_mask >= 0 && (mask < 0 || (mask != guarded_mask && beforeReshape(graph, mask) != guarded_mask))) {
    return false;
  }
  float scale = 1.0f;
  scores = peelScale(graph, peelSoftcap(graph, scores, attention.softcap, chain), scale, chain);
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
  if (mask >= 0) {
    network::AttentionLayer reading_in_place = attention;
    const TensorId source = maskReadInPlace(graph, mask, reading_in_place);
    if (source != mask && fitsTheKernel(graph, reading_in_place, q, k, v, source, product.output)) {
      attention = reading_in_place;
      mask = source;
    }
    const TensorId data = maskSource(graph, mask);
    if (data != mask && fitsTheKernel(graph, attention, q, k, v, data, product.output)) mask = data;
  }
  std::vector<TensorId> operands = {q, k, v};
  if (mask >= 0) operands.push_back(mask);
  TensorId output = product.output;
  dropHeadRepeats(graph, attention, operands, output, chain);
  packHeads(graph, attention, operands, output, chain);
  GraphNode fused;
  fused.name = "attention(" + product.name + ")";
  fused.parameters = attention;
  fused.inputs = operands;
  fused.output = output;
  for (int swallowed : chain) graph.nodes[static_cast<std::size_t>(swallowed)].removed = true;
  product = fused;
  return true;
}

// -- Merged q, k and v projections -----------------------------------------------------------------

// Whether `shape` is a matrix, maybe with leading extents of 1 (the parser's broadcast of a 2-D
// MatMul operand against a 3-D input).
bool isMatrix(const Dims& shape) {
  if (shape.rank() < 2) return false;
  for (std::size_t axis = 0; axis + 2 < shape.rank(); ++axis) {
    if (shape[axis] != 1) return false;
  }
  return true;
}

// A matrix's rows and columns (its last two extents).
std::int64_t rowsOf(const Dims& shape) { return shape[shape.rank() - 2]; }
std::int64_t columnsOf(const Dims& shape) { return shape[shape.rank() - 1]; }

// The attention of `node` when it could read merged q, k and v: a live Attention node reading all
// three packed, keys not transposed, not merged yet; null otherwise.
const network::AttentionLayer* mergeableAttention(const GraphNode& node) {
  const auto* attention = std::get_if<network::AttentionLayer>(&node.parameters);
  if (node.removed || !attention || attention->merged_qkv || (attention->packed & 7U) != 7U || attention->keys_transposed) {
    return nullptr;
  }
  return attention;
}

// Whether attention node `node`, as `merged` (merged_qkv set), reading a tensor of `qkv`'s shape and
// type as each of q, k and v (its mask unchanged), keeps the shape of its output.
bool mergedReadFits(const Graph& graph, const GraphNode& node, const network::AttentionLayer& merged,
                    const network::TensorType& qkv) {
  std::vector<network::TensorType> inputs(3, qkv);
  if (node.inputs.size() > 3) inputs.push_back({graph.tensor(node.inputs[3]).shape, graph.tensor(node.inputs[3]).type});
  try {
    return network::inferOutputs(merged, inputs).at(0).shape == graph.tensor(node.output).shape;
  } catch (const InvalidArgument&) {
    return false;
  }
}

// A product node that projects `input` by constant FLOAT weights (a matrix; op0 none), with a
// constant bias or none and no activation, writing a tensor only the attention reads: a q, k or v
// projection.
const GraphNode* projection(const Graph& graph, TensorId operand, int* index) {
  const auto* product = producedBy<network::MatrixMultiplyLayer>(graph, operand, index);
  if (!product || product->op0 != MatrixOperation::kNONE || !graph.isPrivate(operand)) return nullptr;
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(*index)];
  const GraphTensor& weights = graph.tensor(node.inputs.at(1));
  if (node.inputs.size() != 2 || node.epilogue.has_activation || !isFloatConstant(weights) || !isMatrix(weights.shape)) {
    return nullptr;
  }
  if (node.epilogue.bias >= 0 && !isFloatConstant(graph.tensor(node.epilogue.bias))) return nullptr;
  return &node;
}

// The rows-by-columns matrix `values` (row-major) with `columns` columns.
std::vector<float> concatenatedColumns(const std::vector<std::vector<float>>& parts, std::int64_t rows) {
  std::vector<float> joined;
  for (std::int64_t r = 0; r < rows; ++r) {
    for (const std::vector<float>& part : parts) {
      const auto width = static_cast<std::int64_t>(part.size()) / rows;
      joined.insert(joined.end(), part.begin() + r * width, part.begin() + (r + 1) * width);
    }
  }
  return joined;
}

// Replaces attention node `index`'s three projections of one input by one product whose weights
// and bias are theirs side by side, and has the attention read q, k and v from its output.
bool mergeProjectionsAt(Graph& graph, std::size_t index) {
  GraphNode& node = graph.nodes[index];
  const network::AttentionLayer* attention = mergeableAttention(node);
  if (!attention) return false;
  int indices[3] = {-1, -1, -1};
  const GraphNode* projections[3];
  for (std::size_t i = 0; i < 3; ++i) {
    projections[i] = projection(graph, node.inputs[i], &indices[i]);
    if (!projections[i]) return false;
  }
  const GraphNode& first = *projections[0];
  const auto& first_product = std::get<network::MatrixMultiplyLayer>(first.parameters);
  const bool by_rows = first_product.op1 == MatrixOperation::kTRANSPOSE;  // weights N x K
  const Dims& in_shape = graph.tensor(first.inputs[0]).shape;
  const Dims& q_shape = graph.tensor(node.inputs[0]).shape;
  std::int64_t total = 0;
  const Dims& first_weights = graph.tensor(first.inputs[1]).shape;
  const std::int64_t k = by_rows ? columnsOf(first_weights) : rowsOf(first_weights);
  for (const GraphNode* p : projections) {
    const auto& product = std::get<network::MatrixMultiplyLayer>(p->parameters);
    const Dims& weights = graph.tensor(p->inputs[1]).shape;
    if (p->inputs[0] != first.inputs[0] || product.op1 != first_product.op1 || weights.rank() != first_weights.rank() ||
        (p->epilogue.bias >= 0) != (first.epilogue.bias >= 0) ||
        graph.tensor(p->output).type != graph.tensor(first.output).type || (by_rows ? columnsOf(weights) : rowsOf(weights)) != k) {
      return false;
    }
    total += by_rows ? rowsOf(weights) : columnsOf(weights);
  }
  if (indices[0] == indices[1] || indices[1] == indices[2] || indices[0] == indices[2] || in_shape.rank() != 3 ||
      q_shape.rank() != 3) {
    return false;
  }
  // The merged attention: q, k, v (B, S, (H + 2 Hk) x D); k and v must share D with q.
  network::AttentionLayer merged = *attention;
  merged.merged_qkv = true;
  const Dims out_shape{q_shape[0], q_shape[1], total};
  const std::int64_t all_heads = static_cast<std::int64_t>(attention->heads) + 2 * attention->kv_heads;
  if (attention->heads < 1 || attention->kv_heads < 1 || total % all_heads != 0 ||
      q_shape[2] != attention->heads * (total / all_heads)) {
    return false;
  }
  if (!mergedReadFits(graph, node, merged, {out_shape, graph.tensor(node.inputs[0]).type})) return false;
  // Weights side by side: K x (Nq + Nk + Nv) (rows after rows where they are N x K); biases joined.
  std::vector<std::vector<float>> weight_parts, bias_parts;
  for (const GraphNode* p : projections) {
    weight_parts.push_back(floatsOf(graph.tensor(p->inputs[1])));
    if (p->epilogue.bias >= 0) bias_parts.push_back(floatsOf(graph.tensor(p->epilogue.bias)));
  }
  std::vector<float> weights;
  if (by_rows) {
    for (const std::vector<float>& part : weight_parts) weights.insert(weights.end(), part.begin(), part.end());
  } else {
    weights = concatenatedColumns(weight_parts, k);
  }
  std::vector<float> bias;
  for (const std::vector<float>& part : bias_parts) bias.insert(bias.end(), part.begin(), part.end());
  if (!bias_parts.empty() && static_cast<std::int64_t>(bias.size()) != total) return false;
  GraphNode product = first;
  product.name = first.name + " + " + projections[1]->name + " + " + projections[2]->name;
  std::vector<std::int64_t> extents(first_weights.extents().begin(), first_weights.extents().end());
  extents[extents.size() - (by_rows ? 2 : 1)] = total;  // leading extents of 1 kept
  product.inputs[1] = graph.addConstant(product.name + " weights", DataType::kFLOAT, Dims(extents), bytesOf(weights));
  if (!bias.empty()) product.epilogue.bias = graph.addConstant(product.name + " bias", DataType::kFLOAT, Dims{total}, bytesOf(bias));
  GraphTensor joined = graph.tensor(first.output);
  joined.name = product.name;
  joined.shape = Dims{in_shape[0], in_shape[1], total};
  product.output = graph.addTensor(joined);
  // The merged product takes the place of the earliest projection (all three read one input, so
  // each sits after it and before the attention).
  const int earliest = std::min({indices[0], indices[1], indices[2]});
  for (int i : indices) graph.nodes[static_cast<std::size_t>(i)].removed = true;
  GraphNode& attention_node = graph.nodes[index];
  attention_node.parameters = merged;
  attention_node.inputs[0] = attention_node.inputs[1] = attention_node.inputs[2] = product.output;
  graph.nodes[static_cast<std::size_t>(earliest)] = product;
  return true;
}

// A window of the last axis of a rank-3 tensor (whole other axes, unit strides) that only the
// attention reads: GPT-2's Split of its one q/k/v projection.
struct LastAxisSlice {
  TensorId source = -1;
  std::int64_t start = 0, size = 0;
  int node = -1;
};

std::optional<LastAxisSlice> lastAxisSlice(const Graph& graph, TensorId operand) {
  int index = -1;
  const auto* slice = producedBy<network::SliceLayer>(graph, operand, &index);
  if (!slice || !graph.isPrivate(operand)) return std::nullopt;
  const GraphNode& node = graph.nodes[static_cast<std::size_t>(index)];
  const Dims& source = graph.tensor(node.inputs.at(0)).shape;
  if (node.inputs.size() != 1 || source.rank() != 3 || slice->start.size() != 3 || slice->shape.size() != 3 ||
      slice->stride != std::vector<std::int64_t>{1, 1, 1} || slice->start[0] != 0 || slice->start[1] != 0) {
    return std::nullopt;
  }
  for (std::size_t axis = 0; axis < 2; ++axis) {
    if (slice->shape[axis] != -1 && (source[axis] < 0 || slice->shape[axis] != source[axis])) return std::nullopt;
  }
  if (slice->shape[2] < 1 || slice->start[2] < 0) return std::nullopt;
  return LastAxisSlice{node.inputs[0], slice->start[2], slice->shape[2], index};
}

// Where an Attention node reads packed q, k and v that are consecutive windows of the last axis of
// one tensor whose width they fill (q's, then k's, then v's), the node reads that tensor as merged
// q, k and v, and the copies go.
bool readSlicesInPlaceAt(Graph& graph, std::size_t index) {
  GraphNode& node = graph.nodes[index];
  const network::AttentionLayer* attention = mergeableAttention(node);
  if (!attention) return false;
  std::optional<LastAxisSlice> parts[3];
  std::int64_t next = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    parts[i] = lastAxisSlice(graph, node.inputs[i]);
    if (!parts[i] || parts[i]->source != parts[0]->source || parts[i]->start != next) return false;
    next += parts[i]->size;
  }
  const GraphTensor& source = graph.tensor(parts[0]->source);
  if (source.shape[2] != next || source.type != graph.tensor(node.inputs[0]).type) return false;
  network::AttentionLayer merged = *attention;
  merged.merged_qkv = true;
  if (!mergedReadFits(graph, node, merged, {source.shape, source.type})) return false;
  for (const auto& part : parts) graph.nodes[static_cast<std::size_t>(part->node)].removed = true;
  node.parameters = merged;
  node.inputs[0] = node.inputs[1] = node.inputs[2] = parts[0]->source;
  return true;
}

}  // namespace

int mergeQkvProjections(Graph& graph) {
  int merged = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (mergeProjectionsAt(graph, i) || readSlicesInPlaceAt(graph, i)) ++merged;
  }
  return merged;
}

int fuseAttention(Graph& graph) {
  int fused = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    if (fuseAt(graph, i)) ++fused;
  }
  return fused;
}

}  // namespace mlprt::builder
