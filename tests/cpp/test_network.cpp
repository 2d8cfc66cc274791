// Network definition and shape inference (csrc/network).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "network/network.h"
#include "network/shape_inference.h"
#include "test_util.h"

namespace net = mlprt::network;
using mlprt::DataType;
using mlprt::Dims;
using mlprt::InvalidArgument;
using mlprt::test::throwsWith;

namespace {

net::ConstantLayer constantOf(const Dims& shape, std::uint32_t seed) {
  const std::vector<float> values = mlprt::test::randomFloats(static_cast<std::size_t>(shape.volume()), seed);
  net::Weights weights{DataType::kFLOAT, std::vector<std::uint8_t>(values.size() * sizeof(float))};
  std::memcpy(weights.bytes.data(), values.data(), weights.bytes.size());
  return {shape, weights};
}

Dims shapeOf(const net::Network& network, int layer) {
  return network.tensor(network.layer(layer).outputs.at(0)).shape;
}

// One layer on inputs of the given shapes; returns its output shape.
Dims infer(net::LayerParameters parameters, const std::vector<Dims>& shapes) {
  std::vector<net::TensorType> inputs;
  for (const Dims& shape : shapes) inputs.push_back({shape, DataType::kFLOAT});
  return net::inferOutputs(parameters, inputs).at(0).shape;
}

}  // namespace

TEST(Network, TutorialMlpWithDynamicBatch) {
  net::Network network;
  const net::TensorId input = network.addInput("input", DataType::kFLOAT, {-1, 784});
  const int weights = network.addLayer("w1", constantOf({784, 32}, 1), {});
  const int fc = network.addLayer("fc1", net::MatrixMultiplyLayer{}, {input, network.layer(weights).outputs[0]});
  const int bias = network.addLayer("", constantOf({1, 32}, 2), {});
  const int sum = network.addLayer("bias1", net::ElementWiseLayer{net::ElementWiseOperation::kSUM},
                                   {network.layer(fc).outputs[0], network.layer(bias).outputs[0]});
  const int relu = network.addLayer("relu1", net::ActivationLayer{}, {network.layer(sum).outputs[0]});
  network.markOutput(network.layer(relu).outputs[0]);
  network.markOutput(network.layer(relu).outputs[0]);  // marking twice is harmless

  EXPECT_EQ(shapeOf(network, fc), (Dims{-1, 32}));
  EXPECT_EQ(shapeOf(network, sum), (Dims{-1, 32}));
  EXPECT_EQ(shapeOf(network, relu), (Dims{-1, 32}));
  EXPECT_EQ(network.layer(bias).name, "Constant_2");
  EXPECT_EQ(network.tensor(network.layer(relu).outputs[0]).name, "relu1_output_0");
  EXPECT_EQ(network.tensor(network.layer(relu).outputs[0]).producer, relu);
  EXPECT_EQ(network.outputs().size(), 1u);
  EXPECT_EQ(network.findTensor("input"), input);
  EXPECT_EQ(network.findTensor("nothing"), -1);
  EXPECT_EQ(network.describeLayer(fc), "layer 1 'fc1' (MatrixMultiply)");
  network.setTensorName(network.layer(relu).outputs[0], "output");
  EXPECT_EQ(network.findTensor("output"), network.layer(relu).outputs[0]);
  network.unmarkOutput(network.layer(relu).outputs[0]);
  EXPECT_TRUE(network.outputs().empty());
}

TEST(Network, ErrorsNameTheLayer) {
  net::Network network;
  const net::TensorId input = network.addInput("input", DataType::kFLOAT, {-1, 784});
  const int weights = network.addLayer("w", constantOf({780, 32}, 3), {});
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { network.addLayer("fc", net::MatrixMultiplyLayer{}, {input, network.layer(weights).outputs[0]}); },
      "layer 1 'fc' (MatrixMultiply): inner dimensions differ ((-1, 784) x (780, 32)): 784 vs 780"));
  EXPECT_EQ(network.layerCount(), 1u);  // the failed layer was not added
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.addLayer("relu", net::ActivationLayer{}, {42}); },
                                          "layer 1 'relu' (Activation): tensor 42 is not part of this network"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.addInput("input", DataType::kFLOAT, {1}); },
                                          "a tensor named 'input' already exists"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.layer(7); }, "layer 7 is not part of this network"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.markOutput(-1); }, "mark_output"));
}

TEST(ShapeInference, Broadcasting) {
  EXPECT_EQ(net::broadcastShapes({4, 1, 3}, {5, 1}), (Dims{4, 5, 3}));
  EXPECT_EQ(net::broadcastShapes({-1, 1}, {1, 5}), (Dims{-1, 5}));
  EXPECT_EQ(net::broadcastShapes({-1, 3}, {4, 3}), (Dims{4, 3}));
  EXPECT_EQ(net::broadcastShapes({}, {2, 3}), (Dims{2, 3}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { net::broadcastShapes({2, 3}, {4, 3}); },
                                          "shapes (2, 3) and (4, 3) do not broadcast"));
}

