// Tactic choice (tactic_choice.h): each timed step's candidates and their timing, tactic ranges for
// dynamic profiles, and the whole build's candidates compiled ahead in one pool of threads.

#include "builder/tactic_choice.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <deque>
#include <exception>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <variant>

#include "backend/opencl/compile_helper.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/convolution/winograd.h"
#include "backend/opencl/program.h"
#include "builder/profile_corners.h"
#include "core/data_type.h"
#include "core/error.h"
#include "core/logging.h"
#include "network/layers.h"
#include "network/shape_inference.h"
#include "runtime/plan_shapes.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::TensorId;

// A setting read from the environment (MLPRT_PARALLEL_BUILD, MLPRT_CHANNELS_LAST): `unset` where
// the variable is unset or empty, else the value its text names; any other text is refused by
// name, with the texts it takes.
template <typename Value, std::size_t Count>
Value environmentSetting(const char* variable, Value unset, const std::array<std::pair<std::string, Value>, Count>& values) {
  static_assert(Count >= 2, "a setting offers two texts or more");
  const char* setting = std::getenv(variable);
  if (!setting || !*setting) return unset;
  for (const auto& [text, value] : values) {
    if (text == setting) return value;
  }
  std::string takes = values[0].first;
  for (std::size_t i = 1; i < Count; ++i) takes += (i + 1 == Count ? " or " : ", ") + values[i].first;
  throw InvalidArgument(std::string(variable) + " is '" + setting + "'; it takes " + takes);
}

std::string gemmSignature(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes) {
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
  std::ostringstream key;
  key << "matmul type=" << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type)
      << " a=" << shapes[static_cast<std::size_t>(step.inputs[0])].toString()
      << " op0=" << static_cast<int>(matmul.op0) << " b=" << shapes[static_cast<std::size_t>(step.inputs[1])].toString()
      << " op1=" << static_cast<int>(matmul.op1) << " bias=" << (step.epilogue.bias >= 0)
      << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1);
  return key.str();
}

// The kernels that stage tiles in local memory (`tiled_*`) on a CPU device: PoCL's local memory is
// ordinary memory, so they add barriers where the register tiles (`large_*`) and row kernels
// (`small_*`) do without; they won 2 of 72 timed choices there, each within 10% of the next, and
// cost a cold build about 2 s of compiling (bench/RESULTS.md, PoCL cold build 3). Not timed there.
bool localTilesOnCpu(const cl::GemmTactic& tactic, const cl::Context& context) {
  return context.device().type == cl::DeviceType::kCPU && tactic.name.rfind("tiled_", 0) == 0;
}

// The tactics that can run `step` at every shape its profiles allow: a tactic with alignment
// rules qualifies only when N and K are fixed across the profiles' corners and fit at each.
// Tactics whose output block is far larger than the product at the timed `shapes` are left out
// (gemmTacticWorthTiming), the local-memory tiles on CPUs, and fixed blocks too few to fill a GPU
// where a kernel made for small products remains (gemmTacticLeavesDeviceIdle), so their kernels
// are never compiled, unless nothing else remains.
std::vector<cl::GemmTactic> candidateTactics(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                                             const std::vector<std::vector<Dims>>& corners, const cl::Context& context,
                                             const cl::GemmPolicy& policy) {
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  const auto a = static_cast<std::size_t>(step.inputs.at(0));
  const auto b = static_cast<std::size_t>(step.inputs.at(1));
  const auto out = static_cast<std::size_t>(step.output);
  const auto inner = [&](const std::vector<Dims>& corner) {
    const Dims& a_shape = corner[a];
    const std::size_t k_axis = a_shape.rank() - (matmul.op0 == MatrixOperation::kTRANSPOSE ? 2 : 1);
    return std::make_pair(a_shape[k_axis], corner[b]);
  };
  const bool fixed_inner = std::all_of(corners.begin(), corners.end(),
                                       [&](const std::vector<Dims>& corner) { return inner(corner) == inner(corners.front()); });
  std::vector<cl::GemmTactic> candidates;
  for (const cl::GemmTactic& tactic : cl::gemmTacticsWithSuperseded(context, type, policy)) {
    const bool fits = cl::gemmTacticIsGeneral(tactic) ||
                      (fixed_inner && std::all_of(corners.begin(), corners.end(), [&](const std::vector<Dims>& corner) {
                         return cl::gemmTacticFits(tactic, corner[a], matmul.op0, corner[b], matmul.op1, corner[out]);
                       }));
    if (fits) candidates.push_back(tactic);
  }
  std::vector<cl::GemmTactic> worth;
  for (const cl::GemmTactic& tactic : candidates) {
    if (cl::gemmTacticWorthTiming(tactic, shapes[a], matmul.op0, shapes[b], matmul.op1, shapes[out]) &&
        !localTilesOnCpu(tactic, context)) {
      worth.push_back(tactic);
    }
  }
  // Where a kernel made for small products can take the product, fixed blocks too few to fill
  // the device are not worth their compile (gemmTacticLeavesDeviceIdle).
  cl::dropTacticsLeavingDeviceIdle(worth, shapes[a], matmul.op0, shapes[b], matmul.op1, shapes[out],
                                   context.device().compute_units);
  // Superseded tactics last, among the ones left (deciding may run a probe; gemmTacticsWithSuperseded).
  const auto superseded = [&](const cl::GemmTactic& tactic) { return cl::gemmTacticSuperseded(tactic, context); };
  worth.erase(std::remove_if(worth.begin(), worth.end(), superseded), worth.end());
  if (!worth.empty()) return worth;
  candidates.erase(std::remove_if(candidates.begin(), candidates.end(), superseded), candidates.end());
  return candidates;
}

