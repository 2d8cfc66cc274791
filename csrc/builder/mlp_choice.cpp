#include "builder/mlp_choice.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/mlp_mma.h"
#include "builder/mlp_fusion.h"
#include "builder/tactic_choice.h"
#include "core/error.h"
#include "core/logging.h"
#include "runtime/plan_shapes.h"
#include "runtime/step_runner.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::TensorId;

std::vector<std::int64_t> mlpWidths(const network::FusedMlpLayer& mlp) {
  std::vector<std::int64_t> widths{mlp.stages.front().in_features};
  for (const network::MlpStage& stage : mlp.stages) widths.push_back(stage.out_features);
  return widths;
}

// The widths a fused step of `chain` would have (mlpWidths), from its products' weights alone.
std::vector<std::int64_t> chainWidths(const EnginePlan& plan, const MlpChain& chain) {
  std::vector<std::int64_t> widths;
  for (std::size_t index : chain.gemms) {
    const PlanStep& step = plan.steps[index];
    const bool transposed = std::get<network::MatrixMultiplyLayer>(step.parameters).op1 == MatrixOperation::kTRANSPOSE;
    const Dims& shape = plan.tensors[static_cast<std::size_t>(step.inputs[1])].shape;
    if (widths.empty()) widths.push_back(transposed ? shape[1] : shape[0]);
    widths.push_back(transposed ? shape[0] : shape[1]);
  }
  return widths;
}

std::string mlpSignature(const EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes) {
  std::ostringstream key;
  key << "mlp";
  for (std::size_t index = chain.first; index <= chain.last; ++index) {
    const PlanStep& step = plan.steps[index];
    key << " [" << network::layerKindName(step.parameters);
    for (TensorId input : step.inputs) {
      key << " " << shapes[static_cast<std::size_t>(input)].toString()
          << dataTypeName(plan.tensors[static_cast<std::size_t>(input)].type);
    }
    if (const auto* matmul = std::get_if<network::MatrixMultiplyLayer>(&step.parameters)) {
      key << " op1=" << static_cast<int>(matmul->op1) << " bias=" << (step.epilogue.bias >= 0)
          << " act=" << (step.epilogue.has_activation ? static_cast<int>(step.epilogue.activation.type) : -1) << " tactic=" << step.tactic;
    }
    key << " -> " << dataTypeName(plan.tensors[static_cast<std::size_t>(step.output)].type) << "]";
  }
  return key.str();
}

// `shapes` (of `plan`'s tensors before a fused step was made in `trial`, a copy of it) with the
// shapes of the tensors the step added to `trial` (transposed weights).
std::vector<Dims> withAddedTensors(const EnginePlan& trial, std::vector<Dims> shapes) {
  for (std::size_t i = shapes.size(); i < trial.tensors.size(); ++i) shapes.push_back(trial.tensors[i].shape);
  return shapes;
}

// Times fused MLP step `step` of `plan` with its current tactic at `shapes`: a faster time than
// `best` replaces it, and every time joins `timings`; a tactic that cannot run is logged and skipped.
void timeFusedMlp(const EnginePlan& plan, PlanStep& step, const std::vector<Dims>& shapes, BuildDevice& device,
                  TimingEntry& best, std::string& timings) {
  try {
    const double milliseconds = ScratchRun(plan, {&step}, shapes, device).time();
    timings += " " + step.tactic + "=" + std::to_string(milliseconds) + "ms";
    if (milliseconds < best.milliseconds) best = {step.tactic, milliseconds};
  } catch (const Error& e) {
    log(Severity::kVERBOSE, "fused MLP " + step.tactic + " cannot run '" + step.name + "': " + e.what());
  }
}

// A trial plan for `chain`'s fused step in one weight layout: a copy of the plan with the step
// (which may add transposed weights) and the shapes of its tensors.
struct FusedTrial {
  EnginePlan plan;
  PlanStep step;
  std::vector<Dims> shapes;

  FusedTrial(const EnginePlan& original, const MlpChain& chain, MlpWeightLayout layout,
             const std::vector<Dims>& original_shapes)
      : plan(original), step(makeFusedMlpStep(plan, chain, layout)), shapes(withAddedTensors(plan, original_shapes)) {}