TEST(ShapeInference, MatrixMultiply) {
  net::MatrixMultiplyLayer plain;
  EXPECT_EQ(infer(plain, {{7, 13}, {13, 5}}), (Dims{7, 5}));
  net::MatrixMultiplyLayer transposed{net::MatrixOperation::kTRANSPOSE, net::MatrixOperation::kTRANSPOSE};
  EXPECT_EQ(infer(transposed, {{13, 7}, {5, 13}}), (Dims{7, 5}));
  EXPECT_EQ(infer(plain, {{2, 1, 3, 4}, {5, 4, 6}}), (Dims{2, 5, 3, 6}));
  EXPECT_EQ(infer(plain, {{-1, 3, 4}, {4, -1}}), (Dims{-1, 3, -1}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(plain, {{4}, {4, 2}}); }, "rank 2 or more"));
  std::vector<net::TensorType> mixed{{{2, 2}, DataType::kFLOAT}, {{2, 2}, DataType::kHALF}};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { net::inferOutputs(plain, mixed); }, "input types differ"));
  std::vector<net::TensorType> ints{{{2, 2}, DataType::kINT32}, {{2, 2}, DataType::kINT32}};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { net::inferOutputs(plain, ints); }, "FLOAT or HALF"));
}

// A mask that repeats along the batch (Swin's windows): its batch extent is the period, which
// divides the batch where the batch is known.
TEST(ShapeInference, AttentionMaskThatRepeatsAlongTheBatch) {
  net::AttentionLayer windows;
  windows.has_mask = true;
  windows.mask_batch_period = 3;
  const Dims q{6, 2, 4, 8};
  EXPECT_EQ(infer(windows, {q, q, q, {3, 2, 4, 4}}), q);
  EXPECT_EQ(infer(windows, {{-1, 2, 4, 8}, {-1, 2, 4, 8}, {-1, 2, 4, 8}, {3, 1, 4, 4}}), (Dims{-1, 2, 4, 8}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(windows, {{5, 2, 4, 8}, {5, 2, 4, 8}, {5, 2, 4, 8}, {3, 2, 4, 4}}); },
                                          "repeats every 3 batch entries: its batch extent must be 3 and divide"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(windows, {q, q, q, {6, 2, 4, 4}}); }, "its batch extent must be 3"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(windows, {q, q, q, {3, 2, 5, 4}}); }, "mask (3, 2, 5, 4)"));
  windows.has_mask = false;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(windows, {q, q, q}); }, "needs a mask"));
}

// A mask is added (FLOAT, HALF) or selects the layer's two values (BOOL, INT32, INT64: nonzero is
// true); rank 4, or rank 2 as a key padding mask (B, Sk); q, k and v are floating.
TEST(ShapeInference, AttentionMaskTypes) {
  net::AttentionLayer masked;
  masked.has_mask = true;
  const Dims q{2, 3, 5, 8};
  const auto typed = [&](DataType mask, DataType values) {
    return net::inferOutputs(masked, {{q, values}, {q, values}, {q, values}, {{2, 1, 1, 5}, mask}}).at(0);
  };
  EXPECT_EQ(typed(DataType::kBOOL, DataType::kHALF).type, DataType::kHALF);
  EXPECT_EQ(typed(DataType::kBOOL, DataType::kHALF).shape, q);
  EXPECT_EQ(typed(DataType::kFLOAT, DataType::kFLOAT).type, DataType::kFLOAT);
  EXPECT_EQ(typed(DataType::kINT64, DataType::kFLOAT).type, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { typed(DataType::kUINT8, DataType::kFLOAT); },
                                          "Attention's mask needs FLOAT or HALF (added) or BOOL, INT32 or INT64 input, got UINT8"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { typed(DataType::kBOOL, DataType::kBOOL); },
                                          "Attention needs FLOAT or HALF input, got BOOL"));
  const auto padding = [&](const Dims& mask) {
    return net::inferOutputs(masked, {{q, DataType::kFLOAT}, {q, DataType::kFLOAT}, {q, DataType::kFLOAT},
                                      {mask, DataType::kINT64}}).at(0).shape;
  };
  EXPECT_EQ(padding(Dims{2, 5}), q);
  EXPECT_EQ(padding(Dims{1, 5}), q);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { padding(Dims{2, 3}); }, "mask (2, 1, 1, 3)"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { padding(Dims{2, 1, 5}); }, "rank-2 key padding mask"));
}

