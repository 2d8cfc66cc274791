// A batched product network for the builder's tests: input "x" (batch, 3, 64) times a (64, 24)
// constant, output "y"; and device buffers bound to an engine's "x" and "y".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "network/network.h"
#include "runtime/execution_context.h"
#include "test_util.h"

namespace mlprt::test {

// `batch` -1: a dynamic batch, for engines built with a profile.
inline network::Network dynamicProduct(std::int64_t batch, const std::vector<float>& weights) {
  network::Network net;
  const network::TensorId x = net.addInput("x", DataType::kFLOAT, Dims{batch, 3, 64});
  const network::TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{64, 24}, weights)});
  net.setTensorName(y, "y");
  net.markOutput(y);
  return net;
}

// Device buffers bound to an engine's input "x" (holding `x`) and output "y" (`outputs` floats).
struct BoundXY {
  std::shared_ptr<cl::DeviceBuffer> x, y;
};

inline BoundXY bindXY(runtime::ExecutionContext& execution, cl::Stream& stream, const std::vector<float>& x,
                      std::size_t outputs) {
  BoundXY bound{allocate(x.size() * sizeof(float)), allocate(outputs * sizeof(float))};
  upload(stream, at(bound.x), x);
  execution.setTensorAddress("x", bound.x->address());
  execution.setTensorAddress("y", bound.y->address());
  return bound;
}

}  // namespace mlprt::test
