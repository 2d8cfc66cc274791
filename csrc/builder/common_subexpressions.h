// Common subexpressions (graph level): exporters repeat work that does not depend on the layer it
// sits in (transformers' BERT turns the same attention mask into the same additive bias once per
// layer), and each repetition would be a step of its own.
#pragma once

#include "builder/graph.h"

namespace mlprt::builder {

// Makes equal small constants (same type, shape and bytes, at most kMaxSharedConstantBytes) one
// tensor, then replaces each node that repeats an earlier one (same kind, parameters, inputs and
// epilogue) by the earlier one's result. Nodes writing network outputs stay. Returns how many
// nodes went.
int mergeCommonSubexpressions(Graph& graph);

inline constexpr std::size_t kMaxSharedConstantBytes = 1024;

}  // namespace mlprt::builder
