// The fused MLP kernel (cl::fusedMlp) against a double-precision CPU reference, in FLOAT and
// HALF storage, at awkward widths and row counts, with every rows-per-group variant; and the
// builder's chain fusion (builder/mlp_fusion.h) on plans.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "backend/opencl/host_access.h"
#include "backend/opencl/kernels.h"
#include "builder/mlp_fusion.h"
#include "core/error.h"
#include "core/half.h"
#include "runtime/plan_shapes.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

std::vector<double> widened(const std::vector<float>& values) { return {values.begin(), values.end()}; }

DeviceTensor tensorAt(const std::shared_ptr<cl::DeviceBuffer>& buffer, std::size_t offset, const Dims& shape,
                      DataType type) {
  DeviceTensor tensor;
  tensor.range.buffer = buffer;
  tensor.range.offset = offset;
  tensor.shape = shape;
  tensor.type = type;
  return tensor;
}

struct Layer {
  std::vector<float> weights;  // K x N
  std::vector<float> bias;     // N, or empty
  bool has_activation;
  ActivationType activation;
  float alpha, beta;
};

double activate(const Layer& layer, double x) {
  switch (layer.activation) {
    case ActivationType::kRELU: return std::max(x, 0.0);
    case ActivationType::kTANH: return std::tanh(x);
    case ActivationType::kLEAKY_RELU: return x >= 0 ? x : layer.alpha * x;
    case ActivationType::kSIGMOID: return 1.0 / (1.0 + std::exp(-x));
    default: ADD_FAILURE() << "activation not in this test's reference";
  }
  return x;
}

struct MlpCase {
  std::vector<std::int64_t> widths;  // in, hidden..., out
  std::int64_t rows;
};

// Where the kernel's input and output live.
enum class Io { kDevice, kPinnedHost };

// An input or output in pinned host memory, read and written by the kernel through its address.
DeviceTensor pinnedTensor(std::size_t bytes, const Dims& shape, DataType type) {
  DeviceTensor tensor;
  tensor.host.buffer = cl::PinnedHostBuffer::allocate(context(), std::max<std::size_t>(bytes, 4));
  tensor.shape = shape;
  tensor.type = type;
  return tensor;
}

