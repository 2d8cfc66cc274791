// Output shapes and types of each layer kind from its input shapes. Works on concrete shapes
// (the builder evaluates each optimization profile) and on shapes with dynamic (-1) extents
// (network definition time), where unknown results stay -1. Throws InvalidArgument with the
// reason; the caller adds the layer's name.
#pragma once

#include <vector>

#include "core/data_type.h"
#include "core/dims.h"
#include "network/layers.h"

namespace mlprt::network {

struct TensorType {
  Dims shape;
  DataType type = DataType::kFLOAT;
};

std::vector<TensorType> inferOutputs(const LayerParameters& parameters,
                                     const std::vector<TensorType>& inputs);

// The one output an engine plan step of this kind writes: output 0, except for TopK, whose step
// writes the indices (output 1; the builder reads the values through them with a gather step).
TensorType stepOutput(const LayerParameters& parameters, const std::vector<TensorType>& inputs);

// NumPy broadcasting of two shapes, with -1 for extents not known yet.
Dims broadcastShapes(const Dims& a, const Dims& b);

// An Attention layer's head sizes D (q and k) and Dv (v) for q and v of these shapes, however
// the layer lays them out (dense, packed heads, merged q, k and v). Throws InvalidArgument for
// shapes the layer cannot take.
std::pair<std::int64_t, std::int64_t> attentionHeadSizes(const AttentionLayer& layer, const Dims& q, const Dims& v);
// Its number of keys Sk for k of this shape (dense, transposed, packed or merged). Throws as above.
std::int64_t attentionKeys(const AttentionLayer& layer, const Dims& k);

}  // namespace mlprt::network
