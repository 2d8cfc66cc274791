// Recognizing activations that exporters spell as elementwise arithmetic (graph level), so that
// they become one activation node, which fuseEpilogues then puts into the product before it.
#pragma once

#include "builder/graph.h"

namespace mlprt::builder {

// Replaces GELU as exporters write it, x * 0.5 * (1 + erf(x / sqrt(2))) (any order and grouping
// of the products, the division also as a product by 1 / sqrt(2)), by one GELU_ERF activation
// node where every intermediate feeds only the next; and its tanh form (GPT-2's "new GELU",
// PyTorch's approximate="tanh"), x * 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) with
// x^3 as pow(x, 3) or x * x * x, by one GELU_TANH activation. Returns how many it replaced.
int fuseGelu(Graph& graph);

}  // namespace mlprt::builder
