// An OpenCL context for one device. mlprt keeps one per device for the life of the process, so
// memory, programs and streams made on a device can be used together.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
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

  // Device memory that mlprt holds on this device, in bytes. Drivers may accept buffers beyond
  // the device's memory and fail (or, on CPU devices, exhaust host memory) only at first use, so
  // every device allocation is reserved here first: a reservation that would take the total
  // past the device's global memory is refused (false) and nothing is counted.
  bool reserveDeviceBytes(std::size_t bytes) noexcept;
  void releaseDeviceBytes(std::size_t bytes) noexcept;
  std::uint64_t deviceBytesInUse() const noexcept { return device_bytes_.load(); }

 private:
  DeviceInfo device_;
  ContextHandle context_;
  std::atomic<std::uint64_t> device_bytes_{0};
};

// Throws InvalidArgument unless `used` is `expected`: objects of two devices cannot be mixed.
void requireSameContext(const Context& expected, const Context& used, const std::string& what);
// The same for a literal description, which hot paths pass: no string is built unless it throws.
inline void requireSameContext(const Context& expected, const Context& used, const char* what) {
  if (&expected != &used) requireSameContext(expected, used, std::string(what));
}

}  // namespace mlprt::cl
