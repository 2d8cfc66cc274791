#include "runtime/execution_context.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend/opencl/copy.h"
#include "backend/opencl/host_access.h"
#include "core/error.h"
#include "core/logging.h"
#include "runtime/plan_shapes.h"

namespace mlprt::runtime {
namespace {

using engine::PlanTensor;
using engine::TensorId;
using engine::TensorRole;

std::string hexAddress(std::uint64_t address) {
  char text[32];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(address));
  return text;
}

bool within(const Dims& shape, const Dims& low, const Dims& high) {
  for (std::size_t i = 0; i < shape.rank(); ++i) {
    if (shape[i] < low[i] || shape[i] > high[i]) return false;
  }
  return true;
}

}  // namespace

// Marks the context busy for one call; a second thread entering meanwhile gets an error instead
// of corrupting the shared kernel arguments and shapes.
class ExecutionContext::UseGuard {
 public:
  UseGuard(std::atomic<bool>& flag, const char* what) : flag_(flag) {
    bool expected = false;
    if (!flag_.compare_exchange_strong(expected, true)) {
      throw Error(std::string("the execution context is in use by another thread (") + what +
                  "); give each thread its own context (engine.create_execution_context())");
    }
  }
  ~UseGuard() { flag_.store(false); }
  UseGuard(const UseGuard&) = delete;
  UseGuard& operator=(const UseGuard&) = delete;

 private:
  std::atomic<bool>& flag_;
};

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine, bool allocate_device_memory)
    : engine_(std::move(engine)), kernels_(engine_->context()) {
  const engine::EnginePlan& plan = engine_->plan();
  const std::size_t bytes = engine_->deviceMemoryBytes();
  if (allocate_device_memory) {
    try {
      arena_ = {cl::DeviceBuffer::allocate(engine_->context(), bytes), 0};
    } catch (const OutOfMemory& e) {
      throw OutOfMemory("an execution context needs " + std::to_string(bytes) +
                        " bytes of device memory (activations and the steps' workspace: engine.device_memory_size): " +
                        e.what());
    }
  }
  const char* capture = std::getenv("MLPRT_LAUNCH_CAPTURE");
  capture_launches_ = !(capture && std::string(capture) == "0");
  const char* every_run = std::getenv("MLPRT_SHAPE_STEPS_EVERY_RUN");
  reuse_shape_results_ = !(every_run && std::string(every_run) == "1");
  addresses_.assign(plan.tensors.size(), 0);
  staging_.assign(plan.tensors.size(), nullptr);
  shapes_.assign(plan.tensors.size(), Dims());
  resetShapesForProfile();
}

void ExecutionContext::resetShapesForProfile() {
  const engine::EnginePlan& plan = engine_->plan();
  input_shapes_.assign(plan.inputs.size(), Dims());
  input_shape_set_.assign(plan.inputs.size(), false);
  // Inputs without dynamic extents need no set_input_shape call.
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    const Dims& built = plan.tensors[static_cast<std::size_t>(plan.inputs[i])].shape;
    if (!built.isDynamic()) {
      input_shapes_[i] = built;
      input_shape_set_[i] = true;
    }
  }
  shapes_valid_ = false;
  prepared_valid_ = false;
}

