#include "network/network.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace mlprt::network {

TensorId Network::addTensor(const std::string& name, DataType type, const Dims& shape, int producer) {
  if (name.empty()) throw InvalidArgument("tensor names cannot be empty");
  if (by_name_.count(name)) throw InvalidArgument("a tensor named '" + name + "' already exists");
  const auto id = static_cast<TensorId>(tensors_.size());
  tensors_.push_back({name, type, shape, producer});
  by_name_[name] = id;
  return id;
}

void Network::requireTensor(TensorId id, const std::string& context) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tensors_.size()) {
    throw InvalidArgument(context + ": tensor " + std::to_string(id) + " is not part of this network");
  }
}

TensorId Network::addInput(const std::string& name, DataType type, const Dims& shape) {
  const TensorId id = addTensor(name, type, shape, -1);
  inputs_.push_back(id);
  return id;
}

std::vector<TensorType> Network::inferLayer(int index, const Layer& layer) const {
  const std::string where = "layer " + std::to_string(index) + " '" + layer.name + "' (" +
                            layerKindName(layer.parameters) + ")";
  std::vector<TensorType> input_types;
  for (TensorId input : layer.inputs) {
    requireTensor(input, where);
    if (index < static_cast<int>(layers_.size()) && tensors_[input].producer >= index) {
      throw InvalidArgument(where + ": input '" + tensors_[input].name +
                            "' is produced by this or a later layer");
    }
    input_types.push_back({tensors_[input].shape, tensors_[input].type});
  }
  try {
    return inferOutputs(layer.parameters, input_types);
  } catch (const InvalidArgument& error) {
    throw InvalidArgument(where + ": " + error.what());
  }
}

void Network::reinferFrom(int first) {
  const std::vector<Tensor> saved = tensors_;
  try {
    for (int index = first; index < static_cast<int>(layers_.size()); ++index) {
      const std::vector<TensorType> outputs = inferLayer(index, layers_[index]);
      for (std::size_t i = 0; i < outputs.size(); ++i) {
        Tensor& output = tensors_[layers_[index].outputs[i]];
        output.shape = outputs[i].shape;
        output.type = outputs[i].type;
      }
    }
  } catch (...) {
    tensors_ = saved;
    throw;
  }
}

void Network::setParameters(int index, LayerParameters parameters) {
  layer(index);  // throws for a bad index
  if (parameters.index() != layers_[index].parameters.index()) {
    throw InvalidArgument(describeLayer(index) + ": cannot change a layer's kind");
  }
  LayerParameters previous = std::exchange(layers_[index].parameters, std::move(parameters));
  try {
    reinferFrom(index);
  } catch (...) {
    layers_[index].parameters = std::move(previous);
    throw;
  }
}

void Network::setInput(int index, std::size_t slot, TensorId tensor) {
  layer(index);
  std::vector<TensorId>& inputs = layers_[index].inputs;
  if (slot >= inputs.size()) {
    throw InvalidArgument(describeLayer(index) + " has " + std::to_string(inputs.size()) +
                          " inputs; input " + std::to_string(slot) + " does not exist");
  }
  const TensorId previous = std::exchange(inputs[slot], tensor);
  try {
    reinferFrom(index);
  } catch (...) {
    layers_[index].inputs[slot] = previous;
    throw;
  }
}

int Network::addLayer(const std::string& name, LayerParameters parameters,
                      const std::vector<TensorId>& inputs) {
  const int index = static_cast<int>(layers_.size());
  const std::string layer_name =
      name.empty() ? std::string(layerKindName(parameters)) + "_" + std::to_string(index) : name;
  Layer layer{layer_name, std::move(parameters), inputs, {}};
  const std::vector<TensorType> output_types = inferLayer(index, layer);
  for (std::size_t i = 0; i < output_types.size(); ++i) {
    layer.outputs.push_back(addTensor(layer_name + "_output_" + std::to_string(i),
                                      output_types[i].type, output_types[i].shape, index));
  }
  layers_.push_back(std::move(layer));
  return index;
}

void Network::markOutput(TensorId tensor) {
  requireTensor(tensor, "mark_output");
  if (std::find(outputs_.begin(), outputs_.end(), tensor) == outputs_.end()) outputs_.push_back(tensor);
}

void Network::shareExtent(TensorId first, int first_axis, TensorId second, int second_axis, const std::string& label) {
  for (const auto& [tensor, axis] : {std::pair{first, first_axis}, std::pair{second, second_axis}}) {
    requireTensor(tensor, "share_extent");
    if (std::find(inputs_.begin(), inputs_.end(), tensor) == inputs_.end()) {
      throw InvalidArgument("share_extent: tensor '" + tensors_[tensor].name + "' is not a network input");
    }
    if (axis < 0 || static_cast<std::size_t>(axis) >= tensors_[tensor].shape.rank()) {
      throw InvalidArgument("share_extent: axis " + std::to_string(axis) + " is outside input '" +
                            tensors_[tensor].name + "' of shape " + tensors_[tensor].shape.toString());
    }
  }
  shared_extents_.push_back({first, first_axis, second, second_axis, label});
}

void Network::unmarkOutput(TensorId tensor) {
  requireTensor(tensor, "unmark_output");
  outputs_.erase(std::remove(outputs_.begin(), outputs_.end(), tensor), outputs_.end());
}

void Network::setTensorName(TensorId tensor, const std::string& name) {
  requireTensor(tensor, "set tensor name");
  Tensor& target = tensors_[tensor];
  if (target.name == name) return;
  if (name.empty()) throw InvalidArgument("tensor names cannot be empty");
  if (by_name_.count(name)) throw InvalidArgument("a tensor named '" + name + "' already exists");
  by_name_.erase(target.name);
  target.name = name;
  by_name_[name] = tensor;
}

void Network::setLayerName(int layer, const std::string& name) {
  if (layer < 0 || static_cast<std::size_t>(layer) >= layers_.size()) {
    throw InvalidArgument("layer " + std::to_string(layer) + " is not part of this network");
  }
  layers_[layer].name = name;
}

const Tensor& Network::tensor(TensorId id) const {
  requireTensor(id, "tensor lookup");
  return tensors_[id];
}

const Layer& Network::layer(int index) const {
  if (index < 0 || static_cast<std::size_t>(index) >= layers_.size()) {
    throw InvalidArgument("layer " + std::to_string(index) + " is not part of this network (it has " +
                          std::to_string(layers_.size()) + ")");
  }
  return layers_[index];
}

TensorId Network::findTensor(const std::string& name) const {
  const auto found = by_name_.find(name);
  return found == by_name_.end() ? -1 : found->second;
}

std::string Network::describeLayer(int index) const {
  const Layer& target = layer(index);
  return "layer " + std::to_string(index) + " '" + target.name + "' (" +
         layerKindName(target.parameters) + ")";
}

}  // namespace mlprt::network
