// The layers of a network definition: one parameter struct per kind, TensorRT's kinds and
// names. Shape rules live in shape_inference.cpp, one function per kind.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "core/data_type.h"
#include "core/dims.h"
#include "core/operations.h"

namespace mlprt::network {

using TensorId = std::int32_t;

// Constant data with its element type; `bytes` holds volume(shape) * elementSize(type) bytes.
struct Weights {
  DataType type = DataType::kFLOAT;
  std::vector<std::uint8_t> bytes;
};

using mlprt::ActivationType;
using mlprt::ElementWiseOperation;
using mlprt::MatrixOperation;
using mlprt::ReduceOperation;
using mlprt::UnaryOperation;

struct ConstantLayer {
  Dims shape;
  Weights weights;
};
struct MatrixMultiplyLayer {
  MatrixOperation op0 = MatrixOperation::kNONE;
  MatrixOperation op1 = MatrixOperation::kNONE;
};
struct ElementWiseLayer {
  ElementWiseOperation op = ElementWiseOperation::kSUM;
};
struct ActivationLayer {
  ActivationType type = ActivationType::kRELU;
  float alpha = 0.0f;  // the meaning depends on `type`, as in TensorRT
  float beta = 0.0f;
};
struct UnaryLayer {
  UnaryOperation op = UnaryOperation::kEXP;
};
// first_transpose, then reshape (0 copies the input extent, -1 is inferred), then second_transpose.
struct ShuffleLayer {
  std::vector<int> first_transpose;   // empty: identity
  bool has_reshape = false;
  std::vector<std::int64_t> reshape;
  std::vector<int> second_transpose;  // empty: identity
};
struct SoftmaxLayer {
  int axis = -1;  // non-negative after the layer is added
  bool log = false;  // LogSoftmax
};
struct ReduceLayer {
  ReduceOperation op = ReduceOperation::kSUM;
  std::uint32_t axes = 0;  // bit i set: reduce axis i
  bool keep_dimensions = true;
};
// (x - mean) / sqrt(var + epsilon) * scale + bias over the axes in `axes`; inputs x, scale, bias.
struct NormalizationLayer {
  std::uint32_t axes = 0;
  float epsilon = 1e-5f;
};
struct ConcatenationLayer {
  int axis = 0;
};
// Copies its input, converting to `output_type` (a Cast when the types differ).
struct IdentityLayer {
  DataType output_type = DataType::kFLOAT;
};

// out = condition ? then : else, elementwise with NumPy broadcasting of all three inputs
// (condition BOOL; then and else of one type, the output's). ONNX's Where.
struct SelectLayer {};

// One dense layer of a FusedMlpLayer: y = activation(x W + bias), W stored K x N row-major.
struct MlpStage {
  std::int64_t in_features = 0;   // K
  std::int64_t out_features = 0;  // N
  bool has_bias = false;
  bool has_activation = false;
  ActivationLayer activation;
};
// A chain of dense layers run as one kernel, made by the builder (never by a network author)
// so that a small MLP costs one launch. Inputs: x, whose volume is rows x stages[0].in_features
// in any floating storage (a reshape before the chain is only a view), then per stage its
// weights (K x N; N x K for the tensor-core tactics "fused_mlp_mma_r<R>") and, when has_bias,
// its bias (N). Output: (rows, last out_features) stored as
// output_type.
struct FusedMlpLayer {
  std::vector<MlpStage> stages;
  DataType output_type = DataType::kFLOAT;
};

using LayerParameters =
    std::variant<ConstantLayer, MatrixMultiplyLayer, ElementWiseLayer, ActivationLayer, UnaryLayer,
                 ShuffleLayer, SoftmaxLayer, ReduceLayer, NormalizationLayer, ConcatenationLayer,
                 IdentityLayer, FusedMlpLayer, SelectLayer>;

// TensorRT's LayerType for each kind, in the order of LayerParameters' alternatives
// (kFUSED_MLP is mlprt's own: TensorRT also reports fused kernels as layers of their own kind).
enum class LayerType {
  kCONSTANT, kMATRIX_MULTIPLY, kELEMENTWISE, kACTIVATION, kUNARY, kSHUFFLE, kSOFTMAX, kREDUCE,
  kNORMALIZATION, kCONCATENATION, kIDENTITY, kFUSED_MLP, kSELECT,
};
inline LayerType layerType(const LayerParameters& parameters) noexcept {
  return static_cast<LayerType>(parameters.index());
}

// "MatrixMultiply", "ElementWise", ... as TensorRT names layer types.
const char* layerKindName(const LayerParameters& parameters) noexcept;

struct Layer {
  std::string name;
  LayerParameters parameters;
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
};

}  // namespace mlprt::network
