#include "builder/builder.h"
#include "builder/activation_fusion.h"
#include "builder/aliasing.h"
#include "builder/attention_fusion.h"
#include "builder/common_subexpressions.h"
#include "builder/normalization_fusion.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "builder/graph.h"
#include "builder/layout.h"
#include "builder/memory_plan.h"
#include "builder/mlp_choice.h"
#include "builder/mlp_fusion.h"
#include "builder/profile_corners.h"
#include "builder/scratch_run.h"
#include "builder/tactic_choice.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/logging.h"
#include "engine/format.h"
#include "network/shape_inference.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "runtime/plan_formats.h"
#include "runtime/plan_shapes.h"
#include "runtime/step_runner.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::PlanTensor;
using engine::TensorRole;

// ---- Optimization profiles ----------------------------------------------------------------

Dims checkedProfileDims(const GraphTensor& input, const Dims& dims, const char* which, std::size_t profile) {
  const std::string where = "optimization profile " + std::to_string(profile) + ", input '" + input.name + "'";
  if (dims.rank() != input.shape.rank()) {
    throw InvalidArgument(where + ": " + which + " shape " + dims.toString() + " has rank " +
                          std::to_string(dims.rank()) + " but the input is " + input.shape.toString());
  }
  for (std::size_t axis = 0; axis < dims.rank(); ++axis) {
    if (input.shape[axis] != Dims::kDynamic && input.shape[axis] != dims[axis]) {
      throw InvalidArgument(where + ": " + which + " shape " + dims.toString() + " differs from the fixed dimension " +
                            std::to_string(axis) + " of " + input.shape.toString());
    }
  }
  return dims;
}

std::vector<engine::ProfileShapes> resolveProfiles(const Graph& graph, const BuilderConfig& config) {
  std::vector<engine::ProfileShapes> result;
  if (config.profiles().empty()) {
    engine::ProfileShapes fixed;
    for (TensorId input : graph.inputs) {
      const GraphTensor& tensor = graph.tensor(input);
      if (tensor.shape.isDynamic()) {
        throw InvalidArgument("input '" + tensor.name + "' has the dynamic shape " + tensor.shape.toString() +
                              " but the builder config has no optimization profile; add one with set_shape('" +
                              tensor.name + "', min, opt, max)");
      }
      fixed.min.push_back(tensor.shape);
      fixed.opt.push_back(tensor.shape);
      fixed.max.push_back(tensor.shape);
    }
    result.push_back(fixed);
    return result;
  }
  for (std::size_t index = 0; index < config.profiles().size(); ++index) {
    const OptimizationProfile& profile = config.profiles()[index];
    for (const auto& entry : profile.shapes()) {
      const bool known = std::any_of(graph.inputs.begin(), graph.inputs.end(),
                                     [&](TensorId id) { return graph.tensor(id).name == entry.first; });
      if (!known) {
        throw InvalidArgument("optimization profile " + std::to_string(index) + " sets a shape for '" + entry.first +
                              "', which is not a network input");
      }
    }
    engine::ProfileShapes shapes;
    for (TensorId input : graph.inputs) {
      const GraphTensor& tensor = graph.tensor(input);
      if (!profile.has(tensor.name)) {
        if (tensor.shape.isDynamic()) {
          throw InvalidArgument("optimization profile " + std::to_string(index) + " has no shape for the dynamic input '" +
                                tensor.name + "' " + tensor.shape.toString());
        }
        shapes.min.push_back(tensor.shape);
        shapes.opt.push_back(tensor.shape);
        shapes.max.push_back(tensor.shape);
        continue;
      }
      const ShapeRange& range = profile.shape(tensor.name);
      shapes.min.push_back(checkedProfileDims(tensor, range.min, "min", index));
      shapes.opt.push_back(checkedProfileDims(tensor, range.opt, "opt", index));
      shapes.max.push_back(checkedProfileDims(tensor, range.max, "max", index));
    }
    result.push_back(shapes);
  }
  return result;
}

// ---- Constant folding on the device --------------------------------------------------------

