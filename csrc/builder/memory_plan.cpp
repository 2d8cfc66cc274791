#include "builder/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace mlprt::builder {
namespace {

bool livesOverlap(const Lifetime& a, const Lifetime& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

std::uint64_t appendAligned(std::vector<std::uint8_t>& blob, const std::uint8_t* data, std::size_t size) {
  const std::uint64_t offset = alignUp(blob.size());
  blob.resize(static_cast<std::size_t>(offset), 0);
  blob.insert(blob.end(), data, data + size);
  return offset;
}

MemoryPlan planMemory(const std::vector<Lifetime>& lifetimes, std::uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    throw InvalidArgument("memory plan alignment " + std::to_string(alignment) + " is not a power of two");
  }
  std::vector<std::size_t> order(lifetimes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return lifetimes[a].bytes > lifetimes[b].bytes; });

  MemoryPlan plan;
  plan.offsets.assign(lifetimes.size(), 0);
  std::vector<std::size_t> placed;
  for (std::size_t index : order) {
    const Lifetime& tensor = lifetimes[index];
    // Byte ranges already taken by tensors alive at the same time, by start.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> taken;
    for (std::size_t other : placed) {
      if (livesOverlap(tensor, lifetimes[other]) && lifetimes[other].bytes > 0) {
        taken.emplace_back(plan.offsets[other], plan.offsets[other] + lifetimes[other].bytes);
      }
    }
    std::sort(taken.begin(), taken.end());
    std::uint64_t offset = 0;
    for (const auto& [begin, end] : taken) {
      if (offset + tensor.bytes <= begin) break;  // fits in the gap before this range
      offset = std::max(offset, alignUp(end, alignment));
    }
    plan.offsets[index] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + tensor.bytes);
    placed.push_back(index);
  }
  plan.arena_bytes = alignUp(plan.arena_bytes, alignment);
  return plan;
}

}  // namespace mlprt::builder
