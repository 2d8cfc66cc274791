// Graph passes of the builder: network import, dead-node removal, GEMM epilogue fusion (with
// BatchNormalization folding), shuffle splitting and FP16 conversion.
#include <algorithm>
#include <cstring>
#include <set>

#include "builder/graph.h"
#include "core/error.h"
#include "core/half.h"
#include "network/shape_inference.h"
#include "runtime/step_runner.h"

namespace mlprt::builder {

std::vector<float> floatsOf(const GraphTensor& tensor) {
  std::vector<float> values(tensor.value.size() / sizeof(float));
  std::memcpy(values.data(), tensor.value.data(), values.size() * sizeof(float));
  return values;
}

std::vector<std::uint8_t> bytesOf(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

bool isFloatConstant(const GraphTensor& tensor) {
  return tensor.is_constant && tensor.type == DataType::kFLOAT;
}

namespace {

// The N values of a constant that broadcasts along the last axis of a (.., N) result without
// changing its shape: shape (N), (1, N), (1, 1, N), ... or a single value. Empty otherwise.
std::vector<float> perColumnValues(const GraphTensor& constant, const Dims& result, std::int64_t columns) {
  if (!isFloatConstant(constant) || constant.shape.rank() > result.rank()) return {};
  for (std::size_t axis = 0; axis + 1 < constant.shape.rank(); ++axis) {
    if (constant.shape[axis] != 1) return {};
  }
  const std::vector<float> values = floatsOf(constant);
  if (values.size() == 1) return std::vector<float>(static_cast<std::size_t>(columns), values[0]);
  if (static_cast<std::int64_t>(values.size()) == columns && constant.shape.rank() > 0 &&
      constant.shape[constant.shape.rank() - 1] == columns) {
    return values;
  }
  return {};
}

// The node's current bias values, zeros when it has none.
std::vector<float> currentBias(const Graph& graph, const GraphNode& node, std::int64_t columns) {
  if (node.epilogue.bias < 0) return std::vector<float>(static_cast<std::size_t>(columns), 0.0f);
  return floatsOf(graph.tensor(node.epilogue.bias));
}

void setBias(Graph& graph, GraphNode& node, const std::vector<float>& bias) {
  node.epilogue.bias = graph.addConstant(node.name + ".bias", DataType::kFLOAT,
                                         Dims{static_cast<std::int64_t>(bias.size())}, bytesOf(bias));
}

// Multiplies column j of the node's constant weights (and bias) by scale[j]. False when the
// weights are not a private 2-D FLOAT constant.
bool scaleColumns(Graph& graph, GraphNode& node, const std::vector<float>& scale) {
  const TensorId weights_id = node.inputs.at(1);
  const GraphTensor& weights = graph.tensor(weights_id);
  if (!isFloatConstant(weights) || weights.shape.rank() != 2 || graph.consumers(weights_id).size() != 1) {
    return false;
  }
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(node.parameters);
  const bool transposed = matmul.op1 == MatrixOperation::kTRANSPOSE;
  const auto rows = static_cast<std::size_t>(weights.shape[0]);
  const auto cols = static_cast<std::size_t>(weights.shape[1]);
  std::vector<float> values = floatsOf(weights);
  const Dims shape = weights.shape;  // copied: adding tensors below moves `weights`
  const std::string name = weights.name;
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) values[r * cols + c] *= scale[transposed ? r : c];
  }
  if (node.epilogue.bias >= 0) {
    std::vector<float> bias = currentBias(graph, node, static_cast<std::int64_t>(scale.size()));
    for (std::size_t j = 0; j < bias.size(); ++j) bias[j] *= scale[j];
    setBias(graph, node, bias);
  }
  node.inputs[1] = graph.addConstant(name + ".scaled", DataType::kFLOAT, shape, bytesOf(values));
  return true;
}

// Tries to absorb `next` (the only reader of the product) into the product's epilogue.
bool absorbIntoEpilogue(Graph& graph, GraphNode& node, const GraphNode& next) {
  const Dims result = graph.tensor(node.output).shape;  // a copy: adding constants moves tensors
  const std::int64_t columns = result.rank() ? result[result.rank() - 1] : -1;
  if (columns <= 0) return false;
  if (const auto* activation = std::get_if<network::ActivationLayer>(&next.parameters)) {
    node.epilogue.has_activation = true;
    node.epilogue.activation = *activation;
    return true;
  }
  const auto* elementwise = std::get_if<network::ElementWiseLayer>(&next.parameters);
  if (!elementwise || next.inputs.size() != 2 || next.inputs[0] == next.inputs[1]) return false;
  const bool product_first = next.inputs[0] == node.output;
  const GraphTensor other = graph.tensor(next.inputs[product_first ? 1 : 0]);
  if (network::broadcastShapes(result, other.shape) != result) return false;
  std::vector<float> values = perColumnValues(other, result, columns);
  if (values.empty()) return false;
  std::vector<float> bias = currentBias(graph, node, columns);
  switch (elementwise->op) {
    case ElementWiseOperation::kSUM:
      for (std::size_t j = 0; j < bias.size(); ++j) bias[j] += values[j];
      setBias(graph, node, bias);
      return true;
    case ElementWiseOperation::kSUB:
      if (!product_first) return false;
      for (std::size_t j = 0; j < bias.size(); ++j) bias[j] -= values[j];
      setBias(graph, node, bias);
      return true;
    case ElementWiseOperation::kDIV:
      if (!product_first) return false;
      for (float& value : values) value = 1.0f / value;
      return scaleColumns(graph, node, values);
    case ElementWiseOperation::kPROD:
      return scaleColumns(graph, node, values);
    default:
      return false;
  }
}

// The M values of a constant that varies only along axis 1 of an (N, M, ...) result without
// changing its shape: (1, M, 1, ..), (M, 1, ..) aligned to the right, or a single value.
std::vector<float> perChannelValues(const GraphTensor& constant, const Dims& result, std::int64_t maps) {
  if (!isFloatConstant(constant) || constant.shape.rank() > result.rank() || result.rank() < 2) return {};
  const std::vector<float> values = floatsOf(constant);
  if (values.size() == 1) return std::vector<float>(static_cast<std::size_t>(maps), values[0]);
  const std::size_t offset = result.rank() - constant.shape.rank();  // right-aligned, as broadcasting is
  for (std::size_t axis = 0; axis < constant.shape.rank(); ++axis) {
    const bool channel_axis = axis + offset == 1;
    if (constant.shape[axis] != (channel_axis ? maps : 1)) return {};
  }
  return static_cast<std::int64_t>(values.size()) == maps ? values : std::vector<float>{};
}

// Folds `next`, an element-wise layer applying per-output-map constants to the convolution's
// result, into the convolution's constant kernel and bias: * and / scale both, + and - shift the
// bias. False (nothing changed) when the kernel is not a private FLOAT constant or `next` is
// anything else.
bool foldIntoConvolution(Graph& graph, GraphNode& node, const GraphNode& next) {
  const auto* elementwise = std::get_if<network::ElementWiseLayer>(&next.parameters);
  if (!elementwise || next.inputs.size() != 2 || next.inputs[0] == next.inputs[1]) return false;
  if (node.inputs.size() > 3) return false;  // a residual is added already: scales would miss it
  const bool conv_first = next.inputs[0] == node.output;
  const Dims result = graph.tensor(node.output).shape;
  const GraphTensor& kernel = graph.tensor(node.inputs.at(1));
  const std::int64_t maps = kernel.shape.rank() ? kernel.shape[0] : -1;
  const GraphTensor other = graph.tensor(next.inputs[conv_first ? 1 : 0]);
  if (network::broadcastShapes(result, other.shape) != result) return false;
  std::vector<float> values = perChannelValues(other, result, maps);
  if (values.empty() || !isFloatConstant(kernel) || graph.consumers(node.inputs[1]).size() != 1) return false;
  const bool has_bias = node.inputs.size() > 2;
  if (has_bias && (!isFloatConstant(graph.tensor(node.inputs[2])) || graph.consumers(node.inputs[2]).size() != 1)) {
    return false;
  }
  std::vector<float> bias = has_bias ? floatsOf(graph.tensor(node.inputs[2]))
                                     : std::vector<float>(static_cast<std::size_t>(maps), 0.0f);
  std::vector<float> weights = floatsOf(kernel);
  const Dims kernel_shape = kernel.shape;  // copied: adding constants below moves tensors
  const std::string name = node.name;
  const std::size_t per_map = weights.size() / static_cast<std::size_t>(maps);
  switch (elementwise->op) {
    case ElementWiseOperation::kDIV:
      if (!conv_first) return false;
      for (float& value : values) value = 1.0f / value;
      [[fallthrough]];
    case ElementWiseOperation::kPROD:
      for (std::size_t m = 0; m < values.size(); ++m) {
        for (std::size_t i = 0; i < per_map; ++i) weights[m * per_map + i] *= values[m];
        bias[m] *= values[m];
      }
      node.inputs[1] = graph.addConstant(name + ".kernel", DataType::kFLOAT, kernel_shape, bytesOf(weights));
      break;
    case ElementWiseOperation::kSUB:
      if (!conv_first) return false;
      for (std::size_t m = 0; m < values.size(); ++m) bias[m] -= values[m];
      break;
    case ElementWiseOperation::kSUM:
      for (std::size_t m = 0; m < values.size(); ++m) bias[m] += values[m];
      break;
    default:
      return false;
  }
  const TensorId bias_id = graph.addConstant(name + ".bias", DataType::kFLOAT, Dims{maps}, bytesOf(bias));
  if (has_bias) {
    node.inputs[2] = bias_id;
  } else {
    node.inputs.push_back(bias_id);
  }
  return true;
}

// The index of the live node that writes `tensor`, or -1 (an input or a constant).

// `next` adds a tensor of the output's own shape and type to the result of the convolution
// `node` (the residual of a ResNet block, or of YOLO's bottleneck after its activation): the
// convolution takes it as input 3 and adds it (a zero bias stands in as input 2 when it has none). Only a residual
// computed before the convolution runs qualifies; when the other operand of the Add is a later
// convolution's output, that convolution absorbs this one's instead.
bool absorbResidual(Graph& graph, GraphNode& node, int node_index, const GraphNode& next) {
  const auto* add = std::get_if<network::ElementWiseLayer>(&next.parameters);
  if (!add || add->op != ElementWiseOperation::kSUM || next.inputs.size() != 2 || next.inputs[0] == next.inputs[1] ||
      node.inputs.size() > 3 || !std::holds_alternative<network::ConvolutionLayer>(node.parameters)) {
    return false;
  }
  const TensorId residual = next.inputs[next.inputs[0] == node.output ? 1 : 0];
  const GraphTensor& result = graph.tensor(node.output);
  const GraphTensor& other = graph.tensor(residual);
  if (other.shape != result.shape || other.type != result.type || graph.tensor(next.output).shape != result.shape ||
      graph.producer(residual) > node_index) {
    return false;
  }
  if (node.inputs.size() == 2) {
    const GraphTensor& kernel = graph.tensor(node.inputs[1]);
    const std::int64_t maps = kernel.shape[0];
    std::vector<std::uint8_t> zeros(static_cast<std::size_t>(maps) * elementSize(kernel.type), 0);
    node.inputs.push_back(graph.addConstant(node.name + ".bias", kernel.type, Dims{maps}, std::move(zeros)));
  }
  node.inputs.push_back(residual);
  return true;
}

GraphNode castNode(const std::string& name, TensorId input, TensorId output, DataType to) {
  GraphNode node;
  node.name = name;
  node.parameters = network::IdentityLayer{to};
  node.inputs = {input};
  node.output = output;
  return node;
}

}  // namespace