// A (de)convolution's or attention's timing-cache key: its kind and parameters, operand shapes and
// types, and epilogue.
std::string layerSignature(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes) {
  std::ostringstream key;
  key << network::layerKindName(step.parameters) << " type=" << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type) << " "
      << network::parametersText(step.parameters);
  for (TensorId input : step.inputs) {
    key << " " << shapes[static_cast<std::size_t>(input)].toString()
        << dataTypeName(plan.tensors[static_cast<std::size_t>(input)].type);
  }
  key << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1);
  if (step.epilogue.residual_after_activation) key << " residual-after";
  return key.str();
}

// An attention step's head sizes (D of q, Dv of v) at `shapes`.
std::pair<std::int64_t, std::int64_t> attentionHeadSizes(const network::AttentionLayer& layer, const PlanStep& step,
                                                         const std::vector<Dims>& shapes) {
  return network::attentionHeadSizes(layer, shapes[static_cast<std::size_t>(step.inputs.at(0))],
                                     shapes[static_cast<std::size_t>(step.inputs.at(2))]);
}

// The attention tactics that can run `step` at every corner of the profiles.
std::vector<std::string> attentionCandidates(const EnginePlan& plan, const PlanStep& step,
                                             const std::vector<std::vector<Dims>>& corners,
                                             const std::shared_ptr<cl::Context>& context) {
  const auto& layer = std::get<network::AttentionLayer>(step.parameters);
  bool half = true;
  for (std::size_t operand = 0; operand < 3; ++operand) {
    half = half && plan.tensors[static_cast<std::size_t>(step.inputs.at(operand))].type == DataType::kHALF;
  }
  std::int64_t d = 0, dv = 0;
  for (const std::vector<Dims>& corner : corners) {
    const auto [corner_d, corner_dv] = attentionHeadSizes(layer, step, corner);
    d = std::max(d, corner_d);
    dv = std::max(dv, corner_dv);
  }
  return cl::attentionTactics(context, half, d, dv);
}

// The normalization tactics that can run `step` at every corner of the profiles (none where the
// rows kernels do not apply: the general kernel runs, untimed).
std::vector<std::string> normalizationCandidates(const PlanStep& step, const std::vector<std::vector<Dims>>& corners) {
  const auto& layer = std::get<network::NormalizationLayer>(step.parameters);
  std::vector<std::string> common;
  for (std::size_t c = 0; c < corners.size(); ++c) {
    const std::vector<Dims>& at = corners[c];
    std::vector<Dims> summed = {at[static_cast<std::size_t>(step.inputs.at(0))]};
    for (std::size_t i = 3; i < step.inputs.size(); ++i) summed.push_back(at[static_cast<std::size_t>(step.inputs[i])]);
    const std::vector<std::string> here =
        cl::normalizationTactics(layer.axes, at[static_cast<std::size_t>(step.output)],
                                 at[static_cast<std::size_t>(step.inputs.at(1))],
                                 at[static_cast<std::size_t>(step.inputs.at(2))], summed);
    if (c == 0) {
      common = here;
    } else {
      common.erase(std::remove_if(common.begin(), common.end(),
                                  [&here](const std::string& t) { return std::find(here.begin(), here.end(), t) == here.end(); }),
                   common.end());
    }
  }
  return common;
}

// Whether GEMM tactic `gemm` fits a pointwise convolution's product on HWC tensors, (N x pixels, C)
// by (M, C) transposed, at every corner of the profiles and is worth timing at `shapes`.
bool pointwiseGemmWorthTiming(const cl::GemmTactic& gemm, const PlanStep& step, const std::vector<Dims>& shapes,
                              const std::vector<std::vector<Dims>>& corners) {
  const auto product = [&step](const std::vector<Dims>& at) {
    const Dims& in = at[static_cast<std::size_t>(step.inputs.at(0))];
    const Dims& out = at[static_cast<std::size_t>(step.output)];
    const std::int64_t rows = in.volume() / std::max<std::int64_t>(in[1], 1);
    return std::array<Dims, 3>{Dims{rows, in[1]}, Dims{out[1], in[1]}, Dims{rows, out[1]}};
  };
  const auto fits = [&](const std::vector<Dims>& at) {
    const auto [a, b, c] = product(at);
    return cl::gemmTacticFits(gemm, a, MatrixOperation::kNONE, b, MatrixOperation::kTRANSPOSE, c);
  };
  if (!std::all_of(corners.begin(), corners.end(), fits)) return false;
  const auto [a, b, c] = product(shapes);
  return cl::gemmTacticWorthTiming(gemm, a, MatrixOperation::kNONE, b, MatrixOperation::kTRANSPOSE, c);
}

// A product's multiply-adds at `shapes`: out's elements times K.
std::int64_t gemmMultiplyAdds(const PlanStep& step, const std::vector<Dims>& shapes) {
  const auto& matmul = std::get<network::MatrixMultiplyLayer>(step.parameters);
  const Dims& a = shapes[static_cast<std::size_t>(step.inputs.at(0))];
  const std::int64_t k = a[a.rank() - (matmul.op0 == MatrixOperation::kTRANSPOSE ? 2 : 1)];
  return shapes[static_cast<std::size_t>(step.output)].volume() * k;
}

