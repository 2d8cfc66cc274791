// Shape inference over an engine plan: the concrete shape of every tensor for given input shapes.
// The execution context runs it when input shapes change; the builder runs it at each profile's
// min, opt and max to plan memory and time tactics.
#pragma once

#include <vector>

#include "core/dims.h"
#include "engine/plan.h"

namespace mlprt::runtime {

// One Dims per plan tensor (constants keep their shape). `input_shapes` follows plan.inputs.
// Throws InvalidArgument naming the step that cannot run at these shapes.
std::vector<Dims> inferPlanShapes(const engine::EnginePlan& plan, const std::vector<Dims>& input_shapes);

// For each tensor, the tensor whose memory it is: itself, or for a view (an activation no step
// writes, placed by the builder inside another: builder/aliasing.h; or a reshape's output placed
// on its input, whose step moves nothing) the written activation whose bytes hold it.
std::vector<engine::TensorId> viewBases(const engine::EnginePlan& plan);

// Steps whose results depend on the input shapes only, not on their values: axis ranges, and steps
// that read only constants and such results (or views of them, through `bases`: viewBases, or the
// builder's own record). Steps writing engine outputs are left out (they write the caller's
// memory on every call). The builder keeps these results alive for the whole run, so that an
// execution context can run them once per set of input shapes. A Select whose condition is a
// constant all true (or all false) reads only the shape of the operand it never picks.
std::vector<bool> shapeOnlySteps(const engine::EnginePlan& plan, const std::vector<engine::TensorId>& bases);

// The shape-only steps an execution context may skip while the input shapes stay the same: those
// whose output's bytes in the arena no other tensor (but its own views) and no step workspace
// (from `workspace_offset` on) share, so nothing overwrites them between calls.
std::vector<bool> reusableShapeSteps(const engine::EnginePlan& plan, std::size_t workspace_offset);

// Bytes of a tensor of `type` at `shape`; throws InvalidArgument when they exceed 64 bits.
std::size_t tensorBytes(const Dims& shape, DataType type);

}  // namespace mlprt::runtime