bool ExecutionContext::setInputShape(const std::string& name, const Dims& shape) {
  UseGuard guard(in_use_, "set_input_shape");
  const engine::EnginePlan& plan = engine_->plan();
  const TensorId id = engine_->ioTensor(name);
  const int index = engine_->inputIndex(id);
  if (index < 0) {
    log(Severity::kERROR, "set_input_shape: '" + name + "' is an output; only inputs take shapes");
    return false;
  }
  const Dims& built = plan.tensors[static_cast<std::size_t>(id)].shape;
  if (shape.rank() != built.rank() || shape.isDynamic()) {
    log(Severity::kERROR, "set_input_shape: input '" + name + "' needs a concrete shape of rank " +
                              std::to_string(built.rank()) + " like " + built.toString() + ", got " +
                              shape.toString());
    return false;
  }
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) {
    if (built[axis] != Dims::kDynamic && built[axis] != shape[axis]) {
      log(Severity::kERROR, "set_input_shape: input '" + name + "' has the fixed shape " + built.toString() +
                                ", got " + shape.toString());
      return false;
    }
  }
  const engine::ProfileShapes& profile = plan.profiles.at(static_cast<std::size_t>(profile_));
  const Dims& low = profile.min[static_cast<std::size_t>(index)];
  const Dims& high = profile.max[static_cast<std::size_t>(index)];
  if (!within(shape, low, high)) {
    log(Severity::kERROR, "set_input_shape: shape " + shape.toString() + " of input '" + name +
                              "' is outside optimization profile " + std::to_string(profile_) + " (min " +
                              low.toString() + ", max " + high.toString() + ")");
    return false;
  }
  input_shapes_[static_cast<std::size_t>(index)] = shape;
  input_shape_set_[static_cast<std::size_t>(index)] = true;
  shapes_valid_ = false;
  prepared_valid_ = false;
  return true;
}

bool ExecutionContext::allInputShapesSpecified() const noexcept {
  for (bool set : input_shape_set_) {
    if (!set) return false;
  }
  return true;
}

std::vector<std::string> ExecutionContext::missingInputShapes() const {
  std::vector<std::string> missing;
  const engine::EnginePlan& plan = engine_->plan();
  for (std::size_t i = 0; i < plan.inputs.size(); ++i) {
    if (!input_shape_set_[i]) missing.push_back(plan.tensors[static_cast<std::size_t>(plan.inputs[i])].name);
  }
  return missing;
}

void ExecutionContext::resolveShapes() {
  const engine::EnginePlan& plan = engine_->plan();
  checkSharedExtents();
  shapes_ = inferPlanShapes(plan, input_shapes_);
  for (std::size_t i = 0; i < plan.tensors.size(); ++i) {
    const PlanTensor& tensor = plan.tensors[i];
    if (tensor.role == TensorRole::kActivation && bytesOf(static_cast<TensorId>(i)) > tensor.capacity) {
      throw InvalidArgument("tensor '" + tensor.name + "' needs " + std::to_string(bytesOf(static_cast<TensorId>(i))) +
                            " bytes at shape " + shapes_[i].toString() + " but the engine planned " +
                            std::to_string(tensor.capacity));
    }
  }
  shapes_valid_ = true;
  prepared_valid_ = false;
}

// Input axes the model gives one name ("batch") must agree: the engine was built on it.
void ExecutionContext::checkSharedExtents() const {
  const engine::EnginePlan& plan = engine_->plan();
  for (const engine::SharedExtent& shared : plan.shared_extents) {
    const auto first = static_cast<std::size_t>(shared.first_input);
    const auto second = static_cast<std::size_t>(shared.second_input);
    const std::int64_t a = input_shapes_[first][static_cast<std::size_t>(shared.first_axis)];
    const std::int64_t b = input_shapes_[second][static_cast<std::size_t>(shared.second_axis)];
    if (a != b) {
      const auto name = [&plan](std::size_t input) { return plan.tensors[static_cast<std::size_t>(plan.inputs[input])].name; };
      throw InvalidArgument("input '" + name(first) + "' axis " + std::to_string(shared.first_axis) + " is " +
                            std::to_string(a) + " but input '" + name(second) + "' axis " +
                            std::to_string(shared.second_axis) + " is " + std::to_string(b) +
                            "; the model calls both '" + shared.label + "', so they must be equal");
    }
  }
}

void ExecutionContext::requireResolvedShapes() {
  if (shapes_valid_) return;
  const std::vector<std::string> missing = missingInputShapes();
  if (!missing.empty()) {
    throw InvalidArgument("the shape of input '" + missing.front() +
                          "' is not set; call set_input_shape for every dynamic input first");
  }
  resolveShapes();
}

