// An OpenCL context for one device. mlprt keeps one per device for the life of the process, so
// memory, programs and streams made on a device can be used together.
#pragma once

#include <memory>
#include <string>

#include "backend/opencl/device.h"
#include "backend/opencl/handle.h"

namespace mlprt::cl {

class Context {
 public:
  // The shared context of a device, created on first use.
  static std::shared_ptr<Context> forDevice(const DeviceInfo& device);
  // The context of the current device: the one chosen with selectDevice(), else defaultDevice().
  static std::shared_ptr<Context> current();
  // Makes the device that `selector` names (see findDevice) current for later allocations.
  static const DeviceInfo& selectDevice(const std::string& selector);
  // The current device without creating its context.
  static const DeviceInfo& currentDevice();

  explicit Context(const DeviceInfo& device);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& device() const noexcept { return device_; }
  cl_context get() const noexcept { return context_.get(); }

 private:
  DeviceInfo device_;
  ContextHandle context_;
};

// Throws InvalidArgument unless `used` is `expected`: objects of two devices cannot be mixed.
void requireSameContext(const Context& expected, const Context& used, const std::string& what);

}  // namespace mlprt::cl