std::shared_ptr<cl::DeviceBuffer> upload(const std::shared_ptr<cl::Context>& context, cl::Stream& stream,
                                         const std::vector<std::uint8_t>& bytes) {
  auto buffer = cl::DeviceBuffer::allocate(context, bytes.size());
  if (!bytes.empty()) {
    cl::copyHostToDevice(stream, {buffer, 0}, bytes.data(), bytes.size(), cl::CopyMode::kBlocking);
  }
  return buffer;
}

// Evaluates one node whose inputs are all constants; false when its kernels cannot (e.g. integer
// arithmetic), which leaves the node to run in the engine.
bool foldNode(Graph& graph, GraphNode& node, cl::KernelCache& kernels, cl::Stream& stream) {
  const std::shared_ptr<cl::Context>& context = kernels.context();
  std::vector<network::TensorType> types;
  runtime::StepOperands operands;
  for (TensorId input : node.inputs) {
    const GraphTensor& tensor = graph.tensor(input);
    types.push_back({tensor.shape, tensor.type});
    cl::DeviceTensor operand;
    operand.range.buffer = upload(context, stream, tensor.value);
    operand.shape = tensor.shape;
    operand.type = tensor.type;
    operands.inputs.push_back(std::move(operand));
  }
  const network::TensorType result = network::stepOutput(node.parameters, types);
  const std::size_t bytes = runtime::tensorBytes(result.shape, result.type);
  operands.output.range.buffer = cl::DeviceBuffer::allocate(context, bytes);
  operands.output.shape = result.shape;
  operands.output.type = result.type;
  PlanStep step;
  step.name = node.name;
  step.parameters = node.parameters;
  if (std::holds_alternative<network::MatrixMultiplyLayer>(node.parameters)) {
    // One of mlprt's own kernels, which the build compiles anyway (CLBlast's would cost a compile
    // of its own where the tactic sources leave it out).
    cl::GemmPolicy own_kernels;
    own_kernels.allow_clblast = false;
    const auto tactics = cl::gemmTactics(*context, result.type, own_kernels);
    if (tactics.empty()) return false;
    step.tactic = tactics.front().name;
  }
  try {
    runtime::runStep(kernels, stream, step, operands);
  } catch (const InvalidArgument& e) {
    log(Severity::kVERBOSE, "constant folding skips '" + node.name + "': " + e.what());
    return false;
  }
  std::vector<std::uint8_t> value(bytes);
  if (bytes > 0) {
    cl::copyDeviceToHost(stream, value.data(), operands.output.range, bytes, cl::CopyMode::kBlocking);
  }
  GraphTensor& output = graph.tensor(node.output);
  output.is_constant = true;
  output.type = result.type;
  output.shape = result.shape;
  output.value = std::move(value);
  node.removed = true;
  return true;
}

int foldConstants(Graph& graph, BuildDevice& device) {
  int folded = 0;
  for (GraphNode& node : graph.nodes) {
    if (node.removed || node.epilogue.bias >= 0 || graph.tensor(node.output).is_output) continue;
    const bool all_constant = std::all_of(node.inputs.begin(), node.inputs.end(),
                                          [&](TensorId id) { return graph.tensor(id).is_constant; });
    if (all_constant && foldNode(graph, node, device.kernels, *device.stream)) ++folded;
  }
  return folded;
}

// ---- Graph to plan -------------------------------------------------------------------------

