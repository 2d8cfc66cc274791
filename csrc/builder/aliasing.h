// Steps that only move data and can become views of memory (issue 14: "Concat that only moves
// data fused into its consumer"; TensorRT elides such concatenations too):
//   - a Concatenation whose output has extent 1 on every axis before the joined one (batch 1):
//     each input is then one contiguous piece of the output, so the step that produces it writes
//     there directly and the concatenation disappears;
//   - a Slice that reads one contiguous piece of its input (unit strides, extent 1 before the
//     sliced axis, whole extents after it): its output is that piece, read in place;
//   - a Shuffle that only reshapes: its output is its input under another shape. With dynamic
//     shapes the step stays (the runtime infers its output's shape from it) but moves nothing.
// Only tensors in the activation arena take part (never engine inputs, outputs or constants),
// those of concatenations and slices with static shapes, and a tensor joins at most one view. The memory plan then places each
// view inside the tensor it belongs to (placeActivations in builder.cpp).
#pragma once

#include <cstdint>
#include <map>

#include "engine/plan.h"

namespace mlprt::builder {

// Tensor `id` lies `offset` bytes into `base` (which may itself lie in another tensor).
struct TensorView {
  engine::TensorId base = -1;
  std::uint64_t offset = 0;
};

struct Views {
  std::map<engine::TensorId, TensorView> of;  // per viewed tensor
  int concatenations = 0;                     // steps removed
  int slices = 0;
  int reshapes = 0;
};

// Removes the steps described above from `plan` and returns where their tensors lie.
Views viewDataMovement(engine::EnginePlan& plan);

// The tensor `id` finally lies in (following views of views) and its byte offset there.
TensorView resolveView(const Views& views, engine::TensorId id);

}  // namespace mlprt::builder
