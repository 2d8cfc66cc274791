// Copies between host memory and device buffers on a stream.
//
// Asynchronous copies are truly asynchronous only for pinned host memory (PinnedHostBuffer):
// the stream keeps the pinned buffer alive until the copy has run. Pageable host memory, which
// the caller may reuse as soon as the call returns, is copied synchronously, as CUDA does.
#pragma once

#include <cstddef>

#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"

namespace mlprt::cl {

enum class CopyMode { kAsync, kBlocking };

void copyHostToDevice(Stream& stream, const DeviceRange& destination, const void* source,
                      std::size_t bytes, CopyMode mode);
void copyDeviceToHost(Stream& stream, void* destination, const DeviceRange& source,
                      std::size_t bytes, CopyMode mode);
void copyDeviceToDevice(Stream& stream, const DeviceRange& destination, const DeviceRange& source,
                        std::size_t bytes, CopyMode mode);
// Sets `bytes` bytes to repetitions of the `pattern_size`-byte pattern (1, 2 or 4 bytes).
void fillDevice(Stream& stream, const DeviceRange& destination, const void* pattern,
                std::size_t pattern_size, std::size_t bytes, CopyMode mode);

}  // namespace mlprt::cl
