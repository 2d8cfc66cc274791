// What a build may do: memory limits, precision flags, optimization profiles, a timing cache.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "builder/optimization_profile.h"
#include "builder/timing_cache.h"

namespace mlprt::builder {

// TensorRT 10's builder flags, numbered as TensorRT 10 numbers them (scripts write masks as
// 1 << int(flag)), and TensorRT 7/8's STRICT_TYPES. What each does in mlprt: builderFlagRefusal and
// BuilderConfig::setFlag.
enum class BuilderFlag {
  kFP16 = 0,
  kINT8 = 1,
  kDEBUG = 2,
  kGPU_FALLBACK = 3,
  kREFIT = 4,
  kDISABLE_TIMING_CACHE = 5,
  kTF32 = 6,
  kSPARSE_WEIGHTS = 7,
  kSAFETY_SCOPE = 8,
  kOBEY_PRECISION_CONSTRAINTS = 9,
  kPREFER_PRECISION_CONSTRAINTS = 10,
  kDIRECT_IO = 11,
  kREJECT_EMPTY_ALGORITHMS = 12,
  kVERSION_COMPATIBLE = 13,
  kEXCLUDE_LEAN_RUNTIME = 14,
  kFP8 = 15,
  kERROR_ON_TIMING_CACHE_MISS = 16,
  kBF16 = 17,
  kDISABLE_COMPILATION_CACHE = 18,
  kSTRIP_PLAN = 19,
  kREFIT_IDENTICAL = 20,
  kWEIGHT_STREAMING = 21,
  kINT4 = 22,
  kSTRICT_TYPES = 30,  // TensorRT 7 and 8; removed in 10 (its bit is mlprt's own)
};
// The flag's name as Python spells it ("FP16"); "" for a value that names no flag.
const char* builderFlagName(BuilderFlag flag) noexcept;
// Why mlprt cannot build what `flag` asks for (REFIT: a refittable engine, ...); "" for the flags it
// takes.
std::string builderFlagRefusal(BuilderFlag flag);
enum class MemoryPoolType { kWORKSPACE = 0 };
// TensorRT's settings that mlprt takes only at the values its engines already meet (numbered as
// TensorRT numbers them): every engine keeps each layer's details for the inspector (DETAILED;
// LAYER_NAMES_ONLY is taken, the details stay; NONE, which would strip the names, is refused), runs
// on the GPU (or CPU) it was built for, in the standard flow, on its context's one stream.
enum class ProfilingVerbosity { kLAYER_NAMES_ONLY = 0, kNONE = 1, kDETAILED = 2 };
enum class EngineCapability { kSTANDARD = 0, kSAFETY = 1, kDLA_STANDALONE = 2 };
enum class HardwareCompatibilityLevel { kNONE = 0, kAMPERE_PLUS = 1, kSAME_COMPUTE_CAPABILITY = 2 };
enum class DeviceType { kGPU = 0, kDLA = 1 };
// TensorRT's tactic sources, as bits of a mask. mlprt's own kernels are always candidates; CUBLAS
// and CUBLAS_LT stand for the vendor library, CLBlast (its FLOAT products); the other sources name
// TensorRT's kernel families, which mlprt's own kernels stand in for, and change nothing.
enum class TacticSource {
  kCUBLAS = 0,
  kCUBLAS_LT = 1,
  kCUDNN = 2,
  kEDGE_MASK_CONVOLUTIONS = 3,
  kJIT_CONVOLUTIONS = 4,
};
constexpr std::uint32_t kAllTacticSources = (1u << 5) - 1;
constexpr std::uint32_t tacticSourceBit(TacticSource source) { return 1u << static_cast<unsigned>(source); }

class BuilderConfig {
 public:
  BuilderConfig();

  // Throws InvalidArgument, the config unchanged, for a flag mlprt cannot honour
  // (builderFlagRefusal); warns for precisions it has no kernels for (INT8, FP8, BF16, INT4: like
  // TensorRT's flags, they allow and do not require).
  void setFlag(BuilderFlag flag);
  void clearFlag(BuilderFlag flag) { flags_ &= ~bit(flag); }
  bool flag(BuilderFlag flag) const noexcept { return (flags_ & bit(flag)) != 0; }
  // Every flag at once, as a mask of 1 << flag (TensorRT's `flags`); the same refusals as setFlag,
  // and for bits that name no flag, before anything changes.
  void setFlags(std::uint32_t flags);
  std::uint32_t flags() const noexcept { return flags_; }

  // The scratch memory tactics may use; tactics that need more are not considered.
  void setMemoryPoolLimit(MemoryPoolType pool, std::uint64_t bytes);
  std::uint64_t memoryPoolLimit(MemoryPoolType pool) const noexcept;