  // The step with `tactic`, to compile ahead.
  StepToCompile variant(const std::string& tactic) const {
    StepToCompile run{&plan, step, &shapes};
    run.step.tactic = tactic;
    return run;
  }

  // Times the step with `tactic` into `timed` (timeFusedMlp).
  void time(const std::string& tactic, BuildDevice& device, FusedTimings& timed) {
    step.tactic = tactic;
    timeFusedMlp(plan, step, shapes, device, timed.best, timed.text);
  }
};

// The fastest FusedMLP variant ("fused_mlp_r<R>", or "fused_mlp_mma_r<R>" where the tensor-core
// kernel is offered) at the first profile's opt shapes, and every variant's time as text; an
// infinite time when none can run.
FusedTimings timeFusedVariants(const EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes,
                               BuildDevice& device) {
  FusedTimings timed{{"", std::numeric_limits<double>::infinity()}, ""};
  const std::vector<std::int64_t> widths = chainWidths(plan, chain);
  // Rows of the chain's input at the timed shapes: a work-group of many more rows than that
  // only computes padding, so its kernel is neither compiled nor timed.
  const std::int64_t input_rows = shapes[static_cast<std::size_t>(plan.steps[chain.first].inputs.front())].volume() / widths.front();
  const int units = device.context->device().compute_units;
  std::vector<int> plain_rows, mma_rows;
  for (int rows : fusedRowChoicesWorthTiming(cl::fusedMlpRowChoices(), input_rows, units)) {
    if (cl::fusedMlpFits(*device.context, widths, rows)) plain_rows.push_back(rows);
  }
  // The tensor-core variants: HALF weights, where the f16 mma probe passes; weights N x K. (The
  // weights' type first: FP32 builds do not run the probe, which compiles two programs.)
  const TensorId first_weights = plan.steps[chain.gemms.front()].inputs[1];
  const bool half_weights = plan.tensors[static_cast<std::size_t>(first_weights)].type == DataType::kHALF;
  if (half_weights && cl::fusedMlpMmaOffered(*device.context)) {
    for (int rows : fusedRowChoicesWorthTiming(cl::fusedMlpMmaRowChoices(), input_rows, units)) {
      if (cl::fusedMlpMmaFits(*device.context, widths, rows)) mma_rows.push_back(rows);
    }
  }
  // A trial plan is a copy, weights and all (the fused step may add transposed weights), so it
  // is made only for variants that fit: VGG-19's classifier (25088 wide) fits none, and copying
  // its 548 MB of weights for nothing took seconds of its build.
  std::optional<FusedTrial> plain, mma;
  if (!plain_rows.empty()) plain.emplace(plan, chain, MlpWeightLayout::kKxN, shapes);
  if (!mma_rows.empty()) mma.emplace(plan, chain, MlpWeightLayout::kNxK, shapes);
  const auto plainTactic = [](int rows) { return runtime::fusedMlpTacticPrefix() + std::to_string(rows); };
  // Every variant's program compiles first, side by side (each is a program of its own).
  std::vector<StepToCompile> variants;
  for (int rows : plain_rows) variants.push_back(plain->variant(plainTactic(rows)));
  for (int rows : mma_rows) variants.push_back(mma->variant(cl::fusedMlpMmaTactic(rows)));
  compileStepsAhead(variants, device);
  for (int rows : plain_rows) plain->time(plainTactic(rows), device, timed);
  for (int rows : mma_rows) mma->time(cl::fusedMlpMmaTactic(rows), device, timed);
  return timed;
}