void replaceUses(Graph& graph, TensorId from, TensorId to, std::size_t first_node) {
  for (std::size_t i = first_node; i < graph.nodes.size(); ++i) {
    GraphNode& node = graph.nodes[i];
    if (node.removed) continue;
    std::replace(node.inputs.begin(), node.inputs.end(), from, to);
    if (node.epilogue.bias == from) node.epilogue.bias = to;
  }
}

TensorId Graph::addTensor(GraphTensor tensor) {
  tensors.push_back(std::move(tensor));
  return static_cast<TensorId>(tensors.size() - 1);
}

TensorId Graph::addConstant(const std::string& name, DataType type, const Dims& shape,
                            std::vector<std::uint8_t> value) {
  GraphTensor tensor;
  tensor.name = name;
  tensor.type = type;
  tensor.shape = shape;
  tensor.is_constant = true;
  tensor.value = std::move(value);
  return addTensor(std::move(tensor));
}

std::vector<int> Graph::consumers(TensorId tensor_id) const {
  std::vector<int> result;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const GraphNode& node = nodes[i];
    if (node.removed) continue;
    const bool reads = std::find(node.inputs.begin(), node.inputs.end(), tensor_id) != node.inputs.end() ||
                       node.epilogue.bias == tensor_id;
    if (reads) result.push_back(static_cast<int>(i));
  }
  return result;
}

