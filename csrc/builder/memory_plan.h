// Activation memory planning: tensors whose lifetimes do not overlap share bytes of one arena.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mlprt::builder {

// Where tensors start in the activation arena and in the weight bytes: a multiple of every
// device's base address alignment we met, and of every vector width the kernels load.
constexpr std::uint64_t kTensorAlignment = 256;

// `value` rounded up to a multiple of `alignment` (a power of two).
constexpr std::uint64_t alignUp(std::uint64_t value, std::uint64_t alignment = kTensorAlignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// Appends `size` bytes at the next kTensorAlignment offset of `blob` (zero padding before
// them); returns that offset.
std::uint64_t appendAligned(std::vector<std::uint8_t>& blob, const std::uint8_t* data, std::size_t size);

// A tensor's need: `bytes` from the step that writes it (`first`) to the last step that reads it.
struct Lifetime {
  std::uint64_t bytes = 0;
  int first = 0;
  int last = 0;
};

struct MemoryPlan {
  std::vector<std::uint64_t> offsets;  // one per Lifetime, multiples of the alignment
  std::uint64_t arena_bytes = 0;
};

// Places each tensor at the lowest aligned offset that overlaps no tensor alive at the same time,
// largest tensors first. `alignment` must be a power of two.
MemoryPlan planMemory(const std::vector<Lifetime>& lifetimes, std::uint64_t alignment);

}  // namespace mlprt::builder
