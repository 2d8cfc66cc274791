// Device buffers and pinned host buffers.
//
// OpenCL 1.2 has no device pointers, but TensorRT-style code passes device memory around as
// integers. Every DeviceBuffer therefore gets a range in a process-wide virtual address space
// above user-space addresses; `resolveDeviceAddress` maps an integer (base plus any offset) back
// to its buffer, and refuses addresses of freed or unknown allocations.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/opencl/context.h"
#include "backend/opencl/handle.h"

namespace mlprt::cl {

class DeviceBuffer {
 public:
  // Allocates `bytes` of device memory (0 allowed). Throws OutOfMemory when the device cannot.
  static std::shared_ptr<DeviceBuffer> allocate(std::shared_ptr<Context> context, std::size_t bytes);

  DeviceBuffer(std::shared_ptr<Context> context, std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::size_t size() const noexcept { return size_; }
  std::uint64_t address() const noexcept { return address_; }
  const std::shared_ptr<Context>& context() const noexcept { return context_; }
  bool freed() const noexcept { return !mem_; }
  // The OpenCL buffer; throws InvalidArgument once the buffer has been freed.
  cl_mem mem() const;
  // Releases the memory now; the address stops resolving. Commands already queued finish first
  // (OpenCL keeps the buffer until they have).
  void free();

 private:
  std::shared_ptr<Context> context_;
  std::size_t size_;
  std::uint64_t address_;
  MemHandle mem_;
};

// A byte range inside a device buffer.
struct DeviceRange {
  std::shared_ptr<DeviceBuffer> buffer;
  std::size_t offset = 0;
};

// The buffer and offset that a device address names, checked to hold `bytes` bytes from there.
// `role` names the address in errors, e.g. "destination".
DeviceRange resolveDeviceAddress(std::uint64_t address, std::size_t bytes, const std::string& role);
// The same without an error message: an empty range when resolveDeviceAddress would throw (for
// per-call checks, which build their message only on failure).
DeviceRange findDeviceRange(std::uint64_t address, std::size_t bytes);

// Checks that [offset, offset + bytes) lies inside `range.buffer`; throws InvalidArgument if not.
void requireInside(const DeviceRange& range, std::size_t bytes, const std::string& role);
// Whether requireInside would pass: a live buffer holding those bytes (for hot paths, which
// build requireInside's message only on failure).
bool holds(const DeviceRange& range, std::size_t bytes) noexcept;

// Device buffers and pinned host buffers allocated through mlprt and not freed yet, in this
// process (sizes as requested): what leak and soak tests watch.
struct LiveAllocations {
  std::uint64_t device_buffers = 0;
  std::uint64_t device_bytes = 0;
  std::uint64_t pinned_buffers = 0;
  std::uint64_t pinned_bytes = 0;
};
LiveAllocations liveAllocations();

// Host memory allocated by the OpenCL driver (CL_MEM_ALLOC_HOST_PTR) and mapped once for the
// buffer's lifetime, so that transfers from and to it run at full DMA speed and asynchronously.
class PinnedHostBuffer {
 public:
  static std::shared_ptr<PinnedHostBuffer> allocate(std::shared_ptr<Context> context,
                                                    std::size_t bytes);

  PinnedHostBuffer(std::shared_ptr<Context> context, std::size_t bytes);
  ~PinnedHostBuffer();
  PinnedHostBuffer(const PinnedHostBuffer&) = delete;
  PinnedHostBuffer& operator=(const PinnedHostBuffer&) = delete;

  void* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  const std::shared_ptr<Context>& context() const noexcept { return context_; }

 private:
  std::shared_ptr<Context> context_;
  std::size_t size_;
  MemHandle mem_;
  QueueHandle map_queue_;  // the queue the buffer was mapped on, kept for the final unmap
  void* data_ = nullptr;
};

// The live pinned buffer that holds all of [data, data + bytes), or null for pageable memory.
std::shared_ptr<PinnedHostBuffer> findPinned(const void* data, std::size_t bytes);

// A byte range inside a pinned host buffer.
struct HostRange {
  std::shared_ptr<PinnedHostBuffer> buffer;
  std::size_t offset = 0;

  void* data() const noexcept { return static_cast<unsigned char*>(buffer->data()) + offset; }
  // The range's start as a 64-bit address: what kernels that read pinned memory directly take.
  std::uint64_t address() const noexcept { return reinterpret_cast<std::uintptr_t>(data()); }
};

// True when `address` lies in the range mlprt gives device allocations (so it is not a host
// pointer); the two never overlap.
bool isDeviceAddress(std::uint64_t address) noexcept;

}  // namespace mlprt::cl