int Graph::producer(TensorId tensor) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].removed && nodes[i].output == tensor) return static_cast<int>(i);
  }
  return -1;
}

bool Graph::isPrivate(TensorId tensor, std::size_t readers) const {
  return !this->tensor(tensor).is_output && consumers(tensor).size() == readers;
}

std::optional<float> scalarValue(const GraphTensor& tensor) {
  if (!tensor.is_constant || tensor.shape.volume() != 1) return std::nullopt;
  if (tensor.type == DataType::kFLOAT && tensor.value.size() == sizeof(float)) {
    float value = 0;
    std::memcpy(&value, tensor.value.data(), sizeof value);
    return value;
  }
  if (tensor.type == DataType::kHALF && tensor.value.size() == 2) {
    std::uint16_t bits = 0;
    std::memcpy(&bits, tensor.value.data(), 2);
    return halfToFloat(bits);
  }
  return std::nullopt;
}

Graph graphFromNetwork(const network::Network& net) {
  Graph graph;
  for (std::size_t i = 0; i < net.tensorCount(); ++i) {
    const network::Tensor& source = net.tensor(static_cast<TensorId>(i));
    GraphTensor tensor;
    tensor.name = source.name;
    tensor.type = source.type;
    tensor.shape = source.shape;
    graph.tensors.push_back(tensor);
  }
  for (TensorId input : net.inputs()) graph.tensor(input).is_input = true;
  for (std::size_t i = 0; i < net.layerCount(); ++i) {
    const network::Layer& layer = net.layer(static_cast<int>(i));
    if (const auto* constant = std::get_if<network::ConstantLayer>(&layer.parameters)) {
      GraphTensor& tensor = graph.tensor(layer.outputs.at(0));
      tensor.is_constant = true;
      tensor.type = constant->weights.type;
      tensor.value = constant->weights.bytes;
      continue;
    }
    GraphNode node;
    node.name = layer.name;
    node.parameters = layer.parameters;
    node.inputs = layer.inputs;
    node.output = layer.outputs.at(0);
    if (const auto* top = std::get_if<network::TopKLayer>(&layer.parameters)) {
      // The kernel finds the indices; the values are the input gathered through them.
      node.output = layer.outputs.at(1);
      graph.nodes.push_back(node);
      node.name = layer.name + ".values";
      node.parameters = network::GatherLayer{top->axis(), GatherMode::kELEMENT};
      node.inputs = {layer.inputs.at(0), layer.outputs.at(1)};
      node.output = layer.outputs.at(0);
    }
    graph.nodes.push_back(std::move(node));
  }
  graph.inputs = net.inputs();
  graph.outputs = net.outputs();
  if (graph.outputs.empty()) {
    throw InvalidArgument("the network has no outputs; mark at least one tensor with mark_output");
  }
  for (TensorId output : graph.outputs) {
    GraphTensor& tensor = graph.tensor(output);
    tensor.is_output = true;
    if (tensor.is_input) {
      throw InvalidArgument("tensor '" + tensor.name +
                            "' is both a network input and a network output; add an identity layer and mark its output");
    }
    if (tensor.is_constant) {
      // An output is written by a step: copy the constant into it.
      const TensorId value = graph.addConstant(tensor.name + ".value", tensor.type, tensor.shape, tensor.value);
      GraphTensor& output_tensor = graph.tensor(output);
      output_tensor.is_constant = false;
      output_tensor.value.clear();
      graph.nodes.push_back(castNode(output_tensor.name + ".copy", value, output, output_tensor.type));
    }
  }
  return graph;
}

