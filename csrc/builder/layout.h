// The builder's layout choice (plan level): convolutions may keep their activations channels-last
// (HWC, core/tensor_format.h) where that is faster, with reformat steps only where layouts meet.
// Engine inputs and outputs stay LINEAR (NCHW). builder.cpp supplies the timings; this file finds
// where HWC can run, decides and rewrites the plan.
//
// Convolutions joined by a tensor that one writes and the other reads as its data, kernel or
// residual form a group; each group runs either all LINEAR or all HWC. HWC pays where the group's
// convolutions are faster channels-last by more than the reformats it needs cost: one LINEAR -> HWC
// per tensor the group reads from outside, one HWC -> LINEAR per tensor it writes that anything
// else reads (or that is an engine output). Constants it reads (the kernels: (M, C, k...) stored
// as (M, k..., C)) are permuted once by the pass, at no cost to the engine. Where a cast (an FP16 engine's boundary) already stands there, it
// becomes the reformat: one pass converts both type and layout, at no extra cost. The choice is
// made at the first profile's opt shapes.
#pragma once

#include <functional>
#include <string>

#include "engine/plan.h"

namespace mlprt::builder {

// A convolution step's best channels-last tactic at the timed shapes and its time (`tactic` empty
// where none can run it).
struct ChannelsLastCost {
  std::string tactic;
  double milliseconds = 0.0;
};

// What the pass asks of the build. A group's LINEAR times are asked first; its channels-last
// times are then asked convolution by convolution, the dearest first, and no more once their sum
// reaches the group's LINEAR time (the group stays LINEAR), so a device where HWC loses spends
// little on timing it.
struct LayoutCosts {
  // Milliseconds of the convolution with its (LINEAR) tactic as chosen.
  std::function<double(const engine::PlanStep& convolution)> linear;
  std::function<ChannelsLastCost(const engine::PlanStep& convolution)> channels_last;
  // Milliseconds of one reformat of tensor `id` (LINEAR -> HWC or back: one transpose).
  std::function<double(engine::TensorId id)> reformat;
};

// kTimed: by the costs. kAlways / kNever: every group HWC / none (MLPRT_CHANNELS_LAST=1 / 0, for
// tests and for comparing layouts by hand).
enum class LayoutPreference { kTimed, kAlways, kNever };

struct LayoutChoice {
  int groups = 0;            // groups of convolutions that could run HWC
  int hwc_groups = 0;        // of those, the groups made HWC
  int hwc_convolutions = 0;  // convolutions now HWC
  int reformats = 0;         // reformat steps: inserted, or casts made reformats
};

// Rewrites `plan` (convolution tactics chosen, all LINEAR): each group chosen HWC gets its
// convolutions' channels-last tactics (tactic ranges cleared: the caller times them again among
// HWC tactics), its constants' values permuted (in place where only HWC steps read them, else in
// a copy) and Identity reformat steps (runtime/plan_formats.h) where its tensors meet LINEAR
// ones (or its boundary casts the reformat tactics); new HWC tensors are named after the LINEAR
// ones with " (HWC)".
LayoutChoice chooseLayouts(engine::EnginePlan& plan, const LayoutCosts& costs, LayoutPreference preference);

}  // namespace mlprt::builder
