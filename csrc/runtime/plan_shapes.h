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

// Bytes of a tensor of `type` at `shape`; throws InvalidArgument when they exceed 64 bits.
std::size_t tensorBytes(const Dims& shape, DataType type);

}  // namespace mlprt::runtime
