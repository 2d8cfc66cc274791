// Fusing the exporters' attention chains into one Attention step (graph level), so that the
// Sq x Sk scores never reach device memory.
#pragma once

#include "builder/graph.h"

namespace mlprt::builder {

// Replaces each chain
//   scores = [c *] (q [* c1]) x (k [* c2])^T [* c3 | / c3]    (k transposed by the product or before it)
//   probs  = softmax(scores [+ mask], last axis) [with NaN -> 0 where a row is fully masked]
//   out    = probs x v
// of rank-4 FLOAT/HALF operands, whose intermediates feed nothing else, by one Attention node
// (scale = the product of the scalar constants). A mask made as where(condition, a, b) of scalar
// constants, or expanded to the scores' shape, is read as the condition with a and b, or before
// the expand (neither runs unless something else reads it). Returns the number of chains replaced.
int fuseAttention(Graph& graph);

// Where an Attention node reads packed q, k and v that three products project from one input
// (BERT's query, key and value Linear layers: constant weights, a bias or none, no activation),
// replaces them by one product with their weights and biases side by side, whose output the node
// reads as merged q, k and v (AttentionLayer::merged_qkv): one launch instead of three. Run after
// the epilogues are fused (the biases are the products' then). Where q, k and v already are
// consecutive windows of one projection's last axis (GPT-2's Split), the node reads that
// projection in place instead and the slices go. Returns how many nodes read merged q, k and v.
int mergeQkvProjections(Graph& graph);

}  // namespace mlprt::builder
