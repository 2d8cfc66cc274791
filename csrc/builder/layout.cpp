#include "builder/layout.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <utility>
#include <vector>

#include "builder/memory_plan.h"
#include "core/logging.h"
#include "runtime/plan_formats.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::TensorId;

// A convolution's operands that run in its layout: data (0), kernel (1) and residual (3); the bias
// (2) is LINEAR either way.
bool isLayoutOperand(std::size_t input) { return input == 0 || input == 1 || input == 3; }

// LINEAR convolutions that may run HWC: 1 or 2 spatial axes of a floating type.
bool mayRunChannelsLast(const EnginePlan& plan, const PlanStep& step) {
  if (!std::holds_alternative<network::ConvolutionLayer>(step.parameters) ||
      runtime::stepOperandFormat(step, -1) != TensorFormat::kLINEAR) {
    return false;
  }
  const engine::PlanTensor& out = plan.tensors.at(static_cast<std::size_t>(step.output));
  const std::size_t rank = out.shape.rank();
  return (rank == 3 || rank == 4) && (out.type == DataType::kFLOAT || out.type == DataType::kHALF);
}

struct Reader {
  std::size_t step;
  std::size_t input;
};

// Union-find over step indices.
struct Groups {
  std::vector<std::size_t> parent;
  explicit Groups(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), std::size_t{0}); }
  std::size_t find(std::size_t i) { return parent[i] == i ? i : parent[i] = find(parent[i]); }
  void join(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
};

// A cast or copy: an Identity step without a reformat tactic. Where one meets a group's boundary
// it becomes the reformat itself (the transpose converts types too), so FP16 engines' boundary
// casts cost no extra pass.
bool isCast(const PlanStep& step) {
  return std::holds_alternative<network::IdentityLayer>(step.parameters) && step.tactic.empty();
}

// One group's boundary: tensors it reads from outside, tensors it writes that outside reads; each
// needs a reformat step, or turns a cast into one (the `cast_*` sets). Constants it reads (the
// kernels) need neither: their values are permuted once, here.
struct Boundary {
  std::set<TensorId> constants;  // read channels-last: stored permuted
  std::set<TensorId> reads;    // need LINEAR -> HWC
  std::set<TensorId> escapes;  // need HWC -> LINEAR
  std::set<TensorId> cast_reads;    // written by a cast only the group reads: that cast reformats
  std::set<TensorId> cast_escapes;  // read outside by casts only: those casts reformat
};

// Who writes and reads each tensor, and which steps may run HWC.
struct Dataflow {
  std::vector<bool> candidate;               // by step: mayRunChannelsLast
  std::vector<int> producer;                 // by tensor: the step writing it, -1 for none
  std::vector<std::vector<Reader>> readers;  // by tensor
  std::set<TensorId> outputs;                // the engine's

  // A read that stays inside its group when the group runs HWC: a candidate's data, kernel or
  // residual. (A candidate reading a candidate's output that way is in that writer's group.)
  bool insideRead(const Reader& reader) const { return candidate[reader.step] && isLayoutOperand(reader.input); }
  const std::vector<Reader>& readersOf(TensorId id) const { return readers[static_cast<std::size_t>(id)]; }
  int producerOf(TensorId id) const { return producer[static_cast<std::size_t>(id)]; }
};

Dataflow dataflowOf(const EnginePlan& plan) {
  Dataflow flow;
  flow.candidate.resize(plan.steps.size());
  flow.producer.assign(plan.tensors.size(), -1);
  flow.readers.resize(plan.tensors.size());
  flow.outputs.insert(plan.outputs.begin(), plan.outputs.end());
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const PlanStep& step = plan.steps[s];
    flow.candidate[s] = mayRunChannelsLast(plan, step);
    flow.producer.at(static_cast<std::size_t>(step.output)) = static_cast<int>(s);
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      flow.readers.at(static_cast<std::size_t>(step.inputs[i])).push_back({s, i});
    }
  }
  return flow;
}

