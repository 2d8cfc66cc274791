// The builder's passes (fusion, BatchNorm folding, dead layers, FP16 casts), the memory plan,
// and engines end to end in C++: build, serialize, load, run, and refuse other devices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_timing.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/convolution/winograd.h"
#include "builder/builder.h"
#include "builder/graph.h"
#include "builder/memory_plan.h"
#include "builder/mlp_choice.h"
#include "builder/mlp_fusion.h"
#include "builder/scratch_run.h"
#include "builder/tactic_choice.h"
#include "builder/tactic_timing.h"
#include "core/error.h"
#include "core/logging.h"
#include "engine/format.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "runtime/plan_shapes.h"
#include "runtime/step_runner.h"
#include "product_network.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using network::Network;
using network::TensorId;

// x (-1, k) -> MatMul W (k, n) -> + bias -> * scale -> - shift -> ReLU
struct LinearBatchNorm {
  std::size_t k = 7;
  std::size_t n = 5;
  std::vector<float> w = randomFloats(7 * 5, 1);
  std::vector<float> bias = randomFloats(5, 2);
  std::vector<float> scale = randomFloats(5, 3);
  std::vector<float> shift = randomFloats(5, 4);

  Network network() const {
    Network net;
    const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, static_cast<std::int64_t>(k)});
    TensorId y = addLayer(net, network::MatrixMultiplyLayer{},
                          {x, addConstant(net, Dims{static_cast<std::int64_t>(k), static_cast<std::int64_t>(n)}, w)});
    y = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUM},
                 {y, addConstant(net, Dims{static_cast<std::int64_t>(n)}, bias)});
    y = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kPROD},
                 {addConstant(net, Dims{1, static_cast<std::int64_t>(n)}, scale), y});
    y = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUB},
                 {y, addConstant(net, Dims{static_cast<std::int64_t>(n)}, shift)});
    y = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {y});
    net.setTensorName(y, "y");
    net.markOutput(y);
    return net;
  }

  std::vector<double> reference(const std::vector<float>& x, std::size_t rows) const {
    std::vector<double> out(rows * n);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (std::size_t i = 0; i < k; ++i) sum += double(x[r * k + i]) * w[i * n + j];
        out[r * n + j] = std::max(0.0, (sum + bias[j]) * scale[j] - shift[j]);
      }
    }
    return out;
  }
};

std::size_t liveNodes(const builder::Graph& graph) {
  std::size_t count = 0;
  for (const auto& node : graph.nodes) count += node.removed ? 0 : 1;
  return count;
}

TEST(BuilderPasses, BiasScaleShiftAndActivationFuseIntoTheGemm) {
  const LinearBatchNorm model;
  builder::Graph graph = builder::graphFromNetwork(model.network());
  EXPECT_EQ(liveNodes(graph), 5u);
  EXPECT_EQ(builder::fuseEpilogues(graph), 4);
  ASSERT_EQ(liveNodes(graph), 1u);
  const builder::GraphNode& gemm = graph.nodes[0];
  EXPECT_TRUE(gemm.epilogue.has_activation);
  ASSERT_GE(gemm.epilogue.bias, 0);
  EXPECT_EQ(graph.tensor(gemm.output).name, "y");
  // Folded values: W' = W * scale per column, bias' = bias * scale - shift.
  std::vector<float> bias(model.n);
  std::memcpy(bias.data(), graph.tensor(gemm.epilogue.bias).value.data(), model.n * sizeof(float));
  std::vector<float> w(model.k * model.n);
  std::memcpy(w.data(), graph.tensor(gemm.inputs[1]).value.data(), w.size() * sizeof(float));
  for (std::size_t j = 0; j < model.n; ++j) {
    EXPECT_FLOAT_EQ(bias[j], model.bias[j] * model.scale[j] - model.shift[j]);
    EXPECT_FLOAT_EQ(w[model.n + j], model.w[model.n + j] * model.scale[j]);
  }
}

TEST(BuilderPasses, TransposedFloatWeightsAreStoredKByN) {
  // x (-1, 3) x W^T with W (2, 3) as a Linear layer stores it; and x x V (3, 2) left alone.
  Network net;
  const std::vector<float> w = {1, 2, 3, 4, 5, 6};
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, 3});
  const TensorId y = addLayer(net, network::MatrixMultiplyLayer{MatrixOperation::kNONE, MatrixOperation::kTRANSPOSE},
                              {x, addConstant(net, Dims{2, 3}, w)});
  const TensorId z = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{3, 2}, w)});
  net.markOutput(y);
  net.markOutput(z);
  builder::Graph graph = builder::graphFromNetwork(net);
  EXPECT_EQ(builder::storeWeightsKByN(graph), 1);
  const auto& first = std::get<network::MatrixMultiplyLayer>(graph.nodes[0].parameters);
  EXPECT_EQ(first.op1, MatrixOperation::kNONE);
  const builder::GraphTensor& stored = graph.tensor(graph.nodes[0].inputs[1]);
  EXPECT_EQ(stored.shape, (Dims{3, 2}));
  std::vector<float> values(6);
  std::memcpy(values.data(), stored.value.data(), sizeof(float) * 6);
  EXPECT_EQ(values, (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(builder::storeWeightsKByN(graph), 0);  // nothing left to change
}

// transposedMatrix goes tile by tile (32 x 32): shapes of one element, of primes across tile
// edges and of whole tiles, for every element size it specializes (1, 2, 4, 8) and one it does
// not (3), against the definition on random bytes.
TEST(BuilderPasses, TransposedMatrixMatchesItsDefinitionAcrossTileEdges) {
  std::mt19937 random(90);
  const std::vector<std::pair<std::int64_t, std::int64_t>> shapes = {{1, 1}, {1, 37}, {41, 1}, {33, 65}, {64, 32}, {97, 31}};
  for (const std::size_t element : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4}, std::size_t{8}}) {
    for (const auto& [rows, columns] : shapes) {
      std::vector<std::uint8_t> data(static_cast<std::size_t>(rows * columns) * element);
      for (std::uint8_t& byte : data) byte = static_cast<std::uint8_t>(random());
      const std::vector<std::uint8_t> result = builder::transposedMatrix(data.data(), rows, columns, element);
      ASSERT_EQ(result.size(), data.size());
      bool same = true;
      for (std::int64_t r = 0; r < rows && same; ++r) {
        for (std::int64_t c = 0; c < columns && same; ++c) {
          same = std::memcmp(&result[static_cast<std::size_t>(c * rows + r) * element],
                             &data[static_cast<std::size_t>(r * columns + c) * element], element) == 0;
        }
      }
      EXPECT_TRUE(same) << rows << " x " << columns << ", " << element << "-byte elements";
    }
  }
}

TEST(BuilderPasses, ProductsReadTwiceOrMarkedAsOutputsDoNotFuse) {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{2, 3});
  const TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{3, 3}, randomFloats(9, 1))});
  const TensorId a = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {y});
  net.markOutput(a);
  net.markOutput(y);
  builder::Graph graph = builder::graphFromNetwork(net);
  EXPECT_EQ(builder::fuseEpilogues(graph), 0);
  EXPECT_EQ(liveNodes(graph), 2u);
}

TEST(BuilderPasses, ScalesOfSharedOrNonConstantWeightsDoNotFold) {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{2, 3});
  const TensorId w = net.addInput("w", DataType::kFLOAT, Dims{3, 3});
  const TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {x, w});
  const TensorId s = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kPROD},
                              {y, addConstant(net, Dims{3}, randomFloats(3, 2))});
  net.markOutput(s);
  builder::Graph graph = builder::graphFromNetwork(net);
  EXPECT_EQ(builder::fuseEpilogues(graph), 0);
}

TEST(BuilderPasses, DeadLayersAreRemoved) {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{4});
  addLayer(net, network::UnaryLayer{UnaryOperation::kEXP}, {x});  // read by nothing
  const TensorId kept = addLayer(net, network::UnaryLayer{UnaryOperation::kABS}, {x});
  net.markOutput(kept);
  builder::Graph graph = builder::graphFromNetwork(net);
  builder::removeDeadNodes(graph);
  ASSERT_EQ(liveNodes(graph), 1u);
  EXPECT_EQ(graph.tensor(graph.nodes[1].output).name, net.tensor(kept).name);
}

TEST(BuilderPasses, HalfConversionCastsAtTheBoundaryOnly) {
  builder::Graph graph = builder::graphFromNetwork(LinearBatchNorm().network());
  builder::convertToHalf(graph);
  for (TensorId input : graph.inputs) EXPECT_EQ(graph.tensor(input).type, DataType::kFLOAT);
  for (TensorId output : graph.outputs) EXPECT_EQ(graph.tensor(output).type, DataType::kFLOAT);
  std::size_t casts = 0;
  for (const auto& node : graph.nodes) {
    if (std::holds_alternative<network::IdentityLayer>(node.parameters)) {
      ++casts;
    } else {
      EXPECT_EQ(graph.tensor(node.output).type, DataType::kHALF) << node.name;
    }
  }
  EXPECT_EQ(casts, 2u);
  EXPECT_EQ(graph.tensor(graph.nodes[1].inputs[1]).value.size(), 7u * 5u * 2u);  // weights as half
}

TEST(BuilderPasses, NetworksWithoutOutputsOrWithInputsAsOutputsAreRefused) {
  Network empty;
  empty.addInput("x", DataType::kFLOAT, Dims{1});
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { builder::graphFromNetwork(empty); }, "no outputs"));
  Network echo;
  echo.markOutput(echo.addInput("x", DataType::kFLOAT, Dims{1}));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { builder::graphFromNetwork(echo); }, "'x' is both a network input and"));
}

TEST(MemoryPlan, TensorsAliveTogetherNeverOverlap) {
  const std::vector<builder::Lifetime> lifetimes = {
      {1000, 0, 1}, {300, 1, 2}, {2000, 2, 3}, {10, 3, 5}, {700, 4, 5}, {1, 0, 5}, {0, 2, 2}};
  const builder::MemoryPlan plan = builder::planMemory(lifetimes, 256);
  for (std::size_t a = 0; a < lifetimes.size(); ++a) {
    EXPECT_EQ(plan.offsets[a] % 256, 0u);
    EXPECT_LE(plan.offsets[a] + lifetimes[a].bytes, plan.arena_bytes);
    for (std::size_t b = a + 1; b < lifetimes.size(); ++b) {
      const bool alive_together = lifetimes[a].first <= lifetimes[b].last && lifetimes[b].first <= lifetimes[a].last;
      const bool overlap = plan.offsets[a] < plan.offsets[b] + lifetimes[b].bytes &&
                           plan.offsets[b] < plan.offsets[a] + lifetimes[a].bytes;
      if (alive_together) {
        EXPECT_FALSE(overlap) << a << " and " << b;
      }
    }
  }
}

