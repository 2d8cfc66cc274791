#include "backend/opencl/copy.h"

#include <string>

#include "core/error.h"

namespace mlprt::cl {
namespace {

// The checks and status messages of the copies run for every copy: their messages are built only
// on failure.
void requireOnStream(const Stream& stream, const DeviceRange& range, const char* role) {
  requireSameContext(*stream.context(), *range.buffer->context(), role);
}

void requireInsideRange(const DeviceRange& range, std::size_t bytes, const char* role) {
  if (!holds(range, bytes)) requireInside(range, bytes, role);  // throws, saying which
}

void checkCopy(cl_int status, const char* what, std::size_t bytes) {
  if (status != CL_SUCCESS) check(status, std::string(what) + " of " + std::to_string(bytes) + " bytes");
}

// Decides how a host transfer runs and keeps what it touches alive while it is in flight.
// Asynchronous copies from or to pinned memory: the stream holds the pinned buffer until the
// queued work has run. No event is asked for (events cost time on profiling queues).
struct HostTransfer {
  std::shared_ptr<PinnedHostBuffer> pinned;
  bool blocking;

  HostTransfer(const void* host, std::size_t bytes, CopyMode mode)
      : pinned(mode == CopyMode::kAsync ? findPinned(host, bytes) : nullptr),
        blocking(mode == CopyMode::kBlocking || !pinned) {}

  cl_bool blockingFlag() const { return blocking ? CL_TRUE : CL_FALSE; }

  // OpenCL itself keeps device buffers alive for queued commands, but not the host memory
  // behind a raw pointer.
  void finish(Stream& stream) {
    if (blocking) {
      stream.trackUntracked();
      return;
    }
    stream.holdUntilQueuedWorkRan(pinned);
  }
};

// Device-only commands touch no host memory. A blocking one waits for the queue: on an in-order
// queue that is the same as waiting for the command itself.
void finishDeviceCommand(Stream& stream, CopyMode mode) {
  stream.trackUntracked();
  if (mode == CopyMode::kBlocking) check(clFinish(stream.queue()), "waiting for a device copy");
}

}  // namespace

void copyHostToDevice(Stream& stream, const DeviceRange& destination, const void* source,
                      std::size_t bytes, CopyMode mode) {
  requireInsideRange(destination, bytes, "copy destination");
  requireOnStream(stream, destination, "copy destination");
  if (bytes == 0) return;
  HostTransfer transfer(source, bytes, mode);
  checkCopy(clEnqueueWriteBuffer(stream.queue(), destination.buffer->mem(), transfer.blockingFlag(),
                             destination.offset, bytes, source, 0, nullptr, nullptr),
            "host-to-device copy", bytes);
  transfer.finish(stream);
}

void copyDeviceToHost(Stream& stream, void* destination, const DeviceRange& source,
                      std::size_t bytes, CopyMode mode) {
  requireInsideRange(source, bytes, "copy source");
  requireOnStream(stream, source, "copy source");
  if (bytes == 0) return;
  HostTransfer transfer(destination, bytes, mode);
  checkCopy(clEnqueueReadBuffer(stream.queue(), source.buffer->mem(), transfer.blockingFlag(),
                            source.offset, bytes, destination, 0, nullptr, nullptr),
            "device-to-host copy", bytes);
  transfer.finish(stream);
}

void copyDeviceToDevice(Stream& stream, const DeviceRange& destination, const DeviceRange& source,
                        std::size_t bytes, CopyMode mode) {
  requireInsideRange(destination, bytes, "copy destination");
  requireInsideRange(source, bytes, "copy source");
  requireOnStream(stream, destination, "copy destination");
  requireOnStream(stream, source, "copy source");
  if (bytes == 0) return;
  if (destination.buffer == source.buffer &&
      destination.offset < source.offset + bytes && source.offset < destination.offset + bytes) {
    throw InvalidArgument("device-to-device copy: source and destination ranges overlap");
  }
  checkCopy(clEnqueueCopyBuffer(stream.queue(), source.buffer->mem(), destination.buffer->mem(),
                            source.offset, destination.offset, bytes, 0, nullptr, nullptr),
            "device-to-device copy", bytes);
  finishDeviceCommand(stream, mode);
}

void fillDevice(Stream& stream, const DeviceRange& destination, const void* pattern,
                std::size_t pattern_size, std::size_t bytes, CopyMode mode) {
  requireInsideRange(destination, bytes, "fill destination");
  requireOnStream(stream, destination, "fill destination");
  if (pattern_size != 1 && pattern_size != 2 && pattern_size != 4) {
    throw InvalidArgument("fill pattern must be 1, 2 or 4 bytes, not " + std::to_string(pattern_size));
  }
  if (bytes % pattern_size != 0 || destination.offset % pattern_size != 0) {
    throw InvalidArgument("fill of " + std::to_string(bytes) + " bytes at offset " +
                          std::to_string(destination.offset) + " is not a multiple of the " +
                          std::to_string(pattern_size) + "-byte pattern");
  }
  if (bytes == 0) return;
  checkCopy(clEnqueueFillBuffer(stream.queue(), destination.buffer->mem(), pattern, pattern_size,
                            destination.offset, bytes, 0, nullptr, nullptr),
            "device fill", bytes);
  finishDeviceCommand(stream, mode);
}

}  // namespace mlprt::cl