EnginePlan planFromGraph(const Graph& graph) {
  EnginePlan plan;
  std::map<TensorId, TensorId> ids;
  auto map = [&](TensorId id) {
    auto found = ids.find(id);
    if (found != ids.end()) return found->second;
    const GraphTensor& tensor = graph.tensor(id);
    PlanTensor planned;
    planned.name = tensor.name;
    planned.type = tensor.type;
    planned.shape = tensor.shape;
    if (tensor.is_input) {
      planned.role = TensorRole::kInput;
    } else if (tensor.is_output) {
      planned.role = TensorRole::kOutput;
    } else if (tensor.is_constant) {
      planned.role = TensorRole::kConstant;
      planned.offset = appendAligned(plan.weights, tensor.value.data(), tensor.value.size());
      planned.capacity = tensor.value.size();
    } else {
      planned.role = TensorRole::kActivation;
    }
    plan.tensors.push_back(planned);
    const auto planned_id = static_cast<TensorId>(plan.tensors.size() - 1);
    ids[id] = planned_id;
    return planned_id;
  };
  for (TensorId input : graph.inputs) plan.inputs.push_back(map(input));
  for (TensorId output : graph.outputs) plan.outputs.push_back(map(output));
  for (const GraphNode& node : graph.nodes) {
    if (node.removed) continue;
    PlanStep step;
    step.name = node.name;
    step.parameters = node.parameters;
    for (TensorId input : node.inputs) step.inputs.push_back(map(input));
    step.epilogue = node.epilogue;
    if (node.epilogue.bias >= 0) step.epilogue.bias = map(node.epilogue.bias);
    step.output = map(node.output);
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

// ---- Memory --------------------------------------------------------------------------------

const char* roleName(TensorRole role) {
  switch (role) {
    case TensorRole::kInput: return "input";
    case TensorRole::kOutput: return "output";
    case TensorRole::kActivation: return "tensor";
    case TensorRole::kConstant: return "constant";
  }
  return "tensor";
}

// Every input, output and activation must fit in one device allocation at every profile
// extreme. Checked before any scratch memory is allocated, so a network too large for the
// device is refused naming the tensor, not deep inside tactic timing.
void requireTensorsFit(const EnginePlan& plan, const cl::DeviceInfo& device) {
  for (const CornerShapes& corner : profileCorners(plan)) {
    for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
      const PlanTensor& tensor = plan.tensors[i];
      if (tensor.role == TensorRole::kConstant) continue;
      const std::string what = std::string(roleName(tensor.role)) + " '" + tensor.name + "' at " + corner.name;
      std::size_t bytes = 0;
      try {
        bytes = runtime::tensorBytes(corner.shapes[i], tensor.type);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(what + ": " + e.what());
      }
      if (bytes > device.max_allocation) {
        throw OutOfMemory(what + " needs " + std::to_string(bytes) + " bytes (shape " + corner.shapes[i].toString() +
                          "), more than device '" + device.name + "' allows in one allocation (" +
                          std::to_string(device.max_allocation) + " bytes)");
      }
    }
  }
}

// The arena holds all activations at once where their lifetimes overlap; it is one allocation.
void requireArenaFits(const EnginePlan& plan, const cl::DeviceInfo& device) {
  if (plan.arena_bytes <= device.max_allocation) return;
  throw OutOfMemory("the engine's activation memory needs " + std::to_string(plan.arena_bytes) +
                    " bytes at its largest profile shapes, more than device '" + device.name +
                    "' allows in one allocation (" + std::to_string(device.max_allocation) +
                    " bytes); narrow the optimization profiles");
}

// Sets every activation's capacity to its largest size over all profile extremes, then places
// activations in the arena; a view (aliasing.h) lies inside the tensor it belongs to, which stays
// alive while any of its views is used.
void planActivationMemory(EnginePlan& plan, const Views& views) {
  std::vector<std::uint64_t> largest(plan.tensors.size(), 0);
  for (const CornerShapes& corner : profileCorners(plan)) {
    for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
      if (plan.tensors[i].role != TensorRole::kActivation) continue;
      largest[i] = std::max<std::uint64_t>(largest[i], runtime::tensorBytes(corner.shapes[i], plan.tensors[i].type));
    }
  }
  std::vector<Lifetime> lifetimes;
  std::vector<std::size_t> activation_ids;
  std::map<TensorId, std::size_t> slot;
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    if (plan.tensors[i].role != TensorRole::kActivation || views.of.count(static_cast<TensorId>(i))) continue;
    slot[static_cast<TensorId>(i)] = lifetimes.size();
    lifetimes.push_back({largest[i], -1, -1});
    activation_ids.push_back(i);
  }
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const PlanStep& step = plan.steps[s];
    auto touch = [&](TensorId id) {
      auto found = slot.find(resolveView(views, id).base);
      if (found == slot.end()) return;
      Lifetime& lifetime = lifetimes[found->second];
      if (lifetime.first < 0) lifetime.first = static_cast<int>(s);
      lifetime.last = static_cast<int>(s);
    };
    for (TensorId input : step.inputs) touch(input);
    if (step.epilogue.bias >= 0) touch(step.epilogue.bias);
    touch(step.output);
  }
  // Results that depend only on the input shapes stay for the whole run (and so between runs):
  // an execution context computes them once per set of input shapes (runtime/plan_shapes.h).
  std::vector<TensorId> bases(plan.tensors.size());
  for (std::size_t i = 0; i < bases.size(); ++i) bases[i] = resolveView(views, static_cast<TensorId>(i)).base;
  const std::vector<bool> shape_only = runtime::shapeOnlySteps(plan, bases);
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    auto found = shape_only[s] ? slot.find(resolveView(views, plan.steps[s].output).base) : slot.end();
    if (found == slot.end()) continue;
    lifetimes[found->second].first = 0;
    lifetimes[found->second].last = static_cast<int>(plan.steps.size());
  }
  const MemoryPlan memory = planMemory(lifetimes, kTensorAlignment);
  for (std::size_t k = 0; k < activation_ids.size(); ++k) {
    PlanTensor& tensor = plan.tensors[activation_ids[k]];
    tensor.offset = memory.offsets[k];
    tensor.capacity = lifetimes[k].bytes;
  }
  for (const auto& [id, view] : views.of) {
    const TensorView at = resolveView(views, id);
    PlanTensor& tensor = plan.tensors[static_cast<std::size_t>(id)];
    tensor.offset = plan.tensors[static_cast<std::size_t>(at.base)].offset + at.offset;
    tensor.capacity = largest[static_cast<std::size_t>(id)];
  }
  plan.arena_bytes = memory.arena_bytes;
}

