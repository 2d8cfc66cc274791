// The layers of a network definition: one parameter struct per kind, TensorRT's kinds and
// names. Shape rules live in shape_inference.cpp, one function per kind.
//
// Each struct describes itself once, and every generic consumer reads that description (see
// docs/architecture.md, "Adding a layer kind"):
//   kName             the kind as TensorRT names layer types ("Convolution");
//   fields(visit)     calls visit(name, &Struct::member, doc) for each parameter in a fixed
//                     order: the engine writer and reader (that order is the file layout), the
//                     inspector's and the timing cache's parameter text, and the Python
//                     properties (the name is TensorRT's Python attribute name).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
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
using mlprt::PaddingMode;
using mlprt::PoolingType;
using mlprt::SampleMode;
using mlprt::InterpolationMode;
using mlprt::ResizeCoordinateTransformation;
using mlprt::ResizeRoundMode;
using mlprt::ResizeSelector;
using mlprt::GatherMode;
using mlprt::TopKOperation;
using mlprt::ReduceOperation;
using mlprt::UnaryOperation;

struct ConstantLayer {
  static constexpr const char* kName = "Constant";
  Dims shape;
  Weights weights;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("shape", &ConstantLayer::shape, "The constant's shape.");
    visit("weights", &ConstantLayer::weights, "The values.");
  }
};
struct MatrixMultiplyLayer {
  static constexpr const char* kName = "MatrixMultiply";
  MatrixOperation op0 = MatrixOperation::kNONE;
  MatrixOperation op1 = MatrixOperation::kNONE;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op0", &MatrixMultiplyLayer::op0, "Whether the first operand is transposed.");
    visit("op1", &MatrixMultiplyLayer::op1, "Whether the second operand is transposed.");
  }
};
struct ElementWiseLayer {
  static constexpr const char* kName = "ElementWise";
  ElementWiseOperation op = ElementWiseOperation::kSUM;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op", &ElementWiseLayer::op, "The operation.");
  }
};
struct ActivationLayer {
  static constexpr const char* kName = "Activation";
  ActivationType type = ActivationType::kRELU;
  float alpha = 0.0f;  // the meaning depends on `type`, as in TensorRT
  float beta = 0.0f;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("type", &ActivationLayer::type, "The activation function.");
    visit("alpha", &ActivationLayer::alpha, "First parameter (slope, limit, ...).");
    visit("beta", &ActivationLayer::beta, "Second parameter.");
  }
};
struct UnaryLayer {
  static constexpr const char* kName = "Unary";
  UnaryOperation op = UnaryOperation::kEXP;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op", &UnaryLayer::op, "The operation.");
  }
};
// first_transpose, then reshape (0 copies the input extent, -1 is inferred), then second_transpose.
struct ShuffleLayer {
  static constexpr const char* kName = "Shuffle";
  std::vector<int> first_transpose;   // empty: identity
  bool has_reshape = false;
  std::vector<std::int64_t> reshape;
  std::vector<int> second_transpose;  // empty: identity
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("first_transpose", &ShuffleLayer::first_transpose, "Permutation before the reshape.");
    visit("has_reshape", &ShuffleLayer::has_reshape, "Whether reshape_dims applies.");
    visit("reshape", &ShuffleLayer::reshape, "The new shape (0 copies an extent, -1 is inferred).");
    visit("second_transpose", &ShuffleLayer::second_transpose, "Permutation after the reshape.");
  }
};
// Whether a shuffle's permutation moves no axis (an empty one is the identity too).
inline bool isIdentityPermutation(const std::vector<int>& order) {
  for (std::size_t axis = 0; axis < order.size(); ++axis) {
    if (order[axis] != static_cast<int>(axis)) return false;
  }
  return true;
}
// Whether a shuffle moves no axis (its transposes, if any, are identities): it reads its input's
// elements in order, reshaped or not.
inline bool movesNoAxis(const ShuffleLayer& shuffle) {
  return isIdentityPermutation(shuffle.first_transpose) && isIdentityPermutation(shuffle.second_transpose);
}
struct SoftmaxLayer {
  static constexpr const char* kName = "Softmax";
  int axis = -1;  // non-negative after the layer is added
  bool log = false;  // LogSoftmax
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("axis", &SoftmaxLayer::axis, "The axis softmax runs over.");
    visit("log", &SoftmaxLayer::log, "LogSoftmax instead.");
  }
};
struct ReduceLayer {
  static constexpr const char* kName = "Reduce";
  ReduceOperation op = ReduceOperation::kSUM;
  std::uint32_t axes = 0;  // bit i set: reduce axis i
  bool keep_dimensions = true;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op", &ReduceLayer::op, "The reduction.");
    visit("axes", &ReduceLayer::axes, "Bit mask of reduced axes.");
    visit("keep_dims", &ReduceLayer::keep_dimensions, "Keep reduced axes as 1.");
  }
};
// (x - mean) / sqrt(var + epsilon) * scale + bias over the axes in `axes`; inputs x, scale, bias.
struct NormalizationLayer {
  static constexpr const char* kName = "Normalization";
  std::uint32_t axes = 0;
  float epsilon = 1e-5f;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("axes", &NormalizationLayer::axes, "Bit mask of normalized axes.");
    visit("epsilon", &NormalizationLayer::epsilon, "Added to the variance.");
  }
};
struct ConcatenationLayer {
  static constexpr const char* kName = "Concatenation";
  int axis = 0;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("axis", &ConcatenationLayer::axis, "The axis joined along.");
  }
};
// Copies its input, converting to `output_type` (a Cast when the types differ).
struct IdentityLayer {
  static constexpr const char* kName = "Identity";
  DataType output_type = DataType::kFLOAT;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("to_type", &IdentityLayer::output_type, "Output element type (a cast when it differs).");
  }
};