// The candidates joined by the tensors they pass one another as data or residual: each group's
// steps in plan order.
std::vector<std::vector<std::size_t>> groupsOf(const Dataflow& flow) {
  Groups groups(flow.candidate.size());
  for (std::size_t t = 0; t < flow.producer.size(); ++t) {
    const int from = flow.producer[t];
    if (from < 0 || !flow.candidate[static_cast<std::size_t>(from)]) continue;
    for (const Reader& reader : flow.readers[t]) {
      if (flow.insideRead(reader)) groups.join(reader.step, static_cast<std::size_t>(from));
    }
  }
  std::map<std::size_t, std::vector<std::size_t>> members;
  for (std::size_t s = 0; s < flow.candidate.size(); ++s) {
    if (flow.candidate[s]) members[groups.find(s)].push_back(s);
  }
  std::vector<std::vector<std::size_t>> result;
  for (auto& [root, group] : members) result.push_back(std::move(group));
  return result;
}

Boundary boundaryOf(const EnginePlan& plan, const Dataflow& flow, const std::vector<std::size_t>& group) {
  Boundary boundary;
  for (std::size_t s : group) {
    const PlanStep& step = plan.steps[s];
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const int from = flow.producerOf(step.inputs[i]);
      if (!isLayoutOperand(i) || (from >= 0 && flow.candidate[static_cast<std::size_t>(from)])) continue;
      const bool constant = plan.tensors.at(static_cast<std::size_t>(step.inputs[i])).role == engine::TensorRole::kConstant;
      (constant ? boundary.constants : boundary.reads).insert(step.inputs[i]);
    }
    const std::vector<Reader>& readers = flow.readersOf(step.output);
    const bool read_outside =
        std::any_of(readers.begin(), readers.end(), [&](const Reader& r) { return !flow.insideRead(r); });
    if (read_outside || flow.outputs.count(step.output)) boundary.escapes.insert(step.output);
  }
  // A cast may reformat only what this group alone reads: a second group reading the same tensor
  // (two convolutions of an FP16 engine's input) may stay LINEAR.
  const std::set<std::size_t> members(group.begin(), group.end());
  for (TensorId id : boundary.reads) {
    const int from = flow.producerOf(id);
    const std::vector<Reader>& readers = flow.readersOf(id);
    if (from >= 0 && isCast(plan.steps[static_cast<std::size_t>(from)]) && !flow.outputs.count(id) &&
        std::all_of(readers.begin(), readers.end(),
                    [&](const Reader& r) { return flow.insideRead(r) && members.count(r.step); })) {
      boundary.cast_reads.insert(id);
    }
  }
  for (TensorId id : boundary.escapes) {
    const std::vector<Reader>& readers = flow.readersOf(id);
    if (!flow.outputs.count(id) && std::all_of(readers.begin(), readers.end(), [&](const Reader& r) {
          return flow.insideRead(r) || isCast(plan.steps[r.step]);
        })) {
      boundary.cast_escapes.insert(id);
    }
  }
  return boundary;
}

