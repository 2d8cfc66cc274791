// The builder's choice for chains of dense layers (plan level): each chain that mlp_fusion.h finds
// is timed as its own steps and as the FusedMLP kernel's variants, and replaced by the fused step
// where that is faster; for a dynamic profile, the fused step may keep tactics per range of sizes
// (fused kernels at some, the chain's products at others).
#pragma once

#include "builder/scratch_run.h"
#include "builder/timing_cache.h"
#include "engine/plan.h"

namespace mlprt::builder {

// After tactic choice (the chain's steps have their tactics): replaces each chain of dense layers
// by one FusedMLP step where that is faster. Returns how many chains were fused.
int fuseMlpChains(engine::EnginePlan& plan, BuildDevice& device, TimingCache* cache);

}  // namespace mlprt::builder