// out = condition ? then : else, elementwise with NumPy broadcasting of all three inputs
// (condition BOOL; then and else of one type, the output's). ONNX's Where.
struct SelectLayer {
  static constexpr const char* kName = "Select";
  template <typename Visit>
  static void fields(Visit&&) {}
};

// N-D convolution over the axes after (batch, channels): inputs x (N, C, d1..dk), kernel
// (num_output_maps, C / num_groups, k1..kk) and optionally bias (num_output_maps); output
// (N, num_output_maps, o1..ok). The per-axis lists have one entry per spatial axis (1 or 2).
struct ConvolutionLayer {
  static constexpr const char* kName = "Convolution";
  std::int64_t num_output_maps = 0;
  std::vector<std::int64_t> kernel_size;
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> pre_padding;
  std::vector<std::int64_t> post_padding;
  PaddingMode padding_mode = PaddingMode::kEXPLICIT_ROUND_DOWN;
  std::vector<std::int64_t> dilation;
  std::int64_t num_groups = 1;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("num_output_maps", &ConvolutionLayer::num_output_maps, "Output channels.");
    visit("kernel_size_nd", &ConvolutionLayer::kernel_size, "Kernel extent per spatial axis.");
    visit("stride_nd", &ConvolutionLayer::stride, "Stride per spatial axis.");
    visit("pre_padding", &ConvolutionLayer::pre_padding, "Zeros before each spatial axis.");
    visit("post_padding", &ConvolutionLayer::post_padding, "Zeros after each spatial axis.");
    visit("padding_mode", &ConvolutionLayer::padding_mode, "How padding and the output extent are found.");
    visit("dilation_nd", &ConvolutionLayer::dilation, "Kernel dilation per spatial axis.");
    visit("num_groups", &ConvolutionLayer::num_groups, "Channel groups (input channels = groups x kernel channels).");
  }
};

// N-D transposed convolution (ONNX's ConvTranspose): inputs x (N, C, d1..dk), kernel
// (C, num_output_maps / num_groups, k1..kk) and optionally bias (num_output_maps); output
// (N, num_output_maps, o) with o = stride * (d - 1) + dilation * (k - 1) + 1 + output_padding
// - pre_padding - post_padding, or d * stride under the SAME modes. output_padding is mlprt's own
// (TensorRT adds a padding layer for it).
struct DeconvolutionLayer {
  static constexpr const char* kName = "Deconvolution";
  std::int64_t num_output_maps = 0;
  std::vector<std::int64_t> kernel_size;
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> pre_padding;
  std::vector<std::int64_t> post_padding;
  PaddingMode padding_mode = PaddingMode::kEXPLICIT_ROUND_DOWN;
  std::vector<std::int64_t> dilation;
  std::int64_t num_groups = 1;
  std::vector<std::int64_t> output_padding;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("num_output_maps", &DeconvolutionLayer::num_output_maps, "Output channels.");
    visit("kernel_size_nd", &DeconvolutionLayer::kernel_size, "Kernel extent per spatial axis.");
    visit("stride_nd", &DeconvolutionLayer::stride, "Stride per spatial axis.");
    visit("pre_padding", &DeconvolutionLayer::pre_padding, "Output elements cropped before each spatial axis.");
    visit("post_padding", &DeconvolutionLayer::post_padding, "Output elements cropped after each spatial axis.");
    visit("padding_mode", &DeconvolutionLayer::padding_mode, "Explicit cropping, or SAME (output = input x stride).");
    visit("dilation_nd", &DeconvolutionLayer::dilation, "Kernel dilation per spatial axis.");
    visit("num_groups", &DeconvolutionLayer::num_groups, "Channel groups.");
    visit("output_padding", &DeconvolutionLayer::output_padding, "Output elements added after each spatial axis.");
  }
};