// The group's channels-last tactic per step where it goes HWC; nothing where it stays LINEAR. Its
// LINEAR time first; then its HWC time (the reformats, then the convolutions, dearest first) until
// it reaches the LINEAR time.
std::map<std::size_t, std::string> chooseGroupLayout(const EnginePlan& plan, const std::vector<std::size_t>& group,
                                                     const Boundary& boundary, const LayoutCosts& costs,
                                                     LayoutPreference preference) {
  double linear_ms = 0.0, hwc_ms = 0.0;
  std::vector<std::pair<double, std::size_t>> by_cost;
  for (std::size_t s : group) {
    by_cost.emplace_back(costs.linear(plan.steps[s]), s);
    linear_ms += by_cost.back().first;
  }
  std::sort(by_cost.begin(), by_cost.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (TensorId id : boundary.reads) hwc_ms += boundary.cast_reads.count(id) ? 0.0 : costs.reformat(id);
  for (TensorId id : boundary.escapes) hwc_ms += boundary.cast_escapes.count(id) ? 0.0 : costs.reformat(id);
  bool runs = true, lost = false;
  std::size_t timed = 0;
  std::map<std::size_t, std::string> tactics;
  for (const auto& [ms, s] : by_cost) {
    if (preference == LayoutPreference::kTimed && hwc_ms >= linear_ms) {
      lost = true;
      break;
    }
    const ChannelsLastCost cost = costs.channels_last(plan.steps[s]);
    ++timed;
    if (cost.tactic.empty()) {
      runs = false;
      break;
    }
    tactics[s] = cost.tactic;
    hwc_ms += cost.milliseconds;
  }
  const bool take = runs && !lost && (preference == LayoutPreference::kAlways || hwc_ms < linear_ms);
  log(Severity::kVERBOSE, "layout: " + std::to_string(group.size()) + " convolution(s) from '" +
                              plan.steps[group.front()].name + "': LINEAR " + std::to_string(linear_ms) + " ms, HWC " +
                              (lost ? "at least " : "") + std::to_string(hwc_ms) + " ms (" + std::to_string(timed) +
                              " convolution(s) timed, " +
                              std::to_string(boundary.reads.size() + boundary.escapes.size()) + " reformat(s)): " +
                              (!runs ? "no channels-last tactic runs one" : take ? "HWC" : "LINEAR"));
  return take ? tactics : std::map<std::size_t, std::string>();
}

// The values of constant `id`, (d0, d1, d...) in memory, reordered to (d0, d..., d1): channels-last.
std::vector<std::uint8_t> channelsLastBytes(const EnginePlan& plan, TensorId id) {
  const engine::PlanTensor& tensor = plan.tensors.at(static_cast<std::size_t>(id));
  const std::size_t size = elementSize(tensor.type);
  const std::int64_t outer = tensor.shape[0], channels = tensor.shape[1];
  const std::int64_t inner = tensor.shape.volume() / std::max<std::int64_t>(outer * channels, 1);
  const std::uint8_t* from = plan.weights.data() + tensor.offset;
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(tensor.shape.volume()) * size);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t c = 0; c < channels; ++c)
      for (std::int64_t p = 0; p < inner; ++p) {
        const auto linear = static_cast<std::size_t>((o * channels + c) * inner + p);
        const auto last = static_cast<std::size_t>((o * inner + p) * channels + c);
        std::copy_n(from + linear * size, size, bytes.data() + last * size);
      }
  return bytes;
}

// Constant `id` stored channels-last for the HWC steps that read it: in place where they are all
// its readers, else as a new constant (" (HWC)") beside the LINEAR one. Returns the tensor the
// HWC steps read.
TensorId permuteConstant(EnginePlan& plan, const Dataflow& flow, const std::map<std::size_t, std::string>& hwc_tactic,
                         TensorId id) {
  const std::vector<std::uint8_t> bytes = channelsLastBytes(plan, id);
  const std::vector<Reader>& readers = flow.readersOf(id);
  const bool only_hwc = std::all_of(readers.begin(), readers.end(), [&](const Reader& r) {
    return hwc_tactic.count(r.step) && isLayoutOperand(r.input);
  });
  if (only_hwc) {
    std::copy(bytes.begin(), bytes.end(), plan.weights.begin() + static_cast<std::ptrdiff_t>(plan.tensors[static_cast<std::size_t>(id)].offset));
    return id;
  }
  engine::PlanTensor tensor = plan.tensors.at(static_cast<std::size_t>(id));
  tensor.name += " (HWC)";
  tensor.offset = appendAligned(plan.weights, bytes.data(), bytes.size());
  tensor.capacity = bytes.size();
  plan.tensors.push_back(std::move(tensor));
  return static_cast<TensorId>(plan.tensors.size() - 1);
}

