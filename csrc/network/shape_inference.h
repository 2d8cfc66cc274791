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

}  // namespace mlprt::network