// A convolution's multiply-adds at `shapes`: out's elements times a kernel's taps per map (its
// group's channels times its window).
std::int64_t convolutionMultiplyAdds(const PlanStep& step, const std::vector<Dims>& shapes) {
  const Dims& kernel = shapes[static_cast<std::size_t>(step.inputs.at(1))];
  return shapes[static_cast<std::size_t>(step.output)].volume() * (kernel.volume() / std::max<std::int64_t>(kernel[0], 1));
}

bool gemmNameUsesTensorCores(const std::string& tactic) { return cl::gemmTacticUsesTensorCores(cl::GemmTactic{tactic}); }

// The tactic names a timed step may run with and its timing-cache key (without the device).
struct TimedChoice {
  std::vector<std::string> tactics;
  std::string signature;
  const char* what;  // for errors: "matrix multiplication"
};

// What of the policy changes a FLOAT product's or convolution's candidates, for the timing cache's
// key: TF32 widens them, leaving CLBlast out narrows them.
std::string policyKey(const cl::GemmPolicy& policy, DataType type) {
  if (type != DataType::kFLOAT) return "";
  return std::string(policy.allow_tf32 ? " tf32" : "") + (policy.allow_clblast ? "" : " no-clblast");
}

// A convolution's candidates at `shapes`, before the tensor-core rule: the channels-last tactics
// for a step the layout pass made channels-last, else the LINEAR ones.
TimedChoice convolutionChoice(const EnginePlan& plan, const PlanStep& step, const network::ConvolutionLayer& conv,
                              const std::vector<Dims>& shapes, const std::vector<std::vector<Dims>>& corners,
                              const cl::Context& context, const cl::GemmPolicy& policy, DataType type) {
  // Tactics whose blocks dwarf the layer (at the timed shapes) are neither compiled nor timed.
  const Dims& out = shapes[static_cast<std::size_t>(step.output)];
  const std::int64_t group_maps = out[1] / std::max<std::int64_t>(conv.num_groups, 1);
  const std::int64_t pixels = out.volume() / std::max<std::int64_t>(out[1], 1);
  TimedChoice choice{{}, layerSignature(plan, step, shapes) + policyKey(policy, type), "convolution"};
  const Dims& in = shapes[static_cast<std::size_t>(step.inputs.at(0))];
  const std::int64_t group_channels = in[1] / std::max<std::int64_t>(conv.num_groups, 1);
  // A step the layout pass made channels-last chooses among the channels-last tactics only.
  if (!step.tactic.empty() && cl::convolutionTacticChannelsLast(step.tactic)) {
    choice.signature += " hwc";
    // A pointwise convolution runs as a GEMM ("hwc_gemm:") unless it adds a residual (input 3),
    // which the GEMM epilogue has no room for: offered there, those candidates only failed.
    const bool residual = step.inputs.size() > 3;
    const bool pointwise =
        !residual &&
        cl::pointwiseConvolution(conv.kernel_size, conv.stride, conv.pre_padding, conv.post_padding, conv.num_groups);
    const std::vector<std::string> tactics = cl::channelsLastConvolutionTactics(context, type, policy, pointwise);
    for (const std::string& tactic : tactics) {
      const std::string gemm = cl::channelsLastGemmTactic(tactic);
      const bool worth =
          gemm.empty() ? cl::convolutionTacticWorthTiming(tactic, group_maps, pixels, group_channels, conv.num_groups)
                       : pointwiseGemmWorthTiming(cl::GemmTactic{gemm}, step, shapes, corners);
      if (worth) choice.tactics.push_back(tactic);
    }
    // The smallest tile runs any layer, however much of its block is padding.
    if (choice.tactics.empty() && !tactics.empty()) choice.tactics.push_back(tactics.front());
    return choice;
  }
  const bool winograd = cl::winogradRuns(conv.kernel_size, conv.stride, conv.dilation, conv.num_groups);
  for (const std::string& tactic : cl::convolutionTactics(context, type, policy)) {
    if (!winograd && !cl::winogradGemmTactic(tactic).empty()) continue;
    if (cl::convolutionTacticWorthTiming(tactic, group_maps, pixels, group_channels, conv.num_groups)) {
      choice.tactics.push_back(tactic);
    }
  }
  return choice;
}

TimedChoice timedChoice(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                        const std::vector<std::vector<Dims>>& corners, const std::shared_ptr<cl::Context>& shared_context,
                        const cl::GemmPolicy& policy) {
  const cl::Context& context = *shared_context;
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  if (const auto* conv = std::get_if<network::ConvolutionLayer>(&step.parameters)) {
    TimedChoice choice = convolutionChoice(plan, step, *conv, shapes, corners, context, policy, type);
    if (conv->num_groups == 1) {
      keepTensorCoreTacticsOnLargeProducts(choice.tactics, type, convolutionMultiplyAdds(step, shapes),
                                           cl::convolutionTacticUsesTensorCores);
    }
    return choice;
  }
  if (std::holds_alternative<network::DeconvolutionLayer>(step.parameters)) {
    return {cl::deconvolutionTactics(type), layerSignature(plan, step, shapes), "deconvolution"};
  }
  if (std::holds_alternative<network::AttentionLayer>(step.parameters)) {
    return {attentionCandidates(plan, step, corners, shared_context), layerSignature(plan, step, shapes), "attention"};
  }
  if (std::holds_alternative<network::NormalizationLayer>(step.parameters)) {
    std::vector<std::string> tactics = normalizationCandidates(step, corners);
    if (tactics.empty()) tactics.push_back("");  // the general kernel, which has no tactics
    return {tactics, layerSignature(plan, step, shapes), "normalization"};
  }
  TimedChoice choice{{}, gemmSignature(plan, step, shapes) + policyKey(policy, type), "matrix multiplication"};
  for (const cl::GemmTactic& tactic : candidateTactics(plan, step, shapes, corners, context, policy)) {
    choice.tactics.push_back(tactic.name);
  }
  keepTensorCoreTacticsOnLargeProducts(choice.tactics, type, gemmMultiplyAdds(step, shapes), gemmNameUsesTensorCores);
  return choice;
}

