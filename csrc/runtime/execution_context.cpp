#include "runtime/execution_context.h"

#include <string>

#include "core/error.h"
#include "core/logging.h"
#include "runtime/plan_shapes.h"

namespace mlprt::runtime {
namespace {

using engine::PlanTensor;
using engine::TensorId;
using engine::TensorRole;

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

ExecutionContext::ExecutionContext(std::shared_ptr<const Engine> engine)
    : engine_(std::move(engine)), kernels_(engine_->context()) {
  const engine::EnginePlan& plan = engine_->plan();
  try {
    arena_ = cl::DeviceBuffer::allocate(engine_->context(), plan.arena_bytes);
  } catch (const OutOfMemory& e) {
    throw OutOfMemory("an execution context needs " + std::to_string(plan.arena_bytes) +
                      " bytes of activation memory (engine.device_memory_size): " + e.what());
  }
  addresses_.assign(plan.tensors.size(), 0);
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
  addresses_[static_cast<std::size_t>(engine_->ioTensor(name))] = address;
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
      result.range = {arena_, static_cast<std::size_t>(tensor.offset)};
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
      result.range = cl::resolveDeviceAddress(addresses_[i], bytesOf(id), std::string(role) + " '" + tensor.name + "'");
      break;
    }
  }
  return result;
}

void ExecutionContext::prepareOperands() {
  const engine::EnginePlan& plan = engine_->plan();
  std::vector<cl::DeviceTensor> tensors(plan.tensors.size());
  std::vector<bool> resolved(plan.tensors.size(), false);
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
  }
  prepared_io_.clear();
  for (const std::vector<TensorId>* io : {&plan.inputs, &plan.outputs}) {
    for (TensorId id : *io) prepared_io_.push_back(tensorFor(id).range.buffer);
  }
  prepared_valid_ = true;
}

void ExecutionContext::enqueue(cl::Stream& stream) {
  UseGuard guard(in_use_, "execute");
  requireResolvedShapes();
  cl::requireSameContext(*engine_->context(), *stream.context(), "the stream");
  const engine::EnginePlan& plan = engine_->plan();
  // Every I/O binding is checked on every call, before the first launch, so a freed or too
  // small allocation enqueues nothing; a binding now resolving to another buffer (an address
  // reused after a free) makes the prepared operands stale.
  std::size_t slot = 0;
  for (const std::vector<TensorId>* io : {&plan.inputs, &plan.outputs}) {
    for (TensorId id : *io) {
      const cl::DeviceTensor bound = deviceTensor(id);
      if (prepared_valid_ && bound.range.buffer != prepared_io_[slot]) prepared_valid_ = false;
      ++slot;
    }
  }
  if (!prepared_valid_) prepareOperands();
  for (std::size_t s = 0; s < plan.steps.size(); ++s) runStep(kernels_, stream, plan.steps[s], prepared_[s]);
  stream.trackUntracked();
}

}  // namespace mlprt::runtime
