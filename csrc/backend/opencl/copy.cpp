#include "backend/opencl/copy.h"

#include <string>

#include "core/error.h"

namespace mlprt::cl {
namespace {

void requireOnStream(const Stream& stream, const DeviceRange& range, const std::string& role) {
  requireSameContext(*stream.context(), *range.buffer->context(), role);
}

// Decides how a host transfer runs and keeps what it touches alive while it is in flight.
struct HostTransfer {
  std::shared_ptr<PinnedHostBuffer> pinned;
  bool blocking;

  HostTransfer(const void* host, std::size_t bytes, CopyMode mode)
      : pinned(mode == CopyMode::kAsync ? findPinned(host, bytes) : nullptr),
        blocking(mode == CopyMode::kBlocking || !pinned) {}

  // OpenCL itself keeps device buffers alive for queued commands, but not the host memory
  // behind a raw pointer: the stream holds the pinned buffer until the copy has run.
  void finish(Stream& stream, EventHandle event) {
    Event copied(std::move(event));
    stream.track(copied);
    if (!blocking) stream.holdUntilComplete(copied, pinned);
  }
};

// Device-only commands touch no host memory: track them, and wait if asked to.
void finishDeviceCommand(Stream& stream, EventHandle event, CopyMode mode) {
  Event done(std::move(event));
  stream.track(done);
  if (mode == CopyMode::kBlocking) done.wait();
}

}  // namespace

void copyHostToDevice(Stream& stream, const DeviceRange& destination, const void* source,
                      std::size_t bytes, CopyMode mode) {
  requireInside(destination, bytes, "copy destination");
  requireOnStream(stream, destination, "copy destination");
  if (bytes == 0) return;
  HostTransfer transfer(source, bytes, mode);
  EventHandle event;
  check(clEnqueueWriteBuffer(stream.queue(), destination.buffer->mem(),
                             transfer.blocking ? CL_TRUE : CL_FALSE, destination.offset, bytes,
                             source, 0, nullptr, event.replace()),
        "host-to-device copy of " + std::to_string(bytes) + " bytes");
  transfer.finish(stream, std::move(event));
}

void copyDeviceToHost(Stream& stream, void* destination, const DeviceRange& source,
                      std::size_t bytes, CopyMode mode) {
  requireInside(source, bytes, "copy source");
  requireOnStream(stream, source, "copy source");
  if (bytes == 0) return;
  HostTransfer transfer(destination, bytes, mode);
  EventHandle event;
  check(clEnqueueReadBuffer(stream.queue(), source.buffer->mem(),
                            transfer.blocking ? CL_TRUE : CL_FALSE, source.offset, bytes,
                            destination, 0, nullptr, event.replace()),
        "device-to-host copy of " + std::to_string(bytes) + " bytes");
  transfer.finish(stream, std::move(event));
}

void copyDeviceToDevice(Stream& stream, const DeviceRange& destination, const DeviceRange& source,
                        std::size_t bytes, CopyMode mode) {
  requireInside(destination, bytes, "copy destination");
  requireInside(source, bytes, "copy source");
  requireOnStream(stream, destination, "copy destination");
  requireOnStream(stream, source, "copy source");
  if (bytes == 0) return;
  if (destination.buffer == source.buffer &&
      destination.offset < source.offset + bytes && source.offset < destination.offset + bytes) {
    throw InvalidArgument("device-to-device copy: source and destination ranges overlap");
  }
  EventHandle event;
  check(clEnqueueCopyBuffer(stream.queue(), source.buffer->mem(), destination.buffer->mem(),
                            source.offset, destination.offset, bytes, 0, nullptr, event.replace()),
        "device-to-device copy of " + std::to_string(bytes) + " bytes");
  finishDeviceCommand(stream, std::move(event), mode);
}

void fillDevice(Stream& stream, const DeviceRange& destination, const void* pattern,
                std::size_t pattern_size, std::size_t bytes, CopyMode mode) {
  requireInside(destination, bytes, "fill destination");
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
  EventHandle event;
  check(clEnqueueFillBuffer(stream.queue(), destination.buffer->mem(), pattern, pattern_size,
                            destination.offset, bytes, 0, nullptr, event.replace()),
        "device fill of " + std::to_string(bytes) + " bytes");
  finishDeviceCommand(stream, std::move(event), mode);
}

}  // namespace mlprt::cl