// Max or average pooling over the axes after (batch, channels); one input, output
// (N, C, o1..ok). Windows cover padding as TensorRT does: max ignores it; average counts it
// unless average_count_excludes_padding. `dilation` is mlprt's own (ONNX MaxPool's dilations).
struct PoolingLayer {
  static constexpr const char* kName = "Pooling";
  PoolingType type = PoolingType::kMAX;
  std::vector<std::int64_t> window_size;
  std::vector<std::int64_t> stride;
  std::vector<std::int64_t> pre_padding;
  std::vector<std::int64_t> post_padding;
  PaddingMode padding_mode = PaddingMode::kEXPLICIT_ROUND_DOWN;
  bool average_count_excludes_padding = true;
  std::vector<std::int64_t> dilation;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("type", &PoolingLayer::type, "MAX or AVERAGE.");
    visit("window_size_nd", &PoolingLayer::window_size, "Window extent per spatial axis.");
    visit("stride_nd", &PoolingLayer::stride, "Stride per spatial axis.");
    visit("pre_padding", &PoolingLayer::pre_padding, "Padding before each spatial axis.");
    visit("post_padding", &PoolingLayer::post_padding, "Padding after each spatial axis.");
    visit("padding_mode", &PoolingLayer::padding_mode, "How padding and the output extent are found.");
    visit("average_count_excludes_padding", &PoolingLayer::average_count_excludes_padding,
          "Average over the input elements of a window only.");
    visit("dilation_nd", &PoolingLayer::dilation, "Window dilation per spatial axis.");
  }
};

// A strided window of the input (TensorRT's ISliceLayer): output element i reads the input at
// start + i * stride on every axis, coordinates outside the input resolved by `mode` (kFILL reads
// fill_value, mlprt's own: TensorRT takes it as an input). A shape entry -1 keeps the input's
// whole extent along that axis (start 0, stride 1), for axes known only at run time.
struct SliceLayer {
  static constexpr const char* kName = "Slice";
  std::vector<std::int64_t> start;
  std::vector<std::int64_t> shape;
  std::vector<std::int64_t> stride;
  SampleMode mode = SampleMode::kSTRICT_BOUNDS;
  float fill_value = 0.0f;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("start", &SliceLayer::start, "First coordinate read on each axis.");
    visit("shape", &SliceLayer::shape, "Output extent per axis (-1: the input's whole extent).");
    visit("stride", &SliceLayer::stride, "Step between coordinates per axis (negative reads backwards).");
    visit("mode", &SliceLayer::mode, "What coordinates outside the input read.");
    visit("fill_value", &SliceLayer::fill_value, "The value SampleMode.FILL reads outside the input.");
  }
};

// Resampling of up to 3 axes (TensorRT's IResizeLayer, ONNX's Resize). The output extent of an
// axis is shape[axis] when shape is given (-1: floor(input x scale)), else floor(input x
// scales[axis]); the coordinate formula divides by scales[axis] when scales are given, else by
// output / input.
struct ResizeLayer {
  static constexpr const char* kName = "Resize";
  std::vector<std::int64_t> shape;
  std::vector<float> scales;
  InterpolationMode resize_mode = InterpolationMode::kNEAREST;
  ResizeCoordinateTransformation coordinate_transformation = ResizeCoordinateTransformation::kASYMMETRIC;
  ResizeSelector selector_for_single_pixel = ResizeSelector::kFORMULA;
  ResizeRoundMode nearest_rounding = ResizeRoundMode::kFLOOR;
  float cubic_coeff = -0.75f;
  bool exclude_outside = false;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("shape", &ResizeLayer::shape, "Output extents (-1: from the scale), or empty to use scales.");
    visit("scales", &ResizeLayer::scales, "Scale per axis, or empty to use shape.");
    visit("resize_mode", &ResizeLayer::resize_mode, "NEAREST, LINEAR or CUBIC.");
    visit("coordinate_transformation", &ResizeLayer::coordinate_transformation,
          "How output coordinates map to the input.");
    visit("selector_for_single_pixel", &ResizeLayer::selector_for_single_pixel,
          "UPPER: an output extent of 1 reads input 0.");
    visit("nearest_rounding", &ResizeLayer::nearest_rounding, "How NEAREST rounds coordinates.");
    visit("cubic_coeff", &ResizeLayer::cubic_coeff, "The cubic kernel's coefficient A.");
    visit("exclude_outside", &ResizeLayer::exclude_outside, "CUBIC drops taps outside the input.");
  }
};

