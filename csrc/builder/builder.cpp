#include "builder/builder.h"
#include "builder/activation_fusion.h"
#include "builder/aliasing.h"
#include "builder/attention_fusion.h"
#include "builder/common_subexpressions.h"
#include "builder/normalization_fusion.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/mlp_mma.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/convolution/winograd.h"
#include "builder/graph.h"
#include "builder/layout.h"
#include "builder/memory_plan.h"
#include "builder/mlp_fusion.h"
#include "builder/tactic_timing.h"
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

// The device a build runs work on (constant folding, tactic timing, the verification run): one
// queue and one set of kernel objects for the whole build.
struct BuildDevice {
  explicit BuildDevice(std::shared_ptr<cl::Context> device_context)
      : context(std::move(device_context)), kernels(context), stream(cl::Stream::create(context, /*timed=*/true)) {}
  std::shared_ptr<cl::Context> context;
  cl::KernelCache kernels;
  std::shared_ptr<cl::Stream> stream;
  // "signature|tactic" of the candidates the whole build ran ahead (compileBuildAhead): a step's
  // own pass (compileCandidatesInParallel) skips them.
  std::set<std::string> ran_ahead;
};



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

std::string cornerName(std::size_t profile, const char* corner) {
  return "optimization profile " + std::to_string(profile) + " at its " + corner + " shapes";
}

// The shape of every plan tensor at one profile extreme.
struct CornerShapes {
  std::string name;  // cornerName(...)
  std::vector<Dims> shapes;
};

// Every profile's min, opt and max, each with the shapes of all plan tensors there.
std::vector<CornerShapes> profileCorners(const EnginePlan& plan) {
  std::vector<CornerShapes> result;
  for (std::size_t p = 0; p < plan.profiles.size(); ++p) {
    const engine::ProfileShapes& profile = plan.profiles[p];
    const std::pair<const char*, const std::vector<Dims>*> corners[] = {
        {"min", &profile.min}, {"opt", &profile.opt}, {"max", &profile.max}};
    for (const auto& [corner, inputs] : corners) {
      const std::string name = cornerName(p, corner);
      try {
        result.push_back({name, runtime::inferPlanShapes(plan, *inputs)});
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(name + ": " + e.what());
      }
    }
  }
  return result;
}

// The shapes of all plan tensors at every profile's min, opt and max, in profileCorners' order.
std::vector<std::vector<Dims>> cornerShapes(const EnginePlan& plan) {
  std::vector<std::vector<Dims>> shapes;
  for (CornerShapes& corner : profileCorners(plan)) shapes.push_back(std::move(corner.shapes));
  return shapes;
}

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

// ---- Tactics -------------------------------------------------------------------------------

struct ScratchTensor {
  std::shared_ptr<cl::DeviceBuffer> buffer;
  cl::DeviceTensor view;
};

ScratchTensor scratch(const std::shared_ptr<cl::Context>& context, cl::Stream& stream, const Dims& shape, DataType type) {
  const std::size_t bytes = runtime::tensorBytes(shape, type);
  auto buffer = cl::DeviceBuffer::allocate(context, bytes);
  const std::uint32_t zero = 0;
  if (bytes > 0) cl::fillDevice(stream, {buffer, 0}, &zero, 1, bytes, cl::CopyMode::kBlocking);
  return {buffer, {{buffer, 0}, shape, type}};
}

// Scratch operands for a run of `steps` at `shapes`: one buffer per tensor, except constants,
// which share one buffer (the fused kernel reads all weights from one buffer, as in an engine).
class ScratchRun {
 public:
  ScratchRun(const EnginePlan& plan, const std::vector<const PlanStep*>& steps, const std::vector<Dims>& shapes,
             BuildDevice& device)
      : device_(device), shapes_(shapes) {
    std::map<TensorId, std::size_t> constant_offsets;
    std::size_t constant_bytes = 0;
    for (const PlanStep* step : steps) {
      for (TensorId id : idsOf(*step)) {
        const PlanTensor& tensor = plan.tensors[static_cast<std::size_t>(id)];
        if (tensor.role != TensorRole::kConstant || constant_offsets.count(id)) continue;
        constant_offsets[id] = constant_bytes;
        constant_bytes = alignUp(constant_bytes + runtime::tensorBytes(shapes[static_cast<std::size_t>(id)], tensor.type));
      }
    }
    auto constants = scratch(device.context, *device.stream, Dims({static_cast<std::int64_t>(constant_bytes) + 1}),
                             DataType::kUINT8).buffer;
    for (const PlanStep* step : steps) {
      runtime::StepOperands operands;
      const auto view = [&](TensorId id) {
        const auto index = static_cast<std::size_t>(id);
        const auto found = constant_offsets.find(id);
        if (found != constant_offsets.end()) return cl::DeviceTensor{{constants, found->second}, shapes[index], plan.tensors[index].type};
        auto existing = views_.find(id);
        if (existing == views_.end()) {
          buffers_.push_back(scratch(device.context, *device.stream, shapes[index], plan.tensors[index].type));
          existing = views_.emplace(id, buffers_.back().view).first;
        }
        return existing->second;
      };
      for (TensorId input : step->inputs) operands.inputs.push_back(view(input));
      operands.has_bias = step->epilogue.bias >= 0;
      if (operands.has_bias) operands.bias = view(step->epilogue.bias);
      operands.output = view(step->output);
      runs_.emplace_back(step, std::move(operands));
    }
  }

  // Runs the steps once and waits (their kernels compile on the way).
  void runOnce() {
    provideWorkspaces();
    for (const auto& [step, operands] : runs_) runtime::runStep(device_.kernels, *device_.stream, *step, operands);
    device_.stream->synchronize();
  }

  // Milliseconds per run of the steps (tactic_timing.h says how runs are spent).
  double time(double best_so_far = -1.0) {
    cl::Stream& stream = *device_.stream;
    provideWorkspaces();
    const auto run_all = [&] {
      for (const auto& [step, operands] : runs_) runtime::runStep(device_.kernels, stream, *step, operands);
    };
    const auto timed = [&](int runs) {
      const cl::Event start = stream.record();
      for (int run = 0; run < runs; ++run) run_all();
      const cl::Event end = stream.record();
      end.wait();
      return cl::Event::elapsedMilliseconds(start, end) / runs;
    };
    const double warm_up = warmUpKernelMilliseconds(run_all);
    switch (judgeWarmUp(warm_up, best_so_far)) {
      case WarmUpVerdict::kCannotWin:
      case WarmUpVerdict::kLongEnough:
        return warm_up;
      case WarmUpVerdict::kMeasure:
        break;
    }
    const double first = timed(1);
    if (best_so_far >= 0.0 && first > 2.0 * best_so_far) return first;
    const int runs = furtherRuns(first);
    if (runs < 1) return first;
    return (first + timed(runs) * runs) / (runs + 1);
  }