void checkFusedMlp(const MlpCase& c, DataType type, int rows_per_group, std::uint32_t seed, Io io = Io::kDevice) {
  const std::shared_ptr<cl::Stream> owner = cl::Stream::create(context());
  cl::Stream& stream = *owner;
  const std::size_t stages = c.widths.size() - 1;
  std::vector<Layer> layers;
  const ActivationType kinds[] = {ActivationType::kRELU, ActivationType::kTANH, ActivationType::kLEAKY_RELU,
                                  ActivationType::kSIGMOID};
  for (std::size_t i = 0; i < stages; ++i) {
    const auto k = static_cast<std::size_t>(c.widths[i]), n = static_cast<std::size_t>(c.widths[i + 1]);
    Layer layer;
    layer.weights = randomFloats(k * n, seed + 10 * static_cast<std::uint32_t>(i));
    for (float& w : layer.weights) w /= std::sqrt(static_cast<float>(k));
    if (i % 2 == 0) layer.bias = randomFloats(n, seed + 10 * static_cast<std::uint32_t>(i) + 1);
    layer.has_activation = i + 1 < stages || i == 1;
    layer.activation = kinds[i % 4];
    layer.alpha = 0.125f;
    layer.beta = 0.0f;
    layers.push_back(layer);
  }
  // All weights and biases in one buffer at 256-byte aligned offsets, as in an engine.
  std::vector<std::uint8_t> packed;
  std::vector<DeviceTensor> weights(stages), biases(stages);
  const auto place = [&](const std::vector<float>& values, const Dims& shape, DeviceTensor& tensor) {
    packed.resize((packed.size() + 255) / 256 * 256, 0);
    tensor.range.offset = packed.size();
    tensor.shape = shape;
    tensor.type = type;
    const auto bytes = encodeAs(values, type);
    packed.insert(packed.end(), bytes.begin(), bytes.end());
  };
  for (std::size_t i = 0; i < stages; ++i) {
    place(layers[i].weights, Dims({c.widths[i], c.widths[i + 1]}), weights[i]);
    if (!layers[i].bias.empty()) place(layers[i].bias, Dims({c.widths[i + 1]}), biases[i]);
  }
  auto weight_buffer = allocate(packed.size());
  upload(stream, at(weight_buffer), packed);
  std::vector<cl::MlpStageOperands> operands(stages);
  for (std::size_t i = 0; i < stages; ++i) {
    weights[i].range.buffer = weight_buffer;
    operands[i].weights = &weights[i];
    if (!layers[i].bias.empty()) {
      biases[i].range.buffer = weight_buffer;
      operands[i].bias = &biases[i];
    }
    operands[i].has_activation = layers[i].has_activation;
    operands[i].activation = layers[i].activation;
    operands[i].alpha = layers[i].alpha;
    operands[i].beta = layers[i].beta;
  }
  const std::vector<float> x = randomFloats(static_cast<std::size_t>(c.rows * c.widths[0]), seed + 99);
  const Dims in_shape({c.rows, c.widths[0]}), out_shape({c.rows, c.widths.back()});
  const std::size_t out_bytes = static_cast<std::size_t>(out_shape.volume()) * elementSize(type);
  DeviceTensor in, out;
  if (io == Io::kPinnedHost) {
    in = pinnedTensor(x.size() * elementSize(type), in_shape, type);
    const auto bytes = encodeAs(x, type);
    std::memcpy(in.host.data(), bytes.data(), bytes.size());
    out = pinnedTensor(out_bytes, out_shape, type);
    std::memset(out.host.data(), 0xff, out_bytes);  // NaNs until the kernel writes
  } else {
    in = tensorAt(allocate(std::max<std::size_t>(x.size() * 4, 4)), 0, in_shape, type);
    if (!x.empty()) upload(stream, in.range, encodeAs(x, type));
    out = tensorAt(allocate(out_bytes + 4), 0, out_shape, type);
  }
  cl::KernelCache cache(context());
  cl::fusedMlp(cache, stream, rows_per_group, in, operands, out);
  stream.synchronize();

  std::vector<double> values = widened(storedAs(x, type));
  for (std::size_t i = 0; i < stages; ++i) {
    const auto k = static_cast<std::size_t>(c.widths[i]), n = static_cast<std::size_t>(c.widths[i + 1]);
    const std::vector<double> w = widened(storedAs(layers[i].weights, type));
    const std::vector<double> b = widened(storedAs(layers[i].bias, type));
    std::vector<double> next(static_cast<std::size_t>(c.rows) * n);
    for (std::size_t r = 0; r < static_cast<std::size_t>(c.rows); ++r) {
      for (std::size_t j = 0; j < n; ++j) {
        double sum = b.empty() ? 0.0 : b[j];
        for (std::size_t l = 0; l < k; ++l) sum += values[r * k + l] * w[l * n + j];
        next[r * n + j] = layers[i].has_activation ? activate(layers[i], sum) : sum;
      }
    }
    // HALF storage keeps float hidden activations in local memory: no rounding between stages.
    values = next;
  }
  std::vector<unsigned char> out_bytes_got(out_bytes);
  if (io == Io::kPinnedHost) {
    std::memcpy(out_bytes_got.data(), out.host.data(), out_bytes);
  } else {
    out_bytes_got = download<unsigned char>(stream, out.range, out_bytes);
  }
  const std::vector<double> got = decodeAs<double>(out_bytes_got, type);
  ASSERT_EQ(got.size(), values.size());
  const double tolerance = type == DataType::kHALF ? 1e-2 : 1e-5;
  double scale = 1e-6;
  for (double v : values) scale = std::max(scale, std::fabs(v));
  for (std::size_t i = 0; i < got.size(); ++i) {
    ASSERT_LE(std::fabs(got[i] - values[i]), tolerance * scale)
        << "element " << i << " rows " << c.rows << " rows/group " << rows_per_group << " " << dataTypeName(type);
  }
}

// Each (widths, storage, rows per group) is a compile of its own (about a second on PoCL), so
// the cases are spread over the variants rather than crossed with all of them.
TEST(FusedMlp, MatchesReferenceForEveryRowsPerGroupInFloatAndHalf) {
  const std::vector<MlpCase> cases = {
      {{784, 32, 10}, 13}, {{7, 5, 3}, 9}, {{300, 257, 2}, 3}, {{3, 8, 8, 8, 8, 8, 8, 8, 1}, 11},
  };
  const std::vector<int>& choices = cl::fusedMlpRowChoices();
  std::uint32_t seed = 500;
  for (const DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      for (std::size_t j = 0; j < 2; ++j) {
        const int rows = choices[(i + j * 2 + (type == DataType::kHALF ? 1 : 0)) % choices.size()];
        ASSERT_TRUE(cl::fusedMlpFits(*context(), cases[i].widths, rows));
        checkFusedMlp(cases[i], type, rows, seed += 7);
      }
    }
  }
}

