#include "runtime/step_runner.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <variant>

#include "backend/opencl/mlp_mma.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/ops/axis_range/axis_range.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/cumulative/cumulative.h"
#include "backend/opencl/ops/pooling/pooling.h"
#include "backend/opencl/ops/gather/gather.h"
#include "backend/opencl/ops/scatter/scatter.h"
#include "backend/opencl/ops/topk/topk.h"
#include "backend/opencl/ops/lrn/lrn.h"
#include "backend/opencl/ops/resize/resize.h"
#include "backend/opencl/ops/slice/slice.h"
#include "core/half.h"
#include "core/error.h"
#include "network/shape_inference.h"
#include "network/spatial.h"
#include "runtime/plan_formats.h"
#include "runtime/plan_shapes.h"

namespace mlprt::runtime {
namespace {

Dims permuted(const Dims& shape, const std::vector<int>& order) {
  std::vector<std::int64_t> extents;
  for (int axis : order) extents.push_back(shape[static_cast<std::size_t>(axis)]);
  return Dims(extents);
}

// The same memory seen with another shape of equal volume (a reshape moves no data).
cl::DeviceTensor reshaped(cl::DeviceTensor tensor, const Dims& shape) {
  tensor.shape = shape;
  return tensor;
}

// Shuffle = transpose, reshape, transpose. Only one of the transposes may be a real
// permutation (the builder splits the rest), so one copy kernel does it all.
void runShuffle(cl::KernelCache& kernels, cl::Stream& stream, const network::ShuffleLayer& shuffle,
                const StepOperands& operands) {
  const cl::DeviceTensor& in = operands.inputs.at(0);
  const cl::DeviceTensor& out = operands.output;
  const bool first = !shuffle.first_transpose.empty() && !network::isIdentityPermutation(shuffle.first_transpose);
  const bool second =
      !shuffle.second_transpose.empty() && !network::isIdentityPermutation(shuffle.second_transpose);
  if (first && second) {
    throw InvalidArgument("a Shuffle with two transposes reached the runtime unsplit");
  }
  if (first) {
    // Output memory is laid out as the permuted input; the reshape only renames it.
    const Dims transposed = permuted(in.shape, shuffle.first_transpose);
    cl::copyTransposed(kernels, stream, in, shuffle.first_transpose, reshaped(out, transposed));
  } else if (second) {
    // Input memory seen with the shape before the second transpose: out's shape un-permuted.
    std::vector<std::int64_t> before(out.shape.rank());
    for (std::size_t i = 0; i < shuffle.second_transpose.size(); ++i) {
      before[static_cast<std::size_t>(shuffle.second_transpose[i])] = out.shape[i];
    }
    cl::copyTransposed(kernels, stream, reshaped(in, Dims(before)), shuffle.second_transpose, out);
  } else if (!in.range.buffer || in.range.buffer != out.range.buffer || in.range.offset != out.range.offset) {
    cl::copyTransposed(kernels, stream, reshaped(in, out.shape), {}, out);
  }  // else a view (the builder placed the output on its input): nothing moves
}

// "fused_mlp_r4" -> 4 rows per work-group.
int fusedMlpRows(const std::string& tactic) {
  const std::string prefix = fusedMlpTacticPrefix();
  if (tactic.compare(0, prefix.size(), prefix) != 0 || tactic.size() == prefix.size()) {
    throw InvalidArgument("'" + tactic + "' is not a fused MLP tactic");
  }
  return std::stoi(tactic.substr(prefix.size()));
}

// ---- A fused MLP step run layer by layer ("layers_kxn:" / "layers_nxk:" tactics) ----------------
// Where the fused kernel loses (large batches), a FusedMLP step runs its stages as products with
// the GEMM tactics its tactic names, the activations between them in the step's workspace.

constexpr std::size_t kWorkspaceAlignment = 256;

std::size_t alignedUp(std::size_t bytes) { return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment; }

// The widest activation of the chain (its input, hidden layers and output).
std::int64_t widestActivation(const network::FusedMlpLayer& mlp) {
  std::int64_t widest = mlp.stages.empty() ? 0 : mlp.stages.front().in_features;
  for (const network::MlpStage& stage : mlp.stages) widest = std::max(widest, stage.out_features);
  return widest;
}

// The workspace a layers tactic uses for `rows` rows: the GEMM tactics' own scratch (split K), then
// two buffers of rows x the widest activation in float (enough for any storage) that the stages
// alternate between.
struct LayersWorkspace {
  std::size_t gemm_bytes = 0;
  std::size_t buffer_bytes = 0;
  std::size_t total() const { return alignedUp(gemm_bytes) + 2 * alignedUp(buffer_bytes); }
};

LayersWorkspace layersWorkspace(const network::FusedMlpLayer& mlp, const std::vector<std::string>& tactics,
                                std::int64_t rows, const cl::Context& context) {
  LayersWorkspace workspace;
  for (const std::string& tactic : tactics) {
    workspace.gemm_bytes = std::max(workspace.gemm_bytes, cl::gemmWorkspaceBytes(cl::GemmTactic{tactic}, context));
  }
  workspace.buffer_bytes = static_cast<std::size_t>(std::max<std::int64_t>(rows, 0) * widestActivation(mlp)) * sizeof(float);
  return workspace;
}

cl::DeviceTensor workspacePart(const cl::DeviceTensor& workspace, std::size_t offset, const Dims& shape, DataType type) {
  return cl::DeviceTensor{{workspace.range.buffer, workspace.range.offset + offset}, shape, type};
}

void runMlpLayers(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
                  const network::FusedMlpLayer& mlp, const StepOperands& operands, const FusedMlpLayers& layers) {
  if (layers.gemm_tactics.size() != mlp.stages.size()) {
    throw InvalidArgument("fused MLP tactic '" + step.tactic + "' names " + std::to_string(layers.gemm_tactics.size()) +
                          " GEMM tactics for " + std::to_string(mlp.stages.size()) + " stages");
  }
  const cl::DeviceTensor& in = operands.inputs.at(0);
  const std::int64_t k0 = mlp.stages.front().in_features;
  const std::int64_t rows = k0 > 0 ? in.shape.volume() / k0 : 0;
  if (rows == 0) return;
  const LayersWorkspace sizes = layersWorkspace(mlp, layers.gemm_tactics, rows, *kernels.context());
  const std::size_t given = operands.has_workspace ? runtime::tensorBytes(operands.workspace.shape, DataType::kFLOAT) : 0;
  if (given < sizes.total()) {
    throw InvalidArgument("fused MLP tactic '" + step.tactic + "' needs a workspace of " + std::to_string(sizes.total()) +
                          " bytes for " + std::to_string(rows) + " rows and was given " + std::to_string(given));
  }
  const DataType inner = operands.inputs.at(1).type;  // the weights' storage: the activations' between stages
  const auto buffer = [&](std::size_t which, const Dims& shape) {
    return workspacePart(operands.workspace, alignedUp(sizes.gemm_bytes) + which * alignedUp(sizes.buffer_bytes), shape,
                         inner);
  };
  const cl::DeviceTensor gemm_workspace = workspacePart(
      operands.workspace, 0, Dims{static_cast<std::int64_t>(sizes.gemm_bytes / sizeof(float))}, DataType::kFLOAT);
  // The input in the weights' storage (a cast led the chain where it differs).
  cl::DeviceTensor current = reshaped(in, Dims{rows, k0});
  std::size_t next = 0;
  if (in.type != inner) {
    const cl::DeviceTensor cast = buffer(next, current.shape);
    cl::copyTransposed(kernels, stream, current, {}, cast);
    current = cast;
    next = 1 - next;
  }
  std::size_t operand = 1;
  for (std::size_t i = 0; i < mlp.stages.size(); ++i) {
    const network::MlpStage& stage = mlp.stages[i];
    const cl::DeviceTensor& weights = operands.inputs.at(operand++);
    cl::GemmEpilogue epilogue;
    if (stage.has_bias) epilogue.bias = &operands.inputs.at(operand++);
    epilogue.has_activation = stage.has_activation;
    epilogue.activation = stage.activation.type;
    epilogue.alpha = stage.activation.alpha;
    epilogue.beta = stage.activation.beta;
    const Dims shape{rows, stage.out_features};
    const bool last = i + 1 == mlp.stages.size();
    const bool direct = last && operands.output.type == inner;  // the last product writes the output itself
    const cl::DeviceTensor out = direct ? reshaped(operands.output, shape) : buffer(next, shape);
    cl::matrixMultiply(kernels, stream, cl::GemmTactic{layers.gemm_tactics[i]}, current, MatrixOperation::kNONE,
                       weights, layers.weights_n_by_k ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, epilogue,
                       out, sizes.gemm_bytes > 0 ? &gemm_workspace : nullptr);
    current = out;
    next = 1 - next;
    if (last && !direct) cl::copyTransposed(kernels, stream, current, {}, reshaped(operands.output, shape));
  }
}

void runFusedMlp(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
                 const network::FusedMlpLayer& mlp, const StepOperands& operands) {
  if (const std::optional<FusedMlpLayers> layers = fusedMlpLayers(step.tactic)) {
    runMlpLayers(kernels, stream, step, mlp, operands, *layers);
    return;
  }
  std::vector<cl::MlpStageOperands> stages;
  std::size_t next = 1;
  for (const network::MlpStage& stage : mlp.stages) {
    cl::MlpStageOperands operand;
    operand.weights = &operands.inputs.at(next++);
    if (stage.has_bias) operand.bias = &operands.inputs.at(next++);
    operand.has_activation = stage.has_activation;
    operand.activation = stage.activation.type;
    operand.alpha = stage.activation.alpha;
    operand.beta = stage.activation.beta;
    stages.push_back(operand);
  }
  if (const int mma_rows = cl::fusedMlpMmaRows(step.tactic)) {  // tensor cores, weights N x K
    cl::fusedMlpMma(kernels, stream, mma_rows, operands.inputs.at(0), stages, operands.output);
    return;
  }
  cl::fusedMlp(kernels, stream, fusedMlpRows(step.tactic), operands.inputs.at(0), stages, operands.output);
}

std::vector<std::int64_t> spatialExtents(const Dims& shape) {
  return std::vector<std::int64_t>(shape.extents().begin() + std::min<std::size_t>(2, shape.rank()),
                                   shape.extents().end());
}

// What a (de)convolution launcher needs of the resolved axes, and the step's epilogue with the
// layer's bias (its input 2) when it has one.
cl::ConvolutionWindow convolutionWindow(const std::vector<network::SpatialAxis>& axes, std::int64_t groups) {
  cl::ConvolutionWindow window;
  window.groups = groups;
  for (const network::SpatialAxis& axis : axes) {
    window.stride.push_back(axis.stride);
    window.dilation.push_back(axis.dilation);
    window.pad_before.push_back(axis.pad_before);
  }
  return window;
}

cl::GemmEpilogue convolutionEpilogue(const engine::PlanStep& step, const std::vector<cl::DeviceTensor>& inputs) {
  cl::GemmEpilogue epilogue;
  if (inputs.size() > 2) epilogue.bias = &inputs[2];
  epilogue.has_activation = step.epilogue.has_activation;
  epilogue.activation = step.epilogue.activation.type;
  epilogue.alpha = step.epilogue.activation.alpha;
  epilogue.beta = step.epilogue.activation.beta;
  epilogue.residual_after_activation = step.epilogue.residual_after_activation;
  return epilogue;
}

void runConvolution(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
                    const network::ConvolutionLayer& layer, const StepOperands& operands) {
  const auto& in = operands.inputs;
  const auto axes = network::resolveSpatial(network::windowOf(layer), spatialExtents(in.at(0).shape));
  const std::string tactic = step.tactic.empty() ? cl::convolutionTactics(in.at(0).type).at(0) : step.tactic;
  // Input 3, where the builder fused an Add after the convolution, is the residual it adds.
  cl::convolution(kernels, stream, tactic, in.at(0), in.at(1), convolutionWindow(axes, layer.num_groups),
                  convolutionEpilogue(step, in), operands.output, in.size() > 3 ? &in[3] : nullptr,
                  operands.has_workspace ? &operands.workspace : nullptr);
}

// A copy or cast; with a reformat tactic (plan_formats.h), a transpose between LINEAR (N, C, d...)
// and HWC (N, d..., C) element orders of one logical shape.
void runIdentity(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
                 const StepOperands& operands) {
  const cl::DeviceTensor& in = operands.inputs.at(0);
  const cl::DeviceTensor& out = operands.output;
  const TensorFormat written = stepOperandFormat(step, -1);
  if (written == stepOperandFormat(step, 0)) {
    cl::copyTransposed(kernels, stream, reshaped(in, out.shape), {}, out);
    return;
  }
  const std::size_t rank = out.shape.rank();
  if (in.shape != out.shape || rank < 3) {
    throw InvalidArgument("step '" + step.name + "': a reformat takes one shape of rank 3 or more to itself, not " +
                          in.shape.toString() + " to " + out.shape.toString());
  }
  std::vector<std::int64_t> channels_last;  // the extents in HWC element order
  for (int axis : toChannelsLastPermutation(rank)) channels_last.push_back(out.shape[static_cast<std::size_t>(axis)]);
  if (written == TensorFormat::kHWC) {
    cl::copyTransposed(kernels, stream, in, toChannelsLastPermutation(rank), reshaped(out, Dims(channels_last)));
  } else {
    cl::copyTransposed(kernels, stream, reshaped(in, Dims(channels_last)), fromChannelsLastPermutation(rank), out);
  }
}

void runDeconvolution(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
                      const network::DeconvolutionLayer& layer, const StepOperands& operands) {
  const auto& in = operands.inputs;
  const auto axes =
      network::resolveTransposed(network::windowOf(layer), layer.output_padding, spatialExtents(in.at(0).shape));
  const std::string tactic = step.tactic.empty() ? cl::deconvolutionTactics(in.at(0).type).at(0) : step.tactic;
  cl::deconvolution(kernels, stream, tactic, in.at(0), in.at(1), convolutionWindow(axes, layer.num_groups),
                    convolutionEpilogue(step, in), operands.output);
}

// The fill value as one element of `type`: the bits the kernel stores.
std::vector<std::uint8_t> elementBytes(float value, DataType type) {
  std::vector<std::uint8_t> bytes(elementSize(type));
  const auto put = [&](auto element) { std::memcpy(bytes.data(), &element, sizeof element); };
  switch (type) {
    case DataType::kFLOAT: put(value); break;
    case DataType::kHALF: put(floatToHalf(value)); break;
    case DataType::kINT8: put(static_cast<std::int8_t>(value)); break;
    case DataType::kUINT8: put(static_cast<std::uint8_t>(value)); break;
    case DataType::kBOOL: put(static_cast<std::uint8_t>(value != 0.0f)); break;
    case DataType::kINT32: put(static_cast<std::int32_t>(value)); break;
    case DataType::kINT64: put(static_cast<std::int64_t>(value)); break;
  }
  return bytes;
}

void runSlice(cl::KernelCache& kernels, cl::Stream& stream, const network::SliceLayer& layer,
              const StepOperands& operands) {
  const cl::DeviceTensor& in = operands.inputs.at(0);
  cl::slice(kernels, stream, in, layer.start, layer.stride, layer.mode, elementBytes(layer.fill_value, in.type),
            operands.output);
}

// The scales the coordinate formula divides by: the layer's, or output / input per axis.
void runResize(cl::KernelCache& kernels, cl::Stream& stream, const network::ResizeLayer& layer,
               const StepOperands& operands) {
  const cl::DeviceTensor& in = operands.inputs.at(0);
  const cl::DeviceTensor& out = operands.output;
  std::vector<float> scales = layer.scales;
  if (scales.empty()) {
    for (std::size_t axis = 0; axis < in.shape.rank(); ++axis) {
      scales.push_back(in.shape[axis] == 0 ? 1.0f
                                           : static_cast<float>(out.shape[axis]) / static_cast<float>(in.shape[axis]));
    }
  }
  cl::ResizeSampling sampling{layer.resize_mode, layer.coordinate_transformation, layer.selector_for_single_pixel,
                              layer.nearest_rounding, layer.cubic_coeff, layer.exclude_outside};
  cl::resize(kernels, stream, in, scales, sampling, out);
}

void runPooling(cl::KernelCache& kernels, cl::Stream& stream, const network::PoolingLayer& layer,
                const StepOperands& operands) {
  const cl::DeviceTensor& in = operands.inputs.at(0);
  cl::PoolingWindow window;
  window.exclude_padding = layer.average_count_excludes_padding;
  for (const network::SpatialAxis& axis : network::resolveSpatial(network::windowOf(layer), spatialExtents(in.shape))) {
    window.window.push_back(axis.window);
    window.stride.push_back(axis.stride);
    window.dilation.push_back(axis.dilation);
    window.pad_before.push_back(axis.pad_before);
    window.pad_after.push_back(axis.pad_after);
  }
  cl::pooling(kernels, stream, layer.type, in, window, operands.output);
}

}  // namespace

std::string fusedMlpTacticPrefix() { return "fused_mlp_r"; }

namespace {
constexpr const char* kLayersKxN = "layers_kxn:";
constexpr const char* kLayersNxK = "layers_nxk:";
}  // namespace

std::string fusedMlpLayersTactic(const std::vector<std::string>& gemm_tactics, bool weights_n_by_k) {
  std::string tactic = weights_n_by_k ? kLayersNxK : kLayersKxN;
  for (std::size_t i = 0; i < gemm_tactics.size(); ++i) tactic += (i > 0 ? "|" : "") + gemm_tactics[i];
  return tactic;
}

std::optional<FusedMlpLayers> fusedMlpLayers(const std::string& tactic) {
  FusedMlpLayers layers;
  std::string rest;
  for (const char* prefix : {kLayersKxN, kLayersNxK}) {
    if (tactic.rfind(prefix, 0) == 0) {
      layers.weights_n_by_k = prefix == kLayersNxK;
      rest = tactic.substr(std::strlen(prefix));
      break;
    }
  }
  if (rest.empty()) return std::nullopt;
  std::size_t start = 0;
  while (true) {
    const std::size_t bar = rest.find('|', start);
    const std::string name = rest.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    if (name.empty()) throw InvalidArgument("fused MLP tactic '" + tactic + "' names an empty GEMM tactic");
    layers.gemm_tactics.push_back(name);
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return layers;
}

namespace {

cl::AttentionParameters attentionParameters(const network::AttentionLayer& layer) {
  cl::AttentionParameters parameters;
  parameters.scale = layer.scale;
  parameters.softcap = layer.softcap;
  parameters.causal = layer.causal;
  parameters.keys_transposed = layer.keys_transposed;
  parameters.zero_masked_rows = layer.zero_masked_rows;
  parameters.packed = layer.packed;
  parameters.heads = layer.heads;
  parameters.kv_heads = layer.kv_heads;
  parameters.mask_batch_period = layer.mask_batch_period;
  parameters.merged_qkv = layer.merged_qkv;
  parameters.mask_if_true = layer.mask_if_true;
  parameters.mask_if_false = layer.mask_if_false;
  return parameters;
}

std::size_t tacticWorkspaceBytes(const engine::PlanStep& step, const std::string& tactic, const cl::Context& context,
                                 const std::vector<Dims>& shapes) {
  if (const auto* mlp = std::get_if<network::FusedMlpLayer>(&step.parameters)) {
    const std::optional<FusedMlpLayers> layers = fusedMlpLayers(tactic);
    if (!layers || mlp->stages.empty()) return 0;
    const std::int64_t k0 = std::max<std::int64_t>(mlp->stages.front().in_features, 1);
    const std::int64_t rows = shapes.at(static_cast<std::size_t>(step.inputs.at(0))).volume() / k0;
    return layersWorkspace(*mlp, layers->gemm_tactics, rows, context).total();
  }
  if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) {
    const auto at = [&shapes](engine::TensorId id) { return shapes.at(static_cast<std::size_t>(id)); };
    // Sized for FLOAT storage, which bounds HALF's (the step does not say its storage).
    return cl::convolutionWorkspaceBytes(tactic, context, at(step.inputs.at(0)), at(step.inputs.at(1)), at(step.output),
                                         DataType::kFLOAT);
  }
  if (std::holds_alternative<network::MatrixMultiplyLayer>(step.parameters) && !tactic.empty()) {
    return cl::gemmWorkspaceBytes(cl::GemmTactic{tactic}, context);
  }
  if (const auto* attention = std::get_if<network::AttentionLayer>(&step.parameters)) {
    const std::int64_t keys = network::attentionKeys(*attention, shapes.at(static_cast<std::size_t>(step.inputs.at(1))));
    return cl::attentionWorkspaceBytes(tactic, context, attentionParameters(*attention),
                                       shapes.at(static_cast<std::size_t>(step.output)), keys);
  }
  return 0;
}

}  // namespace

std::size_t stepWorkspaceBytes(const engine::PlanStep& step, const cl::Context& context, const std::vector<Dims>& shapes) {
  try {
    std::size_t bytes = tacticWorkspaceBytes(step, step.tactic, context, shapes);
    for (const engine::TacticRange& range : step.tactic_ranges) {
      bytes = std::max(bytes, tacticWorkspaceBytes(step, range.tactic, context, shapes));
    }
    return bytes;
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("step '" + step.name + "': " + e.what());
  }
}

bool stepTakesPinnedHostOperand(const engine::PlanStep& step, int input_index) {
  // An axis range reads only its input's shape.
  if (std::holds_alternative<network::AxisRangeLayer>(step.parameters) && input_index == 0) return true;
  // The CUDA-core fused MLP reads its activations input (0) and writes its output through
  // addresses (not its "layers_*" tactics, whose products read device memory).
  const std::string prefix = fusedMlpTacticPrefix();
  return std::holds_alternative<network::FusedMlpLayer>(step.parameters) &&
         step.tactic.compare(0, prefix.size(), prefix) == 0 && (input_index == 0 || input_index == -1);
}

bool shuffleNeedsTwoPasses(const network::ShuffleLayer& shuffle) {
  return !shuffle.first_transpose.empty() && !network::isIdentityPermutation(shuffle.first_transpose) &&
         !shuffle.second_transpose.empty() && !network::isIdentityPermutation(shuffle.second_transpose);
}

void runStep(cl::KernelCache& kernels, cl::Stream& stream, const engine::PlanStep& step,
             const StepOperands& operands) {
  const auto& in = operands.inputs;
  const cl::DeviceTensor& out = operands.output;
  struct Visitor {
    cl::KernelCache& kernels;
    cl::Stream& stream;
    const engine::PlanStep& step;
    const StepOperands& operands;
    const std::vector<cl::DeviceTensor>& in;
    const cl::DeviceTensor& out;

    void operator()(const network::ConstantLayer&) const {
      throw InvalidArgument("a Constant layer cannot run as a step");
    }
    void operator()(const network::MatrixMultiplyLayer& l) const {
      cl::GemmEpilogue epilogue;
      if (operands.has_bias) epilogue.bias = &operands.bias;
      epilogue.has_activation = step.epilogue.has_activation;
      epilogue.activation = step.epilogue.activation.type;
      epilogue.alpha = step.epilogue.activation.alpha;
      epilogue.beta = step.epilogue.activation.beta;
      cl::matrixMultiply(kernels, stream, cl::GemmTactic{step.tactic}, in.at(0), l.op0, in.at(1),
                         l.op1, epilogue, out, operands.has_workspace ? &operands.workspace : nullptr);
    }
    void operator()(const network::ElementWiseLayer& l) const {
      cl::elementWise(kernels, stream, l.op, in.at(0), in.at(1), out);
    }
    void operator()(const network::ActivationLayer& l) const {
      cl::activation(kernels, stream, l.type, l.alpha, l.beta, in.at(0), out);
    }
    void operator()(const network::UnaryLayer& l) const { cl::unary(kernels, stream, l.op, in.at(0), out); }
    void operator()(const network::ShuffleLayer& l) const { runShuffle(kernels, stream, l, operands); }
    void operator()(const network::SoftmaxLayer& l) const {
      cl::softmax(kernels, stream, l.axis, l.log, in.at(0), out);
    }
    void operator()(const network::ReduceLayer& l) const {
      cl::reduce(kernels, stream, l.op, l.axes, in.at(0), out);
    }
    void operator()(const network::NormalizationLayer& l) const {
      std::vector<const cl::DeviceTensor*> residuals;  // the builder's fused Adds
      for (std::size_t i = 3; i < in.size(); ++i) residuals.push_back(&in[i]);
      cl::normalization(kernels, stream, l.axes, l.epsilon, in.at(0), in.at(1), in.at(2), out, residuals, step.tactic);
    }
    void operator()(const network::ConcatenationLayer& l) const {
      cl::concatenate(kernels, stream, in, l.axis, out);
    }
    void operator()(const network::IdentityLayer&) const { runIdentity(kernels, stream, step, operands); }
    void operator()(const network::FusedMlpLayer& l) const { runFusedMlp(kernels, stream, step, l, operands); }
    void operator()(const network::SelectLayer&) const { cl::select(kernels, stream, in.at(0), in.at(1), in.at(2), out); }
    void operator()(const network::ConvolutionLayer& l) const { runConvolution(kernels, stream, step, l, operands); }
    void operator()(const network::PoolingLayer& l) const { runPooling(kernels, stream, l, operands); }
    void operator()(const network::DeconvolutionLayer& l) const { runDeconvolution(kernels, stream, step, l, operands); }
    void operator()(const network::SliceLayer& l) const { runSlice(kernels, stream, l, operands); }
    void operator()(const network::ResizeLayer& l) const { runResize(kernels, stream, l, operands); }
    void operator()(const network::GatherLayer& l) const {
      cl::gather(kernels, stream, l.mode, l.gather_axis, in.at(0), in.at(1), out);
    }
    void operator()(const network::TopKLayer& l) const {
      cl::topK(kernels, stream, l.op, l.axis(), in.at(0), out);
    }
    void operator()(const network::ScatterLayer& l) const {
      cl::scatter(kernels, stream, l.mode, l.axis, l.reduction, in.at(0), in.at(1), in.at(2), out);
    }
    void operator()(const network::AttentionLayer& l) const {
      const std::string tactic = step.tactic.empty() ? cl::kAttentionTactic : step.tactic;
      cl::attention(kernels, stream, tactic, attentionParameters(l), in.at(0), in.at(1), in.at(2),
                    l.has_mask ? &in.at(3) : nullptr, out, operands.has_workspace ? &operands.workspace : nullptr);
    }
    void operator()(const network::AxisRangeLayer& l) const { cl::axisRange(kernels, stream, in.at(0).shape, l.axis, out); }
    void operator()(const network::CumulativeLayer& l) const {
      cl::cumulative(kernels, stream, l.op, l.axis, l.exclusive, l.reverse, in.at(0), out);
    }
    void operator()(const network::LrnLayer& l) const {
      cl::localResponseNormalization(kernels, stream, l.window_size, l.alpha, l.beta, l.k, in.at(0), out);
    }
  };
  try {
    std::visit(Visitor{kernels, stream, step, operands, in, out}, step.parameters);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("step '" + step.name + "': " + e.what());
  }
}

}  // namespace mlprt::runtime