namespace {

// Whether the shuffle gives back its input unchanged: no transposes (or identity ones) and a
// reshape that keeps every axis (a 0 placeholder or the axis's own static extent).
bool leavesInputUnchanged(const network::ShuffleLayer& shuffle, const Dims& input) {
  if (!network::movesNoAxis(shuffle)) return false;
  if (!shuffle.has_reshape) return true;
  if (shuffle.reshape.size() != input.rank()) return false;
  for (std::size_t axis = 0; axis < input.rank(); ++axis) {
    const std::int64_t extent = shuffle.reshape[axis];
    if (extent != 0 && (input[axis] < 0 || extent != input[axis])) return false;
  }
  return true;
}

}  // namespace

int removeIdentityShuffles(Graph& graph) {
  int removed = 0;
  for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
    GraphNode& node = graph.nodes[i];
    const auto* shuffle = std::get_if<network::ShuffleLayer>(&node.parameters);
    if (node.removed || !shuffle || node.inputs.size() != 1 || graph.tensor(node.output).is_output) continue;
    if (!leavesInputUnchanged(*shuffle, graph.tensor(node.inputs[0]).shape)) continue;
    node.removed = true;
    replaceUses(graph, node.output, node.inputs[0], i + 1);
    ++removed;
  }
  return removed;
}

