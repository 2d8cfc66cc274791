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

// Expects `result` (rows x 24 floats) to be `input` (rows x 64) times the 64 x 24 `weights`.
inline void expectProductOf(const std::vector<float>& input, const std::vector<float>& weights,
                            const std::vector<float>& result) {
  const std::size_t rows = input.size() / 64;
  ASSERT_EQ(result.size(), rows * 24);
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = 0; j < 24; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < 64; ++p) sum += double(input[i * 64 + p]) * weights[p * 24 + j];
      EXPECT_NEAR(result[i * 24 + j], sum, 1e-5 * 64) << i << ", " << j;
    }
  }
}

// Runs `execution` (its input shape set to `batch`) once on random input from `seed` and expects
// the product by `weights`.
inline void expectProductAnswer(runtime::ExecutionContext& execution, cl::Stream& stream,
                                const std::vector<float>& weights, std::int64_t batch, std::uint32_t seed) {
  const std::size_t rows = static_cast<std::size_t>(batch * 3);
  const std::vector<float> input = randomFloats(rows * 64, seed);
  const BoundXY bound = bindXY(execution, stream, input, rows * 24);
  execution.enqueue(stream);
  expectProductOf(input, weights, download<float>(stream, at(bound.y), rows * 24));
}

}  // namespace mlprt::test
