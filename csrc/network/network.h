// The network definition: tensors and the layers between them, built by the ONNX parser (or by
// hand through INetworkDefinition) and read by the builder. Layers are appended in a valid
// execution order, since each layer's inputs must exist when it is added.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/data_type.h"
#include "core/dims.h"
#include "network/layers.h"
#include "network/shape_inference.h"

namespace mlprt::network {

struct Tensor {
  std::string name;
  DataType type = DataType::kFLOAT;
  Dims shape;         // -1 where the extent depends on input shapes not set yet
  int producer = -1;  // index of the layer that writes it; -1 for network inputs
};

// Two axes of network inputs with one extent at run time (ONNX's shared dim_params).
struct SharedAxes {
  TensorId first = -1;
  int first_axis = 0;
  TensorId second = -1;
  int second_axis = 0;
  std::string label;
};

class Network {
 public:
  // Throws InvalidArgument for a duplicate or empty name.
  TensorId addInput(const std::string& name, DataType type, const Dims& shape);
  // Adds a layer, infers the types and shapes of its outputs, and returns its index. An empty
  // name becomes "<Kind>_<index>"; outputs are named "<layer name>_output_<i>". Errors (bad
  // inputs, shapes that do not fit) throw InvalidArgument naming the layer.
  int addLayer(const std::string& name, LayerParameters parameters, const std::vector<TensorId>& inputs);
  // Replaces a layer's parameters (TensorRT's API changes layers after adding them) and infers
  // the shapes of it and every later layer again. On error nothing changes and InvalidArgument
  // names the first layer that no longer fits.
  void setParameters(int layer, LayerParameters parameters);
  // Replaces input `slot` of a layer (0-based), with the same re-inference and rollback.
  void setInput(int layer, std::size_t slot, TensorId tensor);
  void markOutput(TensorId tensor);
  void unmarkOutput(TensorId tensor);
  void setTensorName(TensorId tensor, const std::string& name);
  void setLayerName(int layer, const std::string& name);

  const Tensor& tensor(TensorId id) const;
  const Layer& layer(int index) const;
  std::size_t tensorCount() const noexcept { return tensors_.size(); }
  std::size_t layerCount() const noexcept { return layers_.size(); }
  const std::vector<TensorId>& inputs() const noexcept { return inputs_; }
  const std::vector<TensorId>& outputs() const noexcept { return outputs_; }
  // Declares that axis `first_axis` of input `first` and axis `second_axis` of input `second`
  // have one extent (`label`: what the model calls it); engines refuse input shapes that differ
  // there. Throws InvalidArgument for a tensor that is not an input or an axis outside its rank.
  void shareExtent(TensorId first, int first_axis, TensorId second, int second_axis, const std::string& label);
  const std::vector<SharedAxes>& sharedExtents() const noexcept { return shared_extents_; }
  // The tensor called `name`, or -1.
  TensorId findTensor(const std::string& name) const;
  // "layer 3 'fc1' (MatrixMultiply)", the way errors name a layer.
  std::string describeLayer(int index) const;

 private:
  // Re-infers the outputs of layers [first, end); on error restores every tensor and rethrows.
  void reinferFrom(int first);
  std::vector<TensorType> inferLayer(int index, const Layer& layer) const;
  TensorId addTensor(const std::string& name, DataType type, const Dims& shape, int producer);
  void requireTensor(TensorId id, const std::string& context) const;

  std::vector<Tensor> tensors_;
  std::vector<Layer> layers_;
  std::vector<TensorId> inputs_;
  std::vector<TensorId> outputs_;
  std::vector<SharedAxes> shared_extents_;
  std::map<std::string, TensorId> by_name_;
};

}  // namespace mlprt::network
