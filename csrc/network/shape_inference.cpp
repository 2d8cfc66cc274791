#include "network/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"
#include "network/spatial.h"

namespace mlprt::network {
namespace {

constexpr std::int64_t kDynamic = Dims::kDynamic;

[[noreturn]] void fail(const std::string& reason) { throw InvalidArgument(reason); }

void requireInputCount(const std::vector<TensorType>& inputs, std::size_t count) {
  if (inputs.size() != count) {
    fail("expects " + std::to_string(count) + " input(s), got " + std::to_string(inputs.size()));
  }
}

void requireFloating(const TensorType& input, const char* what) {
  if (input.type != DataType::kFLOAT && input.type != DataType::kHALF) {
    fail(std::string(what) + " needs FLOAT or HALF input, got " + dataTypeName(input.type));
  }
}

void requireSameType(const std::vector<TensorType>& inputs) {
  for (const TensorType& input : inputs) {
    if (input.type != inputs.front().type) {
      fail(std::string("input types differ: ") + dataTypeName(inputs.front().type) + " and " +
           dataTypeName(input.type));
    }
  }
}

// Merges two extents that must agree; -1 yields the other.
std::int64_t mergeEqual(std::int64_t a, std::int64_t b, const std::string& what) {
  if (a == kDynamic) return b;
  if (b == kDynamic || a == b) return a;
  fail(what + ": " + std::to_string(a) + " vs " + std::to_string(b));
}

std::vector<std::int64_t> permute(const std::vector<std::int64_t>& extents, const std::vector<int>& order) {
  if (order.empty()) return extents;
  if (order.size() != extents.size()) {
    fail("transpose order has " + std::to_string(order.size()) + " axes for a rank-" +
         std::to_string(extents.size()) + " tensor");
  }
  std::vector<bool> seen(order.size(), false);
  std::vector<std::int64_t> result;
  for (int axis : order) {
    if (axis < 0 || axis >= static_cast<int>(order.size()) || seen[axis]) {
      fail("transpose order is not a permutation of 0.." + std::to_string(order.size() - 1));
    }
    seen[axis] = true;
    result.push_back(extents[axis]);
  }
  return result;
}

TensorType constant(const ConstantLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 0);
  const auto expected = static_cast<std::size_t>(layer.shape.volume()) * elementSize(layer.weights.type);
  if (layer.weights.bytes.size() != expected) {
    fail("weights hold " + std::to_string(layer.weights.bytes.size()) + " bytes but shape " +
         layer.shape.toString() + " of " + dataTypeName(layer.weights.type) + " needs " +
         std::to_string(expected));
  }
  return {layer.shape, layer.weights.type};
}

TensorType matrixMultiply(const MatrixMultiplyLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 2);
  requireSameType(inputs);
  requireFloating(inputs[0], "MatrixMultiply");
  std::vector<std::int64_t> a = inputs[0].shape.extents();
  std::vector<std::int64_t> b = inputs[1].shape.extents();
  if (a.size() < 2 || b.size() < 2) {
    fail("operands need rank 2 or more, got " + inputs[0].shape.toString() + " and " +
         inputs[1].shape.toString());
  }
  if (layer.op0 == MatrixOperation::kTRANSPOSE) std::swap(a[a.size() - 2], a[a.size() - 1]);
  if (layer.op1 == MatrixOperation::kTRANSPOSE) std::swap(b[b.size() - 2], b[b.size() - 1]);
  mergeEqual(a.back(), b[b.size() - 2], "inner dimensions differ (" + inputs[0].shape.toString() +
                                            " x " + inputs[1].shape.toString() + ")");
  const Dims batch = broadcastShapes(Dims(std::vector<std::int64_t>(a.begin(), a.end() - 2)),
                                     Dims(std::vector<std::int64_t>(b.begin(), b.end() - 2)));
  std::vector<std::int64_t> result = batch.extents();
  result.push_back(a[a.size() - 2]);
  result.push_back(b.back());
  return {Dims(result), inputs[0].type};
}

bool isLogicOperation(ElementWiseOperation op) {
  return op == ElementWiseOperation::kAND || op == ElementWiseOperation::kOR || op == ElementWiseOperation::kXOR;
}

bool isBitOperation(ElementWiseOperation op) {
  return op == ElementWiseOperation::kBITWISE_AND || op == ElementWiseOperation::kBITWISE_OR ||
         op == ElementWiseOperation::kBITWISE_XOR || op == ElementWiseOperation::kSHIFT_LEFT ||
         op == ElementWiseOperation::kSHIFT_RIGHT;
}

bool isComparison(ElementWiseOperation op) {
  return op == ElementWiseOperation::kEQUAL || op == ElementWiseOperation::kGREATER ||
         op == ElementWiseOperation::kLESS;
}

// Arithmetic and comparisons take numbers (floating or integer), logic takes BOOL, bitwise
// operations and shifts integers; comparisons and logic give BOOL, the others the operands' type.
TensorType elementWise(const ElementWiseLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 2);
  requireSameType(inputs);
  const DataType type = inputs[0].type;
  if (isLogicOperation(layer.op)) {
    if (type != DataType::kBOOL) fail(std::string("AND, OR and XOR need BOOL inputs, got ") + dataTypeName(type));
  } else if (isBitOperation(layer.op)) {
    if (type == DataType::kFLOAT || type == DataType::kHALF || type == DataType::kBOOL) fail(std::string("bitwise operations and shifts need integer inputs, got ") + dataTypeName(type));
  } else if (type == DataType::kBOOL && layer.op != ElementWiseOperation::kEQUAL) {
    fail("arithmetic and ordering need numeric inputs, got BOOL");
  }
  const DataType result = isLogicOperation(layer.op) || isComparison(layer.op) ? DataType::kBOOL : type;
  return {broadcastShapes(inputs[0].shape, inputs[1].shape), result};
}