// Local response normalization across channels (TensorRT's ILRNLayer, ONNX's LRN): x divided by
// (k + alpha / window_size * the sum of squares over window_size neighbouring channels)^beta.
struct LrnLayer {
  static constexpr const char* kName = "LRN";
  std::int64_t window_size = 1;
  float alpha = 1e-4f;
  float beta = 0.75f;
  float k = 1.0f;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("window_size", &LrnLayer::window_size, "Channels in the window.");
    visit("alpha", &LrnLayer::alpha, "Scale of the sum of squares.");
    visit("beta", &LrnLayer::beta, "Exponent.");
    visit("k", &LrnLayer::k, "Bias.");
  }
};

// Inputs data and indices (INT32 or INT64, possibly computed at run time): TensorRT's IGatherLayer
// in DEFAULT mode (ONNX Gather: output = data's extents before gather_axis, the indices', data's
// after it) or ELEMENT mode (ONNX GatherElements: output shaped like the indices).
struct GatherLayer {
  static constexpr const char* kName = "Gather";
  int gather_axis = 0;
  GatherMode mode = GatherMode::kDEFAULT;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("gather_axis", &GatherLayer::gather_axis, "The axis of data the indices select along.");
    visit("mode", &GatherLayer::mode, "DEFAULT (Gather) or ELEMENT (GatherElements).");
  }
};

// One dense layer of a FusedMlpLayer: y = activation(x W + bias), W stored K x N row-major.
struct MlpStage {
  std::int64_t in_features = 0;   // K
  std::int64_t out_features = 0;  // N
  bool has_bias = false;
  bool has_activation = false;
  ActivationLayer activation;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("in_features", &MlpStage::in_features, "K");
    visit("out_features", &MlpStage::out_features, "N");
    visit("has_bias", &MlpStage::has_bias, "Whether a bias is added.");
    visit("has_activation", &MlpStage::has_activation, "Whether the activation applies.");
    visit("activation", &MlpStage::activation, "The activation.");
  }
};
// A chain of dense layers run as one kernel, made by the builder (never by a network author)
// so that a small MLP costs one launch. Inputs: x, whose volume is rows x stages[0].in_features
// in any floating storage (a reshape before the chain is only a view), then per stage its
// weights (K x N; N x K for the tensor-core tactics "fused_mlp_mma_r<R>") and, when has_bias,
// its bias (N). Output: (rows, last out_features) stored as
// output_type. Where the step runs its stages one product at a time (a "layers_*" tactic, at the
// sizes where the fused kernel loses), the activations between stages live in its workspace.
struct FusedMlpLayer {
  static constexpr const char* kName = "FusedMLP";
  std::vector<MlpStage> stages;
  DataType output_type = DataType::kFLOAT;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("stages", &FusedMlpLayer::stages, "The dense layers, first to last.");
    visit("output_type", &FusedMlpLayer::output_type, "The output's storage type.");
  }
};

// TensorRT's ITopKLayer: the k largest (MAX) or smallest (MIN) elements along the one axis set in
// `axes`, sorted (ties: the lower index first; NaN ranks above every number). Two outputs: the
// values (the input's type) and their INT32 indices along the axis, each the input's shape with
// k along the axis. In an engine plan a TopK step writes the indices only; a gather step reads
// the values through them (stepOutput in shape_inference.h).
struct TopKLayer {
  static constexpr const char* kName = "TopK";
  TopKOperation op = TopKOperation::kMAX;
  std::int32_t k = 1;
  std::uint32_t axes = 1;  // bit i set: along axis i (exactly one bit)
  // The axis `axes` selects (its lowest set bit; shape inference refuses masks of several).
  int axis() const noexcept {
    int axis = 0;
    while (axis < 31 && !(axes & (1u << axis))) ++axis;
    return axis;
  }
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op", &TopKLayer::op, "MAX (largest first) or MIN (smallest first).");
    visit("k", &TopKLayer::k, "How many elements to keep.");
    visit("axes", &TopKLayer::axes, "Bit mask with the one axis to select along.");
  }
};