Dims ExecutionContext::tensorShape(const std::string& name) {
  UseGuard guard(in_use_, "get_tensor_shape");  // may resolve (write) the shapes
  const TensorId id = engine_->ioTensor(name);
  const int index = engine_->inputIndex(id);
  const PlanTensor& tensor = engine_->plan().tensors[static_cast<std::size_t>(id)];
  if (index >= 0) {
    return input_shape_set_[static_cast<std::size_t>(index)] ? input_shapes_[static_cast<std::size_t>(index)]
                                                              : tensor.shape;
  }
  if (!allInputShapesSpecified()) return tensor.shape;
  requireResolvedShapes();
  return shapes_[static_cast<std::size_t>(id)];
}

void ExecutionContext::setTensorAddress(const std::string& name, std::uint64_t address) {
  UseGuard guard(in_use_, "set_tensor_address");
  const TensorId id = engine_->ioTensor(name);
  if (address != 0 && cl::isDeviceAddress(address)) {
    cl::resolveDeviceAddress(address, 0, "address of '" + name + "'");
  } else if (address != 0 && !cl::findPinned(reinterpret_cast<const void*>(static_cast<std::uintptr_t>(address)), 0)) {
    throw InvalidArgument("address of '" + name + "': " + hexAddress(address) +
                          " is neither in a live device allocation nor in pinned host memory (freed, or not from mlprt?)");
  }
  addresses_[static_cast<std::size_t>(id)] = address;
  prepared_valid_ = false;
}

std::uint64_t ExecutionContext::tensorAddress(const std::string& name) const {
  return addresses_[static_cast<std::size_t>(engine_->ioTensor(name))];
}

void ExecutionContext::setOptimizationProfile(int index) {
  const int count = static_cast<int>(engine_->plan().profiles.size());
  if (index < 0 || index >= count) {
    throw InvalidArgument("optimization profile " + std::to_string(index) + " does not exist (the engine has " +
                          std::to_string(count) + ")");
  }
  UseGuard guard(in_use_, "set_optimization_profile_async");
  profile_ = index;
  resetShapesForProfile();
}

std::size_t ExecutionContext::bytesOf(TensorId id) const {
  const auto i = static_cast<std::size_t>(id);
  return tensorBytes(shapes_[i], engine_->plan().tensors[i].type);
}

cl::DeviceTensor ExecutionContext::deviceTensor(TensorId id) const {
  const auto i = static_cast<std::size_t>(id);
  const PlanTensor& tensor = engine_->plan().tensors[i];
  cl::DeviceTensor result;
  result.shape = shapes_[i];
  result.type = tensor.type;
  switch (tensor.role) {
    case TensorRole::kActivation:
      result.range = {arena_.buffer, arena_.offset + static_cast<std::size_t>(tensor.offset)};
      break;
    case TensorRole::kConstant:
      result.range = {engine_->weights(), static_cast<std::size_t>(tensor.offset)};
      break;
    case TensorRole::kInput:
    case TensorRole::kOutput: {
      const char* role = tensor.role == TensorRole::kInput ? "input" : "output";
      if (addresses_[i] == 0) {
        throw InvalidArgument(std::string("no address is set for ") + role + " '" + tensor.name +
                              "'; call set_tensor_address first");
      }
      if (cl::isDeviceAddress(addresses_[i])) {
        result.range = cl::findDeviceRange(addresses_[i], bytesOf(id));
        if (!result.range.buffer) {  // throws, saying why
          result.range = cl::resolveDeviceAddress(addresses_[i], bytesOf(id), std::string(role) + " '" + tensor.name + "'");
        }
      } else {
        result.host = pinnedBinding(id, role);
      }
      break;
    }
  }
  return result;
}