TensorType sameAsInput(const std::vector<TensorType>& inputs, const char* what) {
  requireInputCount(inputs, 1);
  requireFloating(inputs[0], what);
  return inputs[0];
}

// ABS, NEG and SIGN take any number, NOT takes BOOL, the others floating values; ISNAN and ISINF
// give BOOL.
TensorType unary(const UnaryLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  const DataType type = inputs[0].type;
  if (layer.op == UnaryOperation::kNOT) {
    if (type != DataType::kBOOL) fail(std::string("NOT needs a BOOL input, got ") + dataTypeName(type));
  } else if (layer.op == UnaryOperation::kABS || layer.op == UnaryOperation::kNEG || layer.op == UnaryOperation::kSIGN) {
    if (type == DataType::kBOOL) fail("ABS, NEG and SIGN need a numeric input, got BOOL");
  } else {
    requireFloating(inputs[0], "Unary");
  }
  if (layer.op == UnaryOperation::kISNAN || layer.op == UnaryOperation::kISINF) {
    return TensorType{inputs[0].shape, DataType::kBOOL};
  }
  return inputs[0];
}

TensorType select(const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 3);
  if (inputs[0].type != DataType::kBOOL) {
    fail(std::string("the condition must be BOOL, got ") + dataTypeName(inputs[0].type));
  }
  if (inputs[1].type != inputs[2].type) {
    fail(std::string("the two choices have different types: ") + dataTypeName(inputs[1].type) + " and " +
         dataTypeName(inputs[2].type));
  }
  return {broadcastShapes(broadcastShapes(inputs[0].shape, inputs[1].shape), inputs[2].shape), inputs[1].type};
}

TensorType shuffle(const ShuffleLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  std::vector<std::int64_t> extents = permute(inputs[0].shape.extents(), layer.first_transpose);
  if (layer.has_reshape) {
    const Dims before(extents);
    std::vector<std::int64_t> target;
    int inferred = -1;
    std::int64_t known = 1;
    bool known_is_exact = true;
    for (std::size_t axis = 0; axis < layer.reshape.size(); ++axis) {
      std::int64_t extent = layer.reshape[axis];
      if (extent == 0) {
        if (axis >= extents.size()) fail("reshape copies axis " + std::to_string(axis) + " (0) of " + before.toString());
        extent = extents[axis];
      } else if (extent == -1) {
        if (inferred >= 0) fail("reshape has more than one -1");
        inferred = static_cast<int>(axis);
      } else if (extent < -1) {
        fail("reshape extent " + std::to_string(extent) + " is negative");
      }
      if (extent == kDynamic && static_cast<int>(axis) != inferred) known_is_exact = false;
      if (extent >= 0) known *= extent;
      target.push_back(extent);
    }
    if (!before.isDynamic() && known_is_exact) {
      const std::int64_t total = before.volume();
      if (inferred >= 0) {
        if (known == 0 || total % known != 0) {
          fail("cannot reshape " + before.toString() + " (" + std::to_string(total) + " elements) to " +
               Dims(target).toString());
        }
        target[inferred] = total / known;
      } else if (known != total) {
        fail("cannot reshape " + before.toString() + " (" + std::to_string(total) + " elements) to " +
             Dims(target).toString() + " (" + std::to_string(known) + ")");
      }
    }
    extents = target;
  }
  return {Dims(permute(extents, layer.second_transpose)), inputs[0].type};
}

std::size_t checkedAxis(int axis, std::size_t rank) {
  if (axis < 0 || static_cast<std::size_t>(axis) >= rank) {
    fail("axis " + std::to_string(axis) + " is outside a rank-" + std::to_string(rank) + " tensor");
  }
  return static_cast<std::size_t>(axis);
}

void checkAxesMask(std::uint32_t axes, std::size_t rank) {
  if (axes == 0) fail("no axis selected");
  if (rank < 32 && (axes >> rank) != 0) {
    fail("axes mask selects an axis beyond rank " + std::to_string(rank));
  }
}

TensorType reduce(const ReduceLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  if (inputs[0].type == DataType::kBOOL) fail("Reduce needs a numeric input, got BOOL");
  const Dims& shape = inputs[0].shape;
  checkAxesMask(layer.axes, shape.rank());
  std::vector<std::int64_t> result;
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) {
    if (layer.axes & (1u << axis)) {
      if (layer.keep_dimensions) result.push_back(1);
    } else {
      result.push_back(shape[axis]);
    }
  }
  return {Dims(result), inputs[0].type};
}