 private:
  // Gives each step the workspace its current tactic needs (tactics change between calls).
  void provideWorkspaces() {
    for (auto& [step, operands] : runs_) {
      const std::size_t bytes = runtime::stepWorkspaceBytes(*step, *device_.context, shapes_);
      operands.has_workspace = bytes > 0;
      if (bytes == 0 || (workspace_.buffer && workspace_.buffer->size() >= bytes)) continue;
      workspace_ = scratch(device_.context, *device_.stream, Dims{static_cast<std::int64_t>(bytes / sizeof(float))},
                           DataType::kFLOAT);
    }
    for (auto& [step, operands] : runs_) {
      if (operands.has_workspace) operands.workspace = workspace_.view;
    }
  }

  // Runs `run_all` once with its kernels' events logged: their device time, or -1 when the steps
  // queue commands that are not kernels (library calls), which only markers can time.
  template <typename RunAll>
  static double warmUpKernelMilliseconds(const RunAll& run_all) {
    cl::KernelTimingLog log;
    {
      cl::KernelTimingScope scope(log);
      run_all();
    }
    if (!log.complete() || log.kernelCount() == 0) return -1.0;
    return log.kernelMilliseconds();
  }

  static std::vector<TensorId> idsOf(const PlanStep& step) {
    std::vector<TensorId> ids = step.inputs;
    if (step.epilogue.bias >= 0) ids.push_back(step.epilogue.bias);
    return ids;
  }

  BuildDevice& device_;
  std::vector<Dims> shapes_;  // every tensor's, at this run
  std::vector<ScratchTensor> buffers_;
  ScratchTensor workspace_;  // shared by the steps, which run one after another
  std::map<TensorId, cl::DeviceTensor> views_;
  std::vector<std::pair<const PlanStep*, runtime::StepOperands>> runs_;
};

std::string gemmSignature(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes) {
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
  std::ostringstream key;
  key << "matmul type=" << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type)
      << " a=" << shapes[static_cast<std::size_t>(step.inputs[0])].toString()
      << " op0=" << static_cast<int>(matmul.op0) << " b=" << shapes[static_cast<std::size_t>(step.inputs[1])].toString()
      << " op1=" << static_cast<int>(matmul.op1) << " bias=" << (step.epilogue.bias >= 0)
      << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1);
  return key.str();
}

// The kernels that stage tiles in local memory (`tiled_*`) on a CPU device: PoCL's local memory is
// ordinary memory, so they add barriers where the register tiles (`large_*`) and row kernels
// (`small_*`) do without; they won 2 of 72 timed choices there, each within 10% of the next, and
// cost a cold build about 2 s of compiling (bench/RESULTS.md, PoCL cold build 3). Not timed there.
bool localTilesOnCpu(const cl::GemmTactic& tactic, const cl::Context& context) {
  return context.device().type == cl::DeviceType::kCPU && tactic.name.rfind("tiled_", 0) == 0;
}

// The tactics that can run `step` at every shape its profiles allow: a tactic with alignment
// rules qualifies only when N and K are fixed across the profiles' corners and fit at each.
// Tactics whose output block is far larger than the product at the timed `shapes` are left out
// (gemmTacticWorthTiming), the local-memory tiles on CPUs, and fixed blocks too few to fill a GPU
// where a kernel made for small products remains (gemmTacticLeavesDeviceIdle), so their kernels
// are never compiled, unless nothing else remains.
std::vector<cl::GemmTactic> candidateTactics(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                                             const std::vector<std::vector<Dims>>& corners, const cl::Context& context,
                                             const cl::GemmPolicy& policy) {
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  const auto a = static_cast<std::size_t>(step.inputs.at(0));
  const auto b = static_cast<std::size_t>(step.inputs.at(1));
  const auto out = static_cast<std::size_t>(step.output);
  const auto inner = [&](const std::vector<Dims>& corner) {
    const Dims& a_shape = corner[a];
    const std::size_t k_axis = a_shape.rank() - (matmul.op0 == MatrixOperation::kTRANSPOSE ? 2 : 1);
    return std::make_pair(a_shape[k_axis], corner[b]);
  };
  const bool fixed_inner = std::all_of(corners.begin(), corners.end(),
                                       [&](const std::vector<Dims>& corner) { return inner(corner) == inner(corners.front()); });
  std::vector<cl::GemmTactic> candidates;
  for (const cl::GemmTactic& tactic : cl::gemmTactics(context, type, policy)) {
    const bool fits = cl::gemmTacticIsGeneral(tactic) ||
                      (fixed_inner && std::all_of(corners.begin(), corners.end(), [&](const std::vector<Dims>& corner) {
                         return cl::gemmTacticFits(tactic, corner[a], matmul.op0, corner[b], matmul.op1, corner[out]);
                       }));
    if (fits) candidates.push_back(tactic);
  }
  std::vector<cl::GemmTactic> worth;
  for (const cl::GemmTactic& tactic : candidates) {
    if (cl::gemmTacticWorthTiming(tactic, shapes[a], matmul.op0, shapes[b], matmul.op1, shapes[out]) &&
        !localTilesOnCpu(tactic, context)) {
      worth.push_back(tactic);
    }
  }
  // Where a kernel made for small products can take the product, fixed blocks too few to fill
  // the device are not worth their compile (gemmTacticLeavesDeviceIdle).
  cl::dropTacticsLeavingDeviceIdle(worth, shapes[a], matmul.op0, shapes[b], matmul.op1, shapes[out],
                                   context.device().compute_units);
  return worth.empty() ? candidates : worth;
}

// A (de)convolution's or attention's timing-cache key: its kind and parameters, operand shapes and
// types, and epilogue.
std::string layerSignature(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes) {
  std::ostringstream key;
  key << network::layerKindName(step.parameters) << " type=" << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type) << " "
      << network::parametersText(step.parameters);
  for (TensorId input : step.inputs) {
    key << " " << shapes[static_cast<std::size_t>(input)].toString()
        << dataTypeName(plan.tensors[static_cast<std::size_t>(input)].type);
  }
  key << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1);
  return key.str();
}