// q, k and v as one merged projection (B, S, (H + 2 Hk) x D), given three times.
TEST(ShapeInference, AttentionOnMergedQueriesKeysAndValues) {
  net::AttentionLayer merged;
  merged.packed = 15U;
  merged.heads = 4;
  merged.kv_heads = 2;
  merged.merged_qkv = true;
  const Dims qkv{3, 7, 64};  // (4 + 2 x 2) heads of 8
  EXPECT_EQ(infer(merged, {qkv, qkv, qkv}), (Dims{3, 7, 32}));
  EXPECT_EQ(infer(merged, {{-1, -1, 64}, {-1, -1, 64}, {-1, -1, 64}}), (Dims{-1, -1, 32}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(merged, {{3, 7, 60}, {3, 7, 60}, {3, 7, 60}}); },
                                          "do not hold 8 heads along a static last axis"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(merged, {qkv, qkv, {3, 5, 64}}); },
                                          "must be one packed tensor given three times"));
  merged.packed = 13U;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(merged, {qkv, qkv, qkv}); }, "must be one packed tensor"));
}

// The head sizes the builder offers tactics by, in every layout: dense, packed, merged (BERT-base's
// merged q, k and v are 2304 wide in 12 + 2 x 12 heads of 64, not 192).
TEST(ShapeInference, AttentionHeadSizesInEveryLayout) {
  net::AttentionLayer dense;
  EXPECT_EQ(net::attentionHeadSizes(dense, Dims{2, 4, 7, 16}, Dims{2, 4, 9, 24}), (std::pair<std::int64_t, std::int64_t>{16, 24}));
  net::AttentionLayer packed;
  packed.packed = 15U;
  packed.heads = 4;
  packed.kv_heads = 2;
  EXPECT_EQ(net::attentionHeadSizes(packed, Dims{2, 7, 64}, Dims{2, 9, 48}), (std::pair<std::int64_t, std::int64_t>{16, 24}));
  net::AttentionLayer merged = packed;
  merged.heads = 12;
  merged.kv_heads = 12;
  merged.merged_qkv = true;
  EXPECT_EQ(net::attentionHeadSizes(merged, Dims{1, 128, 2304}, Dims{1, 128, 2304}), (std::pair<std::int64_t, std::int64_t>{64, 64}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { net::attentionHeadSizes(packed, Dims{2, 7, 63}, Dims{2, 9, 48}); },
                                          "does not pack 4 heads"));
}

// The number of keys in k, however the layer lays k out.
TEST(ShapeInference, AttentionKeysInEveryLayout) {
  net::AttentionLayer dense;
  EXPECT_EQ(net::attentionKeys(dense, Dims{2, 4, 9, 16}), 9);
  net::AttentionLayer transposed;
  transposed.keys_transposed = true;
  EXPECT_EQ(net::attentionKeys(transposed, Dims{2, 4, 16, 9}), 9);
  net::AttentionLayer packed;
  packed.packed = 15U;
  packed.heads = 4;
  packed.kv_heads = 2;
  EXPECT_EQ(net::attentionKeys(packed, Dims{2, 9, 32}), 9);
  net::AttentionLayer merged = packed;
  merged.merged_qkv = true;
  EXPECT_EQ(net::attentionKeys(merged, Dims{1, 128, 128}), 128);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { net::attentionKeys(dense, Dims{2, 9, 16}); }, "rank-4 k"));
}

TEST(ShapeInference, Shuffle) {
  net::ShuffleLayer flatten;
  flatten.has_reshape = true;
  flatten.reshape = {0, -1};
  EXPECT_EQ(infer(flatten, {{2, 3, 4}}), (Dims{2, 12}));
  EXPECT_EQ(infer(flatten, {{-1, 3, 4}}), (Dims{-1, -1}));
  net::ShuffleLayer images;
  images.has_reshape = true;
  images.reshape = {0, 28, 28};
  EXPECT_EQ(infer(images, {{-1, 784}}), (Dims{-1, 28, 28}));
  net::ShuffleLayer transpose;
  transpose.first_transpose = {2, 0, 1};
  EXPECT_EQ(infer(transpose, {{2, 3, 5}}), (Dims{5, 2, 3}));
  net::ShuffleLayer both = flatten;
  both.first_transpose = {1, 0, 2};
  both.second_transpose = {1, 0};
  EXPECT_EQ(infer(both, {{2, 3, 4}}), (Dims{8, 3}));

  net::ShuffleLayer wrong = images;
  wrong.reshape = {0, 27, 28};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(wrong, {{2, 784}}); },
                                          "cannot reshape (2, 784) (1568 elements) to (2, 27, 28)"));
  wrong.reshape = {-1, -1};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(wrong, {{2, 784}}); }, "more than one -1"));
  wrong.reshape = {5, -1};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(wrong, {{2, 7}}); }, "cannot reshape"));
  net::ShuffleLayer bad_order;
  bad_order.first_transpose = {0, 0, 1};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(bad_order, {{2, 3, 4}}); }, "not a permutation"));
}