void removeDeadNodes(Graph& graph) {
  std::set<TensorId> needed(graph.outputs.begin(), graph.outputs.end());
  for (auto node = graph.nodes.rbegin(); node != graph.nodes.rend(); ++node) {
    if (node->removed) continue;
    if (needed.count(node->output) == 0) {
      node->removed = true;
      continue;
    }
    needed.insert(node->inputs.begin(), node->inputs.end());
    if (node->epilogue.bias >= 0) needed.insert(node->epilogue.bias);
  }
}

int fuseEpilogues(Graph& graph) {
  int fused = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t index = 0; index < graph.nodes.size(); ++index) {
      GraphNode& node = graph.nodes[index];
      const bool product = std::holds_alternative<network::MatrixMultiplyLayer>(node.parameters);
      const bool convolution = std::holds_alternative<network::ConvolutionLayer>(node.parameters) ||
                               std::holds_alternative<network::DeconvolutionLayer>(node.parameters);
      if (node.removed || !(product || convolution)) continue;
      if (graph.tensor(node.output).is_output) continue;
      const std::vector<int> readers = graph.consumers(node.output);
      if (readers.size() != 1) continue;
      GraphNode& next = graph.nodes[static_cast<std::size_t>(readers[0])];
      if (node.epilogue.has_activation) {
        // An activated convolution's Add (YOLO's bottleneck, x + silu(conv)): the residual goes
        // after the activation.
        if (!std::holds_alternative<network::ConvolutionLayer>(node.parameters) ||
            !absorbResidual(graph, node, static_cast<int>(index), next)) {
          continue;
        }
        node.epilogue.residual_after_activation = true;
      } else if (convolution) {
        // A convolution's bias is its own input (per output map, not per column): per-map scales
        // and shifts fold into its kernel and bias (BatchNormalization after Conv ends here), an
        // activation into its epilogue.
        const auto* activation = std::get_if<network::ActivationLayer>(&next.parameters);
        if (activation) {
          node.epilogue.has_activation = true;
          node.epilogue.activation = *activation;
        } else if (!std::holds_alternative<network::ConvolutionLayer>(node.parameters) ||
                   !(foldIntoConvolution(graph, node, next) ||
                     absorbResidual(graph, node, static_cast<int>(index), next))) {
          continue;
        }
      } else if (!absorbIntoEpilogue(graph, node, next)) {
        continue;
      }
      node.name += " + " + next.name;
      node.output = next.output;
      next.removed = true;
      ++fused;
      changed = true;
    }
  }
  return fused;
}