TEST(FusedMlp, SingleRowsSingleStagesAndWidthOne) {
  std::uint32_t seed = 900;
  for (const MlpCase& c : std::vector<MlpCase>{{{784, 32, 10}, 1}, {{16, 1, 16}, 5}, {{5, 7}, 17}}) {
    checkFusedMlp(c, DataType::kFLOAT, 8, seed += 7);
  }
}

// The kernel variant that reads its input and writes its output in pinned host memory through
// their addresses (PoCL's CPU device allows it, like NVIDIA's GPUs).
TEST(FusedMlp, ReadsAndWritesPinnedHostMemoryDirectly) {
  ASSERT_TRUE(cl::kernelsReadPinnedHostMemory(*context())) << cl::pinnedHostAccessReport(*context());
  std::uint32_t seed = 1300;
  for (const DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    checkFusedMlp({{784, 32, 10}, 1}, type, 1, seed += 7, Io::kPinnedHost);
    checkFusedMlp({{37, 19, 5}, 29}, type, 8, seed += 7, Io::kPinnedHost);
  }
  // Rows too wide to copy to local memory first (8 rows of more floats than the device's local
  // memory holds: PoCL's is 1 or 2 MiB, depending on the CPU, NVIDIA's 48 KiB): stage 0 reads x
  // over the bus directly.
  const auto width = static_cast<std::int64_t>(context()->device().local_memory / (8 * sizeof(float))) + 7;
  ASSERT_GT(static_cast<std::size_t>(8 * width) * sizeof(float), context()->device().local_memory);
  checkFusedMlp({{width, 3, 2}, 3}, DataType::kFLOAT, 8, seed += 7, Io::kPinnedHost);
}

TEST(FusedMlp, PinnedHostAccessCanBeSwitchedOff) {
  cl::overridePinnedHostAccess(false);
  EXPECT_FALSE(cl::kernelsReadPinnedHostMemory(*context()));
  EXPECT_NE(cl::pinnedHostAccessReport(*context()).find("forced off"), std::string::npos);
  cl::overridePinnedHostAccess(std::nullopt);
  EXPECT_TRUE(cl::kernelsReadPinnedHostMemory(*context()));
}

TEST(FusedMlp, KernelsWithoutAddressOperandsRefusePinnedTensors) {
  const std::shared_ptr<cl::Stream> stream = cl::Stream::create(context());
  cl::KernelCache cache(context());
  const DeviceTensor pinned = pinnedTensor(64, Dims({16}), DataType::kFLOAT);
  const DeviceTensor device = tensorAt(allocate(64), 0, Dims({16}), DataType::kFLOAT);
  try {
    cl::activation(cache, *stream, ActivationType::kRELU, 0.0f, 0.0f, pinned, device);
    FAIL() << "a pinned host tensor was taken by a kernel that reads device buffers";
  } catch (const InvalidArgument& error) {
    EXPECT_NE(std::string(error.what()).find("input is in pinned host memory"), std::string::npos) << error.what();
  }
}

TEST(FusedMlp, RefusesMismatchedStagesAndUnknownVariants) {
  auto stream = cl::Stream::create(context());
  cl::KernelCache cache(context());
  auto buffer = allocate(4096);
  const DeviceTensor w0 = tensorAt(buffer, 0, Dims({4, 3}), DataType::kFLOAT);
  const DeviceTensor w1 = tensorAt(buffer, 256, Dims({5, 2}), DataType::kFLOAT);  // takes 5, gets 3
  const DeviceTensor in = tensorAt(allocate(64), 0, Dims({2, 4}), DataType::kFLOAT);
  const DeviceTensor out = tensorAt(allocate(64), 0, Dims({2, 2}), DataType::kFLOAT);
  std::vector<cl::MlpStageOperands> stages(2);
  stages[0].weights = &w0;
  stages[1].weights = &w1;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::fusedMlp(cache, *stream, 1, in, stages, out); },
                                          "stage 1 weights (5, 2) do not take the previous stage's outputs"));
  const DeviceTensor w1_ok = tensorAt(buffer, 256, Dims({3, 2}), DataType::kFLOAT);
  stages[1].weights = &w1_ok;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::fusedMlp(cache, *stream, 3, in, stages, out); },
                                          "3 rows per work-group is not offered"));
  const DeviceTensor bad_out = tensorAt(allocate(64), 0, Dims({2, 3}), DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::fusedMlp(cache, *stream, 1, in, stages, bad_out); },
                                          "output shape (2, 3) should be (2, 2)"));
  const DeviceTensor w1_elsewhere = tensorAt(allocate(256), 0, Dims({3, 2}), DataType::kFLOAT);
  stages[1].weights = &w1_elsewhere;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::fusedMlp(cache, *stream, 1, in, stages, out); },
                                          "not in the first stage's buffer"));
  EXPECT_FALSE(cl::fusedMlpFits(*context(), {4, 1 << 20, 2}, 8));  // hidden layer beyond local memory
  EXPECT_FALSE(cl::fusedMlpFits(*context(), {1024, 4096, 1024}, 1));  // 8M weights: left to GEMMs
  EXPECT_TRUE(cl::fusedMlpFits(*context(), {256, 256, 256, 256, 256, 256, 256, 256, 256}, 8));
}