TEST(MemoryPlan, AChainReusesMemory) {
  // Each tensor lives from its producer to the next step: two buffers suffice.
  std::vector<builder::Lifetime> chain;
  for (int i = 0; i < 10; ++i) chain.push_back({1024, i, i + 1});
  EXPECT_EQ(builder::planMemory(chain, 256).arena_bytes, 2048u);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { builder::planMemory(chain, 100); }, "power of two"));
}

std::vector<std::uint8_t> buildLinearBatchNorm(bool fp16) {
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 7}, Dims{4, 7}, Dims{13, 7});
  config.addOptimizationProfile(profile);
  if (fp16) config.setFlag(builder::BuilderFlag::kFP16);
  return builder::buildSerializedNetwork(LinearBatchNorm().network(), config);
}

// The engine of a plan the test edited (through its bytes, as a file would carry it).
std::shared_ptr<const runtime::Engine> engineOf(const engine::EnginePlan& plan) {
  const std::vector<std::uint8_t> edited = engine::serializePlan(plan);
  return runtime::Engine::deserialize(context(), edited.data(), edited.size());
}

// The index of the plan's one step of kind Layer; plan.steps.size() when there is none or several.
template <typename Layer>
std::size_t onlyStepOf(const engine::EnginePlan& plan) {
  std::size_t found = plan.steps.size();
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    if (!std::holds_alternative<Layer>(plan.steps[s].parameters)) continue;
    if (found != plan.steps.size()) return plan.steps.size();
    found = s;
  }
  return found;
}

std::vector<float> run(const std::shared_ptr<const runtime::Engine>& engine, const std::vector<float>& x, std::size_t rows) {
  runtime::ExecutionContext execution(engine);
  auto stream = cl::Stream::create(context());
  EXPECT_TRUE(execution.setInputShape("x", Dims{static_cast<std::int64_t>(rows), 7}));
  const BoundXY bound = bindXY(execution, *stream, x, rows * 5);
  execution.enqueue(*stream);
  return download<float>(*stream, at(bound.y), rows * 5);
}

TEST(EngineEndToEnd, BuildsLoadsAndMatchesTheReferenceInFp32AndFp16) {
  const LinearBatchNorm model;
  for (bool fp16 : {false, true}) {
    const std::vector<std::uint8_t> bytes = buildLinearBatchNorm(fp16);
    auto engine = runtime::Engine::deserialize(context(), bytes.data(), bytes.size());
    // FP32: one GEMM step (or the same as a FusedMLP). FP16: cast, GEMM, cast, unless timing
    // chose the FusedMLP step, which swallows the casts.
    const auto& steps = engine->plan().steps;
    const bool fused = steps.size() == 1 && std::holds_alternative<network::FusedMlpLayer>(steps[0].parameters);
    EXPECT_TRUE(steps.size() == 1 || (fp16 && steps.size() == 3 && !fused)) << steps.size() << " steps";
    for (std::size_t rows : {1u, 5u, 13u}) {
      const std::vector<float> x = randomFloats(rows * 7, static_cast<std::uint32_t>(rows));
      const std::vector<float> y = run(engine, x, rows);
      const std::vector<double> expected = model.reference(x, rows);
      double scale = 1e-30;
      double error = 0.0;
      for (std::size_t i = 0; i < y.size(); ++i) {
        scale = std::max(scale, std::abs(expected[i]));
        error = std::max(error, std::abs(y[i] - expected[i]));
      }
      EXPECT_LE(error / scale, fp16 ? 1e-2 : 1e-5) << "rows " << rows << (fp16 ? " fp16" : " fp32");
    }
  }
}

TEST(EngineEndToEnd, EnginesOfAnotherDeviceAreRefusedByName) {
  const std::vector<std::uint8_t> bytes = buildLinearBatchNorm(false);
  engine::EnginePlan plan = engine::deserializePlan(bytes.data(), bytes.size());
  plan.device.device = "Imaginary GPU 9000";
  const std::vector<std::uint8_t> foreign = engine::serializePlan(plan);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { runtime::Engine::deserialize(context(), foreign.data(), foreign.size()); },
      "built for device 'Imaginary GPU 9000'"));
}

TEST(EngineEndToEnd, AnotherDriverVersionRecompilesInsteadOfUsingBinaries) {
  const std::vector<std::uint8_t> bytes = buildLinearBatchNorm(true);
  engine::EnginePlan plan = engine::deserializePlan(bytes.data(), bytes.size());
  plan.device.driver = "0.0-other";
  for (auto& program : plan.programs) program.binary.assign(16, 0xAB);  // unusable anyway
  const std::vector<std::uint8_t> other = engine::serializePlan(plan);
  auto engine = runtime::Engine::deserialize(context(), other.data(), other.size());
  const std::vector<float> x = randomFloats(2 * 7, 9);
  const std::vector<float> y = run(engine, x, 2);
  const std::vector<double> expected = LinearBatchNorm().reference(x, 2);
  for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expected[i], 2e-2 * (1 + std::abs(expected[i])));
}

TEST(EngineEndToEnd, AConcurrentCallOnOneContextIsRefused) {
  const std::vector<std::uint8_t> bytes = buildLinearBatchNorm(false);
  auto engine = runtime::Engine::deserialize(context(), bytes.data(), bytes.size());
  runtime::ExecutionContext execution(engine);
  // A log sink runs inside set_input_shape's error path while the context is busy.
  bool refused = false;
  setLogSink([&](Severity, const std::string&) {
    refused = throwsWith<Error>([&] { execution.setInputShape("x", Dims{2, 7}); }, "in use by another thread");
  }, Severity::kERROR);
  EXPECT_FALSE(execution.setInputShape("x", Dims{99, 7}));
  resetLogSink();
  EXPECT_TRUE(refused);
  EXPECT_TRUE(execution.setInputShape("x", Dims{2, 7}));
}

// Records what an execution context reports per step.
class RecordingProfiler : public runtime::Profiler {
 public:
  void reportLayerTime(const std::string& layer_name, float milliseconds) override {
    reports.emplace_back(layer_name, milliseconds);
  }
  std::vector<std::pair<std::string, float>> reports;
};

// y = x x^T for x (rows, 7): a product of two run-time operands, which stays one GEMM step (no
// MLP fusion), with its tactic set to `tactic`.
std::shared_ptr<const runtime::Engine> gramEngineWithTactic(const std::string& tactic) {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, 7});
  const TensorId y = addLayer(net, network::MatrixMultiplyLayer{MatrixOperation::kNONE, MatrixOperation::kTRANSPOSE}, {x, x});
  net.setTensorName(y, "y");
  net.markOutput(y);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 7}, Dims{4, 7}, Dims{13, 7});
  config.addOptimizationProfile(profile);
  const std::vector<std::uint8_t> bytes = builder::buildSerializedNetwork(net, config);
  engine::EnginePlan plan = engine::deserializePlan(bytes.data(), bytes.size());
  EXPECT_EQ(plan.steps.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<network::MatrixMultiplyLayer>(plan.steps.at(0).parameters));
  plan.steps.at(0).tactic = tactic;
  return engineOf(plan);
}

TEST(EngineProfiling, EveryStepIsReportedWithItsDeviceTimeAndKernelsStillComputeTheSame) {
  // "clblast" queues through the library (no kernel events: timed by markers around the step);
  // "small_m1" is one of our kernels (timed by its kernel events, then replayed from a capture).
  for (const std::string tactic : {"clblast", "small_m1"}) {
    auto engine = gramEngineWithTactic(tactic);
    runtime::ExecutionContext execution(engine);
    auto profiler = std::make_shared<RecordingProfiler>();
    execution.setProfiler(profiler);
    auto stream = cl::Stream::create(context());
    const std::size_t rows = 5;
    const std::vector<float> x = randomFloats(rows * 7, 21);
    ASSERT_TRUE(execution.setInputShape("x", Dims{static_cast<std::int64_t>(rows), 7}));
    const BoundXY bound = bindXY(execution, *stream, x, rows * rows);
    std::vector<double> expected(rows * rows, 0.0);
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < rows; ++c) {
        for (std::size_t i = 0; i < 7; ++i) expected[r * rows + c] += double(x[r * 7 + i]) * x[c * 7 + i];
      }
    }
    for (int call = 0; call < 3; ++call) {
      profiler->reports.clear();
      execution.enqueue(*stream);
      ASSERT_EQ(profiler->reports.size(), engine->plan().steps.size()) << tactic << " call " << call;
      for (std::size_t i = 0; i < profiler->reports.size(); ++i) {
        EXPECT_EQ(profiler->reports[i].first, engine->plan().steps[i].name);
        EXPECT_GE(profiler->reports[i].second, 0.0f);
        EXPECT_LT(profiler->reports[i].second, 1000.0f);
      }
      EXPECT_FALSE(execution.reportToProfiler()) << "reported by enqueue already";
      const std::vector<float> y = download<float>(*stream, at(bound.y), rows * rows);
      for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], expected[i], 1e-5 * (1 + std::abs(expected[i])));
    }
    execution.setEnqueueEmitsProfile(false);
    profiler->reports.clear();
    execution.enqueue(*stream);
    EXPECT_TRUE(profiler->reports.empty());
    EXPECT_TRUE(execution.reportToProfiler());
    EXPECT_EQ(profiler->reports.size(), engine->plan().steps.size());
    execution.setProfiler(nullptr);
    EXPECT_FALSE(execution.reportToProfiler());
  }
}

