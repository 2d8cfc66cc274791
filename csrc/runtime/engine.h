// A deserialized engine on a device: the plan, its weights in device memory and its programs
// loaded from the stored binaries. Immutable once made; execution contexts share it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/memory.h"
#include "core/tensor_format.h"
#include "engine/plan.h"

namespace mlprt::runtime {

enum class TensorIOMode { kNONE, kINPUT, kOUTPUT };

class Engine {
 public:
  // Parses engine bytes and prepares them on `context`'s device. Throws EngineFormatError for a
  // bad file and InvalidArgument when it was built for another device.
  static std::shared_ptr<const Engine> deserialize(const std::shared_ptr<cl::Context>& context,
                                                   const std::uint8_t* data, std::size_t size);
  // Prepares an already parsed plan; `bytes` is its serialized form (kept for serialize()).
  Engine(std::shared_ptr<cl::Context> context, engine::EnginePlan plan, std::vector<std::uint8_t> bytes);

  const engine::EnginePlan& plan() const noexcept { return plan_; }
  const std::shared_ptr<cl::Context>& context() const noexcept { return context_; }
  const std::shared_ptr<cl::DeviceBuffer>& weights() const noexcept { return weights_; }
  const std::vector<std::uint8_t>& serialized() const noexcept { return bytes_; }
  // Device memory an execution context allocates (engine.device_memory_size): the plan's
  // activations, then, from workspaceOffset(), the largest workspace a step needs on this device
  // (steps run one after another on a context's stream, so one region serves them all).
  std::size_t deviceMemoryBytes() const noexcept { return device_memory_bytes_; }
  std::size_t workspaceOffset() const noexcept { return workspace_offset_; }

  // I/O tensors: network inputs then outputs.
  std::size_t ioTensorCount() const noexcept { return io_.size(); }
  const std::string& ioTensorName(std::size_t index) const;
  // The tensor id of the I/O tensor `name`; throws InvalidArgument naming it when unknown.
  engine::TensorId ioTensor(const std::string& name) const;
  // -1 when `name` is not an I/O tensor.
  engine::TensorId findIoTensor(const std::string& name) const noexcept;
  TensorIOMode ioMode(const std::string& name) const noexcept;
  // Position of an input among the network inputs, or -1.
  int inputIndex(engine::TensorId tensor) const noexcept;

  // Whether step `s` depends only on the input shapes and its result stays in place between calls
  // (plan_shapes.h, reusableShapeSteps): an execution context runs it once per set of input shapes.
  bool runsOncePerShapes(std::size_t s) const noexcept { return s < once_per_shapes_.size() && once_per_shapes_[s]; }
  // Each plan tensor's format (plan_formats.h), checked when the engine was made.
  TensorFormat tensorFormat(engine::TensorId id) const { return formats_.at(static_cast<std::size_t>(id)); }

 private:
  void loadPrograms() const;

  std::shared_ptr<cl::Context> context_;
  engine::EnginePlan plan_;
  std::vector<std::uint8_t> bytes_;
  std::shared_ptr<cl::DeviceBuffer> weights_;
  std::vector<engine::TensorId> io_;
  std::size_t workspace_offset_ = 0;
  std::size_t device_memory_bytes_ = 0;
  std::vector<bool> once_per_shapes_;
  std::vector<TensorFormat> formats_;
};

// Compares the plan's device with `context`'s: throws InvalidArgument naming both when the device
// differs; returns false (binaries unusable, kernels compile from source) when only the driver does.
bool checkDevice(const engine::EnginePlan& plan, const cl::Context& context);

engine::DeviceFingerprint fingerprintOf(const cl::DeviceInfo& device);

}  // namespace mlprt::runtime