// An attention step's head sizes (D of q, Dv of v) at `shapes`.
std::pair<std::int64_t, std::int64_t> attentionHeadSizes(const network::AttentionLayer& layer, const PlanStep& step,
                                                         const std::vector<Dims>& shapes) {
  return network::attentionHeadSizes(layer, shapes[static_cast<std::size_t>(step.inputs.at(0))],
                                     shapes[static_cast<std::size_t>(step.inputs.at(2))]);
}

// The attention tactics that can run `step` at every corner of the profiles.
std::vector<std::string> attentionCandidates(const EnginePlan& plan, const PlanStep& step,
                                             const std::vector<std::vector<Dims>>& corners,
                                             const std::shared_ptr<cl::Context>& context) {
  const auto& layer = std::get<network::AttentionLayer>(step.parameters);
  bool half = true;
  for (std::size_t operand = 0; operand < 3; ++operand) {
    half = half && plan.tensors[static_cast<std::size_t>(step.inputs.at(operand))].type == DataType::kHALF;
  }
  std::int64_t d = 0, dv = 0;
  for (const std::vector<Dims>& corner : corners) {
    const auto [corner_d, corner_dv] = attentionHeadSizes(layer, step, corner);
    d = std::max(d, corner_d);
    dv = std::max(dv, corner_dv);
  }
  return cl::attentionTactics(context, half, d, dv);
}

// The normalization tactics that can run `step` at every corner of the profiles (none where the
// rows kernels do not apply: the general kernel runs, untimed).
std::vector<std::string> normalizationCandidates(const PlanStep& step, const std::vector<std::vector<Dims>>& corners) {
  const auto& layer = std::get<network::NormalizationLayer>(step.parameters);
  std::vector<std::string> common;
  for (std::size_t c = 0; c < corners.size(); ++c) {
    const std::vector<Dims>& at = corners[c];
    std::vector<Dims> summed = {at[static_cast<std::size_t>(step.inputs.at(0))]};
    for (std::size_t i = 3; i < step.inputs.size(); ++i) summed.push_back(at[static_cast<std::size_t>(step.inputs[i])]);
    const std::vector<std::string> here =
        cl::normalizationTactics(layer.axes, at[static_cast<std::size_t>(step.output)],
                                 at[static_cast<std::size_t>(step.inputs.at(1))],
                                 at[static_cast<std::size_t>(step.inputs.at(2))], summed);
    if (c == 0) {
      common = here;
    } else {
      common.erase(std::remove_if(common.begin(), common.end(),
                                  [&here](const std::string& t) { return std::find(here.begin(), here.end(), t) == here.end(); }),
                   common.end());
    }
  }
  return common;
}

// Whether GEMM tactic `gemm` fits a pointwise convolution's product on HWC tensors, (N x pixels, C)
// by (M, C) transposed, at every corner of the profiles and is worth timing at `shapes`.
bool pointwiseGemmWorthTiming(const cl::GemmTactic& gemm, const PlanStep& step, const std::vector<Dims>& shapes,
                              const std::vector<std::vector<Dims>>& corners) {
  const auto product = [&step](const std::vector<Dims>& at) {
    const Dims& in = at[static_cast<std::size_t>(step.inputs.at(0))];
    const Dims& out = at[static_cast<std::size_t>(step.output)];
    const std::int64_t rows = in.volume() / std::max<std::int64_t>(in[1], 1);
    return std::array<Dims, 3>{Dims{rows, in[1]}, Dims{out[1], in[1]}, Dims{rows, out[1]}};
  };
  const auto fits = [&](const std::vector<Dims>& at) {
    const auto [a, b, c] = product(at);
    return cl::gemmTacticFits(gemm, a, MatrixOperation::kNONE, b, MatrixOperation::kTRANSPOSE, c);
  };
  if (!std::all_of(corners.begin(), corners.end(), fits)) return false;
  const auto [a, b, c] = product(shapes);
  return cl::gemmTacticWorthTiming(gemm, a, MatrixOperation::kNONE, b, MatrixOperation::kTRANSPOSE, c);
}

// The tactic names a timed step may run with and its timing-cache key (without the device).
struct TimedChoice {
  std::vector<std::string> tactics;
  std::string signature;
  const char* what;  // for errors: "matrix multiplication"
};

// What of the policy changes a FLOAT product's or convolution's candidates, for the timing cache's
// key: TF32 widens them, leaving CLBlast out narrows them.
std::string policyKey(const cl::GemmPolicy& policy, DataType type) {
  if (type != DataType::kFLOAT) return "";
  return std::string(policy.allow_tf32 ? " tf32" : "") + (policy.allow_clblast ? "" : " no-clblast");
}

