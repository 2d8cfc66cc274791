// The builder's working copy of a network: constants hold their values, layers become nodes
// that passes fuse, fold and delete before the graph turns into an engine plan.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/data_type.h"
#include "core/dims.h"
#include "engine/plan.h"
#include "network/network.h"

namespace mlprt::builder {

using network::TensorId;

struct GraphTensor {
  std::string name;
  DataType type = DataType::kFLOAT;
  Dims shape;  // as the network inferred it, -1 where dynamic
  bool is_input = false;
  bool is_output = false;
  bool is_constant = false;
  std::vector<std::uint8_t> value;  // constants: volume(shape) elements of `type`
};

struct GraphNode {
  std::string name;
  network::LayerParameters parameters;
  std::vector<TensorId> inputs;
  TensorId output = -1;
  engine::GemmEpilogue epilogue;
  bool removed = false;
};

struct Graph {
  std::vector<GraphTensor> tensors;
  std::vector<GraphNode> nodes;  // in a valid execution order; removed ones are skipped
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;

  TensorId addTensor(GraphTensor tensor);
  TensorId addConstant(const std::string& name, DataType type, const Dims& shape, std::vector<std::uint8_t> value);
  // Live nodes that read `tensor` (as an input or an epilogue bias).
  std::vector<int> consumers(TensorId tensor) const;
  // The live node that writes `tensor`, or -1 (an input or a constant).
  int producer(TensorId tensor) const;
  // Whether a fusion may swallow `tensor`: not a network output, read by exactly `readers` nodes.
  bool isPrivate(TensorId tensor, std::size_t readers = 1) const;
  const GraphTensor& tensor(TensorId id) const { return tensors.at(static_cast<std::size_t>(id)); }
  GraphTensor& tensor(TensorId id) { return tensors.at(static_cast<std::size_t>(id)); }
};

// Live nodes from `first_node` on read `to` wherever they read `from` (inputs and epilogue bias).
void replaceUses(Graph& graph, TensorId from, TensorId to, std::size_t first_node = 0);

bool isFloatConstant(const GraphTensor& tensor);
// A FLOAT constant's values, and FLOAT values as a constant's bytes.
std::vector<float> floatsOf(const GraphTensor& tensor);
std::vector<std::uint8_t> bytesOf(const std::vector<float>& values);

// The value of a one-element FLOAT or HALF constant; nothing for anything else.
std::optional<float> scalarValue(const GraphTensor& tensor);

// Copies the network. Constant layers become constant tensors. Throws InvalidArgument for a
// network without outputs or with an input that is also an output.
Graph graphFromNetwork(const network::Network& network);

// Deletes nodes whose results reach no network output.
void removeDeadNodes(Graph& graph);

// Drops shuffles that give back their input unchanged (exporters reshape to the shape a tensor
// already has, e.g. (B, S, 96) to (0, 0, 96) after a product on unflattened rows): their readers
// read the input. Shuffles writing a network output stay. Returns how many went.
int removeIdentityShuffles(Graph& graph);

// Folds + bias, * scale, / scale, - shift (per output column or scalar constants) and one
// activation into the epilogue of the matrix multiplication before them; scales multiply into
// constant weights (BatchNormalization after Linear ends here); folds per-output-map scales and
// shifts into the constant kernel and bias of the convolution before them (BatchNormalization
// after Conv), an Add of a tensor of its output's shape computed before it (a ResNet block's
// residual, input 3 of the convolution), and one activation into its epilogue. Returns the
// number of nodes fused.
int fuseEpilogues(Graph& graph);

// Replaces x * sigmoid(x) (SiLU as exporters write it: a Sigmoid and a Mul of its input, in
// either order) by one SILU activation node, where the sigmoid feeds nothing else, so that
// fuseEpilogues (run after) puts it into the epilogue of the convolution or product before it
// (YOLO's Conv + SiLU blocks). Returns the number of pairs replaced.
int fuseSigmoidProducts(Graph& graph);

// The bytes of a rows x columns row-major matrix of `element`-byte values, transposed.
std::vector<std::uint8_t> transposedMatrix(const std::uint8_t* data, std::int64_t rows, std::int64_t columns,
                                           std::size_t element);

// Stores constant FLOAT weights used as b^T (N x K, as Linear layers keep them) as K x N and
// drops the transpose: the FP32 GEMM kernels stream K x N rows faster (measured on an H200:
// 46 vs 39 TFLOP/s for large_m128n128 at 4096 x 4096 x 1024). Returns how many it changed.
int storeWeightsKByN(Graph& graph);

// Splits Shuffle nodes that transpose both before and after their reshape into two nodes.
void splitShuffles(Graph& graph);

// FP16 mode: interior FLOAT tensors and constants become HALF; FLOAT network inputs and outputs
// keep their type through casts inserted at the boundary.
void convertToHalf(Graph& graph);

}  // namespace mlprt::builder