// x, scale, bias and (the builder's residual fusion) up to two residuals added to x before
// normalizing, each of x's shape or of its trailing axes.
TensorType normalization(const NormalizationLayer& layer, const std::vector<TensorType>& inputs) {
  if (inputs.size() < 3 || inputs.size() > 5) requireInputCount(inputs, 3);
  requireSameType(inputs);
  requireFloating(inputs[0], "Normalization");
  checkAxesMask(layer.axes, inputs[0].shape.rank());
  for (std::size_t i = 1; i < 3; ++i) {
    const Dims merged = broadcastShapes(inputs[0].shape, inputs[i].shape);
    if (merged.rank() != inputs[0].shape.rank()) {
      fail(std::string(i == 1 ? "scale " : "bias ") + inputs[i].shape.toString() +
           " has a higher rank than the input " + inputs[0].shape.toString());
    }
  }
  for (std::size_t i = 3; i < inputs.size(); ++i) {
    if (!repeatsOverLeadingAxes(inputs[i].shape, inputs[0].shape)) {
      fail("residual " + inputs[i].shape.toString() + " neither has the input's shape " +
           inputs[0].shape.toString() + " nor repeats over its leading axes");
    }
  }
  return inputs[0];
}

TensorType concatenation(const ConcatenationLayer& layer, const std::vector<TensorType>& inputs) {
  if (inputs.empty()) fail("needs at least one input");
  requireSameType(inputs);
  const std::size_t rank = inputs[0].shape.rank();
  const std::size_t axis = checkedAxis(layer.axis, rank);
  std::vector<std::int64_t> result = inputs[0].shape.extents();
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const Dims& shape = inputs[i].shape;
    if (shape.rank() != rank) {
      fail("inputs have ranks " + std::to_string(rank) + " and " + std::to_string(shape.rank()));
    }
    for (std::size_t d = 0; d < rank; ++d) {
      if (d == axis) {
        result[d] = (result[d] == kDynamic || shape[d] == kDynamic) ? kDynamic : result[d] + shape[d];
      } else {
        result[d] = mergeEqual(result[d], shape[d], "inputs differ on axis " + std::to_string(d));
      }
    }
  }
  return {Dims(result), inputs[0].type};
}

}  // namespace

Dims broadcastShapes(const Dims& a, const Dims& b) {
  const std::size_t rank = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> result(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t x = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
    const std::int64_t y = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
    if (x == 1) {
      result[i] = y;
    } else if (y == 1) {
      result[i] = x;
    } else if (x == kDynamic || y == kDynamic) {
      result[i] = x == kDynamic ? y : x;  // the known extent, or -1 if neither is known
    } else if (x == y) {
      result[i] = x;
    } else {
      fail("shapes " + a.toString() + " and " + b.toString() + " do not broadcast");
    }
  }
  return Dims(result);
}

TensorType fusedMlp(const FusedMlpLayer& layer, const std::vector<TensorType>& inputs) {
  if (layer.stages.empty()) fail("a fused MLP needs at least one stage");
  std::size_t expected = 1;
  for (const MlpStage& stage : layer.stages) expected += stage.has_bias ? 2 : 1;
  requireInputCount(inputs, expected);
  requireFloating(inputs[0], "FusedMLP");
  std::size_t next = 1;
  std::int64_t width = layer.stages.front().in_features;
  for (std::size_t i = 0; i < layer.stages.size(); ++i) {
    const MlpStage& stage = layer.stages[i];
    const std::string where = "stage " + std::to_string(i);
    if (stage.in_features != width || stage.out_features <= 0) {
      fail(where + " takes " + std::to_string(stage.in_features) + " features but gets " + std::to_string(width));
    }
    const TensorType& weights = inputs[next++];
    requireFloating(weights, "FusedMLP weights");
    // K x N for the CUDA-core kernel, N x K for the tensor-core one: the step's tactic says
    // which, and each kernel's launcher checks its own layout.
    if (weights.shape != Dims({stage.in_features, stage.out_features}) &&
        weights.shape != Dims({stage.out_features, stage.in_features})) {
      fail(where + " weights have shape " + weights.shape.toString() + ", expected (" +
           std::to_string(stage.in_features) + ", " + std::to_string(stage.out_features) + ") or (" +
           std::to_string(stage.out_features) + ", " + std::to_string(stage.in_features) + ")");
    }
    if (stage.has_bias) {
      const TensorType& bias = inputs[next++];
      if (bias.type != weights.type || bias.shape.volume() != stage.out_features) {
        fail(where + " bias " + bias.shape.toString() + " of " + dataTypeName(bias.type) + " does not match " +
             std::to_string(stage.out_features) + " outputs of " + dataTypeName(weights.type));
      }
    }
    width = stage.out_features;
  }
  const Dims& x = inputs[0].shape;
  std::int64_t rows = Dims::kDynamic;
  if (!x.isDynamic()) {
    const std::int64_t features = layer.stages.front().in_features;
    if (x.volume() % features != 0) {
      fail("input " + x.toString() + " does not hold whole rows of " + std::to_string(features) + " features");
    }
    rows = x.volume() / features;
  }
  return {Dims({rows, width}), layer.output_type};
}

// (N, C, spatial...) with 1 or 2 spatial axes: the kernels' limit.
std::vector<std::int64_t> spatialExtents(const TensorType& x, const char* what) {
  const std::size_t rank = x.shape.rank();
  if (rank < 3 || rank > 4) {
    fail(std::string(what) + " needs an input of rank 3 or 4 (N, C, then 1 or 2 spatial axes), got " +
         x.shape.toString());
  }
  return std::vector<std::int64_t>(x.shape.extents().begin() + 2, x.shape.extents().end());
}