// ---- Candidates compiled in parallel ----
// A cold build's time goes into compiling the candidates' programs (seconds each). Before a step's
// candidates are timed one by one, each runs once in a thread of its own (its own kernel cache,
// stream and scratch operands) so that their programs compile at the same time; the timing runs
// then find them in the process's program cache. CLBlast tactics are left to the timing run (the
// library compiles and caches its own programs). Off on CPU devices, whose compiler (PoCL's) builds
// one program at a time whatever the threads (measured: bench/RESULTS.md, PoCL cold build 1).
// On GPUs the pool's threads compile in helper processes where the plan is large enough
// (startCompileHelpers), else in contexts of their own: ResNet-50's FP16 cold build took 10.5 s so
// against 33.0 s with contexts only, YOLOv8n's 10.1 against 32.9 s (issue 16 run 35, H100).
// MLPRT_PARALLEL_BUILD=1 (or =processes) turns that on anywhere, =0 off; =steps keeps the steps'
// own passes without the whole build's pool (compileBuildAhead), to measure what the pool saves;
// =waiting keeps the pool with its runs waiting for each other's compiles (runAhead), to measure
// what taking other work meanwhile saves; =shared keeps the pool's threads on the build's own
// context, to measure what a context per thread saves; =contexts gives them contexts of their own
// but no helpers, to measure what the helpers save; anything else is refused by name.
enum class ParallelCompile { kOff, kStepsOnly, kWholeBuild, kWholeBuildWaiting, kWholeBuildSharedContext, kWholeBuildHelpers };

ParallelCompile parallelCompile(const cl::Context& context) {
  return environmentSetting<ParallelCompile, 7>(
      "MLPRT_PARALLEL_BUILD",
      context.device().type == cl::DeviceType::kCPU ? ParallelCompile::kOff : ParallelCompile::kWholeBuildHelpers,
      {{{"0", ParallelCompile::kOff},
        {"1", ParallelCompile::kWholeBuildHelpers},
        {"steps", ParallelCompile::kStepsOnly},
        {"waiting", ParallelCompile::kWholeBuildWaiting},
        {"shared", ParallelCompile::kWholeBuildSharedContext},
        {"contexts", ParallelCompile::kWholeBuild},
        {"processes", ParallelCompile::kWholeBuildHelpers}}});
}

// One candidate to run once ahead of its timing: the plan it belongs to (a fused MLP variant's is
// a trial copy), a copy of its step holding the tactic, and the shapes to run it at.
struct AheadRun {
  const EnginePlan* plan;
  PlanStep step;
  const std::vector<Dims>* shapes;
};

// What runAhead did: the threads it used, how many had a context of their own, and the runs that
// met a program another thread was compiling and went behind the others.
struct AheadOutcome {
  std::size_t workers = 0;
  std::size_t own_contexts = 0;
  std::size_t helpers = 0;  // threads that compiled through a helper process
  std::size_t deferred = 0;
};

// How runAhead's threads work: whether a run waits for a program another thread compiles (as
// before issue 16 run 29) and whether threads may have contexts of their own (where the pool is
// large enough: kRunsPerOwnContext).
struct AheadPolicy {
  bool wait_for_others = false;
  bool own_contexts_allowed = false;
  cl::CompileHelperPool* helpers = nullptr;  // taken by the threads, one each, while they last
};

// Whether the pool's threads can each compile in a context of their own: NVIDIA's driver compiles
// the programs of one context nearly one at a time whatever the threads (issue 16 run 31,
// bench/compile_lock_probe.cpp: 16 programs in 7.4 s on one thread, 7.9 s on 16 threads of one
// context, 4.8 s on 16 threads of a context each). A program compiled in another context reaches
// the build's through the disk cache (0.01 s for those 16), so only where binaries are kept and
// there is a cache directory. Creating a context costs time too (16 took about 2 s, runs 27-32's
// timelines), so every thread takes one only in a pool of kRunsPerOwnContext runs or more per
// thread (ResNet-50's 450 candidates and YOLOv8n's 1375 on 16 threads). In a smaller pool (the
// tutorial MLP's: three gemm_small programs, 1.0-1.5 s each side by side on one context, 4.6 s
// summed, in a 2.2 s FP32 build, issue 16 run 37) the first thread keeps the build's context, which
// costs no start, and the others take contexts of their own.
constexpr std::size_t kRunsPerOwnContext = 4;

bool contextsOfTheirOwnAllowed(const cl::Context& context, ParallelCompile parallel) {
  return (parallel == ParallelCompile::kWholeBuild || parallel == ParallelCompile::kWholeBuildHelpers) &&
         cl::Program::keepsBinaries(context.device()) &&
         !cl::programCacheDirectory().empty();
}