// ---- The builder's chain fusion on plans ------------------------------------------------------

engine::TensorId addTensor(engine::EnginePlan& plan, const std::string& name, const Dims& shape,
                           engine::TensorRole role, const std::vector<float>& values = {}) {
  engine::PlanTensor tensor;
  tensor.name = name;
  tensor.shape = shape;
  tensor.role = role;
  if (role == engine::TensorRole::kConstant) {
    tensor.offset = plan.weights.size();
    tensor.capacity = values.size() * 4;
    const auto bytes = encodeAs(values, DataType::kFLOAT);
    plan.weights.insert(plan.weights.end(), bytes.begin(), bytes.end());
  }
  plan.tensors.push_back(tensor);
  return static_cast<engine::TensorId>(plan.tensors.size() - 1);
}

engine::PlanStep gemmStep(const std::string& name, engine::TensorId a, engine::TensorId b, engine::TensorId out,
                          bool b_transposed, engine::TensorId bias) {
  engine::PlanStep step;
  step.name = name;
  step.parameters = network::MatrixMultiplyLayer{MatrixOperation::kNONE,
                                                 b_transposed ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE};
  step.inputs = {a, b};
  step.output = out;
  step.epilogue.bias = bias;
  step.epilogue.has_activation = true;
  step.tactic = "tiled_m4n4_k16";
  return step;
}

// input (-1, 1, 2, 3) -> reshape (-1, 6) -> x W0^T + b0, relu -> x W1 -> output (-1, 2)
engine::EnginePlan smallMlpPlan() {
  engine::EnginePlan plan;
  const auto input = addTensor(plan, "input", Dims({-1, 1, 2, 3}), engine::TensorRole::kInput);
  const auto flat = addTensor(plan, "flat", Dims({-1, 6}), engine::TensorRole::kActivation);
  std::vector<float> w0(4 * 6);
  for (std::size_t i = 0; i < w0.size(); ++i) w0[i] = static_cast<float>(i);
  const auto weights0 = addTensor(plan, "w0", Dims({4, 6}), engine::TensorRole::kConstant, w0);
  const auto bias0 = addTensor(plan, "b0", Dims({4}), engine::TensorRole::kConstant, {1, 2, 3, 4});
  const auto unused = addTensor(plan, "unused", Dims({3}), engine::TensorRole::kConstant, {9, 9, 9});
  const auto hidden = addTensor(plan, "hidden", Dims({-1, 4}), engine::TensorRole::kActivation);
  const auto weights1 = addTensor(plan, "w1", Dims({4, 2}), engine::TensorRole::kConstant, {1, 2, 3, 4, 5, 6, 7, 8});
  const auto output = addTensor(plan, "output", Dims({-1, 2}), engine::TensorRole::kOutput);
  (void)unused;
  plan.inputs = {input};
  plan.outputs = {output};
  engine::PlanStep reshape;
  reshape.name = "flatten";
  network::ShuffleLayer shuffle;
  shuffle.has_reshape = true;
  shuffle.reshape = {0, 6};
  reshape.parameters = shuffle;
  reshape.inputs = {input};
  reshape.output = flat;
  plan.steps.push_back(reshape);
  plan.steps.push_back(gemmStep("fc0", flat, weights0, hidden, true, bias0));
  plan.steps.push_back(gemmStep("fc1", hidden, weights1, output, false, -1));
  plan.profiles.push_back({{Dims({1, 1, 2, 3})}, {Dims({4, 1, 2, 3})}, {Dims({8, 1, 2, 3})}});
  return plan;
}