// Rewrites the plan for the groups made HWC (`hwc_tactic`: their steps' tactics; `chosen`: their
// boundaries): constants they read stored channels-last, new HWC tensors where a LINEAR one stays
// needed, reformat steps beside their producer (to LINEAR) or before their first HWC reader (to
// HWC), boundary casts made reformats. Returns the reformats.
int rewriteForChannelsLast(EnginePlan& plan, const Dataflow& flow, const std::map<std::size_t, std::string>& hwc_tactic,
                           const std::vector<Boundary>& chosen) {
  const std::size_t steps = plan.steps.size();
  int reformats = 0;
  const auto addTensor = [&plan](TensorId like) {
    engine::PlanTensor tensor = plan.tensors.at(static_cast<std::size_t>(like));
    tensor.name += " (HWC)";
    tensor.role = engine::TensorRole::kActivation;
    tensor.offset = tensor.capacity = 0;
    plan.tensors.push_back(std::move(tensor));
    return static_cast<TensorId>(plan.tensors.size() - 1);
  };
  const auto reformatStep = [&plan](TensorId from, TensorId to, bool to_hwc) {
    PlanStep step;
    const TensorId linear = to_hwc ? from : to;  // named after the network's tensor
    step.name = "Reformat " + plan.tensors.at(static_cast<std::size_t>(linear)).name + " to " + (to_hwc ? "HWC" : "LINEAR");
    step.parameters = network::IdentityLayer{plan.tensors.at(static_cast<std::size_t>(to)).type};
    step.inputs = {from};
    step.output = to;
    step.tactic = to_hwc ? runtime::kReformatToHwc : runtime::kReformatToLinear;
    return step;
  };
  std::map<std::size_t, std::vector<PlanStep>> before, after;  // by step index
  std::map<TensorId, TensorId> hwc_copy;                        // LINEAR tensor -> the HWC tensor HWC readers use
  for (const Boundary& boundary : chosen) {
    for (TensorId id : boundary.constants) {
      if (!hwc_copy.count(id)) hwc_copy[id] = permuteConstant(plan, flow, hwc_tactic, id);
    }
    for (TensorId id : boundary.cast_reads) {
      plan.steps[static_cast<std::size_t>(flow.producerOf(id))].tactic = runtime::kReformatToHwc;
      ++reformats;
    }
    for (TensorId id : boundary.cast_escapes) {
      for (const Reader& reader : flow.readersOf(id)) {
        if (flow.insideRead(reader)) continue;
        plan.steps[reader.step].tactic = runtime::kReformatToLinear;
        ++reformats;
      }
    }
    for (TensorId id : boundary.escapes) {
      if (boundary.cast_escapes.count(id)) continue;
      const TensorId hwc = addTensor(id);
      hwc_copy[id] = hwc;
      const auto from = static_cast<std::size_t>(flow.producerOf(id));
      plan.steps[from].output = hwc;
      after[from].push_back(reformatStep(hwc, id, false));
    }
    for (TensorId id : boundary.reads) {
      // Read by two groups: one reformat before the first HWC reader serves both.
      if (boundary.cast_reads.count(id) || hwc_copy.count(id)) continue;
      const TensorId hwc = addTensor(id);
      hwc_copy[id] = hwc;
      std::size_t first = steps;
      for (const Reader& reader : flow.readersOf(id)) {
        if (hwc_tactic.count(reader.step) && isLayoutOperand(reader.input)) first = std::min(first, reader.step);
      }
      before[first].push_back(reformatStep(id, hwc, true));
    }
  }
  for (const auto& [s, tactic] : hwc_tactic) {
    PlanStep& step = plan.steps[s];
    step.tactic = tactic;
    step.tactic_ranges.clear();
    for (std::size_t i = 0; i < step.inputs.size(); ++i) {
      const auto copy = hwc_copy.find(step.inputs[i]);
      if (isLayoutOperand(i) && copy != hwc_copy.end()) step.inputs[i] = copy->second;
    }
  }
  std::vector<PlanStep> rewritten;
  for (std::size_t s = 0; s < steps; ++s) {
    for (PlanStep& step : before[s]) rewritten.push_back(std::move(step));
    rewritten.push_back(std::move(plan.steps[s]));
    for (PlanStep& step : after[s]) rewritten.push_back(std::move(step));
  }
  reformats += static_cast<int>(rewritten.size() - steps);
  plan.steps = std::move(rewritten);
  return reformats;
}

}  // namespace

LayoutChoice chooseLayouts(EnginePlan& plan, const LayoutCosts& costs, LayoutPreference preference) {
  LayoutChoice choice;
  if (preference == LayoutPreference::kNever) return choice;
  const Dataflow flow = dataflowOf(plan);
  std::map<std::size_t, std::string> hwc_tactic;  // step -> its channels-last tactic, for groups made HWC
  std::vector<Boundary> chosen;
  for (const std::vector<std::size_t>& group : groupsOf(flow)) {
    ++choice.groups;
    Boundary boundary = boundaryOf(plan, flow, group);
    const std::map<std::size_t, std::string> tactics = chooseGroupLayout(plan, group, boundary, costs, preference);
    if (tactics.empty()) continue;
    ++choice.hwc_groups;
    choice.hwc_convolutions += static_cast<int>(group.size());
    hwc_tactic.insert(tactics.begin(), tactics.end());
    chosen.push_back(std::move(boundary));
  }
  if (!hwc_tactic.empty()) choice.reformats = rewriteForChannelsLast(plan, flow, hwc_tactic, chosen);
  return choice;
}

}  // namespace mlprt::builder