// Runs each of `runs` once, spread over up to `max_threads` threads (each with its own kernel
// cache, stream and scratch operands; where `policy` allows it, its own context, whose programs it
// forgets when done: every thread's where there are kRunsPerOwnContext runs per thread, else every
// thread's but the first). A run that needs a program another thread is compiling does not wait for
// it: it goes to the back of the queue and the thread takes the next run, so that as many distinct
// programs compile at once as there are threads; a thread that comes back to a run put back since
// the last compile ended (every run left is waiting, then) waits for the next compile to end. With
// `policy.wait_for_others` runs wait for the program instead. Errors are logged: the timing run
// meets the same error and reports it.
AheadOutcome runAhead(const std::vector<AheadRun>& runs, const std::shared_ptr<cl::Context>& context,
                      std::size_t max_threads, AheadPolicy policy = {}) {
  AheadOutcome outcome;
  outcome.workers = std::min<std::size_t>({runs.size(), std::max(1u, std::thread::hardware_concurrency()), max_threads});
  const bool every_thread_own = policy.own_contexts_allowed && runs.size() >= kRunsPerOwnContext * outcome.workers;
  struct Queued {
    std::size_t run;
    std::optional<std::uint64_t> put_back_after;  // programBuildsFinished() when it was put back
  };
  std::mutex mutex;
  std::deque<Queued> queue;
  for (std::size_t i = 0; i < runs.size(); ++i) queue.push_back({i, std::nullopt});
  std::atomic<std::size_t> deferred{0};
  std::atomic<std::size_t> helpers{0};
  std::atomic<std::size_t> own_contexts{0};
  const auto drain = [&](BuildDevice& device) {
    for (;;) {
      Queued next;
      {
        const std::lock_guard<std::mutex> lock(mutex);
        if (queue.empty()) return;
        next = queue.front();
        queue.pop_front();
      }
      if (next.put_back_after) cl::waitForProgramBuildsAfter(*next.put_back_after);  // at once if one ended since
      const AheadRun& run = runs[next.run];
      const std::uint64_t finished = cl::programBuildsFinished();
      try {
        std::optional<cl::DeferWaitsForPrograms> defer;
        if (!policy.wait_for_others) defer.emplace();
        ScratchRun(*run.plan, {&run.step}, *run.shapes, device).runOnce();
      } catch (const cl::ProgramBuildingElsewhere&) {
        ++deferred;
        const std::lock_guard<std::mutex> lock(mutex);
        queue.push_back({next.run, finished});
      } catch (const std::exception& e) {
        log(Severity::kVERBOSE, "step '" + run.step.name + "': tactic " + run.step.tactic +
                                    " did not compile ahead: " + e.what());
      }
    }
  };
  const auto work = [&](std::size_t thread_index) {
    try {
      // A helper process compiles for this thread where one is left (the programs reach the
      // build's context from the disk cache), however few the runs: the helpers were started
      // for this pool. Else, where allowed, a context of its own.
      const std::unique_ptr<cl::CompileHelper> helper = policy.helpers ? policy.helpers->take() : nullptr;
      if (helper) ++helpers;
      const bool own_context = policy.own_contexts_allowed && !helper && (thread_index > 0 || every_thread_own);
      const std::shared_ptr<cl::Context> mine = own_context ? std::make_shared<cl::Context>(context->device()) : context;
      if (own_context) ++own_contexts;
      {
        const cl::CompileInHelper compile_in(helper.get());
        BuildDevice device(mine);
        drain(device);
      }
      if (own_context) cl::forgetPrograms(*mine);
    } catch (const std::exception& e) {  // e.g. no second context: the timing runs compile what is left
      log(Severity::kVERBOSE, std::string("a compile-ahead thread stopped: ") + e.what());
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < outcome.workers; ++t) threads.emplace_back(work, t);
  for (std::thread& thread : threads) thread.join();
  outcome.deferred = deferred.load();
  outcome.helpers = helpers.load();
  outcome.own_contexts = own_contexts.load();
  return outcome;
}

// " threads" and how they compiled: through helper processes, in contexts of their own.
std::string threadsText(const AheadOutcome& outcome) {
  if (outcome.helpers > 0) return " threads, " + std::to_string(outcome.helpers) + " with a compile process";
  if (outcome.own_contexts == outcome.workers) return " threads, a context each";
  if (outcome.own_contexts > 0) {
    return " threads, " + std::to_string(outcome.own_contexts) + " with a context of its own";
  }
  return " threads";
}

void compileCandidatesInParallel(const EnginePlan& plan, const PlanStep& step, const std::vector<std::string>& tactics,
                                 const std::string& signature, const std::vector<Dims>& shapes, BuildDevice& device) {
  std::vector<AheadRun> runs;
  for (const std::string& tactic : tactics) {
    if (tactic == "clblast" || device.ran_ahead.count(signature + "|" + tactic)) continue;
    runs.push_back({&plan, step, &shapes});
    runs.back().step.tactic = tactic;
  }
  if (runs.size() < 2 || parallelCompile(*device.context) == ParallelCompile::kOff) return;
  const auto start = std::chrono::steady_clock::now();
  const AheadOutcome outcome = runAhead(runs, device.context, 8);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  log(Severity::kVERBOSE, "step '" + step.name + "': " + std::to_string(runs.size()) + " candidates run ahead in " +
                              std::to_string(outcome.workers) + " threads (" + std::to_string(seconds.count()) + " s)");
}

// A timed choice's timing-cache key: the device's fingerprint and the choice's signature.
std::string timingKey(const cl::Context& context, const TimedChoice& choice) {
  return context.device().fingerprint() + "|" + choice.signature;
}

// The timing cache's entry for `choice`, where it holds one whose tactic is still a candidate.
std::optional<TimingEntry> cachedChoice(const TimingCache* cache, const cl::Context& context, const TimedChoice& choice) {
  TimingEntry entry;
  if (!cache || !cache->lookup(timingKey(context, choice), entry)) return std::nullopt;
  const std::vector<std::string>& tactics = choice.tactics;
  if (std::find(tactics.begin(), tactics.end(), entry.tactic) == tactics.end()) return std::nullopt;
  return entry;
}

}  // namespace