int fuseSigmoidProducts(Graph& graph) {
  int fused = 0;
  for (GraphNode& product : graph.nodes) {
    const auto* elementwise = std::get_if<network::ElementWiseLayer>(&product.parameters);
    if (product.removed || !elementwise || elementwise->op != ElementWiseOperation::kPROD ||
        product.inputs.size() != 2) {
      continue;
    }
    for (std::size_t side = 0; side < 2; ++side) {
      const TensorId gate = product.inputs[side], x = product.inputs[1 - side];
      const int producer = graph.producer(gate);
      if (producer < 0) continue;
      GraphNode& sigmoid = graph.nodes[static_cast<std::size_t>(producer)];
      const auto* activation = std::get_if<network::ActivationLayer>(&sigmoid.parameters);
      if (!activation || activation->type != ActivationType::kSIGMOID || sigmoid.inputs.size() != 1 ||
          sigmoid.inputs[0] != x || graph.tensor(gate).is_output || graph.consumers(gate).size() != 1) {
        continue;
      }
      network::ActivationLayer silu;
      silu.type = ActivationType::kSILU;
      product.parameters = silu;
      product.inputs = {x};
      product.name = sigmoid.name + " + " + product.name;
      sigmoid.removed = true;
      ++fused;
      break;
    }
  }
  return fused;
}

namespace {

// Transposes tile by tile, so that a tile's reads and writes stay in cache: element by element
// across whole rows, every write went to another cache line, and VGG-19's 25088 x 4096 classifier
// weights took 8 of its build's 40 s on a 2-core Xeon (2026-12-07). `Element` is the element's
// size where it is known at compile time (then `size` is a constant and each copy one move), else
// 0 and `element` says.
template <std::size_t Element>
void transposeInTiles(const std::uint8_t* data, std::int64_t rows, std::int64_t columns, std::size_t element,
                      std::uint8_t* result) {
  constexpr std::int64_t kTile = 32;
  const std::size_t size = Element != 0 ? Element : element;
  for (std::int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const std::int64_t r1 = std::min(rows, r0 + kTile);
    for (std::int64_t c0 = 0; c0 < columns; c0 += kTile) {
      const std::int64_t c1 = std::min(columns, c0 + kTile);
      for (std::int64_t c = c0; c < c1; ++c) {
        for (std::int64_t r = r0; r < r1; ++r) {
          std::memcpy(result + static_cast<std::size_t>(c * rows + r) * size,
                      data + static_cast<std::size_t>(r * columns + c) * size, size);
        }
      }
    }
  }
}

}  // namespace

std::vector<std::uint8_t> transposedMatrix(const std::uint8_t* data, std::int64_t rows, std::int64_t columns,
                                           std::size_t element) {
  std::vector<std::uint8_t> result(static_cast<std::size_t>(rows * columns) * element);
  switch (element) {
    case 1: transposeInTiles<1>(data, rows, columns, element, result.data()); break;
    case 2: transposeInTiles<2>(data, rows, columns, element, result.data()); break;
    case 4: transposeInTiles<4>(data, rows, columns, element, result.data()); break;
    case 8: transposeInTiles<8>(data, rows, columns, element, result.data()); break;
    default: transposeInTiles<0>(data, rows, columns, element, result.data()); break;
  }
  return result;
}

int storeWeightsKByN(Graph& graph) {
  int stored = 0;
  for (GraphNode& node : graph.nodes) {
    auto* matmul = std::get_if<network::MatrixMultiplyLayer>(&node.parameters);
    if (node.removed || !matmul || matmul->op1 != MatrixOperation::kTRANSPOSE) continue;
    const GraphTensor& weights = graph.tensor(node.inputs.at(1));
    if (!isFloatConstant(weights) || weights.shape.rank() != 2) continue;
    const std::int64_t rows = weights.shape[0], columns = weights.shape[1];
    node.inputs[1] = graph.addConstant(weights.name + ".kxn", DataType::kFLOAT, Dims({columns, rows}),
                                       transposedMatrix(weights.value.data(), rows, columns, sizeof(float)));
    matmul->op1 = MatrixOperation::kNONE;
    ++stored;
  }
  return stored;
}

