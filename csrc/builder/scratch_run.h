// The build's device and scratch runs of plan steps on it: steps run on operands in scratch
// memory, once (their kernels compile on the way) or timed (tactic_timing.h says how). Tactic
// choice (tactic_choice.h), the fused MLPs' and layouts' timings and the verification run use them.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/opencl/compile_helper.h"
#include "backend/opencl/context.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"
#include "core/data_type.h"
#include "core/dims.h"
#include "engine/plan.h"
#include "runtime/step_runner.h"

namespace mlprt::builder {

// The device a build runs work on (constant folding, tactic timing, the verification run): one
// queue and one set of kernel objects for the whole build.
struct BuildDevice {
  explicit BuildDevice(std::shared_ptr<cl::Context> device_context)
      : context(std::move(device_context)), kernels(context), stream(cl::Stream::create(context, /*timed=*/true)) {}
  std::shared_ptr<cl::Context> context;
  cl::KernelCache kernels;
  std::shared_ptr<cl::Stream> stream;
  // Timed runs per candidate that survives its warm-up (furtherRuns); 0: as many as fit the budget.
  int timing_iterations = 0;
  // Tactics timed at every timing point of the profiles (BuilderConfig::timesAcrossProfiles), or
  // at the first profile's opt shapes only.
  bool time_across_profiles = true;
  // "signature|tactic" of the candidates the whole build ran ahead (compileBuildAhead): a step's
  // own pass (compileCandidatesInParallel) skips them.
  std::set<std::string> ran_ahead;
  // Helper processes for the whole build's compile pool (startCompileHelpers), until it has run.
  std::unique_ptr<cl::CompileHelperPool> compile_helpers;
};

struct ScratchTensor {
  std::shared_ptr<cl::DeviceBuffer> buffer;
  cl::DeviceTensor view;
};

// A zero-filled tensor of `shape` and `type` in a buffer of its own.
ScratchTensor scratch(const std::shared_ptr<cl::Context>& context, cl::Stream& stream, const Dims& shape,
                      DataType type);

// Scratch operands for a run of `steps` at `shapes`: one buffer per tensor, except constants,
// which share one buffer (the fused kernel reads all weights from one buffer, as in an engine).
class ScratchRun {
 public:
  ScratchRun(const engine::EnginePlan& plan, const std::vector<const engine::PlanStep*>& steps,
             const std::vector<Dims>& shapes, BuildDevice& device);

  // Runs the steps once and waits (their kernels compile on the way).
  void runOnce();

  // Milliseconds per run of the steps (tactic_timing.h says how runs are spent).
  double time(double best_so_far = -1.0);

 private:
  // Gives each step the workspace its current tactic needs (tactics change between calls).
  void provideWorkspaces();

  // Runs `run_all` once with its kernels' events logged: their device time, or -1 when the steps
  // queue commands that are not kernels (library calls), which only markers can time.
  template <typename RunAll>
  static double warmUpKernelMilliseconds(const RunAll& run_all);

  static std::vector<engine::TensorId> idsOf(const engine::PlanStep& step);

  BuildDevice& device_;
  std::vector<Dims> shapes_;  // every tensor's, at this run
  std::vector<ScratchTensor> buffers_;
  ScratchTensor workspace_;  // shared by the steps, which run one after another
  std::map<engine::TensorId, cl::DeviceTensor> views_;
  std::vector<std::pair<const engine::PlanStep*, runtime::StepOperands>> runs_;
};

}  // namespace mlprt::builder