// The pinned host memory an I/O tensor's address names, checked to hold the tensor.
cl::HostRange ExecutionContext::pinnedBinding(TensorId id, const char* role) const {
  const auto i = static_cast<std::size_t>(id);
  const auto what = [&] { return std::string(role) + " '" + engine_->plan().tensors[i].name + "'"; };
  const auto* data = reinterpret_cast<const void*>(static_cast<std::uintptr_t>(addresses_[i]));
  std::shared_ptr<cl::PinnedHostBuffer> buffer = cl::findPinned(data, 0);
  if (!buffer) {
    throw InvalidArgument(what() + ": address " + hexAddress(addresses_[i]) +
                          " is neither in a live device allocation nor in pinned host memory (freed, or not from mlprt?)");
  }
  cl::HostRange range{buffer, static_cast<std::size_t>(addresses_[i] - reinterpret_cast<std::uintptr_t>(buffer->data()))};
  const std::size_t bytes = bytesOf(id);
  if (bytes > buffer->size() - range.offset) {
    throw InvalidArgument(what() + ": needs " + std::to_string(bytes) + " bytes at shape " + shapes_[i].toString() +
                          ", but the pinned host buffer at " + hexAddress(addresses_[i]) + " has only " +
                          std::to_string(buffer->size() - range.offset) + " bytes from there");
  }
  if (range.address() % elementSize(engine_->plan().tensors[i].type) != 0) {
    throw InvalidArgument(what() + ": pinned host address " + hexAddress(addresses_[i]) +
                          " is not aligned to its element size");
  }
  return range;
}

// True when every kernel touching I/O tensor `id` reads or writes its pinned memory directly.
bool ExecutionContext::kernelsTakePinned(TensorId id) const {
  const engine::EnginePlan& plan = engine_->plan();
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const engine::PlanStep& step = activeStep(s);  // the tactic of the shapes set
    for (std::size_t j = 0; j < step.inputs.size(); ++j) {
      if (step.inputs[j] == id && !stepTakesPinnedHostOperand(step, static_cast<int>(j))) return false;
    }
    if (step.epilogue.bias == id) return false;
    if (step.output == id && !stepTakesPinnedHostOperand(step, -1)) return false;
  }
  // An output that later steps also read stays on the device.
  if (plan.tensors[static_cast<std::size_t>(id)].role == TensorRole::kOutput) {
    for (const engine::PlanStep& step : plan.steps) {
      for (TensorId input : step.inputs) {
        if (input == id) return false;
      }
    }
  }
  return cl::kernelsReadPinnedHostMemory(*engine_->context());
}

// Points `tensor` at a device buffer that enqueue fills from (inputs) or empties into (outputs)
// the bound pinned memory.
void ExecutionContext::stageThroughDevice(TensorId id, cl::DeviceTensor& tensor) {
  const auto i = static_cast<std::size_t>(id);
  const std::size_t bytes = bytesOf(id);
  if (!staging_[i] || staging_[i]->size() < bytes) staging_[i] = cl::DeviceBuffer::allocate(engine_->context(), bytes);
  tensor.range = {staging_[i], 0};
  tensor.host = {};
}