// x (batch, c, h, w) -> 3x3 convolution to m maps (padding 1, bias) -> ReLU -> y, random weights;
// and the largest error of an engine's answer relative to the double-precision one.
struct PaddedConv3x3 {
  std::int64_t c, m, h, w;
  std::vector<float> weights, bias;
  PaddedConv3x3(std::int64_t c_in, std::int64_t m_in, std::int64_t h_in, std::int64_t w_in, std::uint32_t seed)
      : c(c_in), m(m_in), h(h_in), w(w_in), weights(randomFloats(static_cast<std::size_t>(m * c * 9), seed)),
        bias(randomFloats(static_cast<std::size_t>(m), seed + 1)) {}
  // `batch` -1: a dynamic batch.
  Network network(std::int64_t batch) const {
    Network net;
    const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{batch, c, h, w});
    network::ConvolutionLayer conv;
    conv.num_output_maps = m;
    conv.kernel_size = {3, 3};
    conv.pre_padding = {1, 1};
    conv.post_padding = {1, 1};
    TensorId y = addLayer(net, conv, {x, addConstant(net, Dims{m, c, 3, 3}, weights), addConstant(net, Dims{m}, bias)});
    y = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {y});
    net.setTensorName(y, "y");
    net.markOutput(y);
    return net;
  }
  double relativeError(const std::vector<float>& input, const std::vector<float>& result, std::int64_t batch) const {
    double scale = 1.0, error = 0.0;
    for (std::int64_t n = 0; n < batch; ++n)
      for (std::int64_t o = 0; o < m; ++o)
        for (std::int64_t oy = 0; oy < h; ++oy)
          for (std::int64_t ox = 0; ox < w; ++ox) {
            double sum = bias[static_cast<std::size_t>(o)];
            for (std::int64_t i = 0; i < c; ++i)
              for (std::int64_t ky = 0; ky < 3; ++ky)
                for (std::int64_t kx = 0; kx < 3; ++kx) {
                  const std::int64_t iy = oy + ky - 1, ix = ox + kx - 1;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  sum += double(input[static_cast<std::size_t>(((n * c + i) * h + iy) * w + ix)]) *
                         weights[static_cast<std::size_t>(((o * c + i) * 3 + ky) * 3 + kx)];
                }
            const double expected = std::max(sum, 0.0);
            scale = std::max(scale, std::abs(expected));
            error = std::max(error, std::abs(expected - result[static_cast<std::size_t>(((n * m + o) * h + oy) * w + ox)]));
          }
    return error / scale;
  }
};

// An FP16 engine whose 3x3 convolution (64 -> 32 maps on 3 x 7 pixels, bias and ReLU) runs a
// split-K tensor-core tactic, its mma emulated: one block, K = 576 in two slices on any device,
// so the slices' partial blocks go through the context's workspace.
TEST(EngineWorkspace, ASplitKConvolutionGetsItsWorkspaceFromTheContext) {
  const ScopedHook emulation(cl::setConvolutionMmaEmulation);
  const PaddedConv3x3 layer(64, 32, 3, 7, 31);
  const std::int64_t c = layer.c, m = layer.m, h = layer.h, w = layer.w;
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(layer.network(1), config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t convolution = onlyStepOf<network::ConvolutionLayer>(plan);
  ASSERT_LT(convolution, plan.steps.size());
  plan.steps[convolution].tactic = "mma_f16_32x32_splitk";
  auto engine = engineOf(plan);
  const std::size_t workspace = cl::convolutionWorkspaceBytes("mma_f16_32x32_splitk", *context(), Dims{}, Dims{}, Dims{},
                                                               DataType::kHALF);  // any shape: a bound for the device
  EXPECT_GT(workspace, 0u);
  EXPECT_EQ(engine->deviceMemoryBytes(), engine->workspaceOffset() + workspace);
  EXPECT_GE(engine->workspaceOffset(), static_cast<std::size_t>(plan.arena_bytes));

  runtime::ExecutionContext execution(engine);
  EXPECT_EQ(execution.deviceMemorySize(), engine->deviceMemoryBytes());
  auto stream = cl::Stream::create(context());
  const std::vector<float> input = randomFloats(static_cast<std::size_t>(c * h * w), 33);
  const BoundXY bound = bindXY(execution, *stream, input, static_cast<std::size_t>(m * h * w));
  for (int call = 0; call < 2; ++call) {  // the second call replays the captured launches
    execution.enqueue(*stream);
    const std::vector<float> result = download<float>(*stream, at(bound.y), static_cast<std::size_t>(m * h * w));
    EXPECT_LE(layer.relativeError(input, result, 1), 1e-2) << "call " << call;
  }
}

// A dynamic-batch FP32 engine whose 3x3 convolution (12 -> 10 maps on 5 x 7 pixels, bias and
// ReLU) runs Winograd: its transformed operands live in the context's workspace,
// sized by the engine at the profile's max batch, and the answers match the reference at batch 3
// and 1 (fewer tiles than the workspace holds).
TEST(EngineWorkspace, AWinogradConvolutionGetsItsWorkspaceAtTheProfilesMax) {
  const PaddedConv3x3 layer(12, 10, 5, 7, 34);
  const std::int64_t c = layer.c, m = layer.m, h = layer.h, w = layer.w;
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, c, h, w}, Dims{2, c, h, w}, Dims{3, c, h, w});
  config.addOptimizationProfile(profile);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(layer.network(-1), config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t convolution = onlyStepOf<network::ConvolutionLayer>(plan);
  ASSERT_LT(convolution, plan.steps.size());
  const std::string tactic = "winograd_2x2:large_m64n64_k16_t8x8";
  plan.steps[convolution].tactic = tactic;
  plan.steps[convolution].tactic_ranges.clear();
  auto engine = engineOf(plan);
  const std::size_t at_max = cl::winogradWorkspaceBytes(Dims{3, c, h, w}, Dims{m, c, 3, 3}, Dims{3, m, h, w}, DataType::kFLOAT);
  EXPECT_EQ(engine->deviceMemoryBytes(), engine->workspaceOffset() + at_max);
  runtime::ExecutionContext execution(engine);
  auto stream = cl::Stream::create(context());
  for (std::int64_t batch : {3, 1}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    ASSERT_TRUE(execution.setInputShape("x", Dims{batch, c, h, w}));
    const std::vector<float> input = randomFloats(static_cast<std::size_t>(batch * c * h * w), 36);
    const std::size_t outputs = static_cast<std::size_t>(batch * m * h * w);
    const BoundXY bound = bindXY(execution, *stream, input, outputs);
    execution.enqueue(*stream);
    const std::vector<float> result = download<float>(*stream, at(bound.y), outputs);
    EXPECT_LE(layer.relativeError(input, result, batch), 1e-5);
  }
}

// The largest |result - (input weights + bias)| relative to the largest |reference| (at least 1):
// input m x k, weights k x n (row-major), bias n, result m x n.
double affineRelativeError(const std::vector<float>& input, const std::vector<float>& weights,
                           const std::vector<float>& bias, const std::vector<float>& result, std::int64_t m,
                           std::int64_t k, std::int64_t n) {
  double scale = 1.0, error = 0.0;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = bias[static_cast<std::size_t>(j)];
      for (std::int64_t p = 0; p < k; ++p) {
        sum += double(input[static_cast<std::size_t>(i * k + p)]) * weights[static_cast<std::size_t>(p * n + j)];
      }
      scale = std::max(scale, std::abs(sum));
      error = std::max(error, std::abs(sum - result[static_cast<std::size_t>(i * n + j)]));
    }
  }
  return error / scale;
}

// y = x (1, rows, k) times the constant `weights` of shape `weights_shape` (K x N, or 1 x K x N)
// plus a (1, 1, n) bias: the network affineRelativeError checks (rank 3, so no fused MLP takes it).
Network affineNetwork(std::int64_t rows, std::int64_t k, std::int64_t n, const Dims& weights_shape,
                      const std::vector<float>& weights, const std::vector<float>& bias) {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{1, rows, k});
  TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, weights_shape, weights)});
  network::ElementWiseLayer add;
  add.op = ElementWiseOperation::kSUM;
  y = addLayer(net, add, {y, addConstant(net, Dims{1, 1, n}, bias)});
  net.setTensorName(y, "y");
  net.markOutput(y);
  return net;
}

// An FP16 engine whose product ((1, 40, 512) by 512 x 50, bias; rank 3, so no fused MLP takes it)
// runs a split-K tensor-core tactic, its mma emulated: one 64 x 64 block, so on any device K is
// split across work-groups and the slices' partial blocks go through the context's workspace, then
// added up with the bias.
TEST(EngineWorkspace, ASplitKProductGetsItsWorkspaceFromTheContext) {
  const std::int64_t m = 40, k = 512, n = 50;
  const std::vector<float> weights = randomFloats(static_cast<std::size_t>(k * n), 51);
  const std::vector<float> bias = randomFloats(static_cast<std::size_t>(n), 52);
  const Network net = affineNetwork(m, k, n, Dims{k, n}, weights, bias);
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(net, config);
  const ScopedHook emulation(cl::setGemmMmaEmulation);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t product_step = onlyStepOf<network::MatrixMultiplyLayer>(plan);
  ASSERT_LT(product_step, plan.steps.size());
  plan.steps[product_step].tactic = "mma_f16_64x64_splitk";
  auto engine = engineOf(plan);
  const std::size_t workspace = cl::gemmWorkspaceBytes(cl::GemmTactic{"mma_f16_64x64_splitk"}, *context());
  EXPECT_GT(workspace, 0u);
  EXPECT_EQ(engine->deviceMemoryBytes(), engine->workspaceOffset() + workspace);

  runtime::ExecutionContext execution(engine);
  auto stream = cl::Stream::create(context());
  const std::vector<float> input = randomFloats(static_cast<std::size_t>(m * k), 53);
  const BoundXY bound = bindXY(execution, *stream, input, static_cast<std::size_t>(m * n));
  for (int call = 0; call < 2; ++call) {  // the second call replays the captured launches
    execution.enqueue(*stream);
    const std::vector<float> result = download<float>(*stream, at(bound.y), static_cast<std::size_t>(m * n));
    EXPECT_LE(affineRelativeError(input, weights, bias, result, m, k, n), 1e-2) << "call " << call;
  }
}

