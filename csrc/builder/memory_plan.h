// Activation memory planning: tensors whose lifetimes do not overlap share bytes of one arena.
#pragma once

#include <cstdint>
#include <vector>

namespace mlprt::builder {

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