Dims spatialOutput(std::int64_t batch, std::int64_t channels, const std::vector<SpatialAxis>& axes) {
  std::vector<std::int64_t> extents{batch, channels};
  for (const SpatialAxis& axis : axes) extents.push_back(axis.output);
  return Dims(extents);
}

// The kernel (inputs[1]) is `leading` then the kernel extents (-1 matches anything); the optional
// bias (inputs[2]) has `maps` values. `layout` names the expected layout in the message.
void checkKernelAndBias(const std::vector<TensorType>& inputs, std::vector<std::int64_t> leading,
                        const std::vector<std::int64_t>& kernel_size, std::int64_t maps, const char* layout) {
  const Dims& kernel = inputs[1].shape;
  std::vector<std::int64_t>& expected = leading;
  expected.insert(expected.end(), kernel_size.begin(), kernel_size.end());
  bool matches = kernel.rank() == expected.size();
  for (std::size_t axis = 0; matches && axis < expected.size(); ++axis) {
    matches = expected[axis] == kDynamic || kernel[axis] == kDynamic || kernel[axis] == expected[axis];
  }
  if (!matches) {
    fail("kernel weights have shape " + kernel.toString() + " but the attributes need " + Dims(expected).toString() +
         " " + layout);
  }
  if (inputs.size() >= 3 && inputs[2].shape != Dims{maps}) {
    fail("bias has shape " + inputs[2].shape.toString() + ", expected (" + std::to_string(maps) + ")");
  }
}

// Inputs x (N, C, ...), kernel (M, C / groups, k...), optional bias (M), all of x's type; and a
// fourth, the residual added before the activation, only where the builder fused an Add.
TensorType convolution(const ConvolutionLayer& layer, const std::vector<TensorType>& inputs) {
  if (inputs.size() < 2 || inputs.size() > 4) {
    fail("expects 2 or 3 inputs (input, kernel, optional bias), got " + std::to_string(inputs.size()));
  }
  requireSameType(inputs);
  requireFloating(inputs[0], "Convolution");
  const std::vector<std::int64_t> spatial = spatialExtents(inputs[0], "Convolution");
  if (layer.num_output_maps <= 0) fail("num_output_maps " + std::to_string(layer.num_output_maps) + " must be positive");
  if (layer.num_groups <= 0) fail("num_groups " + std::to_string(layer.num_groups) + " must be positive");
  if (layer.num_output_maps % layer.num_groups != 0) {
    fail("num_output_maps " + std::to_string(layer.num_output_maps) + " is not divisible by num_groups " +
         std::to_string(layer.num_groups));
  }
  const std::int64_t channels = inputs[0].shape[1];
  if (channels != kDynamic && channels % layer.num_groups != 0) {
    fail("input channels " + std::to_string(channels) + " are not divisible by num_groups " +
         std::to_string(layer.num_groups));
  }
  checkKernelAndBias(inputs, {layer.num_output_maps, channels == kDynamic ? kDynamic : channels / layer.num_groups},
                     layer.kernel_size, layer.num_output_maps, "(num_output_maps, input channels / num_groups, kernel_size_nd)");
  const auto axes = resolveSpatial(windowOf(layer), spatial);
  const Dims out = spatialOutput(inputs[0].shape[0], layer.num_output_maps, axes);
  if (inputs.size() == 4 && inputs[3].shape != out) {
    fail("residual has shape " + inputs[3].shape.toString() + ", expected the output's " + out.toString());
  }
  return {out, inputs[0].type};
}

// Inputs x (N, C, ...), kernel (C, M / groups, k...), optional bias (M), all of x's type.
TensorType deconvolution(const DeconvolutionLayer& layer, const std::vector<TensorType>& inputs) {
  if (inputs.size() != 2 && inputs.size() != 3) {
    fail("expects 2 or 3 inputs (input, kernel, optional bias), got " + std::to_string(inputs.size()));
  }
  requireSameType(inputs);
  requireFloating(inputs[0], "Deconvolution");
  const std::vector<std::int64_t> spatial = spatialExtents(inputs[0], "Deconvolution");
  if (layer.num_output_maps <= 0) fail("num_output_maps " + std::to_string(layer.num_output_maps) + " must be positive");
  if (layer.num_groups <= 0 || layer.num_output_maps % layer.num_groups != 0) {
    fail("num_output_maps " + std::to_string(layer.num_output_maps) + " is not divisible by num_groups " +
         std::to_string(layer.num_groups));
  }
  const std::int64_t channels = inputs[0].shape[1];
  if (channels != kDynamic && channels % layer.num_groups != 0) {
    fail("input channels " + std::to_string(channels) + " are not divisible by num_groups " +
         std::to_string(layer.num_groups));
  }
  checkKernelAndBias(inputs, {channels, layer.num_output_maps / layer.num_groups}, layer.kernel_size,
                     layer.num_output_maps, "(input channels, num_output_maps / num_groups, kernel_size_nd)");
  const auto axes = resolveTransposed(windowOf(layer), layer.output_padding, spatial);
  return {spatialOutput(inputs[0].shape[0], layer.num_output_maps, axes), inputs[0].type};
}