TimedChoice timedChoice(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                        const std::vector<std::vector<Dims>>& corners, const std::shared_ptr<cl::Context>& shared_context,
                        const cl::GemmPolicy& policy) {
  const cl::Context& context = *shared_context;
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  if (const auto* conv = std::get_if<network::ConvolutionLayer>(&step.parameters)) {
    // Tactics whose blocks dwarf the layer (at the timed shapes) are neither compiled nor timed.
    const Dims& out = shapes[static_cast<std::size_t>(step.output)];
    const std::int64_t group_maps = out[1] / std::max<std::int64_t>(conv->num_groups, 1);
    const std::int64_t pixels = out.volume() / std::max<std::int64_t>(out[1], 1);
    TimedChoice choice{{}, layerSignature(plan, step, shapes) + policyKey(policy, type), "convolution"};
    const Dims& in = shapes[static_cast<std::size_t>(step.inputs.at(0))];
    const std::int64_t group_channels = in[1] / std::max<std::int64_t>(conv->num_groups, 1);
    // A step the layout pass made channels-last chooses among the channels-last tactics only.
    if (!step.tactic.empty() && cl::convolutionTacticChannelsLast(step.tactic)) {
      choice.signature += " hwc";
      const bool pointwise =
          cl::pointwiseConvolution(conv->kernel_size, conv->stride, conv->pre_padding, conv->post_padding, conv->num_groups);
      const std::vector<std::string> tactics = cl::channelsLastConvolutionTactics(context, type, policy, pointwise);
      for (const std::string& tactic : tactics) {
        const std::string gemm = cl::channelsLastGemmTactic(tactic);
        const bool worth =
            gemm.empty() ? cl::convolutionTacticWorthTiming(tactic, group_maps, pixels, group_channels, conv->num_groups)
                         : pointwiseGemmWorthTiming(cl::GemmTactic{gemm}, step, shapes, corners);
        if (worth) choice.tactics.push_back(tactic);
      }
      // The smallest tile runs any layer, however much of its block is padding.
      if (choice.tactics.empty() && !tactics.empty()) choice.tactics.push_back(tactics.front());
      return choice;
    }
    const bool winograd = cl::winogradRuns(conv->kernel_size, conv->stride, conv->dilation, conv->num_groups);
    for (const std::string& tactic : cl::convolutionTactics(context, type, policy)) {
      if (!winograd && !cl::winogradGemmTactic(tactic).empty()) continue;
      if (cl::convolutionTacticWorthTiming(tactic, group_maps, pixels, group_channels, conv->num_groups)) {
        choice.tactics.push_back(tactic);
      }
    }
    return choice;
  }
  if (std::holds_alternative<network::DeconvolutionLayer>(step.parameters)) {
    return {cl::deconvolutionTactics(type), layerSignature(plan, step, shapes), "deconvolution"};
  }
  if (std::holds_alternative<network::AttentionLayer>(step.parameters)) {
    return {attentionCandidates(plan, step, corners, shared_context), layerSignature(plan, step, shapes), "attention"};
  }
  if (std::holds_alternative<network::NormalizationLayer>(step.parameters)) {
    std::vector<std::string> tactics = normalizationCandidates(step, corners);
    if (tactics.empty()) tactics.push_back("");  // the general kernel, which has no tactics
    return {tactics, layerSignature(plan, step, shapes), "normalization"};
  }
  TimedChoice choice{{}, gemmSignature(plan, step, shapes) + policyKey(policy, type), "matrix multiplication"};
  for (const cl::GemmTactic& tactic : candidateTactics(plan, step, shapes, corners, context, policy)) {
    choice.tactics.push_back(tactic.name);
  }
  return choice;
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

// ---- Candidates compiled in parallel ----
// A cold build's time goes into compiling the candidates' programs (seconds each). Before a step's
// candidates are timed one by one, each runs once in a thread of its own (its own kernel cache,
// stream and scratch operands) so that their programs compile at the same time; the timing runs
// then find them in the process's program cache. CLBlast tactics are left to the timing run (the
// library compiles and caches its own programs). Off on CPU devices, whose compiler (PoCL's) builds
// one program at a time whatever the threads (measured: bench/RESULTS.md, PoCL cold build 1);
// MLPRT_PARALLEL_BUILD=1 turns it on anywhere, =0 off.
bool parallelCompileOn(const cl::Context& context) {
  if (const char* setting = std::getenv("MLPRT_PARALLEL_BUILD"); setting && *setting) return std::string(setting) != "0";
  return context.device().type != cl::DeviceType::kCPU;
}

// One candidate to run once ahead of its timing: a copy of its step holding the tactic, and the
// shapes to run it at.
struct AheadRun {
  PlanStep step;
  const std::vector<Dims>* shapes;
};

// Runs each of `runs` once, spread over up to `max_threads` threads (each with its own kernel
// cache, stream and scratch operands), and returns the threads used. Errors are logged: the timing
// run meets the same error and reports it.
std::size_t runAhead(const EnginePlan& plan, const std::vector<AheadRun>& runs, const std::shared_ptr<cl::Context>& context,
                     std::size_t max_threads) {
  const std::size_t workers = std::min<std::size_t>({runs.size(), std::max(1u, std::thread::hardware_concurrency()), max_threads});
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    BuildDevice device(context);
    for (std::size_t i = next++; i < runs.size(); i = next++) {
      try {
        ScratchRun(plan, {&runs[i].step}, *runs[i].shapes, device).runOnce();
      } catch (const std::exception& e) {
        log(Severity::kVERBOSE, "step '" + runs[i].step.name + "': tactic " + runs[i].step.tactic +
                                    " did not compile ahead: " + e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < workers; ++t) threads.emplace_back(work);
  for (std::thread& thread : threads) thread.join();
  return workers;
}

void compileCandidatesInParallel(const EnginePlan& plan, const PlanStep& step, const std::vector<std::string>& tactics,
                                 const std::string& signature, const std::vector<Dims>& shapes, BuildDevice& device) {
  std::vector<AheadRun> runs;
  for (const std::string& tactic : tactics) {
    if (tactic == "clblast" || device.ran_ahead.count(signature + "|" + tactic)) continue;
    runs.push_back({step, &shapes});
    runs.back().step.tactic = tactic;
  }
  if (runs.size() < 2 || !parallelCompileOn(*device.context)) return;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t workers = runAhead(plan, runs, device.context, 8);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  log(Severity::kVERBOSE, "step '" + step.name + "': " + std::to_string(runs.size()) + " candidates run ahead in " +
                              std::to_string(workers) + " threads (" + std::to_string(seconds.count()) + " s)");
}

// Sets step.tactic to the fastest candidate at `shapes` (or the timing cache's choice) and returns
// it with its time (-1 where only one candidate was offered, so nothing was timed).
TimingEntry chooseTactic(EnginePlan& plan, PlanStep& step, const std::vector<Dims>& shapes,
                         const std::vector<std::vector<Dims>>& corners, const cl::GemmPolicy& policy, BuildDevice& device,
                         TimingCache* cache) {
  const std::shared_ptr<cl::Context>& context = device.context;
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  const TimedChoice choice = timedChoice(plan, step, shapes, corners, context, policy);
  const std::vector<std::string>& tactics = choice.tactics;
  if (tactics.empty()) {
    throw InvalidArgument("step '" + step.name + "': no " + choice.what + " kernel supports " + dataTypeName(type));
  }
  if (tactics.size() == 1) {  // nothing to choose: neither timed nor looked up in the cache
    step.tactic = tactics.front();
    return {step.tactic, -1.0};
  }
  const std::string key = context->device().fingerprint() + "|" + choice.signature;
  TimingEntry cached;
  if (cache && cache->lookup(key, cached)) {
    const bool offered = std::find(tactics.begin(), tactics.end(), cached.tactic) != tactics.end();
    if (offered) {
      step.tactic = cached.tactic;
      log(Severity::kVERBOSE, "step '" + step.name + "': tactic " + step.tactic + " from the timing cache");
      return cached;
    }
  }
  log(Severity::kVERBOSE, "step '" + step.name + "': timing " + std::to_string(tactics.size()) + " candidates for " +
                              choice.signature);
  compileCandidatesInParallel(plan, step, tactics, choice.signature, shapes, device);
  ScratchRun run(plan, {&step}, shapes, device);  // runs `step` with whatever tactic it holds
  double best = -1.0;
  std::string timings;
  for (const std::string& tactic : tactics) {
    step.tactic = tactic;
    double milliseconds = 0.0;
    try {
      milliseconds = run.time(best);
    } catch (const Error& e) {
      log(Severity::kVERBOSE, "step '" + step.name + "': tactic " + tactic + " cannot run: " + e.what());
      continue;
    }
    timings += " " + tactic + "=" + std::to_string(milliseconds) + "ms";
    if (best < 0.0 || milliseconds < best) {
      best = milliseconds;
      cached = {tactic, milliseconds};
    }
  }
  if (best < 0.0) throw InvalidArgument("step '" + step.name + "': no " + std::string(choice.what) + " tactic could run it");
  step.tactic = cached.tactic;
  if (cache) cache->store(key, cached);
  log(Severity::kVERBOSE, "step '" + step.name + "': chose " + step.tactic + " (timed" + timings + ")");
  return cached;
}

// The input shapes a dynamic engine's tactics are timed at besides the first profile's opt: every
// profile's min, opt and max and, per axis, the geometric means of min and opt and of opt and max
// (batch 1, 8, 64, 181, 512 for a profile 1 / 64 / 512). Sets the network cannot take (a reshape
// that needs a multiple) are left out.
struct TimingPoint {
  int profile = 0;
  std::vector<Dims> inputs;  // per network input
  std::vector<Dims> shapes;  // per tensor
};

std::vector<TimingPoint> timingPoints(const EnginePlan& plan) {
  const auto between = [](const std::vector<Dims>& low, const std::vector<Dims>& high) {
    std::vector<Dims> middle = low;
    for (std::size_t i = 0; i < low.size(); ++i) {
      std::vector<std::int64_t> extents = low[i].extents();
      for (std::size_t axis = 0; axis < extents.size(); ++axis) {
        const double mean = std::sqrt(static_cast<double>(low[i][axis]) * static_cast<double>(high[i][axis]));
        extents[axis] = std::clamp(static_cast<std::int64_t>(std::llround(mean)), low[i][axis], high[i][axis]);
      }
      middle[i] = Dims(extents);
    }
    return middle;
  };
  std::vector<TimingPoint> points;
  for (std::size_t p = 0; p < plan.profiles.size(); ++p) {
    const engine::ProfileShapes& profile = plan.profiles[p];
    for (const std::vector<Dims>& inputs : {profile.min, between(profile.min, profile.opt), profile.opt,
                                            between(profile.opt, profile.max), profile.max}) {
      const bool seen = std::any_of(points.begin(), points.end(),
                                    [&inputs](const TimingPoint& point) { return point.inputs == inputs; });
      if (seen) continue;
      try {
        points.push_back({static_cast<int>(p), inputs, runtime::inferPlanShapes(plan, inputs)});
      } catch (const Error& e) {
        log(Severity::kVERBOSE, std::string("tactics are not timed at one set of input shapes: ") + e.what());
      }
    }
  }
  return points;
}

// Ranges of output sizes from the best tactic at each size timed (ascending): neighbours with one
// tactic merge, and a boundary lies at the geometric mean of the sizes it separates. Empty when
// one tactic won everywhere.
std::vector<engine::TacticRange> tacticRanges(const std::map<std::int64_t, std::string>& best_at) {
  std::vector<engine::TacticRange> ranges;
  for (auto it = best_at.begin(); it != best_at.end(); ++it) {
    const auto next = std::next(it);
    if (next != best_at.end() && next->second == it->second) continue;
    const std::int64_t bound =
        next == best_at.end()
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(std::sqrt(static_cast<double>(it->first) * static_cast<double>(next->first)));
    ranges.push_back({std::max(bound, it->first), it->second});
  }
  if (ranges.size() == 1) ranges.clear();
  return ranges;
}

// For a step whose output size changes across `points` (a dynamic profile), the best tactic at each
// size, as ranges (engine::TacticRange); step.tactic, chosen at the first profile's `opt` shapes,
// stays the default and stands for opt's size. Sizes of 0 are not timed.
void chooseTacticRanges(EnginePlan& plan, PlanStep& step, const std::vector<Dims>& opt,
                        const std::vector<TimingPoint>& points, const std::vector<std::vector<Dims>>& corners,
                        const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache) {
  if (points.size() < 2) return;  // a static engine: opt is the only shape
  const std::string chosen = step.tactic;
  std::map<std::int64_t, std::string> best_at{{opt[static_cast<std::size_t>(step.output)].volume(), chosen}};
  for (const TimingPoint& point : points) {
    const std::int64_t elements = point.shapes[static_cast<std::size_t>(step.output)].volume();
    if (elements == 0 || best_at.count(elements) != 0) continue;
    try {
      chooseTactic(plan, step, point.shapes, corners, policy, device, cache);
    } catch (const Error& e) {
      // The opt shapes' choice stands there (as it did before tactics were timed per size).
      log(Severity::kVERBOSE, "step '" + step.name + "': no tactic timed at an output of " + std::to_string(elements) +
                                  " elements: " + e.what());
      continue;
    }
    best_at.emplace(elements, step.tactic);
  }
  step.tactic = chosen;
  step.tactic_ranges = tacticRanges(best_at);
  if (step.tactic_ranges.empty()) return;
  log(Severity::kVERBOSE, "step '" + step.name + "': tactics by output elements: " + engine::tacticRangesText(step));
}

// Whether the builder times `step`'s tactics.
bool tacticIsTimed(const PlanStep& step) {
  return std::holds_alternative<network::MatrixMultiplyLayer>(step.parameters) ||
         std::holds_alternative<network::ConvolutionLayer>(step.parameters) ||
         std::holds_alternative<network::DeconvolutionLayer>(step.parameters) ||
         std::holds_alternative<network::AttentionLayer>(step.parameters) ||
         std::holds_alternative<network::NormalizationLayer>(step.parameters);
}

void chooseTactics(EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache) {
  const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  const std::vector<TimingPoint> points = timingPoints(plan);
  const std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  const auto total = std::count_if(plan.steps.begin(), plan.steps.end(), tacticIsTimed);
  long done = 0;
  for (PlanStep& step : plan.steps) {
    if (tacticIsTimed(step)) {
      // Progress for tools (mlprt exec draws a bar from it): "timing tactics: step k of n 'name'".
      log(Severity::kINFO, "timing tactics: step " + std::to_string(++done) + " of " + std::to_string(total) + " '" +
                               step.name + "'");
      chooseTactic(plan, step, shapes, corners, policy, device, cache);
      chooseTacticRanges(plan, step, shapes, points, corners, policy, device, cache);
    }
  }
}

// ---- Layouts ----------------------------------------------------------------------------------

// MLPRT_CHANNELS_LAST=1 makes every convolution group that can run channels-last do so, =0 none,
// =timed lets the timings decide (layout.h) on any device; unset, they decide on GPUs. CPU devices
// keep LINEAR without timing: a layout changes no coalescing there, PoCL's HWC times lost
// throughout (ResNet-18 at 64 x 64: its 19-convolution group 20.3 ms LINEAR, 125 ms HWC), and
// compiling the HWC kernels cost every cold build seconds (bench/RESULTS.md, PoCL layouts 1).
LayoutPreference layoutPreference(const cl::Context& context) {
  const char* setting = std::getenv("MLPRT_CHANNELS_LAST");
  if (!setting || !*setting) {
    return context.device().type == cl::DeviceType::kCPU ? LayoutPreference::kNever : LayoutPreference::kTimed;
  }
  const std::string value = setting;
  if (value == "0") return LayoutPreference::kNever;
  if (value == "1") return LayoutPreference::kAlways;
  if (value == "timed") return LayoutPreference::kTimed;
  throw InvalidArgument("MLPRT_CHANNELS_LAST is '" + value + "'; it takes 0, 1 or timed");
}

// ---- The whole build's candidates compiled ahead ----
// A step's own pass overlaps the compiles of its few candidates only: ResNet-50's FP16 build with
// every cache empty compiled 91 programs, 236 s of compiling in 65.5 s on a 16-core H100 host
// (bench/RESULTS.md, issue 16 run 24). So where parallelCompileOn, before any step is timed, the
// candidates of every timed step, at every timing point, and a convolution's channels-last ones
// (which the layout pass times) run once across one pool of threads, one per signature and tactic
// (layers of equal signature share them); tactics the timing cache already chose stand alone. A
// run asked for a program that another thread is compiling waits for it (Program::build), so the
// first run of each tactic goes first.
// MLPRT_PARALLEL_BUILD=steps keeps the steps' own passes only (to measure what the pool saves).
void compileBuildAhead(const EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device, const TimingCache* cache) {
  const char* setting = std::getenv("MLPRT_PARALLEL_BUILD");
  if (!parallelCompileOn(*device.context) || (setting && std::string(setting) == "steps")) return;
  const std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  std::vector<std::vector<Dims>> point_shapes{runtime::inferPlanShapes(plan, plan.profiles.front().opt)};
  for (const TimingPoint& point : timingPoints(plan)) {
    if (point.shapes != point_shapes.front()) point_shapes.push_back(point.shapes);
  }
  const bool channels_last = layoutPreference(*device.context) != LayoutPreference::kNever;
  const std::string fingerprint = device.context->device().fingerprint() + "|";
  std::vector<AheadRun> runs;
  std::map<std::string, int> runs_of_tactic;  // for the order: the first of each tactic first
  std::vector<int> rank;
  std::set<std::string> steps;
  const auto add = [&](const PlanStep& step, const std::vector<Dims>& shapes) {
    const TimedChoice choice = timedChoice(plan, step, shapes, corners, device.context, policy);
    std::vector<std::string> tactics = choice.tactics;
    TimingEntry cached;
    if (cache && cache->lookup(fingerprint + choice.signature, cached) &&
        std::find(tactics.begin(), tactics.end(), cached.tactic) != tactics.end()) {
      tactics = {cached.tactic};
    }
    for (const std::string& tactic : tactics) {
      if (tactic == "clblast" || !device.ran_ahead.insert(choice.signature + "|" + tactic).second) continue;
      runs.push_back({step, &shapes});
      runs.back().step.tactic = tactic;
      rank.push_back(runs_of_tactic[tactic]++);
      steps.insert(step.name);
    }
  };
  for (const PlanStep& step : plan.steps) {
    if (!tacticIsTimed(step)) continue;
    for (const std::vector<Dims>& shapes : point_shapes) {
      add(step, shapes);
      const auto* conv = std::get_if<network::ConvolutionLayer>(&step.parameters);
      const std::vector<std::string> hwc =
          conv && channels_last ? cl::channelsLastConvolutionTactics(plan.tensors[static_cast<std::size_t>(step.output)].type)
                                : std::vector<std::string>();
      if (hwc.empty()) continue;
      PlanStep hwc_step = step;
      hwc_step.tactic = hwc.front();  // a channels-last step: timedChoice offers those
      add(hwc_step, shapes);
    }
  }
  std::vector<std::size_t> order(runs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&rank](std::size_t x, std::size_t y) { return rank[x] < rank[y]; });
  std::vector<AheadRun> ordered;
  for (std::size_t i : order) ordered.push_back(runs[i]);
  if (ordered.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t workers = runAhead(plan, ordered, device.context, std::numeric_limits<std::size_t>::max());
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  log(Severity::kVERBOSE, "compiled ahead: " + std::to_string(ordered.size()) + " candidates of " +
                              std::to_string(steps.size()) + " steps in " + std::to_string(workers) + " threads (" +
                              std::to_string(seconds.count()) + " s)");
}

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
  const std::vector<TimingPoint> points = timingPoints(plan);
  for (PlanStep& step : plan.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters) && cl::convolutionTacticChannelsLast(step.tactic)) {
      chooseTacticRanges(plan, step, shapes, points, corners, policy, device, cache);
    }
  }
  return choice;
}

