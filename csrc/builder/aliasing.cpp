#include "builder/aliasing.h"

#include <algorithm>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "runtime/plan_shapes.h"

namespace mlprt::builder {
namespace {

using engine::EnginePlan;
using engine::PlanStep;
using engine::TensorId;
using engine::TensorRole;

bool isStatic(const Dims& shape) {
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) {
    if (shape[axis] < 0) return false;
  }
  return true;
}

// Elements of `shape` per step along `axis` (the product of the extents after it).
std::uint64_t innerVolume(const Dims& shape, std::size_t axis) {
  std::uint64_t volume = 1;
  for (std::size_t a = axis + 1; a < shape.rank(); ++a) volume *= static_cast<std::uint64_t>(shape[a]);
  return volume;
}

bool onesBefore(const Dims& shape, std::size_t axis) {
  for (std::size_t a = 0; a < axis; ++a) {
    if (shape[a] != 1) return false;
  }
  return true;
}

class Planner {
 public:
  explicit Planner(EnginePlan& plan) : plan_(plan), removed_(plan.steps.size(), false) {
    for (std::size_t s = 0; s < plan.steps.size(); ++s) producer_[plan.steps[s].output] = s;
  }

  Views run() {
    for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
      if (viewConcatenation(plan_.steps[s])) {
        removed_[s] = true;
        ++views_.concatenations;
      }
    }
    for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
      if (!removed_[s] && viewSlice(plan_.steps[s])) {
        removed_[s] = true;
        ++views_.slices;
      } else if (!removed_[s] && viewReshape(plan_.steps[s])) {
        // A step of dynamic shape stays, so that the runtime learns its output's shape; it
        // launches nothing (its output is its input's memory).
        removed_[s] = isStatic(tensor(plan_.steps[s].output).shape);
        ++views_.reshapes;
      }
    }
    std::vector<PlanStep> kept;
    for (std::size_t s = 0; s < plan_.steps.size(); ++s) {
      if (!removed_[s]) kept.push_back(std::move(plan_.steps[s]));
    }
    plan_.steps = std::move(kept);
    return std::move(views_);
  }

 private:
  const engine::PlanTensor& tensor(TensorId id) const { return plan_.tensors[static_cast<std::size_t>(id)]; }

  // An arena tensor that no view claims yet.
  bool unclaimed(TensorId id) const {
    return tensor(id).role == TensorRole::kActivation && views_.of.count(id) == 0;
  }
  // One of static shape (whose place in another tensor is one offset at every shape).
  bool free(TensorId id) const { return unclaimed(id) && isStatic(tensor(id).shape); }

  bool viewConcatenation(const PlanStep& step) {
    const auto* concat = std::get_if<network::ConcatenationLayer>(&step.parameters);
    if (!concat || !free(step.output)) return false;
    const Dims& out = tensor(step.output).shape;
    const auto axis = static_cast<std::size_t>(concat->axis < 0 ? concat->axis + static_cast<int>(out.rank()) : concat->axis);
    if (axis >= out.rank() || !onesBefore(out, axis)) return false;
    const std::set<TensorId> distinct(step.inputs.begin(), step.inputs.end());
    if (distinct.size() != step.inputs.size() || distinct.count(step.output)) return false;
    for (TensorId input : step.inputs) {
      // Written by a step of its own (not a view already), of the output's type.
      if (!free(input) || !producer_.count(input) || tensor(input).type != tensor(step.output).type) return false;
    }
    std::vector<std::uint64_t> offsets;
    std::uint64_t offset = 0;
    for (TensorId input : step.inputs) {
      views_.of[input] = {step.output, offset};
      offsets.push_back(offset);
      offset += bytes(input);
    }
    placeSplitSources(step, offsets);
    return true;
  }

  // Consecutive inputs that are the pieces of one tensor, in order and whole (YOLO's C2f joins
  // the two halves of a split with what follows): that tensor is placed where they are, so its
  // producer writes into the concatenation and the slices that cut it go too.
  void placeSplitSources(const PlanStep& concat, const std::vector<std::uint64_t>& offsets) {
    for (std::size_t first = 0; first < concat.inputs.size();) {
      TensorId source = -1;
      std::uint64_t covered = 0;
      std::size_t last = first;
      std::vector<std::size_t> slices;
      for (; last < concat.inputs.size(); ++last) {
        const auto found = producer_.find(concat.inputs[last]);
        if (found == producer_.end() || removed_[found->second]) break;
        const PlanStep& step = plan_.steps[found->second];
        const auto piece = contiguousPiece(step);
        if (!piece || (source >= 0 && step.inputs[0] != source) || *piece != covered) break;
        source = step.inputs[0];
        covered += bytes(step.output);
        slices.push_back(found->second);
      }
      if (source >= 0 && free(source) && producer_.count(source) && covered == bytes(source)) {
        views_.of[source] = {concat.output, offsets[first]};
        for (std::size_t s : slices) {
          removed_[s] = true;
          ++views_.slices;
        }
      }
      first = std::max(last, first + 1);
    }
  }

  std::uint64_t bytes(TensorId id) const { return runtime::tensorBytes(tensor(id).shape, tensor(id).type); }

  // The byte offset in its input of what a slice step reads, when that is one contiguous piece
  // of an arena tensor of static shape (unit strides, extent 1 before the sliced axis, whole
  // extents after it, within bounds); else nothing.
  std::optional<std::uint64_t> contiguousPiece(const PlanStep& step) const {
    const auto* slice = std::get_if<network::SliceLayer>(&step.parameters);
    if (!slice || step.inputs.size() != 1 || slice->mode != SampleMode::kSTRICT_BOUNDS) return std::nullopt;
    const engine::PlanTensor& in = tensor(step.inputs[0]);
    const engine::PlanTensor& out_tensor = tensor(step.output);
    if (in.role != TensorRole::kActivation || !isStatic(in.shape) || !isStatic(out_tensor.shape) ||
        in.type != out_tensor.type) {
      return std::nullopt;
    }
    const Dims& out = out_tensor.shape;
    if (out.rank() != in.shape.rank() || slice->start.size() != out.rank()) return std::nullopt;
    if (std::any_of(slice->stride.begin(), slice->stride.end(), [](std::int64_t s) { return s != 1; })) {
      return std::nullopt;
    }
    // The first axis the slice narrows; before it extents of 1, after it whole extents.
    std::size_t axis = 0;
    while (axis < out.rank() && slice->start[axis] == 0 && out[axis] == in.shape[axis]) ++axis;
    if (axis == out.rank()) return 0;  // the whole input
    if (!onesBefore(in.shape, axis)) return std::nullopt;
    for (std::size_t a = axis + 1; a < out.rank(); ++a) {
      if (slice->start[a] != 0 || out[a] != in.shape[a]) return std::nullopt;
    }
    if (slice->start[axis] < 0 || slice->start[axis] + out[axis] > in.shape[axis]) return std::nullopt;
    return static_cast<std::uint64_t>(slice->start[axis]) * innerVolume(in.shape, axis) *
           runtime::tensorBytes(Dims{1}, in.type);
  }

  bool viewSlice(const PlanStep& step) {
    if (!free(step.output)) return false;
    const auto piece = contiguousPiece(step);
    if (!piece) return false;
    views_.of[step.output] = {step.inputs[0], *piece};
    return true;
  }

  // A shuffle that only reshapes (no transposes) reads its input's bytes in order: its output is
  // the input itself, under another shape, at every shape (the same volume, offset 0), so
  // dynamic shapes take part too.
  bool viewReshape(const PlanStep& step) {
    const auto* shuffle = std::get_if<network::ShuffleLayer>(&step.parameters);
    if (!shuffle || step.inputs.size() != 1 || !unclaimed(step.output)) return false;
    if (!network::movesNoAxis(*shuffle)) return false;
    const engine::PlanTensor& in = tensor(step.inputs[0]);
    const engine::PlanTensor& out = tensor(step.output);
    if (in.role != TensorRole::kActivation || in.type != out.type ||
        (isStatic(in.shape) && isStatic(out.shape) && bytes(step.inputs[0]) != bytes(step.output))) {
      return false;
    }
    views_.of[step.output] = {step.inputs[0], 0};
    return true;
  }

  EnginePlan& plan_;
  std::map<TensorId, std::size_t> producer_;  // the step writing each tensor
  std::vector<bool> removed_;
  Views views_;
};

}  // namespace

Views viewDataMovement(EnginePlan& plan) { return Planner(plan).run(); }

TensorView resolveView(const Views& views, TensorId id) {
  TensorView at{id, 0};
  for (auto found = views.of.find(at.base); found != views.of.end(); found = views.of.find(at.base)) {
    at.offset += found->second.offset;
    at.base = found->second.base;
  }
  return at;
}

}  // namespace mlprt::builder