  // Which tactic sources the build may use (a mask of TacticSource bits). The default leaves CLBlast
  // out on CPU devices, where compiling its kernels is most of a cold build (bench/RESULTS.md, PoCL
  // cold build 3) and its products win by little, and in on the others. False (and no change) for
  // bits that name no source.
  bool setTacticSources(std::uint32_t sources);
  std::uint32_t tacticSources() const noexcept { return tactic_sources_; }
  // Whether CLBlast's products are candidates: CUBLAS or CUBLAS_LT is among the sources.
  bool libraryTacticsAllowed() const noexcept {
    return (tactic_sources_ & (tacticSourceBit(TacticSource::kCUBLAS) | tacticSourceBit(TacticSource::kCUBLAS_LT))) != 0;
  }

  // Timed runs averaged per candidate tactic (TensorRT's avg_timing_iterations); 0, the default:
  // as many as fit the timing budget (tactic_timing.h), unless MLPRT_TIMING_ITERATIONS names a
  // number (timingIterations). Throws InvalidArgument below 0.
  void setAvgTimingIterations(int iterations);
  int avgTimingIterations() const noexcept { return avg_timing_iterations_; }
  // The runs a build of this config times: avgTimingIterations() when set, else
  // MLPRT_TIMING_ITERATIONS (a whole number >= 0; anything else throws InvalidArgument naming it),
  // else 0 (as many as fit the budget).
  int timingIterations() const;

  // TensorRT's builder optimization level (0 to 5, 3 by default; more than 5 acts as 5). From 3 up,
  // tactics are timed at every timing point of the profiles (tactic_choice.h: timingPoints), so a
  // dynamic engine may switch tactics by shape; below 3, at the first profile's opt shapes only:
  // one tactic per step across the profile, as TensorRT's engines have, and a faster build (the
  // tutorial MLP's 1 / 64 / 256 profile on PoCL, every cache empty: 7 timed choices and 12 programs
  // in 11.5-14.3 s at 3, 1 and 10 in 9.7-11.7 s at 1). Throws InvalidArgument below 0.
  void setBuilderOptimizationLevel(int level);
  int builderOptimizationLevel() const noexcept { return builder_optimization_level_; }
  // Whether tactics are timed across the profiles (level 3 and up) or at opt only.
  bool timesAcrossProfiles() const noexcept { return builder_optimization_level_ >= kFullTimingLevel; }
  static constexpr int kFullTimingLevel = 3;

  // The TensorRT settings above: each setter throws InvalidArgument, naming the setting and why,
  // for a value mlprt's engines cannot meet, and keeps the value it takes.
  void setProfilingVerbosity(ProfilingVerbosity verbosity);
  ProfilingVerbosity profilingVerbosity() const noexcept { return profiling_verbosity_; }
  void setEngineCapability(EngineCapability capability);
  EngineCapability engineCapability() const noexcept { return EngineCapability::kSTANDARD; }
  void setHardwareCompatibilityLevel(HardwareCompatibilityLevel level);
  HardwareCompatibilityLevel hardwareCompatibilityLevel() const noexcept { return HardwareCompatibilityLevel::kNONE; }
  void setDefaultDeviceType(DeviceType type);
  DeviceType defaultDeviceType() const noexcept { return DeviceType::kGPU; }
  // -1 (no DLA core), the only value: mlprt has no DLA.
  void setDlaCore(int core);
  int dlaCore() const noexcept { return -1; }
  // Auxiliary streams the engine may use beside the context's (-1: the builder decides, the
  // default). mlprt's engines run every layer on the context's stream, within any limit; below -1
  // throws InvalidArgument.
  void setMaxAuxStreams(int streams);
  int maxAuxStreams() const noexcept { return max_aux_streams_; }

  // Returns the new profile's index. The profile is copied: later changes to it do not count.
  int addOptimizationProfile(const OptimizationProfile& profile);
  const std::vector<OptimizationProfile>& profiles() const noexcept { return profiles_; }

  // The cache the build reads and extends (shared with the caller, as in TensorRT). Returns
  // false when `cache` belongs to another device and !ignore_mismatch.
  bool setTimingCache(std::shared_ptr<TimingCache> cache, bool ignore_mismatch);
  const std::shared_ptr<TimingCache>& timingCache() const noexcept { return timing_cache_; }

 private:
  // 0 for a value past the mask (BuilderFlag(40) from Python): no flag has it.
  static std::uint32_t bit(BuilderFlag flag) {
    const auto position = static_cast<unsigned>(flag);
    return position < 32 ? 1u << position : 0u;
  }

  std::uint32_t flags_ = 0;
  std::uint64_t workspace_limit_;
  std::uint32_t tactic_sources_;
  int avg_timing_iterations_ = 0;
  int builder_optimization_level_ = kFullTimingLevel;
  ProfilingVerbosity profiling_verbosity_ = ProfilingVerbosity::kDETAILED;
  int max_aux_streams_ = -1;
  std::vector<OptimizationProfile> profiles_;
  std::shared_ptr<TimingCache> timing_cache_;
};

}  // namespace mlprt::builder