void ExecutionContext::prepareOperands() {
  const engine::EnginePlan& plan = engine_->plan();
  // The tactics of the shapes set, which decide what can take pinned memory.
  chooseRangedTactics();
  // The I/O tensors first: pinned memory that some kernel cannot take directly is replaced by a
  // device buffer that enqueue copies through.
  std::vector<cl::DeviceTensor> tensors(plan.tensors.size());
  std::vector<bool> resolved(plan.tensors.size(), false);
  prepared_io_.clear();
  for (const std::vector<TensorId>* io : {&plan.inputs, &plan.outputs}) {
    for (TensorId id : *io) {
      const auto i = static_cast<std::size_t>(id);
      tensors[i] = deviceTensor(id);
      resolved[i] = true;
      PreparedIo prepared;
      prepared.id = id;
      prepared.input = io == &plan.inputs;
      prepared.device = tensors[i].range.buffer;
      prepared.pinned = tensors[i].host;
      if (prepared.pinned.buffer && !kernelsTakePinned(id)) {
        stageThroughDevice(id, tensors[i]);
        prepared.staged = tensors[i].range.buffer;
      }
      if (prepared.pinned.buffer) {
        log(Severity::kVERBOSE, std::string(prepared.input ? "input '" : "output '") + plan.tensors[i].name +
                                    (prepared.staged ? "': pinned host memory, copied through the device"
                                                     : "': pinned host memory, read and written by the kernels directly"));
      }
      prepared_io_.push_back(std::move(prepared));
    }
  }
  auto tensorFor = [&](TensorId id) -> const cl::DeviceTensor& {
    const auto i = static_cast<std::size_t>(id);
    if (!resolved[i]) {
      tensors[i] = deviceTensor(id);
      resolved[i] = true;
    }
    return tensors[i];
  };
  prepared_.assign(plan.steps.size(), StepOperands());
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const engine::PlanStep& step = plan.steps[s];
    StepOperands& operands = prepared_[s];
    for (TensorId input : step.inputs) operands.inputs.push_back(tensorFor(input));
    operands.has_bias = step.epilogue.bias >= 0;
    if (operands.has_bias) operands.bias = tensorFor(step.epilogue.bias);
    operands.output = tensorFor(step.output);
    const std::size_t workspace = stepWorkspaceBytes(activeStep(s), *engine_->context(), shapes_);
    operands.has_workspace = workspace > 0;
    if (operands.has_workspace) {
      operands.workspace = {{arena_.buffer, arena_.offset + engine_->workspaceOffset()},
                            Dims{static_cast<std::int64_t>(workspace / sizeof(float))},
                            DataType::kFLOAT};
    }
  }
  captures_.clear();
  captures_.resize(plan.steps.size());
  prepared_valid_ = true;
}

void ExecutionContext::chooseRangedTactics() {
  const engine::EnginePlan& plan = engine_->plan();
  ranged_steps_.assign(plan.steps.size(), engine::PlanStep());
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const engine::PlanStep& step = plan.steps[s];
    if (step.tactic_ranges.empty()) continue;
    const std::int64_t elements = shapes_[static_cast<std::size_t>(step.output)].volume();
    ranged_steps_[s] = step;
    ranged_steps_[s].tactic = engine::tacticAt(step, elements);
    log(Severity::kVERBOSE, "step '" + step.name + "': tactic " + ranged_steps_[s].tactic + " for an output of " +
                                std::to_string(elements) + " elements");
  }
}

const engine::PlanStep& ExecutionContext::activeStep(std::size_t s) const {
  const engine::PlanStep& planned = engine_->plan().steps[s];
  return s < ranged_steps_.size() && !planned.tactic_ranges.empty() ? ranged_steps_[s] : planned;
}

const std::string& ExecutionContext::activeTactic(std::size_t step) {
  UseGuard guard(in_use_, "active_tactic");
  const engine::EnginePlan& plan = engine_->plan();
  if (step >= plan.steps.size()) {
    throw InvalidArgument("active_tactic: step " + std::to_string(step) + " does not exist (the engine has " +
                          std::to_string(plan.steps.size()) + ")");
  }
  if (!plan.steps[step].tactic_ranges.empty() && allInputShapesSpecified()) {
    if (!shapes_valid_) resolveShapes();
    if (!prepared_valid_) chooseRangedTactics();
    return ranged_steps_[step].tactic;
  }
  return plan.steps[step].tactic;
}

// The buffers that the prepared operands point into and that live as long as they do: the
// arena, the weights, the staging buffers and the bound device allocations (whose binding
// enqueue checks on every call before anything runs).
std::vector<cl_mem> ExecutionContext::lastingBuffers() const {
  std::vector<cl_mem> buffers{arena_.buffer->mem(), engine_->weights()->mem()};
  for (const PreparedIo& io : prepared_io_) {
    if (io.device) buffers.push_back(io.device->mem());
    if (io.staged) buffers.push_back(io.staged->mem());
  }
  return buffers;
}