// ---- Weights for the wgmma tactics ----
// An FP16 engine keeps each product's constant weights as the network stores them: K x N for
// ONNX MatMul (BERT's), N x K for Gemm with transB (PyTorch's Linear). The wgmma tiles read b N x K
// faster: BERT-base's FFN-in (4096 x 3072 x 768, bias, GELU) took 0.105 ms on N x K weights and
// 0.132 on K x N, the best tactic of each (bench/RESULTS.md, issue 16 run 19). So on devices that
// offer them, products that read a K x N constant and have at least one wgmma block of rows at
// every corner of the profiles (row kernels, which small batches take, read K x N faster) get
// their weights stored N x K (a transposed copy; the original goes when nothing else reads it).
constexpr std::int64_t kWgmmaBlockRows = 128;

std::atomic<bool>& weightsNByKForced() {
  static std::atomic<bool> forced{false};
  return forced;
}

bool wgmmaOffered(const cl::Context& context, const cl::GemmPolicy& policy) {
  const std::vector<cl::GemmTactic> tactics = cl::gemmTactics(context, DataType::kHALF, policy);
  return std::any_of(tactics.begin(), tactics.end(),
                     [](const cl::GemmTactic& tactic) { return tactic.name.rfind("wgmma_", 0) == 0; });
}

// Whether `shape` is one matrix: rank 2, or leading extents of 1 (an ONNX MatMul's 2-D weights
// broadcast against 3-D activations arrive as 1 x K x N).
bool isOneMatrix(const Dims& shape) {
  if (shape.rank() < 2) return false;
  const std::vector<std::int64_t>& extents = shape.extents();
  return std::all_of(extents.begin(), extents.end() - 2, [](std::int64_t extent) { return extent == 1; });
}

// Whether `step` multiplies rows of a (not transposed) by one HALF constant matrix stored K x N, K a
// multiple of 8 (the tiles' 16-byte loads), with at least `min_rows` rows at every corner.
bool readsKByNWeights(const EnginePlan& plan, const PlanStep& step, const std::vector<std::vector<Dims>>& corners,
                      std::int64_t min_rows) {
  const auto* matmul = std::get_if<network::MatrixMultiplyLayer>(&step.parameters);
  if (!matmul || matmul->op0 != MatrixOperation::kNONE || matmul->op1 != MatrixOperation::kNONE) return false;
  const PlanTensor& weights = plan.tensors[static_cast<std::size_t>(step.inputs.at(1))];
  if (weights.role != TensorRole::kConstant || weights.type != DataType::kHALF || !isOneMatrix(weights.shape) ||
      weights.shape[weights.shape.rank() - 2] % 8 != 0) {
    return false;
  }
  return std::all_of(corners.begin(), corners.end(), [&](const std::vector<Dims>& corner) {
    const Dims& a = corner[static_cast<std::size_t>(step.inputs[0])];
    return a.rank() >= 2 && a[a.rank() - 1] > 0 && a.volume() / a[a.rank() - 1] >= min_rows;
  });
}

