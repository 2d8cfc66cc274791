// The builder's tactic choice (plan level): for each step whose layer has tactics (matrix
// products, convolutions, deconvolutions, attention, normalizations), the candidates that can run
// it at every corner of the profiles and are worth timing, timed on the build's device (or taken
// from the timing cache); for dynamic profiles, the best tactic per range of output sizes. Before
// any step is timed, the whole build's candidates compile ahead in one pool of threads.
// builder.cpp calls these in its build pipeline (and the layout pass's costs).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/kernels.h"
#include "builder/layout.h"
#include "builder/scratch_run.h"
#include "builder/timing_cache.h"
#include "core/data_type.h"
#include "core/dims.h"
#include "engine/plan.h"

namespace mlprt::builder {

// FP16 products of this many multiply-adds or more (about 0.27 GFLOP) are compute-bound enough that
// the kernels on CUDA cores (portable tiles, row kernels, direct and implicit-GEMM convolutions)
// cannot win where a tensor-core tactic can run them: with tensor cores 8-16 times the FP16
// throughput, no portable candidate won a product or convolution this large on the GPU (issue
// 16: ResNet-50 batch 32's 53 convolutions, 1.6-3.8 G multiply-adds each, and BERT-base batch
// 32's 48 products), while at YOLOv8n's batch-1 sizes (0.25 G and less) portable tiles did win
// some. Compiling them cost ResNet-50's cold build 24 of its 91 programs (66 of 236 s compiling).
// Lowered from 2^29 by issue 16 run 26's timings of every candidate (bench/cold_build.py --steps):
// on YOLOv8n and ResNet-50 no step of 118 M multiply-adds or more was won by a CUDA-core kernel
// (the best of them 1.07x the winner and more), while ResNet-50's first 1 x 1 layer (411 M, under
// 2^29) still compiled 7 programs of direct and implicit-GEMM tiles that came 2-2.6x behind.
inline constexpr std::int64_t kTensorCoreOnlyMultiplyAdds = std::int64_t{1} << 27;

// Removes the tactics that do not use tensor cores (by `uses_tensor_cores`) from `tactics` when
// the step's operands are HALF, it takes `multiply_adds` >= kTensorCoreOnlyMultiplyAdds and one
// tensor-core tactic remains; else leaves `tactics` as they are.
void keepTensorCoreTacticsOnLargeProducts(std::vector<std::string>& tactics, DataType type, std::int64_t multiply_adds,
                                          const std::function<bool(const std::string&)>& uses_tensor_cores);

// The tactics chooseTactic times for `step` at `shapes` (per tensor; those the profiles' `corners`
// allow and worth timing there), in order. Nothing is compiled or run.
std::vector<std::string> candidateTacticNames(const engine::EnginePlan& plan, const engine::PlanStep& step,
                                              const std::vector<Dims>& shapes,
                                              const std::vector<std::vector<Dims>>& corners,
                                              const std::shared_ptr<cl::Context>& context, const cl::GemmPolicy& policy);

// Sets step.tactic to the fastest candidate at `shapes` (or the timing cache's choice) and returns
// it with its time (-1 where only one candidate was offered, so nothing was timed).
TimingEntry chooseTactic(engine::EnginePlan& plan, engine::PlanStep& step, const std::vector<Dims>& shapes,
                         const std::vector<std::vector<Dims>>& corners, const cl::GemmPolicy& policy,
                         BuildDevice& device, TimingCache* cache);

// The input shapes a dynamic engine's tactics are timed at besides the first profile's opt: every
// profile's min, opt and max and, per axis, the geometric means of min and opt and of opt and max
// (batch 1, 8, 64, 181, 512 for a profile 1 / 64 / 512). Sets the network cannot take (a reshape
// that needs a multiple) are left out.
struct TimingPoint {
  int profile = 0;
  std::vector<Dims> inputs;  // per network input
  std::vector<Dims> shapes;  // per tensor
};

// Below builder optimization level 3 (BuildDevice::time_across_profiles false): the first
// profile's opt shapes only.
std::vector<TimingPoint> timingPoints(const engine::EnginePlan& plan, const BuildDevice& device);

// Ranges of output sizes from the best tactic at each size timed (ascending): neighbours with one
// tactic merge, and a boundary lies at the geometric mean of the sizes it separates. Empty when
// one tactic won everywhere.
std::vector<engine::TacticRange> tacticRanges(const std::map<std::int64_t, std::string>& best_at);

// For a step whose output size changes across `points` (a dynamic profile), the best tactic at each
// size, as ranges (engine::TacticRange); step.tactic, chosen at the first profile's `opt` shapes,
// stays the default and stands for opt's size. Sizes of 0 are not timed.
void chooseTacticRanges(engine::EnginePlan& plan, engine::PlanStep& step, const std::vector<Dims>& opt,
                        const std::vector<TimingPoint>& points, const std::vector<std::vector<Dims>>& corners,
                        const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache);

// Chooses the tactic of every step whose tactics the builder times (chooseTactic at the first
// profile's opt shapes, then chooseTacticRanges at the timing points).
void chooseTactics(engine::EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache);

// MLPRT_CHANNELS_LAST=1 makes every convolution group that can run channels-last do so, =0 none,
// =timed lets the timings decide (layout.h) on any device; unset, they decide on GPUs. CPU devices
// keep LINEAR without timing: a layout changes no coalescing there, PoCL's HWC times lost
// throughout (ResNet-18 at 64 x 64: its 19-convolution group 20.3 ms LINEAR, 125 ms HWC), and
// compiling the HWC kernels cost every cold build seconds (bench/RESULTS.md, PoCL layouts 1).
LayoutPreference layoutPreference(const cl::Context& context);

// Compile helper processes for compileBuildAhead's pool (compile_helper.h), started at once so that
// their drivers start while the build runs its passes and probes: one per hardware thread (at most
// 16), on GPUs or where MLPRT_PARALLEL_BUILD=1 or =processes asks for them (not with =contexts),
// where binaries are kept, there is a cache directory, the helper executable is known, and the
// plan has at least 8 timed steps (the tutorial MLP's 2 start none). Null otherwise.
std::unique_ptr<cl::CompileHelperPool> startCompileHelpers(const engine::EnginePlan& plan,
                                                           const std::shared_ptr<cl::Context>& context);

// Before any step is timed, runs the candidates of every timed step once (at every timing point,
// and a convolution's channels-last ones) across one pool of threads, so that their programs
// compile at the same time; tactic_choice.cpp ("The whole build's candidates compiled ahead") says
// which and why.
void compileBuildAhead(const engine::EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device,
                       const TimingCache* cache);

// A step to run once ahead of its timing: the plan it belongs to (a trial copy may hold a step the
// build's plan does not), the step holding its tactic, and the shapes to run it at.
struct StepToCompile {
  const engine::EnginePlan* plan;
  engine::PlanStep step;
  const std::vector<Dims>* shapes;
};

// Runs each of `steps` once across threads, so that their programs compile side by side before
// they are timed one at a time (the fused MLP variants); with contexts of their own where
// compileBuildAhead's pool would take them. Nothing for fewer than two, or where
// MLPRT_PARALLEL_BUILD turns the pool off (CPU devices by default). Errors are left for the timing
// runs, which meet them again.
void compileStepsAhead(const std::vector<StepToCompile>& steps, BuildDevice& device);

}  // namespace mlprt::builder