void keepTensorCoreTacticsOnLargeProducts(std::vector<std::string>& tactics, DataType type, std::int64_t multiply_adds,
                                          const std::function<bool(const std::string&)>& uses_tensor_cores) {
  if (type != DataType::kHALF || multiply_adds < kTensorCoreOnlyMultiplyAdds) return;
  if (std::none_of(tactics.begin(), tactics.end(), uses_tensor_cores)) return;
  tactics.erase(std::remove_if(tactics.begin(), tactics.end(),
                               [&uses_tensor_cores](const std::string& tactic) { return !uses_tensor_cores(tactic); }),
                tactics.end());
}

std::vector<std::string> candidateTacticNames(const EnginePlan& plan, const PlanStep& step, const std::vector<Dims>& shapes,
                                              const std::vector<std::vector<Dims>>& corners,
                                              const std::shared_ptr<cl::Context>& context, const cl::GemmPolicy& policy) {
  return timedChoice(plan, step, shapes, corners, context, policy).tactics;
}

TimingEntry chooseTactic(EnginePlan& plan, PlanStep& step, const std::vector<Dims>& shapes,
                         const std::vector<std::vector<Dims>>& corners, const cl::GemmPolicy& policy, BuildDevice& device,
                         TimingCache* cache) {
  const std::shared_ptr<cl::Context>& context = device.context;
  const DataType type = plan.tensors[static_cast<std::size_t>(step.output)].type;
  const TimedChoice choice = timedChoice(plan, step, shapes, corners, context, policy);
  const std::vector<std::string>& tactics = choice.tactics;
  if (tactics.empty()) {
    throw InvalidArgument("step '" + step.name + "': no " + choice.what + " kernel supports " + dataTypeName(type));
  }
  if (tactics.size() == 1) {  // nothing to choose: neither timed nor looked up in the cache
    step.tactic = tactics.front();
    return {step.tactic, -1.0};
  }
  if (const std::optional<TimingEntry> cached = cachedChoice(cache, *context, choice)) {
    step.tactic = cached->tactic;
    log(Severity::kVERBOSE, "step '" + step.name + "': tactic " + step.tactic + " from the timing cache");
    return *cached;
  }
  log(Severity::kVERBOSE, "step '" + step.name + "': timing " + std::to_string(tactics.size()) + " candidates for " +
                              choice.signature);
  compileCandidatesInParallel(plan, step, tactics, choice.signature, shapes, device);
  ScratchRun run(plan, {&step}, shapes, device);  // runs `step` with whatever tactic it holds
  double best = -1.0;
  TimingEntry fastest;
  std::string timings;
  for (const std::string& tactic : tactics) {
    step.tactic = tactic;
    double milliseconds = 0.0;
    try {
      milliseconds = run.time(best);
    } catch (const Error& e) {
      log(Severity::kVERBOSE, "step '" + step.name + "': tactic " + tactic + " cannot run: " + e.what());
      continue;
    }
    timings += " " + tactic + "=" + std::to_string(milliseconds) + "ms";
    if (best < 0.0 || milliseconds < best) {
      best = milliseconds;
      fastest = {tactic, milliseconds};
    }
  }
  if (best < 0.0) throw InvalidArgument("step '" + step.name + "': no " + std::string(choice.what) + " tactic could run it");
  step.tactic = fastest.tactic;
  if (cache) cache->store(timingKey(*context, choice), fastest);
  log(Severity::kVERBOSE, "step '" + step.name + "': chose " + step.tactic + " (timed" + timings + ")");
  return fastest;
}

std::vector<TimingPoint> timingPoints(const EnginePlan& plan, const BuildDevice& device) {
  if (!device.time_across_profiles) {
    const std::vector<Dims>& opt = plan.profiles.front().opt;
    return {TimingPoint{0, opt, runtime::inferPlanShapes(plan, opt)}};
  }
  const auto between = [](const std::vector<Dims>& low, const std::vector<Dims>& high) {
    std::vector<Dims> middle = low;
    for (std::size_t i = 0; i < low.size(); ++i) {
      std::vector<std::int64_t> extents = low[i].extents();
      for (std::size_t axis = 0; axis < extents.size(); ++axis) {
        const double mean = std::sqrt(static_cast<double>(low[i][axis]) * static_cast<double>(high[i][axis]));
        extents[axis] = std::clamp(static_cast<std::int64_t>(std::llround(mean)), low[i][axis], high[i][axis]);
      }
      middle[i] = Dims(extents);
    }
    return middle;
  };
  std::vector<TimingPoint> points;
  for (std::size_t p = 0; p < plan.profiles.size(); ++p) {
    const engine::ProfileShapes& profile = plan.profiles[p];
    for (const std::vector<Dims>& inputs : {profile.min, between(profile.min, profile.opt), profile.opt,
                                            between(profile.opt, profile.max), profile.max}) {
      const bool seen = std::any_of(points.begin(), points.end(),
                                    [&inputs](const TimingPoint& point) { return point.inputs == inputs; });
      if (seen) continue;
      try {
        points.push_back({static_cast<int>(p), inputs, runtime::inferPlanShapes(plan, inputs)});
      } catch (const Error& e) {
        log(Severity::kVERBOSE, std::string("tactics are not timed at one set of input shapes: ") + e.what());
      }
    }
  }
  return points;
}

