#include "builder/builder_config.h"

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <utility>

#include "backend/opencl/context.h"
#include "core/error.h"
#include "core/logging.h"

namespace mlprt::builder {

namespace {

std::uint32_t defaultTacticSources(const cl::DeviceInfo& device) {
  const std::uint32_t library = tacticSourceBit(TacticSource::kCUBLAS) | tacticSourceBit(TacticSource::kCUBLAS_LT);
  return device.type == cl::DeviceType::kCPU ? kAllTacticSources & ~library : kAllTacticSources;
}

struct FlagInfo {
  BuilderFlag flag;
  const char* name;
  const char* refusal;              // nullptr: taken
  bool without_kernels = false;     // a precision mlprt has no kernels for: taken with a warning
};

// Taken: FP16 and TF32 (what they say); DISABLE_TIMING_CACHE (the build neither reads nor extends
// a timing cache, so no layer takes another's timing); the precision constraints and STRICT_TYPES
// (mlprt's layers carry no precision of their own to obey); GPU_FALLBACK (no DLA: no layer falls
// back), SPARSE_WEIGHTS (a permission; no tactic needs sparse weights), REJECT_EMPTY_ALGORITHMS
// (no algorithm selector); INT8, FP8, BF16 and INT4 with a warning (permissions, no kernels).
const FlagInfo kFlags[] = {
    {BuilderFlag::kFP16, "FP16", nullptr},
    {BuilderFlag::kINT8, "INT8", nullptr, true},
    {BuilderFlag::kDEBUG, "DEBUG",
     "mlprt has no debug mode that synchronizes after every layer (IProfiler times each layer)"},
    {BuilderFlag::kGPU_FALLBACK, "GPU_FALLBACK", nullptr},
    {BuilderFlag::kREFIT, "REFIT", "mlprt engines cannot be refitted (there is no Refitter); rebuild instead"},
    {BuilderFlag::kDISABLE_TIMING_CACHE, "DISABLE_TIMING_CACHE", nullptr},
    {BuilderFlag::kTF32, "TF32", nullptr},
    {BuilderFlag::kSPARSE_WEIGHTS, "SPARSE_WEIGHTS", nullptr},
    {BuilderFlag::kSAFETY_SCOPE, "SAFETY_SCOPE", "mlprt has no safety-certified engine flow"},
    {BuilderFlag::kOBEY_PRECISION_CONSTRAINTS, "OBEY_PRECISION_CONSTRAINTS", nullptr},
    {BuilderFlag::kPREFER_PRECISION_CONSTRAINTS, "PREFER_PRECISION_CONSTRAINTS", nullptr},
    {BuilderFlag::kDIRECT_IO, "DIRECT_IO",
     "mlprt cannot promise no reformat at the network's inputs and outputs (FP16 engines cast FP32 I/O)"},
    {BuilderFlag::kREJECT_EMPTY_ALGORITHMS, "REJECT_EMPTY_ALGORITHMS", nullptr},
    {BuilderFlag::kVERSION_COMPATIBLE, "VERSION_COMPATIBLE",
     "mlprt engines load only in the mlprt version that built them"},
    {BuilderFlag::kEXCLUDE_LEAN_RUNTIME, "EXCLUDE_LEAN_RUNTIME", "mlprt has no lean runtime (nor VERSION_COMPATIBLE)"},
    {BuilderFlag::kFP8, "FP8", nullptr, true},
    {BuilderFlag::kERROR_ON_TIMING_CACHE_MISS, "ERROR_ON_TIMING_CACHE_MISS",
     "mlprt's builder cannot fail on a timing-cache miss"},
    {BuilderFlag::kBF16, "BF16", nullptr, true},
    {BuilderFlag::kDISABLE_COMPILATION_CACHE, "DISABLE_COMPILATION_CACHE",
     "mlprt's builds always use the program cache (MLPRT_CACHE_DIR names where)"},
    {BuilderFlag::kSTRIP_PLAN, "STRIP_PLAN",
     "mlprt engines always hold their weights (there is no refit to put them back)"},
    {BuilderFlag::kREFIT_IDENTICAL, "REFIT_IDENTICAL", "mlprt engines cannot be refitted (there is no Refitter)"},
    {BuilderFlag::kWEIGHT_STREAMING, "WEIGHT_STREAMING", "mlprt keeps every weight in device memory"},
    {BuilderFlag::kINT4, "INT4", nullptr, true},
    {BuilderFlag::kSTRICT_TYPES, "STRICT_TYPES", nullptr},
};

const FlagInfo* flagInfo(BuilderFlag flag) noexcept {
  for (const FlagInfo& info : kFlags) {
    if (info.flag == flag) return &info;
  }
  return nullptr;
}

void requireTaken(BuilderFlag flag) {
  const std::string refusal = builderFlagRefusal(flag);
  if (refusal.empty()) return;
  const std::string name = *builderFlagName(flag) ? std::string("BuilderFlag.") + builderFlagName(flag)
                                                  : "BuilderFlag " + std::to_string(static_cast<int>(flag));
  throw InvalidArgument(name + ": " + refusal);
}

void warnWithoutKernels(BuilderFlag flag) {
  const FlagInfo* info = flagInfo(flag);
  if (!info || !info->without_kernels) return;
  log(Severity::kWARNING, std::string("BuilderFlag.") + builderFlagName(flag) + " allows " + builderFlagName(flag) +
                              " layers, for which mlprt has no kernels: the build uses FP32 (FP16 where "
                              "BuilderFlag.FP16 is set)");
}

// An enumerator's name among `names`, else its number.
template <typename Enum>
std::string valueName(Enum value, std::initializer_list<std::pair<Enum, const char*>> names) {
  for (const auto& [known, name] : names) {
    if (known == value) return name;
  }
  return std::to_string(static_cast<int>(value));
}

}  // namespace

const char* builderFlagName(BuilderFlag flag) noexcept {
  const FlagInfo* info = flagInfo(flag);
  return info ? info->name : "";
}

std::string builderFlagRefusal(BuilderFlag flag) {
  const FlagInfo* info = flagInfo(flag);
  if (!info) return "it names no flag";
  return info->refusal ? info->refusal : "";
}

void BuilderConfig::setFlag(BuilderFlag flag) {
  requireTaken(flag);
  if (!this->flag(flag)) warnWithoutKernels(flag);
  flags_ |= bit(flag);
}

void BuilderConfig::setFlags(std::uint32_t flags) {
  for (unsigned position = 0; position < 32; ++position) {
    if ((flags >> position & 1u) == 0) continue;
    const auto flag = static_cast<BuilderFlag>(position);
    if (!flagInfo(flag)) {
      throw InvalidArgument("flags: bit " + std::to_string(position) + " (1 << " + std::to_string(position) +
                            ") names no BuilderFlag");
    }
    requireTaken(flag);
  }
  for (const FlagInfo& info : kFlags) {
    if ((flags & bit(info.flag)) != 0 && !flag(info.flag)) warnWithoutKernels(info.flag);
  }
  flags_ = flags;
}

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

void BuilderConfig::setProfilingVerbosity(ProfilingVerbosity verbosity) {
  if (verbosity == ProfilingVerbosity::kNONE) {
    throw InvalidArgument("profiling_verbosity NONE: mlprt engines always keep every layer's name and details "
                          "for the inspector (DETAILED)");
  }
  if (verbosity != ProfilingVerbosity::kLAYER_NAMES_ONLY && verbosity != ProfilingVerbosity::kDETAILED) {
    throw InvalidArgument("profiling_verbosity " + std::to_string(static_cast<int>(verbosity)) +
                          " names no ProfilingVerbosity");
  }
  profiling_verbosity_ = verbosity;
}

void BuilderConfig::setEngineCapability(EngineCapability capability) {
  if (capability != EngineCapability::kSTANDARD) {
    throw InvalidArgument("engine_capability " +
                          valueName(capability, {{EngineCapability::kSAFETY, "SAFETY"},
                                                 {EngineCapability::kDLA_STANDALONE, "DLA_STANDALONE"}}) +
                          ": mlprt builds engines of the standard flow only (EngineCapability.STANDARD)");
  }
}

void BuilderConfig::setHardwareCompatibilityLevel(HardwareCompatibilityLevel level) {
  if (level != HardwareCompatibilityLevel::kNONE) {
    throw InvalidArgument("hardware_compatibility_level " +
                          valueName(level, {{HardwareCompatibilityLevel::kAMPERE_PLUS, "AMPERE_PLUS"},
                                            {HardwareCompatibilityLevel::kSAME_COMPUTE_CAPABILITY,
                                             "SAME_COMPUTE_CAPABILITY"}}) +
                          ": mlprt engines run only on the device they were built for "
                          "(HardwareCompatibilityLevel.NONE)");
  }
}

void BuilderConfig::setDefaultDeviceType(DeviceType type) {
  if (type != DeviceType::kGPU) {
    throw InvalidArgument("default_device_type " + valueName(type, {{DeviceType::kDLA, "DLA"}}) +
                          ": mlprt has no DLA; its layers run on the OpenCL device (DeviceType.GPU)");
  }
}

void BuilderConfig::setDlaCore(int core) {
  if (core != -1) {
    throw InvalidArgument("DLA_core " + std::to_string(core) + ": mlprt has no DLA (the only value is -1)");
  }
}

void BuilderConfig::setMaxAuxStreams(int streams) {
  if (streams < -1) {
    throw InvalidArgument("max_aux_streams is " + std::to_string(streams) +
                          "; it takes -1 (the builder decides) or 0 and more");
  }
  max_aux_streams_ = streams;
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