// Stores the weights of every product that readsKByNWeights N x K (op1 becomes TRANSPOSE), where
// `offered()` says the device offers the wgmma tactics; asked only when some product qualifies,
// since answering it may run the wgmma probe. Returns how many products changed.
int storeWeightsNByKForWgmma(EnginePlan& plan, std::int64_t min_rows, const std::function<bool()>& offered) {
  const std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  std::vector<std::size_t> products;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    if (readsKByNWeights(plan, plan.steps[s], corners, min_rows)) products.push_back(s);
  }
  if (products.empty() || !offered()) return 0;
  for (std::size_t s : products) {
    PlanStep& step = plan.steps[s];
    const PlanTensor weights = plan.tensors[static_cast<std::size_t>(step.inputs[1])];  // a copy: the plan grows
    std::vector<std::int64_t> extents = weights.shape.extents();  // leading 1s kept
    const std::size_t rank = extents.size();
    const std::int64_t k = extents[rank - 2], n = extents[rank - 1];
    std::swap(extents[rank - 2], extents[rank - 1]);
    step.inputs[1] = addConstant(plan, weights.name + "_nxk", weights.type, Dims(std::move(extents)),
                                 transposedMatrix(plan.weights.data() + weights.offset, k, n, elementSize(weights.type)));
    std::get<network::MatrixMultiplyLayer>(step.parameters).op1 = MatrixOperation::kTRANSPOSE;
  }
  removeUnusedTensors(plan);
  return static_cast<int>(products.size());
}

// ---- Layouts ----------------------------------------------------------------------------------

// Milliseconds of `step` (with its tactic) at `shapes`.
double stepMilliseconds(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                        BuildDevice& device) {
  return ScratchRun(plan, {&step}, shapes, device).time();
}

// Milliseconds of one LINEAR -> HWC reformat of a tensor of `shape` and `type` (the way back costs
// the same transpose), from the timing cache where it holds one.
double reformatMilliseconds(const Dims& shape, DataType type, BuildDevice& device, TimingCache* cache) {
  const std::string key = device.context->device().fingerprint() + "|reformat " + shape.toString() + " " +
                          dataTypeName(type);
  TimingEntry entry;
  if (cache && cache->lookup(key, entry)) return entry.milliseconds;
  EnginePlan trial;  // two tensors and the reformat between them
  trial.tensors = {PlanTensor{"linear", type, shape}, PlanTensor{"hwc", type, shape}};
  PlanStep step;
  step.name = "reformat";
  step.parameters = network::IdentityLayer{type};
  step.inputs = {0};
  step.output = 1;
  step.tactic = runtime::kReformatToHwc;
  entry = {step.tactic, stepMilliseconds(trial, step, {shape, shape}, device)};
  if (cache) cache->store(key, entry);
  return entry.milliseconds;
}