// FP16 products of at least one wgmma block of rows (128) that read a K x N constant store it N x K
// where the wgmma tactics are offered (forced here, on any device): x (1, rows, 40) by 40 x 24 (rank
// 3, so no fused MLP takes it), with a bias. The weights are transposed, the product reads them
// as b^T, the original constant is gone, and the engine still computes x w + bias; below 128 rows
// (a row kernel's batch, which reads K x N faster) nothing changes.
TEST(EngineTactics, LargeFp16ProductsStoreTheirWeightsNByKForWgmma) {
  const std::int64_t k = 40, n = 24;
  const std::vector<float> weights = randomFloats(static_cast<std::size_t>(k * n), 71);
  const std::vector<float> bias = randomFloats(static_cast<std::size_t>(n), 72);
  const ScopedHook forced(builder::setWeightsNByKForced);
  // K x N as the network API takes it, and 1 x K x N as the ONNX parser gives a MatMul's 2-D
  // weights against 3-D activations (BERT's).
  for (const bool leading_one : {false, true}) {
    const Dims kxn = leading_one ? Dims{1, k, n} : Dims{k, n};
    const Dims nxk = leading_one ? Dims{1, n, k} : Dims{n, k};
    for (const std::int64_t rows : {std::int64_t{131}, std::int64_t{127}}) {
      const std::string where = std::to_string(rows) + " rows, weights " + kxn.toString();
      const Network net = affineNetwork(rows, k, n, kxn, weights, bias);
      builder::BuilderConfig config;
      config.setFlag(builder::BuilderFlag::kFP16);
      std::vector<std::string> stored;
      setLogSink(
          [&](Severity, const std::string& message) {
            if (message.find("stored N x K for the wgmma tactics") != std::string::npos) stored.push_back(message);
          },
          Severity::kVERBOSE);
      const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(net, config);
      resetLogSink();
      const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
      const std::size_t product = onlyStepOf<network::MatrixMultiplyLayer>(plan);
      ASSERT_LT(product, plan.steps.size()) << where;
      const bool transposed = rows >= 128;
      const auto& matmul = std::get<network::MatrixMultiplyLayer>(plan.steps[product].parameters);
      EXPECT_EQ(matmul.op1, transposed ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE) << where;
      EXPECT_EQ(plan.tensors[static_cast<std::size_t>(plan.steps[product].inputs[1])].shape, transposed ? nxk : kxn)
          << where;
      EXPECT_EQ(std::count_if(plan.tensors.begin(), plan.tensors.end(),
                              [&](const engine::PlanTensor& t) { return t.shape == kxn; }),
                transposed ? 0 : 1)
          << where;
      EXPECT_EQ(stored, transposed
                            ? std::vector<std::string>{"the weights of 1 product stored N x K for the wgmma tactics"}
                            : std::vector<std::string>{})
          << where;

      runtime::ExecutionContext execution(runtime::Engine::deserialize(context(), built.data(), built.size()));
      auto stream = cl::Stream::create(context());
      const std::vector<float> input = randomFloats(static_cast<std::size_t>(rows * k), 73);
      const BoundXY bound = bindXY(execution, *stream, input, static_cast<std::size_t>(rows * n));
      execution.enqueue(*stream);
      const std::vector<float> result = download<float>(*stream, at(bound.y), static_cast<std::size_t>(rows * n));
      EXPECT_LE(affineRelativeError(input, weights, bias, result, rows, k, n), 1e-2) << where;
    }
  }
}

// The tensor-core rule (tactic_choice.h): FP16 steps of kTensorCoreOnlyMultiplyAdds (2^27) or more
// time only tensor-core candidates where one can run them; below, and for FLOAT, nothing changes;
// without a tensor-core candidate, nothing is dropped.
TEST(TacticChoice, LargeFp16StepsKeepOnlyTheirTensorCoreCandidates) {
  const auto tensor_cores = [](const std::string& tactic) { return tactic.rfind("mma_", 0) == 0; };
  const std::vector<std::string> offered = {"small_m1", "mma_f16_64x64", "large_m64n64_k16_t8x8", "mma_f16_128x128"};
  const std::int64_t large = builder::kTensorCoreOnlyMultiplyAdds;
  const auto kept = [&](DataType type, std::int64_t multiply_adds, std::vector<std::string> tactics) {
    builder::keepTensorCoreTacticsOnLargeProducts(tactics, type, multiply_adds, tensor_cores);
    return tactics;
  };
  EXPECT_EQ(kept(DataType::kHALF, large, offered), (std::vector<std::string>{"mma_f16_64x64", "mma_f16_128x128"}));
  EXPECT_EQ(kept(DataType::kHALF, large - 1, offered), offered);
  EXPECT_EQ(kept(DataType::kFLOAT, 4 * large, offered), offered);
  const std::vector<std::string> portable = {"small_m1", "large_m64n64_k16_t8x8"};
  EXPECT_EQ(kept(DataType::kHALF, 4 * large, portable), portable);

  EXPECT_TRUE(cl::gemmTacticUsesTensorCores(cl::GemmTactic{"mma_f16_64x64"}));
  EXPECT_FALSE(cl::gemmTacticUsesTensorCores(cl::GemmTactic{"large_m64n64_k16_t8x8"}));
  EXPECT_TRUE(cl::convolutionTacticUsesTensorCores("winograd_2x2:mma_f16_64x64"));
  EXPECT_FALSE(cl::convolutionTacticUsesTensorCores("winograd_2x2:large_m64n64_k16_t8x8"));
  EXPECT_TRUE(cl::convolutionTacticUsesTensorCores("hwc_gemm:mma_f16_128x128"));
  EXPECT_FALSE(cl::convolutionTacticUsesTensorCores("hwc_gemm:large_m64n64_k16_t8x8"));
  EXPECT_TRUE(cl::convolutionTacticUsesTensorCores(cl::tensorCoreConvolutionTactics(DataType::kHALF).front()));
  EXPECT_FALSE(cl::convolutionTacticUsesTensorCores(cl::convolutionTactics(DataType::kHALF).front()));
}

// The rule where the builder lists a step's candidates: an FP16 product (1, rows, 512) by 512 x 512
// and an FP16 3x3 convolution, their shapes scaled past the threshold and just below it (nothing
// runs), with the mma products emulated so that tensor-core candidates are offered on any device.
TEST(TacticChoice, TheBuilderTimesOnlyTensorCoreCandidatesOnLargeFp16Steps) {
  const auto all_tensor_cores = [](const std::vector<std::string>& tactics, bool (*uses)(const std::string&)) {
    return !tactics.empty() && std::all_of(tactics.begin(), tactics.end(), uses);
  };
  const auto gemm_uses = [](const std::string& t) { return cl::gemmTacticUsesTensorCores(cl::GemmTactic{t}); };
  const auto conv_uses = [](const std::string& t) { return cl::convolutionTacticUsesTensorCores(t); };
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  const cl::GemmPolicy policy;
  {
    const std::int64_t k = 512, n = 512;
    const Network net = affineNetwork(16, k, n, Dims{k, n}, randomFloats(static_cast<std::size_t>(k * n), 81),
                                      randomFloats(static_cast<std::size_t>(n), 82));
    const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(net, config);
    const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
    const ScopedHook emulation(cl::setGemmMmaEmulation);  // after the build: only the listing offers them
    const std::size_t index = onlyStepOf<network::MatrixMultiplyLayer>(plan);
    ASSERT_LT(index, plan.steps.size());
    const engine::PlanStep& step = plan.steps[index];
    for (const std::int64_t rows : {std::int64_t{512}, std::int64_t{511}}) {  // 512 x 512 x 512 = 2^27
      std::vector<Dims> shapes;
      for (const engine::PlanTensor& tensor : plan.tensors) shapes.push_back(tensor.shape);
      shapes[static_cast<std::size_t>(step.inputs[0])] = Dims{1, rows, k};
      shapes[static_cast<std::size_t>(step.output)] = Dims{1, rows, n};
      const std::vector<std::string> tactics = builder::candidateTacticNames(plan, step, shapes, {shapes}, context(), policy);
      EXPECT_TRUE(std::any_of(tactics.begin(), tactics.end(), gemm_uses)) << rows << " rows";
      EXPECT_EQ(all_tensor_cores(tactics, gemm_uses), rows == 512) << rows << " rows";
    }
  }
  {
    const PaddedConv3x3 layer(64, 32, 3, 7, 83);
    const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(layer.network(1), config);
    const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
    const ScopedHook emulation(cl::setGemmMmaEmulation);
    const std::size_t index = onlyStepOf<network::ConvolutionLayer>(plan);
    ASSERT_LT(index, plan.steps.size());
    const engine::PlanStep& step = plan.steps[index];
    // 32 maps of 64 x 9 taps: 2^27 multiply-adds at 2^27 / 18432 = 7281.8 pixels; 128 x 57 is above.
    for (const std::int64_t w : {std::int64_t{57}, std::int64_t{56}}) {
      std::vector<Dims> shapes;
      for (const engine::PlanTensor& tensor : plan.tensors) shapes.push_back(tensor.shape);
      shapes[static_cast<std::size_t>(step.inputs[0])] = Dims{1, 64, 128, w};
      shapes[static_cast<std::size_t>(step.output)] = Dims{1, 32, 128, w};
      const std::vector<std::string> tactics = builder::candidateTacticNames(plan, step, shapes, {shapes}, context(), policy);
      EXPECT_TRUE(std::any_of(tactics.begin(), tactics.end(), conv_uses)) << w << " columns";
      EXPECT_EQ(all_tensor_cores(tactics, conv_uses), w == 57) << w << " columns";
    }
  }
}

// How many of `batches` give the product of dynamicProduct (x (batch, 3, 64) by 64 x 24) more than
// one candidate on this device, in a profile of batch `min` to `max`: only those are timed (a GPU
// with many compute units drops the fixed-block tiles that would leave it idle, so some batches
// have one candidate there, where PoCL has several).
std::size_t batchesWithAChoice(const engine::EnginePlan& plan, std::initializer_list<std::int64_t> batches,
                               std::int64_t min, std::int64_t max) {
  const std::size_t index = onlyStepOf<network::MatrixMultiplyLayer>(plan);
  EXPECT_LT(index, plan.steps.size());
  if (index >= plan.steps.size()) return 0;
  const engine::PlanStep& step = plan.steps[index];
  const auto shapes_at = [&](std::int64_t batch) {
    std::vector<Dims> shapes;
    for (const engine::PlanTensor& tensor : plan.tensors) shapes.push_back(tensor.shape);
    shapes[static_cast<std::size_t>(step.inputs[0])] = Dims{batch, 3, 64};
    shapes[static_cast<std::size_t>(step.output)] = Dims{batch, 3, 24};
    return shapes;
  };
  const std::vector<std::vector<Dims>> corners{shapes_at(min), shapes_at(max)};
  return static_cast<std::size_t>(std::count_if(batches.begin(), batches.end(), [&](std::int64_t batch) {
    return builder::candidateTacticNames(plan, step, shapes_at(batch), corners, context(), cl::GemmPolicy()).size() > 1;
  }));
}