// ---- Fused MLPs -------------------------------------------------------------------------------

std::vector<std::int64_t> mlpWidths(const network::FusedMlpLayer& mlp) {
  std::vector<std::int64_t> widths{mlp.stages.front().in_features};
  for (const network::MlpStage& stage : mlp.stages) widths.push_back(stage.out_features);
  return widths;
}

std::string mlpSignature(const EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes) {
  std::ostringstream key;
  key << "mlp";
  for (std::size_t index = chain.first; index <= chain.last; ++index) {
    const PlanStep& step = plan.steps[index];
    key << " [" << network::layerKindName(step.parameters);
    for (TensorId input : step.inputs) {
      key << " " << shapes[static_cast<std::size_t>(input)].toString()
          << dataTypeName(plan.tensors[static_cast<std::size_t>(input)].type);
    }
    if (const auto* matmul = std::get_if<network::MatrixMultiplyLayer>(&step.parameters)) {
      key << " op1=" << static_cast<int>(matmul->op1) << " bias=" << (step.epilogue.bias >= 0)
          << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1) << " tactic=" << step.tactic;
    }
    key << " -> " << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type) << "]";
  }
  return key.str();
}

// `shapes` (of `plan`'s tensors before a fused step was made in `trial`, a copy of it) with the
// shapes of the tensors the step added to `trial` (transposed weights).
std::vector<Dims> withAddedTensors(const EnginePlan& trial, std::vector<Dims> shapes) {
  for (std::size_t i = shapes.size(); i < trial.tensors.size(); ++i) shapes.push_back(trial.tensors[i].shape);
  return shapes;
}