TEST(ShapeInference, ReduceSoftmaxConcatNormalizationIdentity) {
  EXPECT_EQ(infer(net::ReduceLayer{net::ReduceOperation::kAVG, 0b10, true}, {{3, 5, 7}}), (Dims{3, 1, 7}));
  EXPECT_EQ(infer(net::ReduceLayer{net::ReduceOperation::kMAX, 0b101, false}, {{3, 5, 7}}), (Dims{5}));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [] { infer(net::ReduceLayer{net::ReduceOperation::kSUM, 0b1000, true}, {{3, 5, 7}}); }, "beyond rank 3"));

  EXPECT_EQ(infer(net::SoftmaxLayer{1, false}, {{-1, 10}}), (Dims{-1, 10}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { infer(net::SoftmaxLayer{2, false}, {{4, 10}}); },
                                          "axis 2 is outside a rank-2 tensor"));

  EXPECT_EQ(infer(net::ConcatenationLayer{1}, {{2, 3}, {2, 5}, {2, 1}}), (Dims{2, 9}));
  EXPECT_EQ(infer(net::ConcatenationLayer{1}, {{-1, 3}, {2, -1}}), (Dims{2, -1}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { infer(net::ConcatenationLayer{1}, {{2, 3}, {4, 5}}); },
                                          "inputs differ on axis 0"));

  EXPECT_EQ(infer(net::NormalizationLayer{0b10, 1e-5f}, {{-1, 64}, {1, 64}, {64}}), (Dims{-1, 64}));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [] { infer(net::NormalizationLayer{0b10, 1e-5f}, {{8, 64}, {2, 8, 64}, {64}}); }, "higher rank"));

  std::vector<net::TensorType> input{{{4, 4}, DataType::kFLOAT}};
  EXPECT_EQ(net::inferOutputs(net::IdentityLayer{DataType::kHALF}, input).at(0).type, DataType::kHALF);
}

TEST(ShapeInference, ConstantWeightsMustMatchTheirShape) {
  net::ConstantLayer layer = constantOf({3, 4}, 5);
  EXPECT_EQ(infer(layer, {}), (Dims{3, 4}));
  layer.shape = Dims{3, 5};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { infer(layer, {}); },
                                          "weights hold 48 bytes but shape (3, 5) of FLOAT needs 60"));
}

TEST(Network, ChangingALayerReinfersEveryLaterShape) {
  net::Network network;
  const net::TensorId input = network.addInput("input", DataType::kFLOAT, {8, 8});
  net::ShuffleLayer reshape;
  reshape.has_reshape = true;
  reshape.reshape = {8, 8};
  const int shuffle = network.addLayer("reshape", reshape, {input});
  const int relu = network.addLayer("relu", net::ActivationLayer{}, {network.layer(shuffle).outputs[0]});
  const int weights = network.addLayer("w", constantOf({8, 5}, 7), {});
  const int fc = network.addLayer("fc", net::MatrixMultiplyLayer{},
                                  {network.layer(relu).outputs[0], network.layer(weights).outputs[0]});
  EXPECT_EQ(shapeOf(network, fc), (Dims{8, 5}));

  reshape.reshape = {4, -1};  // (4, 16): fc no longer fits
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.setParameters(shuffle, reshape); },
                                          "layer 3 'fc' (MatrixMultiply): inner dimensions differ"));
  EXPECT_EQ(shapeOf(network, shuffle), (Dims{8, 8}));  // rolled back
  EXPECT_EQ(std::get<net::ShuffleLayer>(network.layer(shuffle).parameters).reshape,
            (std::vector<std::int64_t>{8, 8}));

  reshape.reshape = {2, -1, 8};
  network.setParameters(shuffle, reshape);
  EXPECT_EQ(shapeOf(network, shuffle), (Dims{2, 4, 8}));
  EXPECT_EQ(shapeOf(network, relu), (Dims{2, 4, 8}));
  EXPECT_EQ(shapeOf(network, fc), (Dims{2, 4, 5}));

  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.setParameters(shuffle, net::ActivationLayer{}); },
                                          "cannot change a layer's kind"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.setInput(relu, 0, network.layer(fc).outputs[0]); },
                                          "produced by this or a later layer"));
  EXPECT_EQ(network.layer(relu).inputs[0], network.layer(shuffle).outputs[0]);  // rolled back
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { network.setInput(relu, 3, input); }, "input 3 does not exist"));
  network.setInput(relu, 0, input);
  EXPECT_EQ(shapeOf(network, fc), (Dims{8, 5}));
}