// A product of a dynamic engine, x (-1, 3, 64) by 64 x 24 (rank 3, so no fused MLP takes it), built
// with profile 1 / 16 / 64: its tactics are timed at batch 1, 4, 16, 32 and 64 (not only at opt;
// each where the device offers more than one candidate, at least batch 1's small_m1 and small_m8),
// and any ranges the timing gives are ascending, end unbounded and name offered tactics. A static
// engine of the same product gets none.
TEST(EngineTactics, DynamicEnginesTimeTacticsAcrossTheirProfile) {
  const std::vector<float> weights = randomFloats(64 * 24, 61);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{16, 3, 64}, Dims{64, 3, 64});
  config.addOptimizationProfile(profile);
  std::vector<std::string> timed;
  setLogSink(
      [&](Severity, const std::string& message) {
        if (message.find("': chose ") != std::string::npos) timed.push_back(message);
      },
      Severity::kVERBOSE);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(dynamicProduct(-1, weights), config);
  resetLogSink();
  const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t points = batchesWithAChoice(plan, {1, 4, 16, 32, 64}, 1, 64);
  EXPECT_GE(points, 1u);
  EXPECT_EQ(timed.size(), points) << ::testing::PrintToString(timed);
  const std::vector<cl::GemmTactic> offered = cl::gemmTactics(*context(), DataType::kFLOAT);
  const auto is_offered = [&](const std::string& name) {
    return std::any_of(offered.begin(), offered.end(), [&](const cl::GemmTactic& t) { return t.name == name; });
  };
  for (const engine::PlanStep& step : plan.steps) {
    if (step.tactic_ranges.empty()) continue;
    EXPECT_EQ(step.tactic_ranges.back().up_to_elements, std::numeric_limits<std::int64_t>::max());
    for (std::size_t r = 0; r < step.tactic_ranges.size(); ++r) {
      EXPECT_TRUE(is_offered(step.tactic_ranges[r].tactic)) << step.tactic_ranges[r].tactic;
      if (r > 0) {
        EXPECT_GT(step.tactic_ranges[r].up_to_elements, step.tactic_ranges[r - 1].up_to_elements);
        EXPECT_NE(step.tactic_ranges[r].tactic, step.tactic_ranges[r - 1].tactic);
      }
    }
  }
  const std::vector<std::uint8_t> fixed = builder::buildSerializedNetwork(dynamicProduct(16, weights), builder::BuilderConfig());
  for (const engine::PlanStep& step : engine::deserializePlan(fixed.data(), fixed.size()).steps) {
    EXPECT_TRUE(step.tactic_ranges.empty()) << step.name;
  }
}

// TensorRT's builder optimization level: 3 by default; below 3 the same dynamic product is timed
// once, at the profile's opt shapes (batch 2 here, which has a choice on every device), and keeps
// one tactic for the whole profile (no ranges), with the right answer at every batch of it; 0 to 5
// and beyond are taken, a level below 0 is refused by name and changes nothing.
TEST(EngineTactics, BelowOptimizationLevelThreeTacticsAreTimedAtOptOnly) {
  builder::BuilderConfig config;
  EXPECT_EQ(config.builderOptimizationLevel(), 3);
  EXPECT_TRUE(config.timesAcrossProfiles());
  for (int level : {0, 5, 7, 2}) {
    config.setBuilderOptimizationLevel(level);
    EXPECT_EQ(config.builderOptimizationLevel(), level);
    EXPECT_EQ(config.timesAcrossProfiles(), level >= 3);
  }
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setBuilderOptimizationLevel(-1); },
                                          "builder_optimization_level is -1; it takes 0 to 5"));
  EXPECT_EQ(config.builderOptimizationLevel(), 2);
  const std::vector<float> weights = randomFloats(64 * 24, 66);
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{2, 3, 64}, Dims{64, 3, 64});
  config.addOptimizationProfile(profile);
  const LogCapture log;
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(dynamicProduct(-1, weights), config);
  const std::vector<std::string> timed = log.matching("': chose ");
  const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  ASSERT_EQ(batchesWithAChoice(plan, {2}, 1, 64), 1u);
  ASSERT_EQ(timed.size(), 1u) << ::testing::PrintToString(timed);  // one per batch with a choice at level 3
  EXPECT_NE(timed.front().find("(timed"), std::string::npos);
  for (const engine::PlanStep& step : plan.steps) EXPECT_TRUE(step.tactic_ranges.empty()) << step.name;
  runtime::ExecutionContext execution(engineOf(plan));
  auto stream = cl::Stream::create(context());
  for (std::int64_t batch : {1, 16, 64, 5}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    ASSERT_TRUE(execution.setInputShape("x", Dims{batch, 3, 64}));
    expectProductAnswer(execution, *stream, weights, batch, 67 + static_cast<std::uint32_t>(batch));
  }
}

// A context made without device memory (TensorRT's create_execution_context_without_device_memory)
// refuses to run until it is given some; it then runs on the memory given, at a 256-byte aligned
// offset of any allocation of device_memory_size bytes, and refuses misaligned or small memory by
// name, keeping what it had. x (2, 3, 64) times 64 x 64 then 64 x 24: one activation in the arena.
TEST(ExecutionContextMemory, RunsOnTheMemoryItIsGiven) {
  const std::vector<float> w1 = randomFloats(64 * 64, 71), w2 = randomFloats(64 * 24, 72);
  network::Network net;
  const network::TensorId x = net.addInput("x", DataType::kFLOAT, Dims{2, 3, 64});
  const network::TensorId h = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{64, 64}, w1)});
  const network::TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {h, addConstant(net, Dims{64, 24}, w2)});
  net.setTensorName(y, "y");
  net.markOutput(y);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(net, builder::BuilderConfig());
  const auto engine = runtime::Engine::deserialize(context(), built.data(), built.size());
  const std::size_t bytes = engine->deviceMemoryBytes();
  ASSERT_GT(bytes, 0u);
  runtime::ExecutionContext execution(engine, false);
  auto stream = cl::Stream::create(context());
  const std::vector<float> input = randomFloats(6 * 64, 73);
  const BoundXY bound = bindXY(execution, *stream, input, 6 * 24);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { execution.enqueue(*stream); }, "has no device memory"));
  const auto memory = allocate(bytes + 512);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { execution.setDeviceMemory(memory->address() + 4); }, "multiple of 256"));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { execution.setDeviceMemory(memory->address() + 256, bytes - 1); },
                                          std::to_string(bytes - 1) + " bytes given; the context needs " +
                                              std::to_string(bytes)));
  EXPECT_FALSE(execution.hasDeviceMemory());
  execution.setDeviceMemory(memory->address() + 256, bytes);
  ASSERT_TRUE(execution.hasDeviceMemory());
  execution.enqueue(*stream);
  const std::vector<float> result = download<float>(*stream, at(bound.y), 6 * 24);
  for (std::size_t i = 0; i < 6; ++i) {
    for (std::size_t j = 0; j < 24; ++j) {
      double sum = 0.0;
      for (std::size_t p = 0; p < 64; ++p) {
        double hidden = 0.0;
        for (std::size_t q = 0; q < 64; ++q) hidden += double(input[i * 64 + q]) * w1[q * 64 + p];
        sum += hidden * w2[p * 24 + j];
      }
      EXPECT_NEAR(result[i * 24 + j], sum, 1e-4 * (1.0 + std::abs(sum))) << i << ", " << j;
    }
  }
}

// A setting it does not know is refused by name, as MLPRT_CHANNELS_LAST's are, not taken as "on".
TEST(EngineTactics, AnUnknownParallelBuildSettingIsRefusedByName) {
  const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", std::string("yes"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [] { builder::buildSerializedNetwork(dynamicProduct(5, randomFloats(64 * 24, 64)), builder::BuilderConfig()); },
      "MLPRT_PARALLEL_BUILD is 'yes'; it takes 0, 1, steps, waiting, shared, contexts or processes"));
}

// Tactic ranges at run time: the execution context runs the range's tactic for the output size at
// the shapes set (small_m1 for batch 1's 72 elements, tiled_m2n2_k16 beyond), with the right answer.
TEST(EngineTactics, TheContextRunsTheTacticOfTheOutputSize) {
  const std::vector<float> weights = randomFloats(64 * 24, 62);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 3, 64}, Dims{4, 3, 64}, Dims{8, 3, 64});
  config.addOptimizationProfile(profile);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(dynamicProduct(-1, weights), config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t product = onlyStepOf<network::MatrixMultiplyLayer>(plan);
  ASSERT_LT(product, plan.steps.size());
  plan.steps[product].tactic_ranges = {{72, "small_m1"}, {std::numeric_limits<std::int64_t>::max(), "tiled_m2n2_k16"}};
  auto engine = engineOf(plan);
  runtime::ExecutionContext execution(engine);
  auto stream = cl::Stream::create(context());
  for (const auto& [batch, tactic] : {std::pair<std::int64_t, const char*>{1, "small_m1"}, {5, "tiled_m2n2_k16"},
                                      {1, "small_m1"}}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    ASSERT_TRUE(execution.setInputShape("x", Dims{batch, 3, 64}));
    EXPECT_EQ(execution.activeTactic(product), tactic);
    expectProductAnswer(execution, *stream, weights, batch, 63 + static_cast<std::uint32_t>(batch));
  }
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { execution.activeTactic(plan.steps.size()); }, "does not exist"));
}

// x (-1, 16) -> 16x24 + bias, ReLU -> 24x24 + bias, ReLU -> 24x8 + bias: a dense chain the builder
// can fuse, with its weights and the double-precision answer.
struct DenseChain {
  std::vector<std::vector<float>> weights, biases;
  static constexpr std::int64_t kWidths[4] = {16, 24, 24, 8};
  DenseChain() {
    for (std::size_t i = 0; i < 3; ++i) {
      weights.push_back(randomFloats(static_cast<std::size_t>(kWidths[i] * kWidths[i + 1]), 70 + 2 * i));
      biases.push_back(randomFloats(static_cast<std::size_t>(kWidths[i + 1]), 71 + 2 * i));
    }
  }
  Network network() const {
    Network net;
    TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, kWidths[0]});
    for (std::size_t i = 0; i < 3; ++i) {
      x = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{kWidths[i], kWidths[i + 1]}, weights[i])});
      x = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUM},
                   {x, addConstant(net, Dims{1, kWidths[i + 1]}, biases[i])});
      if (i < 2) x = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {x});
    }
    net.setTensorName(x, "y");
    net.markOutput(x);
    return net;
  }
  std::vector<double> expected(const std::vector<float>& x, std::size_t rows) const {
    std::vector<double> current(x.begin(), x.end());
    for (std::size_t i = 0; i < 3; ++i) {
      const auto k = static_cast<std::size_t>(kWidths[i]), n = static_cast<std::size_t>(kWidths[i + 1]);
      std::vector<double> next(rows * n);
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < n; ++j) {
          double sum = biases[i][j];
          for (std::size_t p = 0; p < k; ++p) sum += current[r * k + p] * weights[i][p * n + j];
          next[r * n + j] = i < 2 ? std::max(sum, 0.0) : sum;
        }
      current = std::move(next);
    }
    return current;
  }
};