// The layout pass (layout.h) with costs timed on the build's device at the first profile's opt
// shapes; the channels-last convolutions of a dynamic engine then get tactic ranges among the
// channels-last tactics.
LayoutChoice chooseConvolutionLayouts(EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device,
                                      TimingCache* cache) {
  // Nothing to infer or time where the pass cannot change anything (CPU devices, networks without
  // convolutions).
  const LayoutPreference preference = layoutPreference(*device.context);
  const bool convolutions = std::any_of(plan.steps.begin(), plan.steps.end(), [](const PlanStep& step) {
    return std::holds_alternative<network::ConvolutionLayer>(step.parameters);
  });
  if (preference == LayoutPreference::kNever || !convolutions) return {};
  std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  LayoutCosts costs;
  // The opt shapes' tactic as chosen: its time from the timing cache (chooseTactic finds it there).
  costs.linear = [&](const PlanStep& step) {
    PlanStep linear = step;
    linear.tactic_ranges.clear();
    const TimingEntry as_chosen = chooseTactic(plan, linear, shapes, corners, policy, device, cache);
    linear.tactic = step.tactic;
    return as_chosen.milliseconds >= 0.0 && as_chosen.tactic == step.tactic ? as_chosen.milliseconds
                                                                              : stepMilliseconds(plan, linear, shapes, device);
  };
  costs.channels_last = [&](const PlanStep& step) {
    ChannelsLastCost cost;
    const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
    const std::vector<std::string> hwc_tactics = cl::channelsLastConvolutionTactics(type);
    if (hwc_tactics.empty()) return cost;
    PlanStep hwc = step;
    hwc.tactic_ranges.clear();
    hwc.tactic = hwc_tactics.front();  // a channels-last step: chooseTactic offers those
    try {
      const TimingEntry best = chooseTactic(plan, hwc, shapes, corners, policy, device, cache);
      cost.milliseconds = best.milliseconds >= 0.0 ? best.milliseconds : stepMilliseconds(plan, hwc, shapes, device);
    } catch (const Error& e) {
      log(Severity::kVERBOSE, "step '" + step.name + "': no channels-last tactic runs it: " + e.what());
      return cost;
    }
    cost.tactic = hwc.tactic;
    return cost;
  };
  costs.reformat = [&](engine::TensorId id) {
    const auto index = static_cast<std::size_t>(id);
    return reformatMilliseconds(shapes[index], plan.tensors[index].type, device, cache);
  };
  const LayoutChoice choice = chooseLayouts(plan, costs, preference);
  if (choice.hwc_convolutions == 0) return choice;
  shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  corners = cornerShapes(plan);
  const std::vector<TimingPoint> points = timingPoints(plan, device);
  for (PlanStep& step : plan.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters) && cl::convolutionTacticChannelsLast(step.tactic)) {
      chooseTacticRanges(plan, step, shapes, points, corners, policy, device, cache);
    }
  }
  return choice;
}

// ---- Network extents ----

// The network's shared input extents, by input index (the plan keeps the network's input order).
std::vector<engine::SharedExtent> sharedExtents(const network::Network& network) {
  const auto indexOf = [&network](network::TensorId tensor) {
    const auto& inputs = network.inputs();
    return static_cast<int>(std::find(inputs.begin(), inputs.end(), tensor) - inputs.begin());
  };
  std::vector<engine::SharedExtent> shared;
  for (const network::SharedAxes& axes : network.sharedExtents()) {
    shared.push_back({indexOf(axes.first), axes.first_axis, indexOf(axes.second), axes.second_axis, axes.label});
  }
  return shared;
}

// ---- Verification run and program binaries -------------------------------------------------

// Runs the engine at `inputs` of profile `profile` (scratch inputs and outputs) and waits.
void runAt(runtime::ExecutionContext& execution, const EnginePlan& plan, const BuildDevice& device, std::size_t profile,
           const std::vector<Dims>& inputs, const std::string& where) {
  const std::shared_ptr<cl::Context>& context = device.context;
  const std::shared_ptr<cl::Stream>& stream = device.stream;
  execution.setOptimizationProfile(static_cast<int>(profile));
  std::vector<ScratchTensor> io;
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    const PlanTensor& input = plan.tensors[static_cast<std::size_t>(plan.inputs[i])];
    if (!execution.setInputShape(input.name, inputs[i])) {
      throw InvalidArgument(where + ": cannot set input '" + input.name + "' to " + inputs[i].toString());
    }
    io.push_back(scratch(context, *stream, inputs[i], input.type));
    execution.setTensorAddress(input.name, io.back().buffer->address());
  }
  for (TensorId output : plan.outputs) {
    const PlanTensor& tensor = plan.tensors[static_cast<std::size_t>(output)];
    io.push_back(scratch(context, *stream, execution.tensorShape(tensor.name), tensor.type));
    execution.setTensorAddress(tensor.name, io.back().buffer->address());
  }
  try {
    execution.enqueue(*stream);
    stream->synchronize();
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(where + ": " + e.what());
  }
}

