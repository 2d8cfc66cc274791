// Normalizations that take in the residual Add before them (graph level): a transformer block
// ends with LayerNorm(x + sublayer(x)); one step adds and normalizes instead of two.
#pragma once

#include "builder/graph.h"

namespace mlprt::builder {

// Replaces Normalization(a + b) by Normalization(a, ..., residual b) where the sum's operands have
// the sum's own shape and type (no broadcast) and the sum feeds only the normalization. Returns
// how many it fused.
int fuseResidualNormalization(Graph& graph);

}  // namespace mlprt::builder