// The fused variants' best (`early`'s, where the pass before tactic choice timed them) when it
// beats the chain's own steps, else "unfused". All are timed at the first profile's opt shapes.
TimingEntry timeMlpChain(EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes, BuildDevice& device,
                         const EarlyMlpChoice& early) {
  std::vector<const PlanStep*> unfused;
  for (std::size_t index = chain.first; index <= chain.last; ++index) unfused.push_back(&plan.steps[index]);
  const double unfused_ms = ScratchRun(plan, unfused, shapes, device).time();
  TimingEntry best{"unfused", unfused_ms};
  const std::string name = fusedStepName(plan, chain);
  const auto timed_early = early.timed.find(name);
  const FusedTimings fused =
      timed_early != early.timed.end() ? timed_early->second : timeFusedVariants(plan, chain, shapes, device);
  if (fused.best.milliseconds < best.milliseconds) best = fused.best;
  log(Severity::kVERBOSE, "'" + name + "': " + best.tactic + " (timed unfused=" + std::to_string(unfused_ms) +
                              "ms" + fused.text + ")");
  return best;
}

// ---- Fused before tactic choice ----

std::atomic<double>& launchFloorForTesting() {
  static std::atomic<double> floor{-1.0};
  return floor;
}

// The kernels `chain`'s own steps launch at the least: one per product and one per cast (a change
// of type); a reshape may be a view that launches nothing.
std::size_t leastLaunchesOfSteps(const EnginePlan& plan, const MlpChain& chain) {
  std::size_t launches = 0;
  for (std::size_t index = chain.first; index <= chain.last; ++index) {
    const PlanStep& step = plan.steps[index];
    const bool product = std::holds_alternative<network::MatrixMultiplyLayer>(step.parameters);
    const bool cast = plan.tensors[static_cast<std::size_t>(step.inputs.front())].type !=
                      plan.tensors[static_cast<std::size_t>(step.output)].type;
    if (product || cast) ++launches;
  }
  return launches;
}

// The launch floor of the build's queue (measured once per build, or the tests' value).
double launchFloor(BuildDevice& device, std::optional<double>& measured) {
  const double forced = launchFloorForTesting().load();
  if (forced >= 0.0) return forced;
  if (!measured) measured = cl::launchFloorMilliseconds(device.kernels, *device.stream);
  return *measured;
}

// ---- Fused MLPs per range of sizes ----
// A dynamic profile's chain may be fastest fused at small batches and as its products at large ones:
// the fused step then keeps ranges (engine::TacticRange) whose tactics are fused kernels or
// "layers_*" tactics that run the chain's own GEMM tactics one product at a time.

// The "layers_*" tactic running the chain's products with the tactics they have at `shapes`.
std::string layersTactic(const EnginePlan& plan, const MlpChain& chain, const std::vector<Dims>& shapes,
                         MlpWeightLayout layout) {
  std::vector<std::string> tactics;
  for (std::size_t index : chain.gemms) {
    const PlanStep& step = plan.steps[index];
    tactics.push_back(engine::tacticAt(step, shapes[static_cast<std::size_t>(step.output)].volume()));
  }
  return runtime::fusedMlpLayersTactic(tactics, layout == MlpWeightLayout::kNxK);
}

// The fused kernel's tactics in `layout` worth timing at `rows` rows, with at most `max_rows_per_group`
// rows per work-group (what was timed at opt, so that no other kernel is compiled).
std::vector<std::string> fusedTacticsAt(const BuildDevice& device, const std::vector<std::int64_t>& widths,
                                        MlpWeightLayout layout, bool half_weights, std::int64_t rows,
                                        int max_rows_per_group) {
  std::vector<std::string> tactics;
  if (layout == MlpWeightLayout::kKxN) {
    for (int r : fusedRowChoicesWorthTiming(cl::fusedMlpRowChoices(), rows, device.context->device().compute_units)) {
      if (r <= max_rows_per_group && cl::fusedMlpFits(*device.context, widths, r)) {
        tactics.push_back(runtime::fusedMlpTacticPrefix() + std::to_string(r));
      }
    }
  } else if (half_weights && cl::fusedMlpMmaOffered(*device.context)) {
    for (int r : fusedRowChoicesWorthTiming(cl::fusedMlpMmaRowChoices(), rows, device.context->device().compute_units)) {
      if (r <= max_rows_per_group && cl::fusedMlpMmaFits(*device.context, widths, r)) tactics.push_back(cl::fusedMlpMmaTactic(r));
    }
  }
  return tactics;
}