void ExecutionContext::runSteps(cl::Stream& stream) {
  const engine::EnginePlan& plan = engine_->plan();
  pending_profile_.clear();
  // Valid again only once every step of this run is queued: a run that throws midway may have
  // rewritten some of the results.
  const bool reuse = reuse_shape_results_ && shape_results_valid_ && shape_results_inputs_ == input_shapes_;
  shape_results_valid_ = false;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    if (reuse && engine_->runsOncePerShapes(s)) {
      if (profiler_) pending_profile_.push_back(ProfiledStep{s, true, {}, {}, {}});
      continue;
    }
    if (profiler_) {
      runProfiledStep(stream, s);
      continue;
    }
    launchStep(stream, s);
  }
  shape_results_inputs_ = input_shapes_;
  shape_results_valid_ = true;
}

// Runs step `s` between two markers with every kernel launch timed (kernel_timing.h).
void ExecutionContext::runProfiledStep(cl::Stream& stream, std::size_t s) {
  ProfiledStep profiled;
  profiled.step = s;
  profiled.before = stream.recordTimed();
  {
    cl::KernelTimingScope timing(profiled.kernels);
    launchStep(stream, s);
  }
  profiled.after = stream.record();
  pending_profile_.push_back(std::move(profiled));
}

bool ExecutionContext::reportToProfiler() {
  UseGuard guard(in_use_, "report_to_profiler");
  if (!profiler_ || pending_profile_.empty()) return false;
  reportPendingProfile();
  return true;
}

void ExecutionContext::reportPendingProfile() {
  const engine::EnginePlan& plan = engine_->plan();
  // Taken first: a profiler that throws leaves nothing half reported for the next call.
  const std::vector<ProfiledStep> steps = std::move(pending_profile_);
  pending_profile_.clear();
  for (const ProfiledStep& profiled : steps) {
    if (profiled.skipped) {
      profiler_->reportLayerTime(plan.steps[profiled.step].name, 0.0f);
      continue;
    }
    const bool by_kernels = profiled.kernels.complete() && profiled.kernels.kernelCount() > 0;
    const double milliseconds = by_kernels ? profiled.kernels.kernelMilliseconds()
                                           : cl::Event::elapsedMilliseconds(profiled.before, profiled.after);
    profiler_->reportLayerTime(plan.steps[profiled.step].name, static_cast<float>(milliseconds));
  }
}

// Queues step `s`: its captured launches, or its launcher (captured on the first run).
void ExecutionContext::launchStep(cl::Stream& stream, std::size_t s) {
  const engine::EnginePlan& plan = engine_->plan();
  std::unique_ptr<cl::LaunchCapture>& capture = captures_[s];
  if (capture && capture->replayable()) {
    capture->replay(stream);
  } else if (capture || !capture_launches_) {
    runStep(kernels_, stream, activeStep(s), prepared_[s]);
  } else {
    auto fresh = std::make_unique<cl::LaunchCapture>(lastingBuffers());
    {
      cl::CaptureScope scope(*fresh);
      runStep(kernels_, stream, activeStep(s), prepared_[s]);
    }
    if (fresh->replayable()) {
      log(Severity::kVERBOSE, "step '" + plan.steps[s].name + "': " + std::to_string(fresh->launchCount()) +
                                  " kernel launch(es) captured; calls with the same shapes and bindings replay them");
    } else {
      log(Severity::kVERBOSE, "step '" + plan.steps[s].name + "' runs its launcher on every call: " +
                                  fresh->whyNotReplayable());
    }
    capture = std::move(fresh);
  }
}

bool ExecutionContext::preparedBindingLive(const PreparedIo& io) {
  return io.pinned.buffer || (io.device && !io.device->freed());
}

// TensorRT requires 256-byte alignment of the memory a context is given; mlprt's kernels read
// the arena's tensors in 16-byte vectors at offsets planned from an aligned base.
constexpr std::size_t kDeviceMemoryAlignment = 256;

