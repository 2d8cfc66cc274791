// The build's device and scratch runs (scratch_run.h).

#include "builder/scratch_run.h"

#include <cstddef>
#include <cstdint>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernel_timing.h"
#include "builder/memory_plan.h"
#include "builder/tactic_timing.h"
#include "runtime/plan_shapes.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::PlanTensor;
using engine::TensorId;
using engine::TensorRole;

}  // namespace

ScratchTensor scratch(const std::shared_ptr<cl::Context>& context, cl::Stream& stream, const Dims& shape, DataType type) {
  const std::size_t bytes = runtime::tensorBytes(shape, type);
  auto buffer = cl::DeviceBuffer::allocate(context, bytes);
  const std::uint32_t zero = 0;
  if (bytes > 0) cl::fillDevice(stream, {buffer, 0}, &zero, 1, bytes, cl::CopyMode::kBlocking);
  return {buffer, {{buffer, 0}, shape, type}};
}

ScratchRun::ScratchRun(const EnginePlan& plan, const std::vector<const PlanStep*>& steps,
                       const std::vector<Dims>& shapes, BuildDevice& device)
    : device_(device), shapes_(shapes) {
  std::map<TensorId, std::size_t> constant_offsets;
  std::size_t constant_bytes = 0;
  for (const PlanStep* step : steps) {
    for (TensorId id : idsOf(*step)) {
      const PlanTensor& tensor = plan.tensors[static_cast<std::size_t>(id)];
      if (tensor.role != TensorRole::kConstant || constant_offsets.count(id)) continue;
      constant_offsets[id] = constant_bytes;
      constant_bytes = alignUp(constant_bytes + runtime::tensorBytes(shapes[static_cast<std::size_t>(id)], tensor.type));
    }
  }
  auto constants = scratch(device.context, *device.stream, Dims({static_cast<std::int64_t>(constant_bytes) + 1}),
                           DataType::kUINT8).buffer;
  for (const PlanStep* step : steps) {
    runtime::StepOperands operands;
    const auto view = [&](TensorId id) {
      const auto index = static_cast<std::size_t>(id);
      const auto found = constant_offsets.find(id);
      if (found != constant_offsets.end()) return cl::DeviceTensor{{constants, found->second}, shapes[index], plan.tensors[index].type};
      auto existing = views_.find(id);
      if (existing == views_.end()) {
        buffers_.push_back(scratch(device.context, *device.stream, shapes[index], plan.tensors[index].type));
        existing = views_.emplace(id, buffers_.back().view).first;
      }
      return existing->second;
    };
    for (TensorId input : step->inputs) operands.inputs.push_back(view(input));
    operands.has_bias = step->epilogue.bias >= 0;
    if (operands.has_bias) operands.bias = view(step->epilogue.bias);
    operands.output = view(step->output);
    runs_.emplace_back(step, std::move(operands));
  }
}

void ScratchRun::runOnce() {
  provideWorkspaces();
  for (const auto& [step, operands] : runs_) runtime::runStep(device_.kernels, *device_.stream, *step, operands);
  device_.stream->synchronize();
}

double ScratchRun::time(double best_so_far) {
  cl::Stream& stream = *device_.stream;
  provideWorkspaces();
  const auto run_all = [&] {
    for (const auto& [step, operands] : runs_) runtime::runStep(device_.kernels, stream, *step, operands);
  };
  const auto timed = [&](int runs) {
    const cl::Event start = stream.record();
    for (int run = 0; run < runs; ++run) run_all();
    const cl::Event end = stream.record();
    end.wait();
    return cl::Event::elapsedMilliseconds(start, end) / runs;
  };
  const double warm_up = warmUpKernelMilliseconds(run_all);
  switch (judgeWarmUp(warm_up, best_so_far)) {
    case WarmUpVerdict::kCannotWin:
    case WarmUpVerdict::kLongEnough:
      return warm_up;
    case WarmUpVerdict::kMeasure:
      break;
  }
  const double first = timed(1);
  if (best_so_far >= 0.0 && first > 2.0 * best_so_far) return first;
  const int runs = furtherRuns(first, device_.timing_iterations);
  if (runs < 1) return first;
  return (first + timed(runs) * runs) / (runs + 1);
}

void ScratchRun::provideWorkspaces() {
  for (auto& [step, operands] : runs_) {
    const std::size_t bytes = runtime::stepWorkspaceBytes(*step, *device_.context, shapes_);
    operands.has_workspace = bytes > 0;
    if (bytes == 0 || (workspace_.buffer && workspace_.buffer->size() >= bytes)) continue;
    workspace_ = scratch(device_.context, *device_.stream, Dims{static_cast<std::int64_t>(bytes / sizeof(float))},
                         DataType::kFLOAT);
  }
  for (auto& [step, operands] : runs_) {
    if (operands.has_workspace) operands.workspace = workspace_.view;
  }
}

template <typename RunAll>
double ScratchRun::warmUpKernelMilliseconds(const RunAll& run_all) {
  cl::KernelTimingLog log;
  {
    cl::KernelTimingScope scope(log);
    run_all();
  }
  if (!log.complete() || log.kernelCount() == 0) return -1.0;
  return log.kernelMilliseconds();
}

std::vector<TensorId> ScratchRun::idsOf(const PlanStep& step) {
  std::vector<TensorId> ids = step.inputs;
  if (step.epilogue.bias >= 0) ids.push_back(step.epilogue.bias);
  return ids;
}

}  // namespace mlprt::builder
