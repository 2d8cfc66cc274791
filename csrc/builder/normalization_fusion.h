// Normalizations that take in the residual Add before them (graph level): a transformer block
// ends with LayerNorm(x + sublayer(x)); one step adds and normalizes instead of two.
#pragma once

#include "builder/graph.h"

namespace mlprt::builder {

// Replaces Normalization(a + b) by Normalization(a, ..., residual b) where a has the sum's shape,
// b that shape or its trailing axes (repeated over the leading ones, as an Add broadcasts BERT's
// position embeddings), both the sum's type, and the sum feeds only the normalization; again for
// an Add producing a (two residuals at most: LayerNorm(words + types + positions)). Returns how
// many normalizations it fused into.
int fuseResidualNormalization(Graph& graph);

}  // namespace mlprt::builder