// Runs the engine once at every profile's opt shapes, and at the timing shapes where steps with
// tactic ranges run tactics not run yet: every kernel compiles (errors surface here, at build
// time) and the programs used are stored in the plan.
void compileAndVerify(EnginePlan& plan, const BuildDevice& device) {
  const std::shared_ptr<cl::Context>& context = device.context;
  auto built = std::make_shared<const runtime::Engine>(context, plan, std::vector<std::uint8_t>());
  runtime::ExecutionContext execution(built);
  std::set<std::pair<std::size_t, std::string>> ran;  // (step, tactic) of the steps with ranges
  const auto tacticsAt = [&plan](const std::vector<Dims>& shapes) {
    std::set<std::pair<std::size_t, std::string>> tactics;
    for (std::size_t s = 0; s < plan.steps.size(); ++s) {
      const PlanStep& step = plan.steps[s];
      if (step.tactic_ranges.empty()) continue;
      tactics.insert({s, engine::tacticAt(step, shapes[static_cast<std::size_t>(step.output)].volume())});
    }
    return tactics;
  };
  for (std::size_t p = 0; p < plan.profiles.size(); ++p) {
    runAt(execution, plan, device, p, plan.profiles[p].opt, cornerName(p, "opt"));
    const std::set<std::pair<std::size_t, std::string>> tactics = tacticsAt(runtime::inferPlanShapes(plan, plan.profiles[p].opt));
    ran.insert(tactics.begin(), tactics.end());
  }
  const bool ranged = std::any_of(plan.steps.begin(), plan.steps.end(),
                                  [](const PlanStep& step) { return !step.tactic_ranges.empty(); });
  if (ranged) {
    for (const TimingPoint& point : timingPoints(plan, device)) {
      const std::set<std::pair<std::size_t, std::string>> tactics = tacticsAt(point.shapes);
      if (std::includes(ran.begin(), ran.end(), tactics.begin(), tactics.end())) continue;
      runAt(execution, plan, device, static_cast<std::size_t>(point.profile), point.inputs,
            "profile " + std::to_string(point.profile) + " at " + point.inputs.front().toString());
      ran.insert(tactics.begin(), tactics.end());
    }
  }
  // Where binaries are not kept (PoCL: Program::keepsBinaries), the engine names its programs
  // with empty binaries, and loading it builds them from source (from the driver's own cache).
  const bool keep = cl::Program::keepsBinaries(context->device());
  for (const cl::ProgramKey& key : execution.kernels().programs()) {
    const std::string& source = cl::kernelSource(key.family);
    const auto program = cl::Program::build(context, source, key.options);
    const std::vector<unsigned char> binary = keep ? program->binary() : std::vector<unsigned char>();
    plan.programs.push_back({key.family, key.options, hexHash(source), {binary.begin(), binary.end()}});
  }
}

std::size_t countLayers(const network::Network& network) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < network.layerCount(); ++i) {
    if (!std::holds_alternative<network::ConstantLayer>(network.layer(static_cast<int>(i)).parameters)) ++count;
  }
  return count;
}

// The layout pass's part of the build summary: nothing where it had no group to weigh (no
// convolutions, or a CPU device, which keeps LINEAR untimed).
std::string layoutSummary(const LayoutChoice& layouts) {
  if (layouts.groups == 0) return "";
  return std::to_string(layouts.hwc_convolutions) + " convolutions channels-last in " +
         std::to_string(layouts.hwc_groups) + " of " + std::to_string(layouts.groups) + " groups with " +
         std::to_string(layouts.reformats) + " reformats, ";
}

}  // namespace

