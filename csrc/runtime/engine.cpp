#include "runtime/engine.h"

#include <algorithm>
#include <chrono>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/program.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/logging.h"
#include "engine/format.h"
#include "runtime/plan_formats.h"
#include "runtime/plan_shapes.h"
#include "runtime/step_runner.h"

namespace mlprt::runtime {

engine::DeviceFingerprint fingerprintOf(const cl::DeviceInfo& device) {
  return {device.platform_name, device.name, device.vendor, device.driver_version, device.opencl_version};
}

bool checkDevice(const engine::EnginePlan& plan, const cl::Context& context) {
  const engine::DeviceFingerprint here = fingerprintOf(context.device());
  const engine::DeviceFingerprint& built = plan.device;
  if (built.device != here.device || built.platform != here.platform || built.vendor != here.vendor) {
    throw InvalidArgument("the engine was built for device '" + built.device + "' (" + built.platform +
                          ") but this process runs on '" + here.device + "' (" + here.platform +
                          "); rebuild the engine on this device or select that device (MLPRT_DEVICE)");
  }
  if (built.driver != here.driver || built.opencl_version != here.opencl_version) {
    log(Severity::kWARNING, "the engine was built with driver " + built.driver + " (" + built.opencl_version +
                                "), this device has " + here.driver + " (" + here.opencl_version +
                                "); its kernels will be compiled again");
    return false;
  }
  return true;
}

std::shared_ptr<const Engine> Engine::deserialize(const std::shared_ptr<cl::Context>& context,
                                                  const std::uint8_t* data, std::size_t size) {
  engine::EnginePlan plan = engine::deserializePlan(data, size);
  return std::make_shared<const Engine>(context, std::move(plan),
                                        std::vector<std::uint8_t>(data, data + size));
}

Engine::Engine(std::shared_ptr<cl::Context> context, engine::EnginePlan plan, std::vector<std::uint8_t> bytes)
    : context_(std::move(context)), plan_(std::move(plan)), bytes_(std::move(bytes)) {
  const bool binaries_usable = checkDevice(plan_, *context_);
  try {
    formats_ = planTensorFormats(plan_);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(std::string("engine: ") + e.what());
  }
  io_ = plan_.inputs;
  io_.insert(io_.end(), plan_.outputs.begin(), plan_.outputs.end());
  weights_ = cl::DeviceBuffer::allocate(context_, plan_.weights.size());
  if (!plan_.weights.empty()) {
    auto stream = cl::Stream::defaultFor(context_);
    cl::copyHostToDevice(*stream, {weights_, 0}, plan_.weights.data(), plan_.weights.size(),
                         cl::CopyMode::kBlocking);
  }
  if (binaries_usable) loadPrograms();
  // The largest workspace a step needs: at each profile's max shapes, which bound every shape allowed.
  std::size_t workspace = 0;
  for (std::size_t p = 0; p < plan_.profiles.size(); ++p) {
    std::vector<Dims> shapes;
    try {
      shapes = inferPlanShapes(plan_, plan_.profiles[p].max);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("engine: the shapes of optimization profile " + std::to_string(p) + "'s max: " + e.what());
    }
    for (const engine::PlanStep& step : plan_.steps) workspace = std::max(workspace, stepWorkspaceBytes(step, *context_, shapes));
  }
  constexpr std::size_t kWorkspaceAlignment = 256;
  const auto activations = static_cast<std::size_t>(plan_.arena_bytes);
  workspace_offset_ = (activations + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
  device_memory_bytes_ = workspace > 0 ? workspace_offset_ + workspace : activations;
  once_per_shapes_ = reusableShapeSteps(plan_, workspace_offset_);
}


void Engine::loadPrograms() const {
  for (const engine::ProgramBinary& program : plan_.programs) {
    const std::string* source = nullptr;
    try {
      source = &cl::kernelSource(program.family);
    } catch (const InvalidArgument&) {
      log(Severity::kWARNING, "engine program '" + program.family + "' is unknown to this mlprt; ignored");
      continue;
    }
    if (hexHash(*source) != program.source_hash) {
      log(Severity::kINFO, "kernels '" + program.family + "' changed since the engine was built; compiling them");
      continue;
    }
    if (program.binary.empty()) {  // built where binaries are not kept (Program::keepsBinaries)
      log(Severity::kVERBOSE, "the engine carries no binary of '" + program.family + "' (" + program.options +
                                  "); it is built from source when first used");
      continue;
    }
    const std::vector<unsigned char> binary(program.binary.begin(), program.binary.end());
    const auto start = std::chrono::steady_clock::now();
    if (!cl::Program::install(context_, *source, program.options, binary)) {
      log(Severity::kWARNING, "the driver rejected the engine's binary of '" + program.family + "' (" +
                                  program.options + "); compiling it");
      continue;
    }
    // Drivers whose binaries are an intermediate form (NVIDIA's are PTX) compile them here.
    const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
    log(Severity::kVERBOSE, "loaded the engine's program '" + program.family + "' (" + std::to_string(binary.size()) +
                                " bytes) in " + std::to_string(took.count()) + " ms");
  }
}

const std::string& Engine::ioTensorName(std::size_t index) const {
  if (index >= io_.size()) {
    throw InvalidArgument("I/O tensor index " + std::to_string(index) + " is out of range (the engine has " +
                          std::to_string(io_.size()) + ")");
  }
  return plan_.tensors[static_cast<std::size_t>(io_[index])].name;
}

engine::TensorId Engine::findIoTensor(const std::string& name) const noexcept {
  for (engine::TensorId id : io_) {
    if (plan_.tensors[static_cast<std::size_t>(id)].name == name) return id;
  }
  return -1;
}

engine::TensorId Engine::ioTensor(const std::string& name) const {
  const engine::TensorId id = findIoTensor(name);
  if (id < 0) {
    std::string names;
    for (engine::TensorId io : io_) {
      names += (names.empty() ? "'" : ", '") + plan_.tensors[static_cast<std::size_t>(io)].name + "'";
    }
    throw InvalidArgument("the engine has no I/O tensor named '" + name + "' (it has " + names + ")");
  }
  return id;
}

TensorIOMode Engine::ioMode(const std::string& name) const noexcept {
  const engine::TensorId id = findIoTensor(name);
  if (id < 0) return TensorIOMode::kNONE;
  return inputIndex(id) >= 0 ? TensorIOMode::kINPUT : TensorIOMode::kOUTPUT;
}

int Engine::inputIndex(engine::TensorId tensor) const noexcept {
  for (std::size_t i = 0; i < plan_.inputs.size(); ++i) {
    if (plan_.inputs[i] == tensor) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace mlprt::runtime
