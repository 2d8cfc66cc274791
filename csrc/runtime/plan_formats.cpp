#include "runtime/plan_formats.h"

#include <string>

#include "backend/opencl/ops/convolution/convolution.h"
#include "core/error.h"

namespace mlprt::runtime {
namespace {

std::vector<const std::string*> tacticsOf(const engine::PlanStep& step) {
  std::vector<const std::string*> tactics;
  if (!step.tactic.empty()) tactics.push_back(&step.tactic);
  for (const engine::TacticRange& range : step.tactic_ranges) tactics.push_back(&range.tactic);
  return tactics;
}

// Whether a convolution step runs channels-last: all of its tactics do, or none.
bool convolutionChannelsLast(const engine::PlanStep& step) {
  int channels_last = 0, linear = 0;
  for (const std::string* tactic : tacticsOf(step)) {
    try {
      (cl::convolutionTacticChannelsLast(*tactic) ? channels_last : linear) += 1;
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("step '" + step.name + "': " + e.what());
    }
  }
  if (channels_last > 0 && linear > 0) {
    throw InvalidArgument("step '" + step.name + "' has channels-last (HWC) and LINEAR convolution tactics; "
                          "one step runs in one layout");
  }
  return channels_last > 0;
}

}  // namespace

TensorFormat stepOperandFormat(const engine::PlanStep& step, int input) {
  if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) {
    // The data (0), the kernel (1), the residual (3) and the output share the layout; the bias is
    // LINEAR.
    const bool data = input == -1 || input == 0 || input == 1 || input == 3;
    return data && convolutionChannelsLast(step) ? TensorFormat::kHWC : TensorFormat::kLINEAR;
  }
  if (std::holds_alternative<network::IdentityLayer>(step.parameters) && !step.tactic.empty()) {
    const bool to_hwc = step.tactic == kReformatToHwc;
    if (!to_hwc && step.tactic != kReformatToLinear) {
      throw InvalidArgument("step '" + step.name + "': Identity tactic '" + step.tactic + "' is neither '" +
                            kReformatToHwc + "' nor '" + kReformatToLinear + "'");
    }
    return (input == -1) == to_hwc ? TensorFormat::kHWC : TensorFormat::kLINEAR;
  }
  return TensorFormat::kLINEAR;
}

std::vector<TensorFormat> planTensorFormats(const engine::EnginePlan& plan) {
  std::vector<TensorFormat> formats(plan.tensors.size(), TensorFormat::kLINEAR);
  std::vector<const engine::PlanStep*> producers(plan.tensors.size(), nullptr);
  const auto tensorName = [&plan](engine::TensorId id) { return "tensor '" + plan.tensors[static_cast<std::size_t>(id)].name + "'"; };
  const auto requireRank = [&](engine::TensorId id, const engine::PlanStep& step, const char* how) {
    const std::size_t rank = plan.tensors[static_cast<std::size_t>(id)].shape.rank();
    if (rank < 3 || rank > 4) {
      throw InvalidArgument(tensorName(id) + " of rank " + std::to_string(rank) + " is " + how + " HWC by step '" +
                            step.name + "'; only tensors of rank 3 or 4 have that format");
    }
  };
  for (const engine::PlanStep& step : plan.steps) {
    const auto out = static_cast<std::size_t>(step.output);
    formats.at(out) = stepOperandFormat(step, -1);
    producers[out] = &step;
    if (formats[out] == TensorFormat::kHWC) requireRank(step.output, step, "written");
  }
  // Constants have no writer: each is stored as its first reader reads it.
  std::vector<const engine::PlanStep*> first_readers(plan.tensors.size(), nullptr);
  for (const engine::PlanStep& step : plan.steps) {
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const auto id = static_cast<std::size_t>(step.inputs[i]);
      if (plan.tensors.at(id).role != engine::TensorRole::kConstant || first_readers[id]) continue;
      first_readers[id] = &step;
      formats[id] = stepOperandFormat(step, static_cast<int>(i));
      if (formats[id] == TensorFormat::kHWC) requireRank(step.inputs[i], step, "read");
    }
  }
  for (const engine::PlanStep& step : plan.steps) {
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const auto id = static_cast<std::size_t>(step.inputs[i]);
      const TensorFormat read = stepOperandFormat(step, static_cast<int>(i));
      if (read == formats.at(id)) continue;
      const std::string how = producers[id]      ? "written " + std::string(tensorFormatName(formats[id])) + " by step '" +
                                                       producers[id]->name + "'"
                              : first_readers[id] ? "a constant stored " + std::string(tensorFormatName(formats[id])) +
                                                       " for step '" + first_readers[id]->name + "'"
                                                  : std::string("written LINEAR by no step");
      throw InvalidArgument(tensorName(step.inputs[i]) + " is " + how + " but step '" + step.name + "' reads it " +
                            tensorFormatName(read));
    }
  }
  for (engine::TensorId output : plan.outputs) {
    if (formats.at(static_cast<std::size_t>(output)) != TensorFormat::kLINEAR) {
      throw InvalidArgument("engine output " + tensorName(output) + " is written " +
                            tensorFormatName(formats[static_cast<std::size_t>(output)]) + "; engine outputs are LINEAR");
    }
  }
  return formats;
}

std::vector<int> toChannelsLastPermutation(std::size_t rank) {
  std::vector<int> permutation = {0};
  for (std::size_t axis = 2; axis < rank; ++axis) permutation.push_back(static_cast<int>(axis));
  permutation.push_back(1);
  return permutation;
}

std::vector<int> fromChannelsLastPermutation(std::size_t rank) {
  const std::vector<int> forward = toChannelsLastPermutation(rank);
  std::vector<int> inverse(rank);
  for (std::size_t axis = 0; axis < rank; ++axis) inverse[static_cast<std::size_t>(forward[axis])] = static_cast<int>(axis);
  return inverse;
}

}  // namespace mlprt::runtime