std::vector<std::uint8_t> buildSerializedNetwork(const network::Network& network, const BuilderConfig& config) {
  const std::shared_ptr<cl::Context> context = cl::Context::current();
  // Without a cache from the caller the build keeps its own, as TensorRT's does: layers of equal
  // shapes (VGG's repeated 3x3 blocks) are timed once. BuilderFlag.DISABLE_TIMING_CACHE: none at
  // all, the caller's neither read nor extended; every layer is timed.
  const bool no_cache = config.flag(BuilderFlag::kDISABLE_TIMING_CACHE);
  const std::shared_ptr<TimingCache> cache =
      no_cache ? nullptr : config.timingCache() ? config.timingCache() : std::make_shared<TimingCache>();
  if (cache && !cache->matchesOrAdopt(context->device().fingerprint())) {
    log(Severity::kWARNING, "the timing cache was made on another device; its entries are not used for '" +
                                context->device().name + "'");
  }

  Graph graph = graphFromNetwork(network);
  std::vector<engine::ProfileShapes> profiles = resolveProfiles(graph, config);
  BuildDevice device(context);
  device.timing_iterations = config.timingIterations();
  device.time_across_profiles = config.timesAcrossProfiles();
  const int folded = foldConstants(graph, device);
  removeDeadNodes(graph);
  const int identities = removeIdentityShuffles(graph);
  // Before the epilogues, which would take the scores' scale into their product.
  const int attentions = fuseAttention(graph);
  removeDeadNodes(graph);
  const int silus = fuseSigmoidProducts(graph) + fuseGelu(graph);
  const int fused = fuseEpilogues(graph);
  const int merged_projections = mergeQkvProjections(graph);
  const int residuals = fuseResidualNormalization(graph);
  removeDeadNodes(graph);
  // After the fusions, which need their intermediates private to one reader.
  const int repeats = mergeCommonSubexpressions(graph);
  removeDeadNodes(graph);
  splitShuffles(graph);
  const bool fp16 = config.flag(BuilderFlag::kFP16);
  // FP16 keeps N x K weights: the tensor-core kernels read b^T ("col" operands) directly.
  if (fp16) {
    convertToHalf(graph);
  } else {
    storeWeightsKByN(graph);
  }

  EnginePlan plan = planFromGraph(graph);
  device.compile_helpers = startCompileHelpers(plan, context);
  plan.mlprt_version = MLPRT_VERSION;
  plan.device = runtime::fingerprintOf(context->device());
  plan.fp16 = fp16;
  plan.profiles = std::move(profiles);
  plan.shared_extents = sharedExtents(network);
  requireTensorsFit(plan, context->device());
  cl::GemmPolicy policy;
  policy.allow_tf32 = config.flag(BuilderFlag::kTF32);
  policy.allow_clblast = config.libraryTacticsAllowed();
  if (fp16) {
    const int stored = storeWeightsNByKForWgmma(
        plan, kWgmmaBlockRows, [&] { return weightsNByKForced().load() || wgmmaOffered(*context, policy); });
    if (stored > 0) {
      log(Severity::kVERBOSE, "the weights of " + std::to_string(stored) +
                                  (stored == 1 ? " product" : " products") + " stored N x K for the wgmma tactics");
    }
  }
  const EarlyMlpChoice early_mlps = fuseMlpChainsBeforeTactics(plan, device, cache.get());
  compileBuildAhead(plan, policy, device, cache.get());
  chooseTactics(plan, policy, device, cache.get());
  const int mlps = early_mlps.fused + fuseMlpChains(plan, device, cache.get(), early_mlps);
  // After the MLP chains, which would take a reformat for a cast of their input.
  const LayoutChoice layouts = chooseConvolutionLayouts(plan, policy, device, cache.get());
  const Views views = viewDataMovement(plan);
  planActivationMemory(plan, views);
  requireArenaFits(plan, context->device());
  compileAndVerify(plan, device);

  log(Severity::kINFO, "built an engine for '" + context->device().name + "': " + std::to_string(countLayers(network)) +
                           " layers -> " + std::to_string(plan.steps.size()) + " steps (" + std::to_string(folded) +
                           " folded into constants, " + std::to_string(fused) + " fused into GEMMs, " + std::to_string(identities) +
                           " shuffles that changed nothing dropped, " + std::to_string(residuals) +
                           " residual adds into normalizations, " + std::to_string(repeats) +
                           " repeated computations merged, " + std::to_string(silus) +
                           " activations written as arithmetic (SiLU, GELU), " + std::to_string(attentions) + " attention chains (" +
                           std::to_string(merged_projections) + " with their q, k and v projections merged) and " +
                           std::to_string(mlps) + " MLP chains in one kernel, " + layoutSummary(layouts) +
                           std::to_string(views.concatenations) +
                           " concatenations, " + std::to_string(views.slices) + " slices and " + std::to_string(views.reshapes) +
                           " reshapes as views), " +
                           std::to_string(plan.weights.size()) + " bytes of weights, " +
                           std::to_string(plan.arena_bytes) + " bytes of activations, " +
                           std::to_string(plan.programs.size()) + " programs" + (fp16 ? ", FP16" : ""));
  return engine::serializePlan(plan);
}

void setWeightsNByKForced(bool on) { weightsNByKForced().store(on); }

}  // namespace mlprt::builder