TensorType slice(const SliceLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  const Dims& in = inputs[0].shape;
  const std::size_t rank = in.rank();
  if (layer.start.size() != rank || layer.shape.size() != rank || layer.stride.size() != rank) {
    fail("start, shape and stride need " + std::to_string(rank) + " entries (the input is " + in.toString() + "), got " +
         std::to_string(layer.start.size()) + ", " + std::to_string(layer.shape.size()) + " and " +
         std::to_string(layer.stride.size()));
  }
  std::vector<std::int64_t> extents(rank);
  for (std::size_t axis = 0; axis < rank; ++axis) {
    const std::int64_t extent = layer.shape[axis], start = layer.start[axis], stride = layer.stride[axis];
    const std::string where = " on axis " + std::to_string(axis);
    if (stride == 0) fail("stride 0" + where);
    if (extent == -1) {
      if (start != 0 || stride != 1) fail("a whole-extent (-1) shape needs start 0 and stride 1" + where);
      extents[axis] = in[axis];
      continue;
    }
    if (extent < 0) fail("shape " + std::to_string(extent) + where + " is negative");
    extents[axis] = extent;
    const std::int64_t last = start + (extent - 1) * stride;
    if (layer.mode == SampleMode::kSTRICT_BOUNDS && extent > 0 && in[axis] != kDynamic &&
        (start < 0 || start >= in[axis] || last < 0 || last >= in[axis])) {
      fail("reads coordinates " + std::to_string(start) + " to " + std::to_string(last) + where +
           ", outside the input's " + std::to_string(in[axis]) + " (mode STRICT_BOUNDS)");
    }
    if (layer.mode != SampleMode::kFILL && extent > 0 && in[axis] == 0) fail("reads from an empty input axis" + where);
  }
  return {Dims(extents), inputs[0].type};
}

TensorType resize(const ResizeLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  requireFloating(inputs[0], "Resize");
  const Dims& in = inputs[0].shape;
  const std::size_t rank = in.rank();
  if (layer.shape.empty() && layer.scales.empty()) fail("needs an output shape or scales");
  if (!layer.shape.empty() && layer.shape.size() != rank) {
    fail("shape has " + std::to_string(layer.shape.size()) + " entries for the rank-" + std::to_string(rank) + " input");
  }
  if (!layer.scales.empty() && layer.scales.size() != rank) {
    fail("scales have " + std::to_string(layer.scales.size()) + " entries for the rank-" + std::to_string(rank) +
         " input");
  }
  std::vector<std::int64_t> extents(rank);
  int resized = 0;
  for (std::size_t axis = 0; axis < rank; ++axis) {
    const std::string where = " on axis " + std::to_string(axis);
    const float scale = layer.scales.empty() ? 1.0f : layer.scales[axis];
    if (!layer.scales.empty() && !(scale > 0.0f)) fail("scale " + std::to_string(scale) + where + " must be positive");
    const std::int64_t given = layer.shape.empty() ? -1 : layer.shape[axis];
    if (given < -1) fail("shape " + std::to_string(given) + where + " is negative");
    if (given >= 0) {
      extents[axis] = given;
    } else if (layer.scales.empty()) {
      fail("shape -1" + where + " needs scales");
    } else {
      extents[axis] = in[axis] == kDynamic ? kDynamic
                                           : static_cast<std::int64_t>(std::floor(static_cast<double>(in[axis]) * scale));
    }
    if (extents[axis] != in[axis] || scale != 1.0f) ++resized;
  }
  if (resized > 3) fail(std::to_string(resized) + " axes change; at most 3 can be resized at once");
  return {Dims(extents), inputs[0].type};
}

TensorType gather(const GatherLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 2);
  const Dims& data = inputs[0].shape;
  const Dims& indices = inputs[1].shape;
  if (inputs[1].type != DataType::kINT32 && inputs[1].type != DataType::kINT64) {
    fail(std::string("indices must be INT32 or INT64, got ") + dataTypeName(inputs[1].type));
  }
  const std::size_t axis = checkedAxis(layer.gather_axis, data.rank());
  if (layer.mode == GatherMode::kELEMENT) {
    if (indices.rank() != data.rank()) {
      fail("ELEMENT mode needs indices " + indices.toString() + " of data " + data.toString() + "'s rank");
    }
    return {indices, inputs[0].type};
  }
  std::vector<std::int64_t> extents(data.extents().begin(), data.extents().begin() + static_cast<std::ptrdiff_t>(axis));
  extents.insert(extents.end(), indices.extents().begin(), indices.extents().end());
  extents.insert(extents.end(), data.extents().begin() + static_cast<std::ptrdiff_t>(axis) + 1, data.extents().end());
  if (extents.size() > Dims::kMaxRank) fail("the output would have rank " + std::to_string(extents.size()));
  return {Dims(extents), inputs[0].type};
}

void requireIndexType(const TensorType& indices) {
  if (indices.type != DataType::kINT32 && indices.type != DataType::kINT64) {
    fail(std::string("indices must be INT32 or INT64, got ") + dataTypeName(indices.type));
  }
}