// Times fused MLP step `step` of `plan` with its current tactic at `shapes`: a faster time than
// `best` replaces it, and every time joins `timings`; a tactic that cannot run is logged and skipped.
void timeFusedMlp(const EnginePlan& plan, PlanStep& step, const std::vector<Dims>& shapes, BuildDevice& device,
                  TimingEntry& best, std::string& timings) {
  try {
    const double milliseconds = ScratchRun(plan, {&step}, shapes, device).time();
    timings += " " + step.tactic + "=" + std::to_string(milliseconds) + "ms";
    if (milliseconds < best.milliseconds) best = {step.tactic, milliseconds};
  } catch (const Error& e) {
    log(Severity::kVERBOSE, "fused MLP " + step.tactic + " cannot run '" + step.name + "': " + e.what());
  }
}

// The fastest FusedMLP variant ("fused_mlp_r<R>", or "fused_mlp_mma_r<R>" where the tensor-core
// kernel is offered) when it beats the chain's own steps, else "unfused". All are timed at the
// first profile's opt shapes.
TimingEntry timeMlpChain(EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes, BuildDevice& device) {
  std::vector<const PlanStep*> unfused;
  for (std::size_t index = chain.first; index <= chain.last; ++index) unfused.push_back(&plan.steps[index]);
  TimingEntry best{"unfused", ScratchRun(plan, unfused, shapes, device).time()};
  std::string timings = " unfused=" + std::to_string(best.milliseconds) + "ms";
  EnginePlan trial = plan;  // the fused step may add transposed weights to the plan
  PlanStep fused = makeFusedMlpStep(trial, chain);
  const std::vector<Dims> trial_shapes = withAddedTensors(trial, shapes);
  const std::vector<std::int64_t> widths = mlpWidths(std::get<network::FusedMlpLayer>(fused.parameters));
  // Rows of the chain's input at the timed shapes: a work-group of many more rows than that
  // only computes padding, so its kernel is neither compiled nor timed.
  const std::int64_t input_rows = shapes[static_cast<std::size_t>(plan.steps[chain.first].inputs.front())].volume() / widths.front();
  for (int rows : fusedRowChoicesWorthTiming(cl::fusedMlpRowChoices(), input_rows, device.context->device().compute_units)) {
    if (!cl::fusedMlpFits(*device.context, widths, rows)) continue;
    fused.tactic = runtime::fusedMlpTacticPrefix() + std::to_string(rows);
    timeFusedMlp(trial, fused, trial_shapes, device, best, timings);
  }
  // The tensor-core variants: HALF weights, where the f16 mma probe passes; weights N x K. (The
  // weights' type first: FP32 builds do not run the probe, which compiles two programs.)
  const bool half_weights = trial.tensors[static_cast<std::size_t>(fused.inputs[1])].type == DataType::kHALF;
  if (half_weights && cl::fusedMlpMmaOffered(*device.context)) {
    EnginePlan mma_trial = plan;
    PlanStep mma_fused = makeFusedMlpStep(mma_trial, chain, MlpWeightLayout::kNxK);
    const std::vector<Dims> mma_shapes = withAddedTensors(mma_trial, shapes);
    for (int rows : fusedRowChoicesWorthTiming(cl::fusedMlpMmaRowChoices(), input_rows, device.context->device().compute_units)) {
      if (!cl::fusedMlpMmaFits(*device.context, widths, rows)) continue;
      mma_fused.tactic = cl::fusedMlpMmaTactic(rows);
      timeFusedMlp(mma_trial, mma_fused, mma_shapes, device, best, timings);
    }
  }
  log(Severity::kVERBOSE, "'" + fused.name + "': " + best.tactic + " (timed" + timings + ")");
  return best;
}