// Runs `execution` at `batch` rows and compares with the chain's answer.
void expectDenseChainAnswer(runtime::ExecutionContext& execution, const DenseChain& chain, std::int64_t batch,
                            double tolerance = 1e-5) {
  SCOPED_TRACE("batch " + std::to_string(batch));
  auto stream = cl::Stream::create(context());
  ASSERT_TRUE(execution.setInputShape("x", Dims{batch, 16}));
  const auto rows = static_cast<std::size_t>(batch);
  const std::vector<float> input = randomFloats(rows * 16, 90 + static_cast<std::uint32_t>(batch));
  const BoundXY bound = bindXY(execution, *stream, input, rows * 8);
  execution.enqueue(*stream);
  const std::vector<float> result = download<float>(*stream, at(bound.y), rows * 8);
  const std::vector<double> expected = chain.expected(input, rows);
  double scale = 0.0, error = 0.0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    scale = std::max(scale, std::abs(expected[i]));
    error = std::max(error, std::abs(result[i] - expected[i]));
  }
  EXPECT_LE(error, tolerance * scale);
}

// A dynamic profile's dense chain fused at small batches and run as its products at large ones: the
// builder's choice at each timing point is forced through the timing cache (fused_mlp_r1 at 8 rows
// or fewer, the products elsewhere, "unfused" at opt), so the fused step keeps both kinds of tactic
// by range; the context runs each, the products with their activations in the step's workspace.
TEST(EngineTactics, FusedMlpStepsRunTheirProductsWhereTheFusedKernelLoses) {
  const DenseChain chain;
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 16}, Dims{64, 16}, Dims{512, 16});
  config.addOptimizationProfile(profile);
  auto cache = std::make_shared<builder::TimingCache>();
  ASSERT_TRUE(config.setTimingCache(cache, false));
  builder::buildSerializedNetwork(chain.network(), config);
  int forced = 0;
  for (const std::string& key : cache->keys()) {
    if (key.find("|mlp [") == std::string::npos) continue;
    const std::size_t of = key.find(" of layers_kxn:");
    if (of == std::string::npos) {  // the choice at opt
      cache->store(key, {"unfused", 1.0});
      continue;
    }
    const std::string layers = key.substr(of + 4, key.find(' ', of + 4) - (of + 4));
    const std::size_t shape = key.find("[MatrixMultiply (") + 17;  // the chain's input rows
    const std::int64_t rows = std::stoll(key.substr(shape, key.find(',', shape) - shape));
    cache->store(key, {rows <= 8 ? std::string("fused_mlp_r1") : layers, 1.0});
    ++forced;
  }
  ASSERT_GE(forced, 2);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
  const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t fused = onlyStepOf<network::FusedMlpLayer>(plan);
  ASSERT_LT(fused, plan.steps.size());
  const engine::PlanStep& step = plan.steps[fused];
  EXPECT_EQ(step.tactic.rfind("layers_kxn:", 0), 0u) << step.tactic;  // opt's choice: the products
  // Ranges: fused_mlp_r1 up to a bound between the points of 8 and 64 rows, then the products (their GEMM tactics
  // may change between ranges too).
  ASSERT_GE(step.tactic_ranges.size(), 2u) << engine::tacticRangesText(step);
  EXPECT_EQ(step.tactic_ranges[0].tactic, "fused_mlp_r1");
  EXPECT_GE(step.tactic_ranges[0].up_to_elements, 8 * 8);
  EXPECT_LT(step.tactic_ranges[0].up_to_elements, 64 * 8);
  for (std::size_t r = 1; r < step.tactic_ranges.size(); ++r) {
    EXPECT_EQ(step.tactic_ranges[r].tactic.rfind("layers_kxn:", 0), 0u) << step.tactic_ranges[r].tactic;
  }
  // The engine's workspace holds the products' activations at the profile's max (512 rows).
  EXPECT_GE(engineOf(plan)->deviceMemoryBytes(), engineOf(plan)->workspaceOffset() + 2 * 512 * 24 * sizeof(float));
  // The products read device memory only; the fused kernel reads pinned memory directly.
  EXPECT_FALSE(runtime::stepTakesPinnedHostOperand(step, 0));
  engine::PlanStep at_batch_1 = step;
  at_batch_1.tactic = engine::tacticAt(step, 8);
  EXPECT_TRUE(runtime::stepTakesPinnedHostOperand(at_batch_1, 0));
  runtime::ExecutionContext execution(engineOf(plan));
  for (std::int64_t batch : {1, 7, 64, 512, 3}) {
    expectDenseChainAnswer(execution, chain, batch);
    EXPECT_EQ(execution.activeTactic(fused), engine::tacticAt(step, batch * 8));
    EXPECT_EQ(execution.activeTactic(fused) == "fused_mlp_r1", batch <= 8);
  }
}

// At static shapes a chain whose fused kernel beats the least its own steps could take (a launch
// floor per product and cast) is fused before tactic choice: its products' candidates are neither
// compiled nor timed, and the choice is cached. Forced through the floor, as the devices measure
// theirs (PoCL's launches are cheap: about 2 us, against the fused kernel's 300 us at batch 64).
TEST(EngineTactics, MlpChainsFuseBeforeTacticChoiceWhereTheirStepsCannotWin) {
  const DenseChain chain;
  struct FloorReset {
    ~FloorReset() { builder::setLaunchFloorForTesting(-1.0); }
  } reset;
  const auto build = [&](double floor_ms, const std::shared_ptr<builder::TimingCache>& cache) {
    builder::setLaunchFloorForTesting(floor_ms);
    builder::BuilderConfig config;
    builder::OptimizationProfile profile;
    profile.setShape("x", Dims{5, 16}, Dims{5, 16}, Dims{5, 16});
    config.addOptimizationProfile(profile);
    EXPECT_TRUE(config.setTimingCache(cache, false));
    const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
    return engine::deserializePlan(built.data(), built.size());
  };
  const auto cache = std::make_shared<builder::TimingCache>();
  {
    const LogCapture log;
    const engine::EnginePlan plan = build(1000.0, cache);  // no kernel is that fast
    EXPECT_TRUE(log.saw("before tactic choice, faster than its steps' 3 launches can be (3000.0"));
    EXPECT_TRUE(log.matching("timing tactics: step").empty()) << log.matching("timing tactics: step").front();
    EXPECT_TRUE(log.matching("compiled ahead").empty());
    const std::size_t fused = onlyStepOf<network::FusedMlpLayer>(plan);
    ASSERT_LT(fused, plan.steps.size());
    EXPECT_EQ(plan.steps.size(), 1u);
    runtime::ExecutionContext execution(engineOf(plan));
    expectDenseChainAnswer(execution, chain, 5);
  }
  {
    const LogCapture log;  // the same cache: the choice is not timed again
    const engine::EnginePlan plan = build(1000.0, cache);
    EXPECT_TRUE(log.matching("before tactic choice").empty());
    EXPECT_TRUE(log.matching("timing tactics: step").empty());
    EXPECT_LT(onlyStepOf<network::FusedMlpLayer>(plan), plan.steps.size());
  }
  {
    const LogCapture log;  // a floor of 0 proves nothing: the steps are timed, the fused variants once
    const engine::EnginePlan plan = build(0.0, std::make_shared<builder::TimingCache>());
    EXPECT_TRUE(log.saw("its steps' 3 launches (at least 0.0"));
    EXPECT_TRUE(log.saw("may win: timed after tactic choice"));
    EXPECT_TRUE(log.saw("timing tactics: step 1 of 3"));
    const std::vector<std::string> unfused = log.matching("(timed unfused=");
    ASSERT_EQ(unfused.size(), 1u);
    runtime::ExecutionContext execution(engineOf(plan));
    expectDenseChainAnswer(execution, chain, 5);
    // What the bound rests on: the steps' run took at least their launches' floor, as measured.
    cl::KernelCache kernels(context());
    auto stream = cl::Stream::create(context(), /*timed=*/true);
    const double floor_ms = cl::launchFloorMilliseconds(kernels, *stream);
    const std::size_t at = unfused.front().find("(timed unfused=") + 15;
    EXPECT_GT(floor_ms, 0.0);
    EXPECT_LE(3 * floor_ms, std::stod(unfused.front().substr(at))) << unfused.front();
  }
  {
    // One product launches one kernel either way: however large the floor, its step is timed.
    Network net;
    const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{5, 16});
    const TensorId y = addLayer(net, network::MatrixMultiplyLayer{}, {x, addConstant(net, Dims{16, 24}, chain.weights[0])});
    net.setTensorName(y, "y");
    net.markOutput(y);
    builder::setLaunchFloorForTesting(1000.0);
    const LogCapture log;
    builder::buildSerializedNetwork(net, builder::BuilderConfig());
    EXPECT_TRUE(log.matching("before tactic choice").empty());
    EXPECT_TRUE(log.saw("timing tactics: step 1 of 1"));
  }
}

// Below optimization level 3 a dynamic engine is timed at opt only, so its chain is decided before
// tactic choice too (at 3 and up it waits for ranges): fused there, with the right answer across
// the profile (forced through the floor, as above).
TEST(EngineTactics, BelowLevelThreeADynamicChainIsFusedBeforeTacticChoice) {
  const DenseChain chain;
  struct FloorReset {
    ~FloorReset() { builder::setLaunchFloorForTesting(-1.0); }
  } reset;
  builder::setLaunchFloorForTesting(1000.0);
  for (int level : {1, 3}) {
    SCOPED_TRACE("level " + std::to_string(level));
    builder::BuilderConfig config;
    config.setBuilderOptimizationLevel(level);
    builder::OptimizationProfile profile;
    profile.setShape("x", Dims{1, 16}, Dims{5, 16}, Dims{64, 16});
    config.addOptimizationProfile(profile);
    const LogCapture log;
    const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
    EXPECT_EQ(!log.matching("before tactic choice, faster than its steps' 3 launches can be").empty(), level < 3);
    const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
    if (level < 3) {
      EXPECT_EQ(plan.steps.size(), 1u);
      EXPECT_TRUE(plan.steps.front().tactic_ranges.empty());
    }
    runtime::ExecutionContext execution(engineOf(plan));
    for (std::int64_t batch : {1, 5, 64, 3}) expectDenseChainAnswer(execution, chain, batch);
  }
}