void ExecutionContext::setDeviceMemory(std::uint64_t address, std::size_t bytes) {
  UseGuard guard(in_use_, "set_device_memory");
  const std::size_t needed = engine_->deviceMemoryBytes();
  if (!cl::isDeviceAddress(address)) {
    throw InvalidArgument("device_memory: " + std::to_string(address) +
                          " is not an mlprt device address (allocate it with mlprt.driver.mem_alloc or cudaMalloc)");
  }
  if (bytes != 0 && bytes < needed) {
    throw InvalidArgument("set_device_memory: " + std::to_string(bytes) + " bytes given; the context needs " +
                          std::to_string(needed) + " (engine.device_memory_size)");
  }
  cl::DeviceRange range = cl::resolveDeviceAddress(address, std::max<std::size_t>(needed, 1), "device_memory");
  if (range.offset % kDeviceMemoryAlignment != 0) {
    throw InvalidArgument("device_memory: the address lies " + std::to_string(range.offset) +
                          " bytes into its allocation; it must be a multiple of 256");
  }
  cl::requireSameContext(*engine_->context(), *range.buffer->context(), "device_memory");
  arena_ = std::move(range);
  // The operands point into the old memory, and the shape-only steps' results stayed there; and
  // since other contexts may share this memory between runs, those steps run on every call.
  prepared_valid_ = false;
  shape_results_valid_ = false;
  reuse_shape_results_ = false;
}

void ExecutionContext::enqueue(cl::Stream& stream) {
  UseGuard guard(in_use_, "execute");
  if (!arena_.buffer) {
    throw InvalidArgument("the execution context has no device memory (created without it): set "
                          "context.device_memory (TensorRT 10: set_device_memory(address, size)) to " +
                          std::to_string(engine_->deviceMemoryBytes()) + " bytes first");
  }
  if (arena_.buffer->freed()) {
    throw InvalidArgument("the device memory given to the execution context was freed; give it live memory "
                          "(context.device_memory) first");
  }
  requireResolvedShapes();
  cl::requireSameContext(*engine_->context(), *stream.context(), "the stream");
  const engine::EnginePlan& plan = engine_->plan();
  // Every I/O binding is checked on every call, before the first launch, so a freed or too
  // small allocation enqueues nothing; a binding now resolving to another buffer (an address
  // reused after a free) makes the prepared operands stale.
  std::size_t slot = 0;
  for (const std::vector<TensorId>* io : {&plan.inputs, &plan.outputs}) {
    for (TensorId id : *io) {
      // A prepared binding was checked when it was prepared and any new address or shape
      // re-prepares; the context holds its buffers, so only a device allocation freed by its
      // owner can go bad meanwhile. The rest skip the registry lookups.
      if (prepared_valid_ && preparedBindingLive(prepared_io_[slot])) {
        ++slot;
        continue;
      }
      const cl::DeviceTensor bound = deviceTensor(id);
      if (prepared_valid_ && (bound.range.buffer != prepared_io_[slot].device ||
                              bound.host.buffer != prepared_io_[slot].pinned.buffer)) {
        prepared_valid_ = false;
      }
      ++slot;
    }
  }
  if (!prepared_valid_) prepareOperands();
  for (const PreparedIo& io : prepared_io_) {
    if (!io.pinned.buffer) continue;
    if (!io.staged) {
      stream.holdUntilQueuedWorkRan(io.pinned.buffer);  // kernels read it; the caller may drop it
    } else if (io.input) {
      cl::copyHostToDevice(stream, {io.staged, 0}, io.pinned.data(), bytesOf(io.id), cl::CopyMode::kAsync);
    }
  }
  runSteps(stream);
  for (const PreparedIo& io : prepared_io_) {
    if (io.staged && !io.input) {
      cl::copyDeviceToHost(stream, io.pinned.data(), {io.staged, 0}, bytesOf(io.id), cl::CopyMode::kAsync);
    }
  }
  stream.trackUntracked();
  if (profiler_ && enqueue_emits_profile_) reportPendingProfile();
}

}  // namespace mlprt::runtime