// Replaces each chain of dense layers by one FusedMLP step where that is faster. Returns how
// many chains were fused.
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

// ---- Fused MLPs per range of sizes ----
// A dynamic profile's chain may be fastest fused at small batches and as its products at large ones:
// the fused step then keeps ranges (engine::TacticRange) whose tactics are fused kernels or
// "layers_*" tactics that run the chain's own GEMM tactics one product at a time.

// The "layers_*" tactic running the chain's products with the tactics they have at `shapes`.
std::string layersTactic(const EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes,
                         MlpWeightLayout layout) {
  std::vector<std::string> tactics;
  for (std::size_t index : chain.gemms) {
    const PlanStep& step = plan.steps[index];
    tactics.push_back(engine::tacticAt(step, shapes[static_cast<std::size_t>(step.output)].volume()));
  }
  return runtime::fusedMlpLayersTactic(tactics, layout == MlpWeightLayout::kNxK);
}

// The fused kernel's tactics in `layout` worth timing at `rows` rows, with at most `max_rows_per_group`
// rows per work-group (what was timed at opt, so that no other kernel is compiled).
std::vector<std::string> fusedTacticsAt(const BuildDevice& device, const std::vector<std::int64_t>& widths,
                                        MlpWeightLayout layout, bool half_weights, std::int64_t rows,
                                        int max_rows_per_group) {
  std::vector<std::string> tactics;
  if (layout == MlpWeightLayout::kKxN) {
    for (int r : fusedRowChoicesWorthTiming(cl::fusedMlpRowChoices(), rows, device.context->device().compute_units)) {
      if (r <= max_rows_per_group && cl::fusedMlpFits(*device.context, widths, r)) {
        tactics.push_back(runtime::fusedMlpTacticPrefix() + std::to_string(r));
      }
    }
  } else if (half_weights && cl::fusedMlpMmaOffered(*device.context)) {
    for (int r : fusedRowChoicesWorthTiming(cl::fusedMlpMmaRowChoices(), rows, device.context->device().compute_units)) {
      if (r <= max_rows_per_group && cl::fusedMlpMmaFits(*device.context, widths, r)) tactics.push_back(cl::fusedMlpMmaTactic(r));
    }
  }
  return tactics;
}