// TensorRT's IScatterLayer (with ONNX's reductions): inputs data, indices (INT32 or INT64,
// possibly computed at run time) and updates; the output is data with the updates written at the
// indices (see ScatterMode), combined by `reduction` in the updates' order, so duplicate indices
// give what ONNX's reference gives. Negative indices count from the end; an index outside its
// axis drops its update.
struct ScatterLayer {
  static constexpr const char* kName = "Scatter";
  ScatterMode mode = ScatterMode::kELEMENT;
  int axis = 0;  // kELEMENT only
  ScatterReduction reduction = ScatterReduction::kNONE;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("mode", &ScatterLayer::mode, "ELEMENT (ScatterElements) or ND (ScatterND).");
    visit("axis", &ScatterLayer::axis, "The axis the indices address (ELEMENT mode).");
    visit("reduction", &ScatterLayer::reduction, "NONE (replace), SUM, PROD, MAX or MIN.");
  }
};

// TensorRT's ICumulativeLayer (ONNX CumSum): running sums along `axis`; `exclusive` leaves each
// element out of its own sum, `reverse` runs from the end. FLOAT and HALF (summed in float),
// INT32 and INT64.
struct CumulativeLayer {
  static constexpr const char* kName = "Cumulative";
  CumulativeOperation op = CumulativeOperation::kSUM;
  int axis = 0;
  bool exclusive = false;
  bool reverse = false;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("op", &CumulativeLayer::op, "SUM.");
    visit("axis", &CumulativeLayer::axis, "The axis summed along.");
    visit("exclusive", &CumulativeLayer::exclusive, "Whether an element is left out of its own sum.");
    visit("reverse", &CumulativeLayer::reverse, "Whether the sums run from the end of the axis.");
  }
};

// Scaled dot-product attention in one step, made by the builder (never by a network author) from
// the exporters' Q K^T / softmax / V chains: inputs q (B, H, Sq, D), k (B, Hk, Sk, D), or
// (B, Hk, D, Sk) when keys_transposed, v (B, Hk, Sk, Dv) and, when has_mask, an additive mask of
// rank 4 broadcast to (B, H, Sq, Sk); output (B, H, Sq, Dv) of q's type. H is a multiple of Hk.
// Rows whose every score is -inf give 0 when zero_masked_rows (the exporters' NaN guard after the
// softmax), NaN otherwise (as the softmax would).
struct AttentionLayer {
  static constexpr const char* kName = "Attention";
  float scale = 1.0f;
  bool causal = false;
  bool has_mask = false;
  bool keys_transposed = false;
  bool zero_masked_rows = false;
  // Bits 1 q, 2 k, 4 v, 8 output: operands with their heads packed along the last axis, (B, S, heads x D),
  // as the projections write them, instead of (B, H, S, D) (read and written in place, no transposes).
  std::uint32_t packed = 0;
  std::int32_t heads = 0;     // H of a packed q or output
  std::int32_t kv_heads = 0;  // Hk of a packed k or v
  float softcap = 0.0f;       // > 0: scores become softcap * tanh(scores / softcap) before the mask
  // > 0: the mask's batch extent P, repeating along the batch (entry b reads mask entry b mod P): Swin's
  // shifted windows, whose batch is images x P windows, with one mask per window.
  std::int32_t mask_batch_period = 0;
  // q, k and v are one tensor (B, S, (H + 2 Hk) x D), given as each of inputs 0 to 2: a merged
  // projection's output, q's H heads first, then k's Hk, then v's Hk (packed bits 1, 2, 4 set).
  bool merged_qkv = false;
  // A BOOL mask (input 3) adds these where it is true and where it is false (the exporters'
  // Where(mask, 0, -inf) read in place; TensorRT's and ONNX's boolean masks: true attends).
  float mask_if_true = 0.0f;
  float mask_if_false = -std::numeric_limits<float>::infinity();
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("scale", &AttentionLayer::scale, "The scores are scale * (q . k).");
    visit("causal", &AttentionLayer::causal, "Whether query i sees only keys j <= i + Sk - Sq.");
    visit("has_mask", &AttentionLayer::has_mask, "Whether input 3 is a mask: additive (FLOAT, HALF) or BOOL.");
    visit("keys_transposed", &AttentionLayer::keys_transposed, "Whether k is given as (B, Hk, D, Sk).");
    visit("zero_masked_rows", &AttentionLayer::zero_masked_rows, "Whether fully masked rows give 0 instead of NaN.");
    visit("packed", &AttentionLayer::packed, "Operands given as (B, S, heads x D): bits 1 q, 2 k, 4 v, 8 output.");
    visit("heads", &AttentionLayer::heads, "Query heads H of packed q or output.");
    visit("kv_heads", &AttentionLayer::kv_heads, "Key heads Hk of packed k or v.");
    visit("softcap", &AttentionLayer::softcap, "When > 0, scores become softcap * tanh(scores / softcap) before the mask.");
    visit("mask_batch_period", &AttentionLayer::mask_batch_period,
          "When > 0, the mask's batch extent P: batch entry b reads mask entry b mod P (the batch a multiple of P).");
    visit("merged_qkv", &AttentionLayer::merged_qkv,
          "Whether q, k and v are one tensor (B, S, (H + 2 Hk) x D): q's heads, then k's, then v's.");
    visit("mask_if_true", &AttentionLayer::mask_if_true, "What a BOOL mask adds to the scores where it is true.");
    visit("mask_if_false", &AttentionLayer::mask_if_false, "What a BOOL mask adds to the scores where it is false.");
  }
};