// For a dynamic profile: the fused step for `chain` with its tactic at each timing point (ranges of
// output sizes), when the winner changes between points; nothing when one tactic wins everywhere or
// the chain's products read their weights in mixed layouts. `opt_choice`: the choice at opt
// ("unfused" or a fused tactic), which stays the step's tactic there.
std::optional<PlanStep> mlpStepWithRanges(EnginePlan& plan, const MlpChain& chain, const std::string& opt_choice,
                                          BuildDevice& device, TimingCache* cache) {
  const std::vector<TimingPoint> points = timingPoints(plan, device);
  const std::optional<MlpWeightLayout> layout = productWeightLayout(plan, chain);
  if (points.size() < 2 || !layout || (opt_choice != "unfused" && mlpWeightLayout(opt_choice) != *layout)) {
    return std::nullopt;
  }
  // In the products' own layout the fused step reads their weights as they are: it adds no tensor
  // to the plan, so the plan's shapes serve it.
  const std::size_t tensors = plan.tensors.size();
  PlanStep step = makeFusedMlpStep(plan, chain, *layout);
  if (plan.tensors.size() != tensors) throw Error("fused MLP '" + step.name + "': its products' layout added weights");
  const std::vector<std::int64_t> widths = mlpWidths(std::get<network::FusedMlpLayer>(step.parameters));
  const auto rowsAt = [&](const std::vector<Dims>& shapes) {
    return shapes[static_cast<std::size_t>(chain.input)].volume() / std::max<std::int64_t>(widths.front(), 1);
  };
  const bool half_weights = plan.tensors[static_cast<std::size_t>(step.inputs[1])].type == DataType::kHALF;
  const std::vector<Dims> opt = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  const std::vector<int>& choices = *layout == MlpWeightLayout::kKxN ? cl::fusedMlpRowChoices() : cl::fusedMlpMmaRowChoices();
  const int widest_group = fusedRowChoicesWorthTiming(choices, std::max<std::int64_t>(rowsAt(opt), 1), device.context->device().compute_units).back();
  std::map<std::int64_t, std::string> best_at;
  best_at[opt[static_cast<std::size_t>(chain.output)].volume()] =
      opt_choice == "unfused" ? layersTactic(plan, chain, opt, *layout) : opt_choice;
  for (const TimingPoint& point : points) {
    const std::int64_t elements = point.shapes[static_cast<std::size_t>(chain.output)].volume();
    if (elements == 0 || best_at.count(elements) != 0) continue;
    std::vector<std::string> candidates{layersTactic(plan, chain, point.shapes, *layout)};
    for (const std::string& fused : fusedTacticsAt(device, widths, *layout, half_weights, rowsAt(point.shapes), widest_group)) {
      candidates.push_back(fused);
    }
    std::string key = device.context->device().fingerprint() + "|" + mlpSignature(plan, chain, point.shapes) + " of";
    for (const std::string& candidate : candidates) key += " " + candidate;
    TimingEntry best;
    if (!(cache && cache->lookup(key, best))) {
      best = {"", std::numeric_limits<double>::infinity()};
      std::string timings;
      for (const std::string& candidate : candidates) {
        step.tactic = candidate;
        timeFusedMlp(plan, step, point.shapes, device, best, timings);
      }
      if (best.tactic.empty()) continue;
      log(Severity::kVERBOSE, "'" + step.name + "' at an output of " + std::to_string(elements) + " elements: " +
                                  best.tactic + " (timed" + timings + ")");
      if (cache) cache->store(key, best);
    }
    best_at[elements] = best.tactic;
  }
  const bool runs_fused = std::any_of(best_at.begin(), best_at.end(),
                                      [](const auto& entry) { return !runtime::fusedMlpLayers(entry.second); });
  const std::vector<engine::TacticRange> ranges = tacticRanges(best_at);
  if (!runs_fused || ranges.empty()) return std::nullopt;
  step.tactic = best_at[opt[static_cast<std::size_t>(chain.output)].volume()];
  step.tactic_ranges = ranges;
  log(Severity::kVERBOSE, "'" + step.name + "': tactics by output elements: " + engine::tacticRangesText(step));
  return step;
}

}  // namespace