TEST(MlpFusion, FindsTheChainWithItsLeadingReshape) {
  const engine::EnginePlan plan = smallMlpPlan();
  const auto chain = builder::findMlpChain(plan, 0);
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->first, 0u);
  EXPECT_EQ(chain->last, 2u);
  EXPECT_EQ(chain->input, plan.inputs[0]);
  EXPECT_EQ(chain->output, plan.outputs[0]);
  EXPECT_EQ(chain->gemms, (std::vector<std::size_t>{1, 2}));
  EXPECT_FALSE(builder::findMlpChain(plan, 3).has_value());
}

TEST(MlpFusion, ChainStopsAtATensorReadTwice) {
  engine::EnginePlan plan = smallMlpPlan();
  // A second reader of "hidden": the chain cannot swallow it.
  const auto copy = addTensor(plan, "copy", Dims({-1, 4}), engine::TensorRole::kOutput);
  engine::PlanStep identity;
  identity.name = "copy";
  identity.parameters = network::IdentityLayer{DataType::kFLOAT};
  identity.inputs = {plan.steps[1].output};
  identity.output = copy;
  plan.steps.push_back(identity);
  plan.outputs.push_back(copy);
  const auto chain = builder::findMlpChain(plan, 0);
  ASSERT_TRUE(chain.has_value());
  EXPECT_EQ(chain->gemms, (std::vector<std::size_t>{1}));
}

TEST(MlpFusion, FusedStepTransposesLinearWeightsAndKeepsShapes) {
  engine::EnginePlan plan = smallMlpPlan();
  const auto chain = builder::findMlpChain(plan, 0);
  ASSERT_TRUE(chain.has_value());
  engine::PlanStep fused = builder::makeFusedMlpStep(plan, *chain);
  fused.tactic = "fused_mlp_r1";
  const auto& mlp = std::get<network::FusedMlpLayer>(fused.parameters);
  ASSERT_EQ(mlp.stages.size(), 2u);
  EXPECT_EQ(mlp.stages[0].in_features, 6);
  EXPECT_EQ(mlp.stages[0].out_features, 4);
  EXPECT_TRUE(mlp.stages[0].has_bias);
  EXPECT_FALSE(mlp.stages[1].has_bias);
  EXPECT_EQ(fused.name, "flatten + fc0 + fc1");
  builder::replaceChain(plan, *chain, fused);
  builder::removeUnusedTensors(plan);
  ASSERT_EQ(plan.steps.size(), 1u);
  // w0 (4 x 6, used as b^T) is stored again as 6 x 4; the original, "unused", "flat" and
  // "hidden" are gone.
  std::vector<std::string> names;
  for (const auto& tensor : plan.tensors) names.push_back(tensor.name);
  EXPECT_EQ(names, (std::vector<std::string>{"input", "b0", "w1", "output", "w0_kxn"}));
  const engine::PlanTensor& transposed = plan.tensors[4];
  EXPECT_EQ(transposed.shape, Dims({6, 4}));
  float value = 0.0f;
  std::memcpy(&value, &plan.weights[transposed.offset + 4 * (1 * 4 + 2)], 4);  // [k=1][n=2] = w0[2][1]
  EXPECT_EQ(value, 2 * 6 + 1);
  const auto shapes = runtime::inferPlanShapes(plan, {Dims({5, 1, 2, 3})});
  EXPECT_EQ(shapes[static_cast<std::size_t>(plan.outputs[0])], Dims({5, 2}));
}

// Rows per work-group worth timing: the smallest always; others below twice the rows, and on a
// device of many units only while they give one work-group per 8 units.
TEST(FusedMlpChoices, GroupsTooWideOrTooFewForTheDeviceAreNotTimed) {
  const std::vector<int> choices{1, 2, 4, 8, 16};
  using V = std::vector<int>;
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 64, 2), (V{1, 2, 4, 8, 16}));   // a CPU: padding only
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 5, 2), (V{1, 2, 4, 8}));
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 1, 2), (V{1}));
  // An H100 (132 units) at batch 64: 16 groups of 4 rows (x 8 = 128 < 132) and 8 of 8 leave it idle.
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 64, 132), (V{1, 2}));
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 4096, 132), (V{1, 2, 4, 8, 16}));
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(choices, 66, 132), (V{1, 2, 4}));  // 17 groups of 4
  // The smallest choice stays even where it too is too wide (the tensor-core tiles' 16 rows).
  EXPECT_EQ(builder::fusedRowChoicesWorthTiming(V{16, 32, 64}, 64, 132), (V{16}));
}

}  // namespace
}  // namespace mlprt::test