// mlprt's own: 0, 1, ..., n - 1 where n is axis `axis` of the input, whose values are never read
// (only its shape). The ONNX parser's position indices and run-time extent carriers; a step that
// reads no data, so an execution context runs it (and what depends on nothing else) once per set
// of input shapes. FLOAT, HALF, INT32 or INT64.
struct AxisRangeLayer {
  static constexpr const char* kName = "AxisRange";
  int axis = 0;
  DataType output_type = DataType::kINT64;
  template <typename Visit>
  static void fields(Visit&& visit) {
    visit("axis", &AxisRangeLayer::axis, "The axis whose extent n gives 0, 1, ..., n - 1.");
    visit("output_type", &AxisRangeLayer::output_type, "FLOAT, HALF, INT32 or INT64.");
  }
};

using LayerParameters =
    std::variant<ConstantLayer, MatrixMultiplyLayer, ElementWiseLayer, ActivationLayer, UnaryLayer,
                 ShuffleLayer, SoftmaxLayer, ReduceLayer, NormalizationLayer, ConcatenationLayer,
                 IdentityLayer, FusedMlpLayer, SelectLayer, ConvolutionLayer, PoolingLayer,
                 DeconvolutionLayer, SliceLayer, ResizeLayer, LrnLayer, GatherLayer, TopKLayer,
                 ScatterLayer, CumulativeLayer, AttentionLayer, AxisRangeLayer>;

// TensorRT's LayerType for each kind, in the order of LayerParameters' alternatives
// (kFUSED_MLP, kATTENTION and kAXIS_RANGE are mlprt's own: TensorRT also reports fused kernels as layers of their own kind).
enum class LayerType {
  kCONSTANT, kMATRIX_MULTIPLY, kELEMENTWISE, kACTIVATION, kUNARY, kSHUFFLE, kSOFTMAX, kREDUCE,
  kNORMALIZATION, kCONCATENATION, kIDENTITY, kFUSED_MLP, kSELECT, kCONVOLUTION, kPOOLING,
  kDECONVOLUTION, kSLICE, kRESIZE, kLRN, kGATHER, kTOPK, kSCATTER, kCUMULATIVE, kATTENTION, kAXIS_RANGE,
};
inline LayerType layerType(const LayerParameters& parameters) noexcept {
  return static_cast<LayerType>(parameters.index());
}

// "MatrixMultiply", "ElementWise", ... as TensorRT names layer types (each kind's kName).
const char* layerKindName(const LayerParameters& parameters) noexcept;

// Calls visit(name, value) for each parameter of the kind `parameters` holds, in file order.
template <typename Parameters, typename Visit>
void forEachField(Parameters& parameters, Visit&& visit) {
  std::decay_t<Parameters>::fields([&](const char* name, auto member, const char*) { visit(name, parameters.*member); });
}

// "op0=kNONE op1=kTRANSPOSE": the parameters as text, for the inspector and the timing cache's
// keys (layer_fields.cpp).
std::string parametersText(const LayerParameters& parameters);

struct Layer {
  std::string name;
  LayerParameters parameters;
  std::vector<TensorId> inputs;
  std::vector<TensorId> outputs;
};

}  // namespace mlprt::network
