// The builder's choice for chains of dense layers (plan level): each chain that mlp_fusion.h finds
// is timed as its own steps and as the FusedMLP kernel's variants, and replaced by the fused step
// where that is faster; for a dynamic profile, the fused step may keep tactics per range of sizes
// (fused kernels at some, the chain's products at others).
#pragma once

#include <map>
#include <string>

#include "builder/scratch_run.h"
#include "builder/timing_cache.h"
#include "engine/plan.h"

namespace mlprt::builder {

// The fused kernel's variants timed for one chain: the fastest, and every variant's time as text
// (" fused_mlp_r1=0.0137ms ...", for the build log).
struct FusedTimings {
  TimingEntry best;
  std::string text;
};

// What fuseMlpChainsBeforeTactics did: chains fused, and the fused variants it timed for the
// chains it left (by the fused step's name), which fuseMlpChains does not time again.
struct EarlyMlpChoice {
  int fused = 0;
  std::map<std::string, FusedTimings> timed;
};

// Before tactic choice, at static shapes (one timing point): the tutorial MLP's FP16 build compiled
// 11 programs of candidates for its chain's two products, whose steps the fused kernel then beat
// 2.8 times (13 against 36 us; 19 programs, 5.8-6.5 s on an H100, issue 16 run 34). No run of k
// kernels takes less than k launches of a kernel that does nothing (launchFloorMilliseconds), and
// the chain's own steps launch at least one kernel per product and per cast: where they launch two
// or more and a fused variant is faster than that bound, the chain is fused now, and its
// products' candidates are neither compiled nor timed. The choice goes into the timing cache.
// Dynamic profiles are left to fuseMlpChains (their ranges may run the products at some sizes).
EarlyMlpChoice fuseMlpChainsBeforeTactics(engine::EnginePlan& plan, BuildDevice& device, TimingCache* cache);

// After tactic choice (the chain's steps have their tactics): replaces each chain of dense layers
// by one FusedMLP step where that is faster. Returns how many chains were fused.
int fuseMlpChains(engine::EnginePlan& plan, BuildDevice& device, TimingCache* cache, const EarlyMlpChoice& early);

// Tests: the launch floor fuseMlpChainsBeforeTactics uses, in milliseconds, instead of measuring
// it (a negative value: measure).
void setLaunchFloorForTesting(double milliseconds);

}  // namespace mlprt::builder