EarlyMlpChoice fuseMlpChainsBeforeTactics(EnginePlan& plan, BuildDevice& device, TimingCache* cache) {
  EarlyMlpChoice early;
  if (timingPoints(plan, device).size() > 1) return early;
  std::optional<double> floor_ms;
  std::size_t from = 0;
  while (const std::optional<MlpChain> chain = findMlpChain(plan, from)) {
    from = chain->last + 1;
    // A chain whose steps launch one kernel saves no launch fused: the bound could only be met
    // by noise (a fused kernel as fast as an empty one), so its choice waits for the steps' timing.
    const std::size_t launches = leastLaunchesOfSteps(plan, *chain);
    if (launches < 2) continue;
    const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
    // Its own key: the steps' tactics in mlpSignature are not chosen yet.
    const std::string key =
        device.context->device().fingerprint() + "|before tactics " + mlpSignature(plan, *chain, shapes);
    TimingEntry choice;
    const bool cached = cache && cache->lookup(key, choice) &&
                        (cl::fusedMlpMmaRows(choice.tactic) == 0 || cl::fusedMlpMmaOffered(*device.context));
    if (!cached) {
      const FusedTimings fused = timeFusedVariants(plan, *chain, shapes, device);
      const double bound = fused.best.tactic.empty() ? 0.0 : static_cast<double>(launches) * launchFloor(device, floor_ms);
      const bool decided = fused.best.milliseconds < bound;
      choice = decided ? fused.best : TimingEntry{"unfused", bound};
      const std::string name = fusedStepName(plan, *chain);
      log(Severity::kVERBOSE, "'" + name + "': " +
                                  (decided ? fused.best.tactic + " before tactic choice, faster than its steps' " +
                                                 std::to_string(launches) + " launches can be (" +
                                                 std::to_string(bound) + " ms)"
                                           : "its steps' " + std::to_string(launches) + " launches (at least " +
                                                 std::to_string(bound) + " ms) may win: timed after tactic choice") +
                                  " (timed" + fused.text + ")");
      if (!decided) early.timed.emplace(name, fused);
      if (cache) cache->store(key, choice);
    }
    if (choice.tactic == "unfused") continue;
    PlanStep step = makeFusedMlpStep(plan, *chain, mlpWeightLayout(choice.tactic));
    step.tactic = choice.tactic;
    replaceChain(plan, *chain, std::move(step));
    from = chain->first + 1;
    ++early.fused;
  }
  if (early.fused > 0) removeUnusedTensors(plan);
  return early;
}

void setLaunchFloorForTesting(double milliseconds) { launchFloorForTesting().store(milliseconds); }

int fuseMlpChains(EnginePlan& plan, BuildDevice& device, TimingCache* cache, const EarlyMlpChoice& early) {
  int fused_count = 0;
  std::size_t from = 0;
  while (const std::optional<MlpChain> chain = findMlpChain(plan, from)) {
    from = chain->last + 1;  // a chain left unfused is not retried piecewise
    const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
    const std::string key = device.context->device().fingerprint() + "|" + mlpSignature(plan, *chain, shapes);
    TimingEntry choice;
    // A cached tensor-core choice counts only where those kernels are still offered.
    const bool cached = cache && cache->lookup(key, choice) &&
                        (cl::fusedMlpMmaRows(choice.tactic) == 0 || cl::fusedMlpMmaOffered(*device.context));
    if (!cached) {
      choice = timeMlpChain(plan, *chain, shapes, device, early);
      if (cache) cache->store(key, choice);
    }
    if (std::optional<PlanStep> ranged = mlpStepWithRanges(plan, *chain, choice.tactic, device, cache)) {
      replaceChain(plan, *chain, std::move(*ranged));
      from = chain->first + 1;
      ++fused_count;
      continue;
    }
    if (choice.tactic == "unfused") continue;
    PlanStep step = makeFusedMlpStep(plan, *chain, mlpWeightLayout(choice.tactic));
    step.tactic = choice.tactic;
    replaceChain(plan, *chain, std::move(step));
    from = chain->first + 1;
    ++fused_count;
  }
  if (fused_count > 0) removeUnusedTensors(plan);
  return fused_count;
}

}  // namespace mlprt::builder