std::vector<engine::TacticRange> tacticRanges(const std::map<std::int64_t, std::string>& best_at) {
  std::vector<engine::TacticRange> ranges;
  for (auto it = best_at.begin(); it != best_at.end(); ++it) {
    const auto next = std::next(it);
    if (next != best_at.end() && next->second == it->second) continue;
    const std::int64_t bound =
        next == best_at.end()
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(std::sqrt(static_cast<double>(it->first) * static_cast<double>(next->first)));
    ranges.push_back({std::max(bound, it->first), it->second});
  }
  if (ranges.size() == 1) ranges.clear();
  return ranges;
}

void chooseTacticRanges(EnginePlan& plan, PlanStep& step, const std::vector<Dims>& opt,
                        const std::vector<TimingPoint>& points, const std::vector<std::vector<Dims>>& corners,
                        const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache) {
  if (points.size() < 2) return;  // a static engine: opt is the only shape
  const std::string chosen = step.tactic;
  std::map<std::int64_t, std::string> best_at{{opt[static_cast<std::size_t>(step.output)].volume(), chosen}};
  for (const TimingPoint& point : points) {
    const std::int64_t elements = point.shapes[static_cast<std::size_t>(step.output)].volume();
    if (elements == 0 || best_at.count(elements) != 0) continue;
    try {
      chooseTactic(plan, step, point.shapes, corners, policy, device, cache);
    } catch (const Error& e) {
      // The opt shapes' choice stands there (as it did before tactics were timed per size).
      log(Severity::kVERBOSE, "step '" + step.name + "': no tactic timed at an output of " + std::to_string(elements) +
                                  " elements: " + e.what());
      continue;
    }
    best_at.emplace(elements, step.tactic);
  }
  step.tactic = chosen;
  step.tactic_ranges = tacticRanges(best_at);
  if (step.tactic_ranges.empty()) return;
  log(Severity::kVERBOSE, "step '" + step.name + "': tactics by output elements: " + engine::tacticRangesText(step));
}

namespace {

// Whether the builder times `step`'s tactics.
bool tacticIsTimed(const PlanStep& step) {
  return std::holds_alternative<network::MatrixMultiplyLayer>(step.parameters) ||
         std::holds_alternative<network::ConvolutionLayer>(step.parameters) ||
         std::holds_alternative<network::DeconvolutionLayer>(step.parameters) ||
         std::holds_alternative<network::AttentionLayer>(step.parameters) ||
         std::holds_alternative<network::NormalizationLayer>(step.parameters);
}

}  // namespace

void chooseTactics(EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device, TimingCache* cache) {
  const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  const std::vector<TimingPoint> points = timingPoints(plan, device);
  const std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  const auto total = std::count_if(plan.steps.begin(), plan.steps.end(), tacticIsTimed);
  long done = 0;
  for (PlanStep& step : plan.steps) {
    if (tacticIsTimed(step)) {
      // Progress for tools (mlprt exec draws a bar from it): "timing tactics: step k of n 'name'".
      log(Severity::kINFO, "timing tactics: step " + std::to_string(++done) + " of " + std::to_string(total) + " '" +
                               step.name + "'");
      chooseTactic(plan, step, shapes, corners, policy, device, cache);
      chooseTacticRanges(plan, step, shapes, points, corners, policy, device, cache);
    }
  }
}

// ---- Layouts ----------------------------------------------------------------------------------

LayoutPreference layoutPreference(const cl::Context& context) {
  return environmentSetting<LayoutPreference, 3>(
      "MLPRT_CHANNELS_LAST",
      context.device().type == cl::DeviceType::kCPU ? LayoutPreference::kNever : LayoutPreference::kTimed,
      {{{"0", LayoutPreference::kNever}, {"1", LayoutPreference::kAlways}, {"timed", LayoutPreference::kTimed}}});
}

// At most this many helpers, whatever the cores: the count measured (16-core hosts, issue 16 run
// 35), and each helper holds a context on the device while the pool runs; threads beyond them
// compile as they would without helpers (in contexts of their own where the runs allow).
constexpr std::size_t kMaxCompileHelpers = 16;

// Helpers start for plans of at least this many timed steps: fewer (the tutorial MLP's 2) compile a
// handful of programs, which the helpers' start (16 processes made their contexts in 5.2 s, issue
// 16 run 34) would not pay for. Between 2 and 85 timed steps (BERT-base's FP16 plan) the bound is
// not measured. The threads take the helpers however few the pool's runs: in run 36 BERT-base's
// 31 runs (8 signatures, 28 programs) were too few for contexts of their own, which then also kept
// the started helpers idle, and compiled for 16.7 s on the build's one context.
constexpr std::size_t kTimedStepsForHelpers = 8;

std::unique_ptr<cl::CompileHelperPool> startCompileHelpers(const EnginePlan& plan, const std::shared_ptr<cl::Context>& context) {
  if (parallelCompile(*context) != ParallelCompile::kWholeBuildHelpers ||
      !contextsOfTheirOwnAllowed(*context, ParallelCompile::kWholeBuildHelpers) ||
      cl::compileHelperPath().empty()) {
    return nullptr;
  }
  const std::size_t helpers = std::min<std::size_t>(std::max(1u, std::thread::hardware_concurrency()), kMaxCompileHelpers);
  const auto timed_steps = static_cast<std::size_t>(std::count_if(plan.steps.begin(), plan.steps.end(), tacticIsTimed));
  if (timed_steps < kTimedStepsForHelpers) return nullptr;
  auto pool = std::make_unique<cl::CompileHelperPool>(context->device(), cl::programCacheDirectory(), helpers);
  if (pool->size() == 0) return nullptr;
  return pool;
}