// ELEMENT: indices and updates of one shape, of data's rank, no larger than data along any axis
// but `axis`. ND: indices (..., k) with k <= data's rank, updates shaped indices' leading axes
// followed by data's axes after the first k. The output is data's shape and type.
TensorType scatter(const ScatterLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 3);
  const TensorType& data = inputs[0];
  const Dims& indices = inputs[1].shape;
  const Dims& updates = inputs[2].shape;
  requireIndexType(inputs[1]);
  if (inputs[2].type != data.type) {
    fail(std::string("updates must have data's type ") + dataTypeName(data.type) + ", got " + dataTypeName(inputs[2].type));
  }
  if (layer.reduction != ScatterReduction::kNONE && data.type == DataType::kBOOL) {
    fail("a scatter that combines values needs numbers, got BOOL");
  }
  if (layer.mode == ScatterMode::kELEMENT) {
    const std::size_t axis = checkedAxis(layer.axis, data.shape.rank());
    if (indices.rank() != data.shape.rank()) {
      fail("ELEMENT mode needs indices " + indices.toString() + " of data " + data.shape.toString() + "'s rank");
    }
    const std::string mismatch = "updates " + updates.toString() + " must have the shape of indices " + indices.toString();
    if (updates.rank() != indices.rank()) fail(mismatch);
    for (std::size_t i = 0; i < indices.rank(); ++i) {
      mergeEqual(indices[i], updates[i], mismatch);
      if (i != axis && indices[i] != kDynamic && data.shape[i] != kDynamic && indices[i] > data.shape[i]) {
        fail("indices " + indices.toString() + " exceed data " + data.shape.toString() + " along axis " + std::to_string(i));
      }
    }
    return data;
  }
  if (indices.rank() == 0) fail("ND mode needs indices of rank 1 or more");
  const std::int64_t depth = indices[indices.rank() - 1];
  if (depth == kDynamic || depth < 1 || depth > static_cast<std::int64_t>(data.shape.rank())) {
    fail("the last extent of indices " + indices.toString() + " must be known and between 1 and data " +
         data.shape.toString() + "'s rank");
  }
  std::vector<std::int64_t> expected(indices.extents().begin(), indices.extents().end() - 1);
  expected.insert(expected.end(), data.shape.extents().begin() + depth, data.shape.extents().end());
  const std::string mismatch = "updates " + updates.toString() + " must be indices' leading extents followed by data " +
                               data.shape.toString() + "'s last " + std::to_string(data.shape.rank() - depth);
  if (updates.rank() != expected.size()) fail(mismatch);
  for (std::size_t i = 0; i < expected.size(); ++i) mergeEqual(expected[i], updates[i], mismatch);
  return data;
}

TensorType cumulative(const CumulativeLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  const DataType type = inputs[0].type;
  if (type != DataType::kFLOAT && type != DataType::kHALF && type != DataType::kINT32 && type != DataType::kINT64) {
    fail(std::string("Cumulative needs a FLOAT, HALF, INT32 or INT64 input, got ") + dataTypeName(type));
  }
  if (inputs[0].shape.rank() == 0) fail("Cumulative needs an input of rank 1 or more");
  checkedAxis(layer.axis, inputs[0].shape.rank());
  return inputs[0];
}

// One attention operand's logical (batch, heads, rows, depth): dense (B, H, S, D) (keys maybe
// (B, H, D, S)) or packed (B, S, heads x D).
struct AttentionOperand {
  std::int64_t batch, heads, rows, depth;
};

AttentionOperand attentionOperand(const AttentionLayer& layer, std::uint32_t bit, const Dims& shape, const char* name,
                                  bool transposed = false) {
  if (layer.merged_qkv) {  // (B, S, (H + 2 Hk) x D), q's heads first
    const std::int64_t heads = (bit & 1U) ? layer.heads : layer.kv_heads;
    const std::int64_t all = static_cast<std::int64_t>(layer.heads) + 2 * static_cast<std::int64_t>(layer.kv_heads);
    if (shape.rank() != 3) fail(std::string("Attention needs a rank-3 merged q, k and v, got ") + shape.toString());
    if (layer.heads < 1 || layer.kv_heads < 1) fail("Attention with merged q, k and v needs its head counts");
    if (shape[2] < 0 || shape[2] % all != 0) {
      fail("Attention's merged q, k and v " + shape.toString() + " do not hold " + std::to_string(all) +
           " heads along a static last axis");
    }
    return {shape[0], heads, shape[1], shape[2] / all};
  }
  if (!(layer.packed & bit)) {
    if (shape.rank() != 4) fail(std::string("Attention needs a rank-4 ") + name + ", got " + shape.toString());
    return {shape[0], shape[1], transposed ? shape[3] : shape[2], transposed ? shape[2] : shape[3]};
  }
  const std::int64_t heads = (bit & 1U) ? layer.heads : layer.kv_heads;
  if (shape.rank() != 3) fail(std::string("Attention needs a rank-3 packed ") + name + ", got " + shape.toString());
  if (heads < 1) fail(std::string("Attention with a packed ") + name + " needs its head count, got " + std::to_string(heads));
  if (shape[2] < 0 || shape[2] % heads != 0) {
    fail(std::string("Attention's packed ") + name + " " + shape.toString() + " does not pack " + std::to_string(heads) +
         " heads along a static last axis");
  }
  return {shape[0], heads, shape[1], shape[2] / heads};
}