// Where the compile pool runs (GPUs by default; MLPRT_PARALLEL_BUILD=1 here), a chain's fused
// variants compile side by side before they are timed one at a time: with binaries kept and a
// cache directory, the first thread on the build's context and the others on contexts of their own
// (NVIDIA's driver compiles one context's programs nearly one at a time: the tutorial MLP's FP32
// build, issue 16 run 37). The products' candidates after them too (a pool too small for a context
// per thread; a launch floor of 0, so that the chain is not fused before their timing, as a GPU's
// floor could have it). =0: nothing ahead; the engine is right either way.
TEST(EngineTactics, MlpChainsFusedVariantsCompileSideBySide) {
  const DenseChain chain;
  struct FloorReset {
    ~FloorReset() { builder::setLaunchFloorForTesting(-1.0); }
  } reset;
  builder::setLaunchFloorForTesting(0.0);
  const ScopedEnv binaries("MLPRT_PROGRAM_BINARIES", std::string("1"));
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  for (const std::string setting : {"1", "0"}) {
    SCOPED_TRACE("MLPRT_PARALLEL_BUILD=" + setting);
    const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", setting);
    const TemporaryDirectory directory;
    const ScopedEnv cache("MLPRT_CACHE_DIR", directory.path().string());
    builder::BuilderConfig config;
    builder::OptimizationProfile profile;
    profile.setShape("x", Dims{64, 16}, Dims{64, 16}, Dims{64, 16});
    config.addOptimizationProfile(profile);
    const LogCapture log;
    const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
    const std::vector<std::string> variants = log.matching(" variants run ahead in ");
    const std::vector<std::string> candidates = log.matching("compiled ahead: ");
    if (setting == "0") {
      EXPECT_TRUE(variants.empty()) << variants.front();
      EXPECT_TRUE(candidates.empty()) << candidates.front();
    } else {
      ASSERT_EQ(variants.size(), 1u) << ::testing::PrintToString(log.matching(""));
      const std::size_t runs = std::stoul(variants.front().substr(variants.front().find("': ") + 3));
      EXPECT_GE(runs, 2u) << variants.front();  // fused_mlp_r1, _r2, ... at 64 rows
      const std::size_t threads = std::min(runs, cores);
      const std::string side_by_side = " " + std::to_string(threads) + " threads" +
                                       (threads > 1 ? ", " + std::to_string(threads - 1) + " with a context of its own (" : " (");
      EXPECT_NE(variants.front().find(side_by_side), std::string::npos) << variants.front();
      ASSERT_EQ(candidates.size(), 1u);
      if (cores > 1) {
        EXPECT_NE(candidates.front().find(" with a context of its own ("), std::string::npos) << candidates.front();
      }
    }
    const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
    runtime::ExecutionContext execution(engineOf(plan));
    expectDenseChainAnswer(execution, chain, 64);
  }
}

// A fused step's "layers_*" tactic names one GEMM tactic per stage and needs its workspace.
TEST(EngineTactics, FusedMlpLayersTacticsAreChecked) {
  const DenseChain chain;
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 16}, Dims{4, 16}, Dims{8, 16});
  config.addOptimizationProfile(profile);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t fused = onlyStepOf<network::FusedMlpLayer>(plan);
  if (fused == plan.steps.size()) GTEST_SKIP() << "the builder kept the chain unfused on this device";
  engine::PlanStep& step = plan.steps[fused];
  step.tactic_ranges.clear();
  step.tactic = "layers_kxn:tiled_m2n2_k16|small_m1|tiled_m4n4_k16";
  {
    runtime::ExecutionContext execution(engineOf(plan));
    for (std::int64_t batch : {8, 1, 5}) expectDenseChainAnswer(execution, chain, batch);
  }
  // Malformed names are refused when the engine loads (its workspace is sized from them).
  const auto refusal = [&](const std::string& tactic) {
    step.tactic = tactic;
    try {
      runtime::ExecutionContext execution(engineOf(plan));
      auto stream = cl::Stream::create(context());
      EXPECT_TRUE(execution.setInputShape("x", Dims{8, 16}));
      const BoundXY bound = bindXY(execution, *stream, randomFloats(8 * 16, 5), 8 * 8);
      execution.enqueue(*stream);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(refusal("layers_kxn:small_m1|small_m1").find("names 2 GEMM tactics for 3 stages"), std::string::npos);
  EXPECT_NE(refusal("layers_kxn:small_m1||small_m1").find("': fused MLP tactic 'layers_kxn:small_m1||small_m1' names "
                                                          "an empty GEMM tactic"),
            std::string::npos);
  EXPECT_NE(refusal("layers_kxn:small_m1|no_such_tactic|small_m1").find("no_such_tactic"), std::string::npos);
  EXPECT_EQ(refusal("layers_kxn:small_m1|small_m1|small_m1"), "no error");
}

// An FP16 engine's fused step run as its products: the FLOAT input is cast to half into the
// workspace before the first product, and the last product's half result cast to the FLOAT output.
TEST(EngineTactics, FusedMlpLayersCastAtAnFp16EnginesBoundary) {
  const DenseChain chain;
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 16}, Dims{4, 16}, Dims{8, 16});
  config.addOptimizationProfile(profile);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(chain.network(), config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t fused = onlyStepOf<network::FusedMlpLayer>(plan);
  if (fused == plan.steps.size()) GTEST_SKIP() << "the builder kept the chain unfused on this device";
  engine::PlanStep& step = plan.steps[fused];
  ASSERT_EQ(plan.tensors[static_cast<std::size_t>(step.inputs[0])].type, DataType::kFLOAT);
  ASSERT_EQ(plan.tensors[static_cast<std::size_t>(step.inputs[1])].type, DataType::kHALF);
  step.tactic_ranges.clear();
  const bool n_by_k = builder::mlpWeightLayout(step.tactic) == builder::MlpWeightLayout::kNxK;
  step.tactic = runtime::fusedMlpLayersTactic({"small_m1", "tiled_m2n2_k16", "small_m8"}, n_by_k);
  runtime::ExecutionContext execution(engineOf(plan));
  for (std::int64_t batch : {8, 1, 5}) expectDenseChainAnswer(execution, chain, batch, 1e-2);
}

// An FP16 engine's attention step (heads packed, a padding mask) is timed like a product: with the
// tensor-core tactics offered (emulated on devices without them), the builder keeps one of the
// offered tactics, and the engine gives the reference's answer with each of them.
TEST(EngineTactics, AttentionStepsAreTimedAndRunEveryOfferedTactic) {
  const ScopedHook emulation(cl::setAttentionMmaEmulation, !cl::tensorCoreHalfAvailable(*context()));
  const std::int64_t b = 2, s = 37, h = 4, d = 16;
  Network net;
  const TensorId q = net.addInput("q", DataType::kFLOAT, Dims{b, s, h * d});
  const TensorId k = net.addInput("k", DataType::kFLOAT, Dims{b, s, h * d});
  const TensorId v = net.addInput("v", DataType::kFLOAT, Dims{b, s, h * d});
  const TensorId mask = net.addInput("mask", DataType::kFLOAT, Dims{b, 1, 1, s});
  network::AttentionLayer attention;
  attention.scale = 0.25f;
  attention.has_mask = true;
  attention.packed = 15U;
  attention.heads = static_cast<std::int32_t>(h);
  attention.kv_heads = static_cast<std::int32_t>(h);
  const TensorId y = addLayer(net, attention, {q, k, v, mask});
  net.setTensorName(y, "y");
  net.markOutput(y);
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(net, config);
  engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::vector<std::string> offered = cl::attentionTactics(context(), true, d, d);
  ASSERT_EQ(offered.size(), 5u);  // the kernel on CUDA cores, with its keys in slices, three tensor-core tiles
  const std::size_t attention_step = onlyStepOf<network::AttentionLayer>(plan);
  ASSERT_LT(attention_step, plan.steps.size());
  engine::PlanStep& step = plan.steps[attention_step];
  EXPECT_NE(std::find(offered.begin(), offered.end(), step.tactic), offered.end()) << step.tactic;

  const auto values = [](std::size_t count, std::uint32_t seed) { return randomFloats(count, seed); };
  const std::size_t operand = static_cast<std::size_t>(b * s * h * d);
  const std::vector<float> qv = values(operand, 41), kv = values(operand, 42), vv = values(operand, 43);
  std::vector<float> maskv(static_cast<std::size_t>(b * s), 0.0f);
  for (std::size_t j = 0; j < maskv.size(); j += 5) maskv[j + 1 < maskv.size() ? j + 1 : j] = -1e4f;
  // The reference in double, heads packed along the last axis.
  std::vector<double> expected(operand);
  double scale = 0.0;
  for (std::int64_t n = 0; n < b; ++n)
    for (std::int64_t head = 0; head < h; ++head)
      for (std::int64_t i = 0; i < s; ++i) {
        std::vector<double> p(static_cast<std::size_t>(s));
        double maximum = -1e300, sum = 0.0;
        for (std::int64_t j = 0; j < s; ++j) {
          double dot = 0.0;
          for (std::int64_t c = 0; c < d; ++c) {
            dot += double(qv[static_cast<std::size_t>((n * s + i) * h * d + head * d + c)]) *
                   kv[static_cast<std::size_t>((n * s + j) * h * d + head * d + c)];
          }
          p[static_cast<std::size_t>(j)] = 0.25 * dot + maskv[static_cast<std::size_t>(n * s + j)];
          maximum = std::max(maximum, p[static_cast<std::size_t>(j)]);
        }
        for (double& x : p) sum += (x = std::exp(x - maximum));
        for (std::int64_t c = 0; c < d; ++c) {
          double out = 0.0;
          for (std::int64_t j = 0; j < s; ++j) {
            out += p[static_cast<std::size_t>(j)] * vv[static_cast<std::size_t>((n * s + j) * h * d + head * d + c)];
          }
          expected[static_cast<std::size_t>((n * s + i) * h * d + head * d + c)] = out / sum;
          scale = std::max(scale, std::abs(out / sum));
        }
      }

  for (const std::string& tactic : offered) {
    step.tactic = tactic;
    // The split-keys tactic in 3 slices of its 37 keys, through the context's workspace, on any device.
    cl::setAttentionKeySlices(tactic == cl::kSplitKeysAttentionTactic ? 3 : 0);
    runtime::ExecutionContext execution(engineOf(plan));
    auto stream = cl::Stream::create(context());
    std::vector<std::shared_ptr<cl::DeviceBuffer>> buffers;
    for (const auto& [name, data] : {std::pair<const char*, const std::vector<float>*>{"q", &qv}, {"k", &kv}, {"v", &vv},
                                     {"mask", &maskv}}) {
      buffers.push_back(allocate(data->size() * sizeof(float)));
      upload(*stream, at(buffers.back()), *data);
      execution.setTensorAddress(name, buffers.back()->address());
    }
    auto out = allocate(operand * sizeof(float));
    execution.setTensorAddress("y", out->address());
    execution.enqueue(*stream);
    const std::vector<float> result = download<float>(*stream, at(out), operand);
    double error = 0.0;
    for (std::size_t i = 0; i < operand; ++i) error = std::max(error, std::abs(result[i] - expected[i]));
    EXPECT_LE(error / scale, 1e-2) << tactic;
    if (tactic == cl::kSplitKeysAttentionTactic) {  // it did split: its slices needed a workspace
      cl::AttentionParameters parameters;
      parameters.packed = 15U;
      parameters.heads = static_cast<std::int32_t>(h);
      EXPECT_EQ(cl::attentionWorkspaceBytes(tactic, *context(), parameters, Dims{b, s, h * d}, s),
                static_cast<std::size_t>(3 * b * h * 3 * 16 * (d + 2)) * sizeof(float));
    }
  }
  cl::setAttentionKeySlices(0);
}