// ---- The whole build's candidates compiled ahead ----
// A step's own pass overlaps the compiles of its few candidates only: ResNet-50's FP16 build with
// every cache empty compiled 91 programs, 236 s of compiling in 65.5 s on a 16-core H100 host
// (bench/RESULTS.md, issue 16 run 24). So where parallelCompile asks for the whole build's pool (GPUs'
// default, =1, =processes, =contexts, =shared, =waiting), before any step is timed, the
// candidates of every timed step, at every timing point, and a convolution's channels-last ones
// (which the layout pass times) run once across one pool of threads, one per signature and tactic
// (layers of equal signature share them); tactics the timing cache already chose stand alone. The
// first run of each tactic goes first; a run whose program another thread is compiling goes
// behind the others (runAhead).
void compileBuildAhead(const EnginePlan& plan, const cl::GemmPolicy& policy, BuildDevice& device, const TimingCache* cache) {
  // The helpers end with this pool, whatever it runs (their contexts hold device memory).
  const std::unique_ptr<cl::CompileHelperPool> helpers = std::move(device.compile_helpers);
  const ParallelCompile parallel = parallelCompile(*device.context);
  if (parallel == ParallelCompile::kOff || parallel == ParallelCompile::kStepsOnly) return;
  const std::vector<std::vector<Dims>> corners = cornerShapes(plan);
  std::vector<std::vector<Dims>> point_shapes{runtime::inferPlanShapes(plan, plan.profiles.front().opt)};
  for (const TimingPoint& point : timingPoints(plan, device)) {
    if (point.shapes != point_shapes.front()) point_shapes.push_back(point.shapes);
  }
  const bool channels_last = layoutPreference(*device.context) != LayoutPreference::kNever;
  // waves[r]: the (r+1)-th run of each tactic, so that the first of every tactic goes first.
  std::vector<std::vector<AheadRun>> waves;
  std::map<std::string, std::size_t> runs_of_tactic;
  std::set<std::string> steps;
  const auto add = [&](const PlanStep& step, const std::vector<Dims>& shapes) {
    const TimedChoice choice = timedChoice(plan, step, shapes, corners, device.context, policy);
    const std::optional<TimingEntry> cached = cachedChoice(cache, *device.context, choice);
    for (const std::string& tactic : cached ? std::vector<std::string>{cached->tactic} : choice.tactics) {
      if (tactic == "clblast" || !device.ran_ahead.insert(choice.signature + "|" + tactic).second) continue;
      const std::size_t wave = runs_of_tactic[tactic]++;
      if (wave == waves.size()) waves.emplace_back();
      waves[wave].push_back({&plan, step, &shapes});
      waves[wave].back().step.tactic = tactic;
      steps.insert(step.name);
    }
  };
  for (const PlanStep& step : plan.steps) {
    if (!tacticIsTimed(step)) continue;
    const bool convolution = std::holds_alternative<network::ConvolutionLayer>(step.parameters);
    const std::vector<std::string> hwc =
        convolution && channels_last
            ? cl::channelsLastConvolutionTactics(plan.tensors[static_cast<std::size_t>(step.output)].type)
            : std::vector<std::string>();
    PlanStep hwc_step = step;
    if (!hwc.empty()) hwc_step.tactic = hwc.front();  // a channels-last step: timedChoice offers those
    for (const std::vector<Dims>& shapes : point_shapes) {
      add(step, shapes);
      if (!hwc.empty()) add(hwc_step, shapes);
    }
  }
  std::vector<AheadRun> ordered;
  for (std::vector<AheadRun>& wave : waves) std::move(wave.begin(), wave.end(), std::back_inserter(ordered));
  if (ordered.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  const AheadPolicy ahead{parallel == ParallelCompile::kWholeBuildWaiting, contextsOfTheirOwnAllowed(*device.context, parallel),
                          helpers.get()};
  const AheadOutcome outcome = runAhead(ordered, device.context, std::numeric_limits<std::size_t>::max(), ahead);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  log(Severity::kVERBOSE, "compiled ahead: " + std::to_string(ordered.size()) + " candidates of " +
                              std::to_string(steps.size()) + " steps in " + std::to_string(outcome.workers) +
                              threadsText(outcome) + " (" + std::to_string(seconds.count()) + " s; " +
                              std::to_string(outcome.deferred) + " deferred behind another thread's compile)");
}

void compileStepsAhead(const std::vector<StepToCompile>& steps, BuildDevice& device) {
  const ParallelCompile parallel = parallelCompile(*device.context);
  if (steps.size() < 2 || parallel == ParallelCompile::kOff || parallel == ParallelCompile::kStepsOnly) return;
  std::vector<AheadRun> runs;
  for (const StepToCompile& step : steps) runs.push_back({step.plan, step.step, step.shapes});
  const auto start = std::chrono::steady_clock::now();
  const AheadPolicy policy{parallel == ParallelCompile::kWholeBuildWaiting,
                           contextsOfTheirOwnAllowed(*device.context, parallel)};
  const AheadOutcome outcome = runAhead(runs, device.context, std::numeric_limits<std::size_t>::max(), policy);
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  log(Severity::kVERBOSE, "'" + steps.front().step.name + "': " + std::to_string(runs.size()) +
                              " variants run ahead in " + std::to_string(outcome.workers) + threadsText(outcome) +
                              " (" + std::to_string(seconds.count()) + " s)");
}

}  // namespace mlprt::builder