void splitShuffles(Graph& graph) {
  std::vector<GraphNode> nodes;
  for (GraphNode& node : graph.nodes) {
    const auto* shuffle = std::get_if<network::ShuffleLayer>(&node.parameters);
    if (node.removed || !shuffle || !runtime::shuffleNeedsTwoPasses(*shuffle)) {
      nodes.push_back(std::move(node));
      continue;
    }
    network::ShuffleLayer first = *shuffle;
    first.second_transpose.clear();
    network::ShuffleLayer second;
    second.second_transpose = shuffle->second_transpose;
    const GraphTensor& input = graph.tensor(node.inputs.at(0));
    GraphTensor middle;
    middle.name = node.name + ".reshaped";
    middle.type = input.type;
    middle.shape = network::inferOutputs(first, {{input.shape, input.type}}).at(0).shape;
    const TensorId middle_id = graph.addTensor(middle);
    GraphNode head = node;
    head.parameters = first;
    head.output = middle_id;
    GraphNode tail = node;
    tail.name += ".transpose";
    tail.parameters = second;
    tail.inputs = {middle_id};
    nodes.push_back(std::move(head));
    nodes.push_back(std::move(tail));
  }
  graph.nodes = std::move(nodes);
}

void convertToHalf(Graph& graph) {
  for (GraphTensor& tensor : graph.tensors) {
    if (tensor.type != DataType::kFLOAT || tensor.is_input || tensor.is_output) continue;
    tensor.type = DataType::kHALF;
    if (tensor.is_constant) {
      const std::vector<float> values = floatsOf(tensor);
      std::vector<std::uint8_t> halves(values.size() * 2);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t bits = floatToHalf(values[i]);
        std::memcpy(&halves[i * 2], &bits, 2);
      }
      tensor.value = std::move(halves);
    }
  }
  for (GraphNode& node : graph.nodes) {
    auto* identity = std::get_if<network::IdentityLayer>(&node.parameters);
    if (identity && identity->output_type == DataType::kFLOAT && graph.tensor(node.output).type == DataType::kHALF) {
      identity->output_type = DataType::kHALF;
    }
  }
  std::vector<GraphNode> input_casts;
  for (TensorId input : graph.inputs) {
    if (graph.tensor(input).type != DataType::kFLOAT || graph.consumers(input).empty()) continue;
    GraphTensor half = graph.tensor(input);
    half.name += ".half";
    half.type = DataType::kHALF;
    half.is_input = false;
    const TensorId half_id = graph.addTensor(half);
    replaceUses(graph, input, half_id, 0);
    input_casts.push_back(castNode(half.name, input, half_id, DataType::kHALF));
  }
  for (TensorId output : graph.outputs) {
    if (graph.tensor(output).type != DataType::kFLOAT) continue;
    auto producer = std::find_if(graph.nodes.begin(), graph.nodes.end(),
                                 [&](const GraphNode& node) { return !node.removed && node.output == output; });
    if (producer == graph.nodes.end()) continue;
    // A producer with a FLOAT result (a cast to FLOAT in the model) stays as it is.
    const auto* identity = std::get_if<network::IdentityLayer>(&producer->parameters);
    if (identity && identity->output_type == DataType::kFLOAT) continue;
    // A normalization (BERT's last LayerNorm) computes in float and stores either type: it
    // writes the FLOAT output itself, and no cast runs after it.
    if (std::holds_alternative<network::NormalizationLayer>(producer->parameters) && graph.consumers(output).empty()) {
      continue;
    }
    GraphTensor half = graph.tensor(output);
    half.name += ".half";
    half.type = DataType::kHALF;
    half.is_output = false;
    const TensorId half_id = graph.addTensor(half);
    producer->output = half_id;
    replaceUses(graph, output, half_id, 0);
    graph.nodes.push_back(castNode(graph.tensor(output).name + ".float", half_id, output, DataType::kFLOAT));
  }
  graph.nodes.insert(graph.nodes.begin(), input_casts.begin(), input_casts.end());
}

}  // namespace mlprt::builder