// For a dynamic profile: the fused step for `chain` with its tactic at each timing point (ranges of
// output sizes), when the winner changes between points; nothing when one tactic wins everywhere or
// the chain's products read their weights in mixed layouts. `opt_choice`: the choice at opt
// ("unfused" or a fused tactic), which stays the step's tactic there.
std::optional<PlanStep> mlpStepWithRanges(EnginePlan& plan, const MlpChain& chain, const std::string& opt_choice,
                                          BuildDevice& device, TimingCache* cache) {
  const std::vector<TimingPoint> points = timingPoints(plan);
  const std::optional<MlpWeightLayout> layout = productWeightLayout(plan, chain);
  if (points.size() < 2 || !layout || (opt_choice != "unfused" && mlpWeightLayout(opt_choice) != *layout)) {
    return std::nullopt;
  }
  // In the products' own layout the fused step reads their weights as they are: it adds no tensor
  // to the plan, so the plan's shapes serve it.
  const std::size_t tensors = plan.tensors.size();
  PlanStep step = makeFusedMlpStep(plan, chain, *layout);
  if (plan.tensors.size() != tensors) throw Error("fused MLP '" + step.name + "': its products' layout added weights");
  const std::vector<std::int64_t> widths = mlpWidths(std::get<network::FusedMlpLayer>(step.parameters));
  const auto rowsAt = [&](const std::vector<Dims>& shapes) {
    return shapes[static_cast<std::size_t>(chain.input)].volume() / std::max<std::int64_t>(widths.front(), 1);
  };
  const bool half_weights = plan.tensors[static_cast<std::size_t>(step.inputs[1])].type == DataType::kHALF;
  const std::vector<Dims> opt = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  const std::vector<int>& choices = *layout == MlpWeightLayout::kKxN ? cl::fusedMlpRowChoices() : cl::fusedMlpMmaRowChoices();
  const int widest_group = fusedRowChoicesWorthTiming(choices, std::max<std::int64_t>(rowsAt(opt), 1), device.context->device().compute_units).back();
  std::map<std::int64_t, std::string> best_at;
  best_at[opt[static_cast<std::size_t>(chain.output)].volume()] =
      opt_choice == "unfused" ? layersTactic(plan, chain, opt, *layout) : opt_choice;
  for (const TimingPoint& point : points) {
    const std::int64_t elements = point.shapes[static_cast<std::size_t>(chain.output)].volume();
    if (elements == 0 || best_at.count(elements) != 0) continue;
    std::vector<std::string> candidates{layersTactic(plan, chain, point.shapes, *layout)};
    for (const std::string& fused : fusedTacticsAt(device, widths, *layout, half_weights, rowsAt(point.shapes), widest_group)) {
      candidates.push_back(fused);
    }
    std::string key = device.context->device().fingerprint() + "|" + mlpSignature(plan, chain, point.shapes) + " of";
    for (const std::string& candidate : candidates) key += " " + candidate;
    TimingEntry best;
    if (!(cache && cache->lookup(key, best))) {
      best = {"", std::numeric_limits<double>::infinity()};
      std::string timings;
      for (const std::string& candidate : candidates) {
        step.tactic = candidate;
        timeFusedMlp(plan, step, point.shapes, device, best, timings);
      }
      if (best.tactic.empty()) continue;
      log(Severity::kVERBOSE, "'" + step.name + "' at an output of " + std::to_string(elements) + " elements: " +
                                  best.tactic + " (timed" + timings + ")");
      if (cache) cache->store(key, best);
    }
    best_at[elements] = best.tactic;
  }
  const bool runs_fused = std::any_of(best_at.begin(), best_at.end(),
                                      [](const auto& entry) { return !runtime::fusedMlpLayers(entry.second); });
  const std::vector<engine::TacticRange> ranges = tacticRanges(best_at);
  if (!runs_fused || ranges.empty()) return std::nullopt;
  step.tactic = best_at[opt[static_cast<std::size_t>(chain.output)].volume()];
  step.tactic_ranges = ranges;
  log(Severity::kVERBOSE, "'" + step.name + "': tactics by output elements: " + engine::tacticRangesText(step));
  return step;
}

int fuseMlpChains(EnginePlan& plan, BuildDevice& device, TimingCache* cache) {
  int fused_count = 0;
  std::size_t from = 0;
  while (const std::optional<MlpChain> chain = findMlpChain(plan, from)) {
    from = chain->last + 1;  // a chain left unfused is not retried piecewise
    const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
    const std::string key = device.context->device().fingerprint() + "|" + mlpSignature(plan, *chain, shapes);
    TimingEntry choice;
    // A cached tensor-core choice counts only where those kernels are still offered.
    const bool cached = cache && cache->lookup(key, choice) &&
                        (cl::fusedMlpMmaRows(choice.tactic) == 0 || cl::fusedMlpMmaOffered(*device.context));
    if (!cached) {
      choice = timeMlpChain(plan, *chain, shapes, device);
      if (cache) cache->store(key, choice);
    }
    if (std::optional<PlanStep> ranged = mlpStepWithRanges(plan, *chain, choice.tactic, device, cache)) {
      replaceChain(plan, *chain, std::move(*ranged));
      from = chain->first + 1;
      ++fused_count;
      continue;
    }
    if (choice.tactic == "unfused") continue;
    PlanStep step = makeFusedMlpStep(plan, *chain, mlpWeightLayout(choice.tactic));
    step.tactic = choice.tactic;
    replaceChain(plan, *chain, std::move(step));
    from = chain->first + 1;
    ++fused_count;
  }
  if (fused_count > 0) removeUnusedTensors(plan);
  return fused_count;
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
    for (const TimingPoint& point : timingPoints(plan)) {
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
  // shapes (VGG's repeated 3x3 blocks) are timed once.
  const std::shared_ptr<TimingCache> cache =
      config.timingCache() ? config.timingCache() : std::make_shared<TimingCache>();
  if (!cache->matchesOrAdopt(context->device().fingerprint())) {
    log(Severity::kWARNING, "the timing cache was made on another device; its entries are not used for '" +
                                context->device().name + "'");
  }

  Graph graph = graphFromNetwork(network);
  std::vector<engine::ProfileShapes> profiles = resolveProfiles(graph, config);
  BuildDevice device(context);
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
  compileBuildAhead(plan, policy, device, cache.get());
  chooseTactics(plan, policy, device, cache.get());
  const int mlps = fuseMlpChains(plan, device, cache.get());
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
