#include "builder/builder_config.h"

#include <cstdlib>
#include <string>

#include "backend/opencl/context.h"
#include "core/error.h"

namespace mlprt::builder {

namespace {

std::uint32_t defaultTacticSources(const cl::DeviceInfo& device) {
  const std::uint32_t library = tacticSourceBit(TacticSource::kCUBLAS) | tacticSourceBit(TacticSource::kCUBLAS_LT);
  return device.type == cl::DeviceType::kCPU ? kAllTacticSources & ~library : kAllTacticSources;
}

}  // namespace

BuilderConfig::BuilderConfig()
    // TensorRT's default: the device's global memory.
    : workspace_limit_(cl::Context::currentDevice().global_memory),
      tactic_sources_(defaultTacticSources(cl::Context::currentDevice())) {}

bool BuilderConfig::setTacticSources(std::uint32_t sources) {
  if ((sources & ~kAllTacticSources) != 0) return false;
  tactic_sources_ = sources;
  return true;
}

void BuilderConfig::setAvgTimingIterations(int iterations) {
  if (iterations < 0) {
    throw InvalidArgument("avg_timing_iterations is " + std::to_string(iterations) + "; it takes 0 (as many runs as "
                          "fit the timing budget) or more");
  }
  avg_timing_iterations_ = iterations;
}

void BuilderConfig::setBuilderOptimizationLevel(int level) {
  if (level < 0) {
    throw InvalidArgument("builder_optimization_level is " + std::to_string(level) + "; it takes 0 to 5 (0-2 time " +
                          "tactics at the first profile's opt shapes only, 3-5 across the profiles)");
  }
  builder_optimization_level_ = level;
}

int BuilderConfig::timingIterations() const {
  if (avg_timing_iterations_ > 0) return avg_timing_iterations_;
  const char* setting = std::getenv("MLPRT_TIMING_ITERATIONS");
  if (!setting || !*setting) return 0;
  const std::string text = setting;
  std::size_t used = 0;
  int iterations = -1;
  try {
    iterations = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || iterations < 0) {
    throw InvalidArgument("MLPRT_TIMING_ITERATIONS is '" + text + "'; it takes a whole number of timed runs, 0 or more");
  }
  return iterations;
}

void BuilderConfig::setMemoryPoolLimit(MemoryPoolType, std::uint64_t bytes) { workspace_limit_ = bytes; }

std::uint64_t BuilderConfig::memoryPoolLimit(MemoryPoolType) const noexcept { return workspace_limit_; }

int BuilderConfig::addOptimizationProfile(const OptimizationProfile& profile) {
  profiles_.push_back(profile);
  return static_cast<int>(profiles_.size()) - 1;
}

bool BuilderConfig::setTimingCache(std::shared_ptr<TimingCache> cache, bool ignore_mismatch) {
  if (cache && !ignore_mismatch && !cache->matchesOrAdopt(cl::Context::currentDevice().fingerprint())) {
    return false;
  }
  timing_cache_ = std::move(cache);
  return true;
}

}  // namespace mlprt::builder
