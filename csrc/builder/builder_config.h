// What a build may do: memory limits, precision flags, optimization profiles, a timing cache.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "builder/optimization_profile.h"
#include "builder/timing_cache.h"

namespace mlprt::builder {

enum class BuilderFlag { kFP16 = 0, kTF32 = 1 };
enum class MemoryPoolType { kWORKSPACE = 0 };

class BuilderConfig {
 public:
  BuilderConfig();

  void setFlag(BuilderFlag flag) { flags_ |= bit(flag); }
  void clearFlag(BuilderFlag flag) { flags_ &= ~bit(flag); }
  bool flag(BuilderFlag flag) const noexcept { return (flags_ & bit(flag)) != 0; }

  // The scratch memory tactics may use; tactics that need more are not considered.
  void setMemoryPoolLimit(MemoryPoolType pool, std::uint64_t bytes);
  std::uint64_t memoryPoolLimit(MemoryPoolType pool) const noexcept;

  // Returns the new profile's index. The profile is copied: later changes to it do not count.
  int addOptimizationProfile(const OptimizationProfile& profile);
  const std::vector<OptimizationProfile>& profiles() const noexcept { return profiles_; }

  // The cache the build reads and extends (shared with the caller, as in TensorRT). Returns
  // false when `cache` belongs to another device and !ignore_mismatch.
  bool setTimingCache(std::shared_ptr<TimingCache> cache, bool ignore_mismatch);
  const std::shared_ptr<TimingCache>& timingCache() const noexcept { return timing_cache_; }

 private:
  static std::uint32_t bit(BuilderFlag flag) { return 1u << static_cast<unsigned>(flag); }

  std::uint32_t flags_ = 0;
  std::uint64_t workspace_limit_;
  std::vector<OptimizationProfile> profiles_;
  std::shared_ptr<TimingCache> timing_cache_;
};

}  // namespace mlprt::builder