// q (B, H, Sq, D), k (B, Hk, Sk, D) or (B, Hk, D, Sk), v (B, Hk, Sk, Dv) (or packed: (B, S, heads x D)),
// an optional mask broadcast to (B, H, Sq, Sk) (additive, or BOOL): the output is (B, H, Sq, Dv) (packed:
// (B, Sq, H x Dv)) of q's type.
TensorType attention(const AttentionLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, layer.has_mask ? 4 : 3);
  for (std::size_t i = 0; i < 3; ++i) requireFloating(inputs[i], "Attention");
  const auto mask_type = layer.has_mask ? inputs[3].type : DataType::kFLOAT;
  if (mask_type != DataType::kBOOL && mask_type != DataType::kINT32 && mask_type != DataType::kINT64 &&
      mask_type != DataType::kFLOAT && mask_type != DataType::kHALF) {
    fail(std::string("Attention's mask needs FLOAT or HALF (added) or BOOL, INT32 or INT64 input, got ") +
         dataTypeName(mask_type));
  }
  if (layer.keys_transposed && (layer.packed & 2U)) fail("Attention's packed keys cannot also be transposed");
  if (layer.merged_qkv && ((layer.packed & 7U) != 7U || layer.keys_transposed || inputs[0].shape != inputs[1].shape ||
                           inputs[0].shape != inputs[2].shape)) {
    fail("Attention's merged q, k and v must be one packed tensor given three times, got q " + inputs[0].shape.toString() +
         ", k " + inputs[1].shape.toString() + ", v " + inputs[2].shape.toString());
  }
  const AttentionOperand q = attentionOperand(layer, 1U, inputs[0].shape, "q");
  const AttentionOperand k = attentionOperand(layer, 2U, inputs[1].shape, "k", layer.keys_transposed);
  const AttentionOperand v = attentionOperand(layer, 4U, inputs[2].shape, "v");
  if (layer.has_mask && inputs[3].shape.rank() != 4 && inputs[3].shape.rank() != 2) {
    fail("Attention needs a rank-4 mask (or a rank-2 key padding mask), got " + inputs[3].shape.toString());
  }
  std::int64_t batch = q.batch, key_heads = k.heads, keys = k.rows;
  const std::string shapes =
      "q " + inputs[0].shape.toString() + ", k " + inputs[1].shape.toString() + ", v " + inputs[2].shape.toString();
  batch = mergeEqual(batch, k.batch, "batch of " + shapes);
  batch = mergeEqual(batch, v.batch, "batch of " + shapes);
  mergeEqual(q.depth, k.depth, "head size of " + shapes);
  key_heads = mergeEqual(key_heads, v.heads, "key heads of " + shapes);
  keys = mergeEqual(keys, v.rows, "keys of " + shapes);
  if (q.heads > 0 && key_heads > 0 && q.heads % key_heads != 0) fail("query heads are not a multiple of key heads: " + shapes);
  if (layer.mask_batch_period < 0 || (layer.mask_batch_period > 0 && !layer.has_mask)) {
    fail("Attention's mask batch period " + std::to_string(layer.mask_batch_period) +
         " must be positive and needs a mask (0: none)");
  }
  if (layer.has_mask) {
    // A rank-2 mask (B, Sk) is a key padding mask, (B, 1, 1, Sk).
    const Dims& given = inputs[3].shape;
    const Dims mask = given.rank() == 2 ? Dims{given[0], 1, 1, given[1]} : given;
    const std::int64_t full[4] = {batch, q.heads, q.rows, keys};
    for (std::size_t i = layer.mask_batch_period > 0 ? 1 : 0; i < 4; ++i) {
      if (mask[i] != 1) mergeEqual(mask[i], full[i], "mask " + mask.toString() + " of " + shapes);
    }
    const std::int64_t period = layer.mask_batch_period;
    if (period > 0 && (mask[0] != period || (batch >= 0 && batch % period != 0))) {
      fail("Attention's mask " + mask.toString() + " repeats every " + std::to_string(period) +
           " batch entries: its batch extent must be " + std::to_string(period) + " and divide the batch of " + shapes);
    }
  }
  if (layer.packed & 8U) {
    if (layer.heads < 1) fail("Attention with a packed output needs its head count, got " + std::to_string(layer.heads));
    if (q.heads >= 0 && q.heads != layer.heads) {
      fail("Attention's packed output has " + std::to_string(layer.heads) + " heads and q " + std::to_string(q.heads));
    }
    return {Dims({batch, q.rows, v.depth < 0 ? -1 : layer.heads * v.depth}), inputs[0].type};
  }
  return {Dims({batch, q.heads, q.rows, v.depth}), inputs[0].type};
}

std::pair<std::int64_t, std::int64_t> attentionHeadSizes(const AttentionLayer& layer, const Dims& q, const Dims& v) {
  return {attentionOperand(layer, 1U, q, "q").depth, attentionOperand(layer, 4U, v, "v").depth};
}

std::int64_t attentionKeys(const AttentionLayer& layer, const Dims& k) {
  return attentionOperand(layer, 2U, k, "k", layer.keys_transposed).rows;
}

// (n) of the output type, n the extent of the input's axis (the input's values are not read).
TensorType axisRange(const AxisRangeLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  const DataType type = layer.output_type;
  if (type != DataType::kFLOAT && type != DataType::kHALF && type != DataType::kINT32 && type != DataType::kINT64) {
    fail(std::string("AxisRange gives FLOAT, HALF, INT32 or INT64, not ") + dataTypeName(type));
  }
  if (inputs[0].shape.rank() == 0) fail("AxisRange needs an input of rank 1 or more");
  const auto axis = static_cast<std::size_t>(checkedAxis(layer.axis, inputs[0].shape.rank()));
  return {Dims({inputs[0].shape[axis]}), type};
}