TEST(TacticTiming, AWarmUpDecidesWhenItCannotWinOrSpentTheBudget) {
  using builder::judgeWarmUp;
  using builder::WarmUpVerdict;
  // The first tactic has nothing to lose to: short ones are measured, long ones taken as they ran.
  EXPECT_EQ(judgeWarmUp(0.05, -1.0), WarmUpVerdict::kMeasure);
  EXPECT_EQ(judgeWarmUp(builder::kTimingBudgetMilliseconds, -1.0), WarmUpVerdict::kLongEnough);
  // Over twice the best cannot win, however short; just under it is still timed.
  EXPECT_EQ(judgeWarmUp(0.21, 0.1), WarmUpVerdict::kCannotWin);
  EXPECT_EQ(judgeWarmUp(0.19, 0.1), WarmUpVerdict::kMeasure);
  EXPECT_EQ(judgeWarmUp(900.0, 400.0), WarmUpVerdict::kCannotWin);
  EXPECT_EQ(judgeWarmUp(700.0, 400.0), WarmUpVerdict::kLongEnough);
  // A warm-up whose kernels could not be timed (a library call) is never judged.
  EXPECT_EQ(judgeWarmUp(-1.0, 0.1), WarmUpVerdict::kMeasure);
  EXPECT_EQ(judgeWarmUp(-1.0, -1.0), WarmUpVerdict::kMeasure);
}

TEST(TacticTiming, FurtherRunsFillTheBudgetUpToTheirLimit) {
  EXPECT_EQ(builder::furtherRuns(0.0), builder::kMaxTimedRuns);
  EXPECT_EQ(builder::furtherRuns(0.001), builder::kMaxTimedRuns);
  EXPECT_EQ(builder::furtherRuns(4.0), 5);
  EXPECT_EQ(builder::furtherRuns(15.0), 1);
  EXPECT_EQ(builder::furtherRuns(25.0), 0);
}

TEST(TacticTiming, SetIterationsOverrideTheBudget) {
  EXPECT_EQ(builder::furtherRuns(0.001, 1), 0);
  EXPECT_EQ(builder::furtherRuns(0.001, 4), 3);
  EXPECT_EQ(builder::furtherRuns(25.0, 4), 3);  // asked for, though past the budget
  EXPECT_EQ(builder::furtherRuns(4.0, 0), 5);   // 0: the budget decides
}

// avg_timing_iterations: the config's value, else MLPRT_TIMING_ITERATIONS, else 0; bad values are
// refused naming the setting.
TEST(TacticTiming, TimingIterationsComeFromTheConfigOrTheEnvironment) {
  const ScopedEnv unset("MLPRT_TIMING_ITERATIONS", std::nullopt);
  builder::BuilderConfig config;
  EXPECT_EQ(config.avgTimingIterations(), 0);
  EXPECT_EQ(config.timingIterations(), 0);
  {
    const ScopedEnv set("MLPRT_TIMING_ITERATIONS", std::string("3"));
    EXPECT_EQ(config.timingIterations(), 3);
    config.setAvgTimingIterations(2);
    EXPECT_EQ(config.timingIterations(), 2);
  }
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setAvgTimingIterations(-1); }, "avg_timing_iterations is -1"));
  EXPECT_EQ(config.avgTimingIterations(), 2);
  builder::BuilderConfig fresh;
  for (const char* bad : {"x", "-2", "3 runs", "1.5"}) {
    const ScopedEnv set("MLPRT_TIMING_ITERATIONS", std::string(bad));
    EXPECT_TRUE(throwsWith<InvalidArgument>([&] { (void)fresh.timingIterations(); },
                                            "MLPRT_TIMING_ITERATIONS is '" + std::string(bad) + "'"));
  }
}

// TensorRT's builder flags: the mask round-trips; a flag mlprt cannot honour and a bit that names no
// flag are refused by name with the config unchanged; every flag has a name.
TEST(BuilderFlags, MaskRoundTripsAndRefusalsChangeNothing) {
  using builder::BuilderFlag;
  builder::BuilderConfig config;
  EXPECT_EQ(config.flags(), 0u);
  const std::uint32_t fp16_obey = 1u << static_cast<unsigned>(BuilderFlag::kFP16) |
                                  1u << static_cast<unsigned>(BuilderFlag::kOBEY_PRECISION_CONSTRAINTS);
  config.setFlags(fp16_obey);
  EXPECT_TRUE(config.flag(BuilderFlag::kFP16));
  EXPECT_TRUE(config.flag(BuilderFlag::kOBEY_PRECISION_CONSTRAINTS));
  EXPECT_FALSE(config.flag(BuilderFlag::kTF32));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setFlag(BuilderFlag::kREFIT); }, "BuilderFlag.REFIT: "));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setFlags(1u << 6 | 1u << 11); }, "BuilderFlag.DIRECT_IO: "));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setFlags(1u << 29); }, "bit 29 (1 << 29) names no BuilderFlag"));
  EXPECT_EQ(config.flags(), fp16_obey);
  config.setFlag(BuilderFlag::kDISABLE_TIMING_CACHE);
  config.clearFlag(BuilderFlag::kFP16);
  EXPECT_EQ(config.flags(), 1u << 5 | 1u << 9);
  EXPECT_EQ(std::string(builder::builderFlagName(BuilderFlag::kSTRICT_TYPES)), "STRICT_TYPES");
  EXPECT_EQ(std::string(builder::builderFlagName(static_cast<BuilderFlag>(29))), "");
  EXPECT_EQ(builder::builderFlagRefusal(BuilderFlag::kTF32), "");
  // Values that name no flag, inside the mask and past it: refused by number, never set.
  for (const int value : {29, 40}) {
    const auto unknown = static_cast<BuilderFlag>(value);
    EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setFlag(unknown); },
                                            "BuilderFlag " + std::to_string(value) + ": it names no flag"));
    EXPECT_FALSE(config.flag(unknown));
    config.clearFlag(unknown);
  }
  EXPECT_EQ(config.flags(), 1u << 5 | 1u << 9);
}

// TensorRT's config settings that mlprt takes at the values its engines meet: those kept, the others
// refused by name with the setting unchanged.
TEST(BuilderFlags, SettingsTakeOnlyWhatEnginesMeet) {
  builder::BuilderConfig config;
  EXPECT_EQ(config.profilingVerbosity(), builder::ProfilingVerbosity::kDETAILED);
  config.setProfilingVerbosity(builder::ProfilingVerbosity::kLAYER_NAMES_ONLY);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setProfilingVerbosity(builder::ProfilingVerbosity::kNONE); },
                                          "profiling_verbosity NONE: "));
  EXPECT_EQ(config.profilingVerbosity(), builder::ProfilingVerbosity::kLAYER_NAMES_ONLY);
  config.setMaxAuxStreams(0);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setMaxAuxStreams(-2); }, "max_aux_streams is -2"));
  EXPECT_EQ(config.maxAuxStreams(), 0);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setEngineCapability(builder::EngineCapability::kSAFETY); },
                                          "engine_capability SAFETY: "));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { config.setHardwareCompatibilityLevel(builder::HardwareCompatibilityLevel::kAMPERE_PLUS); },
      "hardware_compatibility_level AMPERE_PLUS: "));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setDefaultDeviceType(builder::DeviceType::kDLA); },
                                          "default_device_type DLA: "));
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { config.setDlaCore(0); }, "DLA_core 0: "));
  config.setEngineCapability(builder::EngineCapability::kSTANDARD);
  config.setHardwareCompatibilityLevel(builder::HardwareCompatibilityLevel::kNONE);
  config.setDefaultDeviceType(builder::DeviceType::kGPU);
  config.setDlaCore(-1);
  EXPECT_EQ(config.dlaCore(), -1);
}

// A candidate that passes its warm-up is timed over exactly the runs asked for (its kernels counted
// by a timing log around the timing, which the warm-up's own log hides its runs from); 0 lets the
// budget decide (at most 1 + kMaxTimedRuns runs).
TEST(TacticTiming, ACandidateRunsAsManyTimesAsAsked) {
  const std::vector<float> weights = randomFloats(64 * 24, 66);
  const std::vector<std::uint8_t> built = builder::buildSerializedNetwork(dynamicProduct(5, weights), builder::BuilderConfig());
  const engine::EnginePlan plan = engine::deserializePlan(built.data(), built.size());
  const std::size_t product = onlyStepOf<network::MatrixMultiplyLayer>(plan);
  ASSERT_LT(product, plan.steps.size());
  const std::vector<Dims> shapes = runtime::inferPlanShapes(plan, plan.profiles.front().opt);
  builder::BuildDevice device(context());
  builder::ScratchRun run(plan, {&plan.steps[product]}, shapes, device);
  cl::KernelTimingLog once;
  {
    cl::KernelTimingScope scope(once);
    run.runOnce();
  }
  const std::size_t per_run = once.kernelCount();
  ASSERT_GE(per_run, 1u);
  for (int iterations : {1, 3, 0}) {
    SCOPED_TRACE("iterations " + std::to_string(iterations));
    device.timing_iterations = iterations;
    cl::KernelTimingLog timed;
    {
      cl::KernelTimingScope scope(timed);
      EXPECT_GT(run.time(), 0.0);
    }
    if (iterations > 0) {
      EXPECT_EQ(timed.kernelCount(), per_run * static_cast<std::size_t>(iterations));
    } else {
      EXPECT_GE(timed.kernelCount(), per_run);
      EXPECT_LE(timed.kernelCount(), per_run * (1 + builder::kMaxTimedRuns));
    }
  }
}

}  // namespace
}  // namespace mlprt::test