// Values (the input's type) and INT32 indices, both the input's shape with k along the axis.
std::vector<TensorType> topK(const TopKLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  const DataType type = inputs[0].type;
  if (type != DataType::kFLOAT && type != DataType::kHALF && type != DataType::kINT32 && type != DataType::kINT64) {
    fail(std::string("TopK needs a FLOAT, HALF, INT32 or INT64 input, got ") + dataTypeName(type));
  }
  const Dims& shape = inputs[0].shape;
  if (shape.rank() == 0) fail("TopK needs an input of rank 1 or more");
  checkAxesMask(layer.axes, shape.rank());
  if ((layer.axes & (layer.axes - 1)) != 0) fail("TopK selects along exactly one axis; the axes mask has several");
  const auto axis = static_cast<std::size_t>(layer.axis());
  if (layer.k < 1) fail("k " + std::to_string(layer.k) + " must be at least 1");
  if (shape[axis] >= 0 && layer.k > shape[axis]) {
    fail("k " + std::to_string(layer.k) + " exceeds the extent " + std::to_string(shape[axis]) + " of axis " +
         std::to_string(axis) + " of " + shape.toString());
  }
  std::vector<std::int64_t> extents(shape.extents().begin(), shape.extents().end());
  extents[axis] = layer.k;
  return {{Dims(extents), type}, {Dims(extents), DataType::kINT32}};
}

TensorType pooling(const PoolingLayer& layer, const std::vector<TensorType>& inputs) {
  requireInputCount(inputs, 1);
  requireFloating(inputs[0], "Pooling");
  const auto axes = resolveSpatial(windowOf(layer), spatialExtents(inputs[0], "Pooling"));
  return {spatialOutput(inputs[0].shape[0], inputs[0].shape[1], axes), inputs[0].type};
}

std::vector<TensorType> inferOutputs(const LayerParameters& parameters,
                                     const std::vector<TensorType>& inputs) {
  struct Visitor {
    const std::vector<TensorType>& inputs;
    TensorType operator()(const ConstantLayer& l) const { return constant(l, inputs); }
    TensorType operator()(const MatrixMultiplyLayer& l) const { return matrixMultiply(l, inputs); }
    TensorType operator()(const ElementWiseLayer& l) const { return elementWise(l, inputs); }
    TensorType operator()(const ActivationLayer&) const { return sameAsInput(inputs, "Activation"); }
    TensorType operator()(const UnaryLayer& l) const { return unary(l, inputs); }
    TensorType operator()(const ShuffleLayer& l) const { return shuffle(l, inputs); }
    TensorType operator()(const SoftmaxLayer& l) const {
      const TensorType out = sameAsInput(inputs, "Softmax");
      checkedAxis(l.axis, out.shape.rank());
      return out;
    }
    TensorType operator()(const ReduceLayer& l) const { return reduce(l, inputs); }
    TensorType operator()(const NormalizationLayer& l) const { return normalization(l, inputs); }
    TensorType operator()(const ConcatenationLayer& l) const { return concatenation(l, inputs); }
    TensorType operator()(const IdentityLayer& l) const {
      requireInputCount(inputs, 1);
      return {inputs[0].shape, l.output_type};
    }
    TensorType operator()(const FusedMlpLayer& l) const { return fusedMlp(l, inputs); }
    TensorType operator()(const SelectLayer&) const { return select(inputs); }
    TensorType operator()(const ConvolutionLayer& l) const { return convolution(l, inputs); }
    TensorType operator()(const PoolingLayer& l) const { return pooling(l, inputs); }
    TensorType operator()(const DeconvolutionLayer& l) const { return deconvolution(l, inputs); }
    TensorType operator()(const SliceLayer& l) const { return slice(l, inputs); }
    TensorType operator()(const ResizeLayer& l) const { return resize(l, inputs); }
    TensorType operator()(const GatherLayer& l) const { return gather(l, inputs); }
    TensorType operator()(const TopKLayer&) const { return {}; }  // two outputs: inferOutputs
    TensorType operator()(const ScatterLayer& l) const { return scatter(l, inputs); }
    TensorType operator()(const CumulativeLayer& l) const { return cumulative(l, inputs); }
    TensorType operator()(const AttentionLayer& l) const { return attention(l, inputs); }
    TensorType operator()(const AxisRangeLayer& l) const { return axisRange(l, inputs); }
    TensorType operator()(const LrnLayer& l) const {
      const TensorType out = sameAsInput(inputs, "LRN");
      if (out.shape.rank() < 2) fail("needs an input with a channel axis (N, C, ...), got " + out.shape.toString());
      if (l.window_size <= 0) fail("window_size " + std::to_string(l.window_size) + " must be positive");
      return out;
    }
  };
  if (const auto* top = std::get_if<TopKLayer>(&parameters)) return topK(*top, inputs);
  return {std::visit(Visitor{inputs}, parameters)};
}

TensorType stepOutput(const LayerParameters& parameters, const std::vector<TensorType>& inputs) {
  return inferOutputs(parameters, inputs).at(std::holds_alternative<TopKLayer>(parameters) ? 1 : 0);
}

const char* layerKindName(const LayerParameters& parameters) noexcept {
  return std::visit([](const auto& layer) { return std::decay_t<decltype(layer)>::kName; }, parameters);
}

}  // namespace mlprt::network
