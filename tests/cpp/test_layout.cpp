// The builder's layout choice (builder/layout.h): channels-last (HWC) convolution groups with
// reformat steps where layouts meet, the formats the runtime derives and checks
// (runtime/plan_formats.h), and the reformat steps' transposes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/opencl/ops/convolution/convolution.h"
#include "builder/builder.h"
#include "builder/layout.h"
#include "builder/tactic_choice.h"
#include "core/error.h"
#include "engine/format.h"
#include "pointwise_tactics.h"
#include "runtime/engine.h"
#include "runtime/execution_context.h"
#include "runtime/plan_formats.h"
#include "runtime/plan_shapes.h"
#include "runtime/step_runner.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using network::Network;
using network::TensorId;

// MLPRT_CHANNELS_LAST set for one scope.
class ScopedChannelsLast {
 public:
  explicit ScopedChannelsLast(const char* value) { setenv("MLPRT_CHANNELS_LAST", value, 1); }
  ~ScopedChannelsLast() { unsetenv("MLPRT_CHANNELS_LAST"); }
};

// x (N, 5, 7, 9) -> conv1 3x3 + ReLU = a -> conv2 3x3 + a (residual) + ReLU = y (an output);
// a -> MaxPool 2x2 = p (an output): the group {conv1, conv2} reads x from outside, and a (read by
// the pooling) and y (an engine output) leave it.
constexpr std::int64_t kC = 5, kM = 6, kH = 7, kW = 9;

network::ConvolutionLayer padded3x3(std::int64_t maps) {
  network::ConvolutionLayer conv;
  conv.num_output_maps = maps;
  conv.kernel_size = {3, 3};
  conv.pre_padding = {1, 1};
  conv.post_padding = {1, 1};
  return conv;
}

Network convolutionChain() {
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, kC, kH, kW});
  TensorId a = addLayer(net, padded3x3(kM),
                        {x, addConstant(net, Dims{kM, kC, 3, 3}, randomFloats(kM * kC * 9, 71)),
                         addConstant(net, Dims{kM}, randomFloats(kM, 72))});
  a = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {a});
  TensorId y = addLayer(net, padded3x3(kM),
                        {a, addConstant(net, Dims{kM, kM, 3, 3}, randomFloats(kM * kM * 9, 73)),
                         addConstant(net, Dims{kM}, randomFloats(kM, 74))});
  y = addLayer(net, network::ElementWiseLayer{ElementWiseOperation::kSUM}, {y, a});
  y = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {y});
  network::PoolingLayer pool;
  pool.type = PoolingType::kMAX;
  pool.window_size = {2, 2};
  pool.stride = {2, 2};
  const TensorId p = addLayer(net, pool, {a});
  net.setTensorName(y, "y");
  net.setTensorName(p, "p");
  net.markOutput(y);
  net.markOutput(p);
  return net;
}

std::vector<std::uint8_t> buildChain(const char* channels_last) {
  const ScopedChannelsLast setting(channels_last);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, kC, kH, kW}, Dims{2, kC, kH, kW}, Dims{3, kC, kH, kW});
  config.addOptimizationProfile(profile);
  return builder::buildSerializedNetwork(convolutionChain(), config);
}

engine::EnginePlan planOf(const std::vector<std::uint8_t>& bytes) { return engine::deserializePlan(bytes.data(), bytes.size()); }

std::shared_ptr<const runtime::Engine> engineOf(const engine::EnginePlan& plan) {
  const std::vector<std::uint8_t> bytes = engine::serializePlan(plan);
  return runtime::Engine::deserialize(context(), bytes.data(), bytes.size());
}

// The FLOAT outputs `outputs` of `plan`'s engine for input x of shape `x_shape`, random from `seed`.
std::vector<std::vector<float>> runEngine(const engine::EnginePlan& plan, const Dims& x_shape, std::uint32_t seed,
                                          const std::vector<std::string>& outputs) {
  runtime::ExecutionContext execution(engineOf(plan));
  auto stream = cl::Stream::create(context());
  EXPECT_TRUE(execution.setInputShape("x", x_shape));
  const std::vector<float> x = randomFloats(static_cast<std::size_t>(x_shape.volume()), seed);
  auto x_buffer = allocate(x.size() * sizeof(float));
  upload(*stream, at(x_buffer), x);
  execution.setTensorAddress("x", x_buffer->address());
  std::vector<std::shared_ptr<cl::DeviceBuffer>> buffers;
  for (const std::string& name : outputs) {
    buffers.push_back(allocate(static_cast<std::size_t>(execution.tensorShape(name).volume()) * sizeof(float)));
    execution.setTensorAddress(name, buffers.back()->address());
  }
  execution.enqueue(*stream);
  std::vector<std::vector<float>> results;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    results.push_back(download<float>(*stream, at(buffers[i]), buffers[i]->size() / sizeof(float)));
  }
  return results;
}

// Each of `actual` within 1e-5 (relative, floor 1) of `expected`, output by output.
void expectClose(const std::vector<std::vector<float>>& actual, const std::vector<std::vector<float>>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (std::size_t output = 0; output < expected.size(); ++output) {
    ASSERT_EQ(actual[output].size(), expected[output].size());
    for (std::size_t i = 0; i < expected[output].size(); ++i) {
      ASSERT_NEAR(actual[output][i], expected[output][i], 1e-5 * std::max(1.0f, std::abs(expected[output][i])))
          << "output " << output << " element " << i;
    }
  }
}

std::vector<std::string> stepNames(const engine::EnginePlan& plan) {
  std::vector<std::string> names;
  for (const engine::PlanStep& step : plan.steps) names.push_back(step.name);
  return names;
}

// The values of constant `id` of `plan`, as floats.
std::vector<float> constantValues(const engine::EnginePlan& plan, engine::TensorId id) {
  const engine::PlanTensor& tensor = plan.tensors.at(static_cast<std::size_t>(id));
  EXPECT_EQ(tensor.role, engine::TensorRole::kConstant) << tensor.name;
  EXPECT_EQ(tensor.type, DataType::kFLOAT) << tensor.name;
  std::vector<float> values(static_cast<std::size_t>(tensor.shape.volume()));
  std::memcpy(values.data(), plan.weights.data() + tensor.offset, values.size() * sizeof(float));
  return values;
}

// Each convolution's kernel in `hwc` holds the values of its kernel in `linear` (the same
// convolutions in the same order) reordered from (M, C, k...) to (M, k..., C).
void expectKernelsPermuted(const engine::EnginePlan& linear, const engine::EnginePlan& hwc) {
  std::vector<const engine::PlanStep*> linear_steps, hwc_steps;
  for (const engine::PlanStep& step : linear.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) linear_steps.push_back(&step);
  }
  for (const engine::PlanStep& step : hwc.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) hwc_steps.push_back(&step);
  }
  ASSERT_EQ(linear_steps.size(), hwc_steps.size());
  for (std::size_t i = 0; i < linear_steps.size(); ++i) {
    const std::vector<float> before = constantValues(linear, linear_steps[i]->inputs.at(1));
    const std::vector<float> after = constantValues(hwc, hwc_steps[i]->inputs.at(1));
    const Dims& shape = hwc.tensors.at(static_cast<std::size_t>(hwc_steps[i]->inputs.at(1))).shape;
    const std::int64_t maps = shape[0], channels = shape[1], taps = shape.volume() / (maps * channels);
    ASSERT_EQ(before.size(), after.size());
    for (std::int64_t m = 0; m < maps; ++m)
      for (std::int64_t c = 0; c < channels; ++c)
        for (std::int64_t t = 0; t < taps; ++t) {
          ASSERT_EQ(after[static_cast<std::size_t>((m * taps + t) * channels + c)],
                    before[static_cast<std::size_t>((m * channels + c) * taps + t)])
              << hwc_steps[i]->name;
        }
  }
}

std::string refusal(const engine::EnginePlan& plan) {
  try {
    engineOf(plan);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Layouts, ForcedChannelsLastMatchesTheLinearEngine) {
  const std::vector<std::uint8_t> linear = buildChain("0"), hwc = buildChain("1");
  const engine::EnginePlan linear_plan = planOf(linear), plan = planOf(hwc);
  for (const engine::PlanStep& step : linear_plan.steps) EXPECT_TRUE(step.tactic.rfind("hwc_", 0) != 0) << step.name;
  // The two convolutions HWC; x reformatted in front, a and y back to LINEAR after their writers.
  int hwc_convolutions = 0, to_hwc = 0, to_linear = 0;
  for (const engine::PlanStep& step : plan.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) {
      EXPECT_TRUE(cl::convolutionTacticChannelsLast(step.tactic)) << step.name << " " << step.tactic;
      for (const engine::TacticRange& range : step.tactic_ranges) EXPECT_TRUE(cl::convolutionTacticChannelsLast(range.tactic));
      ++hwc_convolutions;
    }
    to_hwc += step.tactic == runtime::kReformatToHwc;
    to_linear += step.tactic == runtime::kReformatToLinear;
  }
  EXPECT_EQ(hwc_convolutions, 2);
  EXPECT_EQ(to_hwc, 1);
  EXPECT_EQ(to_linear, 2) << ::testing::PrintToString(stepNames(plan));
  EXPECT_EQ(plan.steps.front().name, "Reformat x to HWC");
  const std::vector<TensorFormat> formats = runtime::planTensorFormats(plan);
  int hwc_activations = 0, hwc_constants = 0;
  for (std::size_t t = 0; t < plan.tensors.size(); ++t) {
    if (formats[t] != TensorFormat::kHWC) continue;
    if (plan.tensors[t].role == engine::TensorRole::kConstant) {
      ++hwc_constants;
      continue;
    }
    ++hwc_activations;
    EXPECT_NE(plan.tensors[t].name.find("(HWC)"), std::string::npos) << plan.tensors[t].name;
  }
  EXPECT_EQ(hwc_activations, 3);  // x (HWC), a (HWC), y (HWC)
  EXPECT_EQ(hwc_constants, 2);    // the kernels, permuted in place (only HWC steps read them)
  expectKernelsPermuted(linear_plan, plan);
  for (std::int64_t batch : {3, 1, 2}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Dims x{batch, kC, kH, kW};
    const auto seed = 80 + static_cast<std::uint32_t>(batch);
    expectClose(runEngine(plan, x, seed, {"y", "p"}), runEngine(linear_plan, x, seed, {"y", "p"}));
  }
}

// MLPRT_PARALLEL_BUILD=1: before any step is timed, the candidates of every timed step, at every
// timing point of the dynamic profile and in both layouts, run once across one pool of threads,
// so no step's own pass has any left; the engine gives the serial build's answers.
TEST(Layouts, TheBuildRunsEveryCandidateAheadInOnePool) {
  const engine::EnginePlan serial = [] {
    const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", std::string("0"));
    return planOf(buildChain("0"));
  }();
  std::vector<std::string> whole_build, per_step;
  const engine::EnginePlan plan = [&] {
    const ScopedEnv parallel("MLPRT_PARALLEL_BUILD", std::string("1"));
    const LogCapture log;
    engine::EnginePlan built = planOf(buildChain("timed"));
    whole_build = log.matching("compiled ahead: ");
    per_step = log.matching("candidates run ahead in");
    return built;
  }();
  ASSERT_EQ(whole_build.size(), 1u) << ::testing::PrintToString(whole_build);
  EXPECT_NE(whole_build.front().find(" of 2 steps in "), std::string::npos) << whole_build.front();
  EXPECT_TRUE(per_step.empty()) << ::testing::PrintToString(per_step);
  for (std::int64_t batch : {1, 3}) {
    SCOPED_TRACE("batch " + std::to_string(batch));
    const Dims x{batch, kC, kH, kW};
    const auto seed = 90 + static_cast<std::uint32_t>(batch);
    expectClose(runEngine(plan, x, seed, {"y", "p"}), runEngine(serial, x, seed, {"y", "p"}));
  }
}

// The timed choice follows the costs: HWC where the group's convolutions save more than its
// reformats cost, LINEAR otherwise, and never under kNever.
TEST(Layouts, TheChoiceWeighsTheConvolutionsAgainstTheReformats) {
  const engine::EnginePlan linear = planOf(buildChain("0"));
  const auto costsOf = [](double hwc_ms, double reformat_ms) {
    builder::LayoutCosts costs;
    costs.linear = [](const engine::PlanStep&) { return 1.0; };
    costs.channels_last = [hwc_ms](const engine::PlanStep&) { return builder::ChannelsLastCost{"hwc_igemm_t2x2", hwc_ms}; };
    costs.reformat = [reformat_ms](engine::TensorId) { return reformat_ms; };
    return costs;
  };
  engine::EnginePlan plan = linear;
  builder::LayoutChoice choice = builder::chooseLayouts(plan, costsOf(0.5, 0.4), builder::LayoutPreference::kTimed);
  EXPECT_EQ(choice.groups, 1);
  EXPECT_EQ(choice.hwc_groups, 0);  // 2 x 0.5 + 3 x 0.4 > 2 x 1.0
  EXPECT_EQ(plan.steps.size(), linear.steps.size());

  choice = builder::chooseLayouts(plan, costsOf(0.5, 0.4), builder::LayoutPreference::kNever);
  EXPECT_EQ(choice.groups, 0);

  choice = builder::chooseLayouts(plan, costsOf(0.5, 0.2), builder::LayoutPreference::kTimed);  // 1.6 < 2.0
  EXPECT_EQ(choice.hwc_groups, 1);
  EXPECT_EQ(choice.hwc_convolutions, 2);
  EXPECT_EQ(choice.reformats, 3);
  EXPECT_EQ(plan.steps.size(), linear.steps.size() + 3);
  EXPECT_NO_THROW(runtime::planTensorFormats(plan));
  for (const engine::PlanStep& step : plan.steps) {
    if (std::holds_alternative<network::ConvolutionLayer>(step.parameters)) {
      EXPECT_EQ(step.tactic, "hwc_igemm_t2x2");
      EXPECT_TRUE(step.tactic_ranges.empty());
    }
  }
  // Convolutions already HWC are left alone: a second pass changes nothing.
  const std::size_t rewritten = plan.steps.size();
  choice = builder::chooseLayouts(plan, costsOf(0.5, 0.2), builder::LayoutPreference::kAlways);
  EXPECT_EQ(choice.groups, 0);
  EXPECT_EQ(plan.steps.size(), rewritten);
  // A convolution no channels-last tactic runs keeps its whole group LINEAR.
  plan = linear;
  builder::LayoutCosts none = costsOf(0.1, 0.0);
  int asked = 0;
  none.channels_last = [&asked](const engine::PlanStep&) {
    return builder::ChannelsLastCost{asked++ == 0 ? "hwc_igemm_t2x2" : "", 0.1};
  };
  choice = builder::chooseLayouts(plan, none, builder::LayoutPreference::kAlways);
  EXPECT_EQ(choice.hwc_groups, 0);
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(plan.steps.size(), linear.steps.size());
  // Where the group's first channels-last times already reach its LINEAR time, the rest are not
  // asked for: the dearest convolution first.
  builder::LayoutCosts bounded = costsOf(0.0, 0.0);
  std::vector<double> linear_times;
  bounded.linear = [&linear_times](const engine::PlanStep&) {
    linear_times.push_back(linear_times.empty() ? 1.0 : 3.0);
    return linear_times.back();
  };
  std::vector<std::string> asked_for;
  bounded.channels_last = [&asked_for](const engine::PlanStep& step) {
    asked_for.push_back(step.name);
    return builder::ChannelsLastCost{"hwc_igemm_t2x2", 5.0};
  };
  choice = builder::chooseLayouts(plan, bounded, builder::LayoutPreference::kTimed);
  EXPECT_EQ(choice.hwc_groups, 0);
  ASSERT_EQ(asked_for.size(), 1u);
  EXPECT_EQ(asked_for.front(), plan.steps[1].name);  // the second convolution, 3 ms LINEAR
  EXPECT_EQ(plan.steps.size(), linear.steps.size());
}

// A kernel that a LINEAR step reads too keeps its LINEAR values for that step: the HWC convolution
// reads a permuted copy. A kernel that is no constant (here an engine input) is reformatted at run
// time like the data, and costs a reformat in the choice.
TEST(Layouts, KernelsAreStoredChannelsLastForHwcConvolutions) {
  const engine::EnginePlan linear = planOf(buildChain("0"));
  std::size_t first = 0;
  while (!std::holds_alternative<network::ConvolutionLayer>(linear.steps[first].parameters)) ++first;
  const TensorId kernel = linear.steps[first].inputs.at(1);
  builder::LayoutCosts costs;
  costs.linear = [](const engine::PlanStep&) { return 1.0; };
  costs.channels_last = [](const engine::PlanStep&) { return builder::ChannelsLastCost{"hwc_igemm_t2x2", 0.1}; };
  std::vector<TensorId> reformatted;
  costs.reformat = [&reformatted](TensorId id) {
    reformatted.push_back(id);
    return 0.0;
  };

  // A copy step (an Identity without tactic) reads the first kernel too, into an engine output.
  engine::EnginePlan shared = linear;
  engine::PlanTensor copy = shared.tensors.at(static_cast<std::size_t>(kernel));
  copy.name = "kernel copy";
  copy.role = engine::TensorRole::kOutput;
  copy.offset = copy.capacity = 0;
  shared.tensors.push_back(copy);
  engine::PlanStep copy_step;
  copy_step.name = "copy the kernel";
  copy_step.parameters = network::IdentityLayer{DataType::kFLOAT};
  copy_step.inputs = {kernel};
  copy_step.output = static_cast<TensorId>(shared.tensors.size() - 1);
  shared.steps.push_back(copy_step);
  shared.outputs.push_back(copy_step.output);
  const std::size_t tensors_before = shared.tensors.size();
  EXPECT_EQ(builder::chooseLayouts(shared, costs, builder::LayoutPreference::kTimed).hwc_groups, 1);
  EXPECT_EQ(reformatted.size(), 3u);  // x in, a and y out: constants cost nothing
  const engine::PlanStep* hwc_first = nullptr;
  for (const engine::PlanStep& step : shared.steps) {
    if (!hwc_first && std::holds_alternative<network::ConvolutionLayer>(step.parameters)) hwc_first = &step;
  }
  ASSERT_NE(hwc_first, nullptr);
  const TensorId permuted = hwc_first->inputs.at(1);
  EXPECT_NE(permuted, kernel);
  EXPECT_GE(static_cast<std::size_t>(permuted), tensors_before);
  EXPECT_EQ(shared.tensors.at(static_cast<std::size_t>(permuted)).name,
            linear.tensors.at(static_cast<std::size_t>(kernel)).name + " (HWC)");
  EXPECT_EQ(shared.steps.back().inputs.at(0), kernel);
  EXPECT_EQ(constantValues(shared, kernel), constantValues(linear, kernel));  // the copy step's values unchanged
  expectKernelsPermuted(linear, shared);
  const std::vector<TensorFormat> formats = runtime::planTensorFormats(shared);
  EXPECT_EQ(formats.at(static_cast<std::size_t>(kernel)), TensorFormat::kLINEAR);
  EXPECT_EQ(formats.at(static_cast<std::size_t>(permuted)), TensorFormat::kHWC);

  // The kernel an engine input: a reformat step before the convolution, counted in the choice.
  engine::EnginePlan runtime_kernel = linear;
  runtime_kernel.tensors.at(static_cast<std::size_t>(kernel)).role = engine::TensorRole::kInput;
  runtime_kernel.inputs.push_back(kernel);
  reformatted.clear();
  const builder::LayoutChoice choice = builder::chooseLayouts(runtime_kernel, costs, builder::LayoutPreference::kTimed);
  EXPECT_EQ(choice.hwc_groups, 1);
  EXPECT_EQ(choice.reformats, 4);
  EXPECT_EQ(reformatted.size(), 4u);
  const std::string kernel_name = linear.tensors.at(static_cast<std::size_t>(kernel)).name;
  const auto names = stepNames(runtime_kernel);
  EXPECT_NE(std::find(names.begin(), names.end(), "Reformat " + kernel_name + " to HWC"), names.end())
      << ::testing::PrintToString(names);
  EXPECT_NO_THROW(runtime::planTensorFormats(runtime_kernel));

  // A constant read LINEAR by one step and HWC by another, as no builder stores it: refused.
  engine::EnginePlan mixed = planOf(buildChain("1"));
  std::size_t conv = 0;
  while (!std::holds_alternative<network::ConvolutionLayer>(mixed.steps[conv].parameters)) ++conv;
  engine::PlanStep reader = copy_step;
  reader.inputs = {mixed.steps[conv].inputs.at(1)};
  engine::PlanTensor out = copy;
  mixed.tensors.push_back(out);
  reader.output = static_cast<TensorId>(mixed.tensors.size() - 1);
  mixed.steps.push_back(reader);
  mixed.outputs.push_back(reader.output);
  const std::string error = [&] {
    try {
      runtime::planTensorFormats(mixed);
    } catch (const InvalidArgument& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  }();
  EXPECT_NE(error.find("is a constant stored HWC for step '" + mixed.steps[conv].name +
                       "' but step 'copy the kernel' reads it LINEAR"),
            std::string::npos)
      << error;
}

// An FP16 engine's input cast read by two convolutions of different groups: where one group goes
// HWC and the other stays LINEAR, the cast stays a cast and the HWC group gets a reformat of its
// own (the cast cannot reformat for one of its readers only).
TEST(Layouts, ACastReadByTwoGroupsReformatsForNeither) {
  const ScopedChannelsLast setting("0");
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{1, kC, kH, kW});
  for (const char* name : {"a", "b"}) {
    TensorId out = addLayer(net, padded3x3(kM),
                            {x, addConstant(net, Dims{kM, kC, 3, 3}, randomFloats(kM * kC * 9, name[0] == 'a' ? 75 : 76)),
                             addConstant(net, Dims{kM}, randomFloats(kM, 77))});
    net.setTensorName(out, name);
    net.markOutput(out);
  }
  builder::BuilderConfig config;
  config.setFlag(builder::BuilderFlag::kFP16);
  engine::EnginePlan plan = planOf(builder::buildSerializedNetwork(net, config));
  std::size_t casts = 0;
  for (const engine::PlanStep& step : plan.steps) casts += std::holds_alternative<network::IdentityLayer>(step.parameters);
  ASSERT_EQ(casts, 3u) << ::testing::PrintToString(stepNames(plan));  // x in, a and b out
  builder::LayoutCosts costs;
  costs.linear = [](const engine::PlanStep&) { return 1.0; };
  costs.channels_last = [&plan](const engine::PlanStep& step) {  // the convolution writing a (HWC) wins
    const bool writes_a = plan.tensors.at(static_cast<std::size_t>(step.output)).name.find('a') == 0;
    return builder::ChannelsLastCost{"hwc_igemm_t2x2", writes_a ? 0.1 : 5.0};
  };
  costs.reformat = [](TensorId) { return 0.01; };
  const builder::LayoutChoice choice = builder::chooseLayouts(plan, costs, builder::LayoutPreference::kTimed);
  EXPECT_EQ(choice.groups, 2);
  EXPECT_EQ(choice.hwc_groups, 1);
  EXPECT_NO_THROW(runtime::planTensorFormats(plan)) << ::testing::PrintToString(stepNames(plan));
  int to_hwc = 0;
  for (const engine::PlanStep& step : plan.steps) {
    if (step.tactic != runtime::kReformatToHwc) continue;
    ++to_hwc;
    EXPECT_EQ(step.name.rfind("Reformat ", 0), 0u) << step.name;  // a step of its own, not the cast
  }
  EXPECT_EQ(to_hwc, 1);
}

// Plans whose steps disagree about a tensor's format are refused when the engine is made, naming
// the tensor and the steps.
TEST(Layouts, FormatMismatchesAreRefusedNamingTheTensor) {
  const engine::EnginePlan hwc = planOf(buildChain("1"));
  ASSERT_EQ(hwc.steps.front().tactic, runtime::kReformatToHwc);
  EXPECT_NO_THROW(engineOf(hwc));

  engine::EnginePlan plan = hwc;
  plan.steps.front().tactic.clear();  // x (HWC) now written LINEAR, read HWC by the first convolution
  std::string error = refusal(plan);
  EXPECT_NE(error.find("tensor 'x (HWC)' is written LINEAR by step 'Reformat x to HWC' but step '"), std::string::npos)
      << error;
  EXPECT_NE(error.find("reads it HWC"), std::string::npos) << error;

  plan = hwc;
  plan.steps.front().tactic = "reformat_to_chw4";
  error = refusal(plan);
  EXPECT_NE(error.find("Identity tactic 'reformat_to_chw4' is neither"), std::string::npos) << error;

  plan = hwc;
  std::size_t conv = 0;
  while (!std::holds_alternative<network::ConvolutionLayer>(plan.steps[conv].parameters)) ++conv;
  plan.steps[conv].tactic_ranges = {{10, "igemm_t2x2"}, {std::numeric_limits<std::int64_t>::max(), plan.steps[conv].tactic}};
  error = refusal(plan);
  EXPECT_NE(error.find("has channels-last (HWC) and LINEAR convolution tactics"), std::string::npos) << error;

  // An engine output written HWC: the last reformat to LINEAR dropped, its convolution writing y.
  plan = hwc;
  for (std::size_t s = 0; s < plan.steps.size(); ++s) {
    const engine::PlanStep& step = plan.steps[s];
    if (step.tactic != runtime::kReformatToLinear || plan.tensors[static_cast<std::size_t>(step.output)].name != "y") continue;
    const TensorId hwc_y = step.inputs.front(), y = step.output;
    for (engine::PlanStep& other : plan.steps) {
      if (other.output == hwc_y) other.output = y;
    }
    plan.steps.erase(plan.steps.begin() + static_cast<std::ptrdiff_t>(s));
    break;
  }
  error = refusal(plan);
  EXPECT_NE(error.find("engine output tensor 'y' is written HWC"), std::string::npos) << error;
}

// x (N, 6, 5, 7) -> 1x1 convolution (6 -> 10) + bias + ReLU = y, with a dynamic batch.
std::vector<std::uint8_t> buildPointwise(const char* channels_last) {
  const ScopedChannelsLast setting(channels_last);
  Network net;
  const TensorId x = net.addInput("x", DataType::kFLOAT, Dims{-1, 6, 5, 7});
  network::ConvolutionLayer conv;
  conv.num_output_maps = 10;
  conv.kernel_size = {1, 1};
  TensorId y = addLayer(net, conv,
                        {x, addConstant(net, Dims{10, 6, 1, 1}, randomFloats(60, 91)), addConstant(net, Dims{10}, randomFloats(10, 92))});
  y = addLayer(net, network::ActivationLayer{ActivationType::kRELU}, {y});
  net.setTensorName(y, "y");
  net.markOutput(y);
  builder::BuilderConfig config;
  builder::OptimizationProfile profile;
  profile.setShape("x", Dims{1, 6, 5, 7}, Dims{2, 6, 5, 7}, Dims{3, 6, 5, 7});
  config.addOptimizationProfile(profile);
  return builder::buildSerializedNetwork(net, config);
}

// A pointwise convolution channels-last runs as one product: "hwc_gemm:" tactics in an engine
// (between its reformats) give the LINEAR engine's answers at batch 3 and 1.
TEST(Layouts, PointwiseConvolutionsRunAsProductsInAnEngine) {
  const engine::EnginePlan linear = planOf(buildPointwise("0")), hwc = planOf(buildPointwise("1"));
  const std::size_t conv = [&hwc] {
    for (std::size_t s = 0; s < hwc.steps.size(); ++s) {
      if (std::holds_alternative<network::ConvolutionLayer>(hwc.steps[s].parameters)) return s;
    }
    return hwc.steps.size();
  }();
  ASSERT_LT(conv, hwc.steps.size());
  const std::vector<std::string> tactics = pointwiseGemmTacticsToTest(DataType::kFLOAT);
  for (const std::string& tactic : tactics) {
    SCOPED_TRACE(tactic);
    engine::EnginePlan plan = hwc;
    plan.steps[conv].tactic = tactic;
    plan.steps[conv].tactic_ranges.clear();
    for (std::int64_t batch : {3, 1}) {
      SCOPED_TRACE("batch " + std::to_string(batch));
      expectClose(runEngine(plan, Dims{batch, 6, 5, 7}, 93, {"y"}), runEngine(linear, Dims{batch, 6, 5, 7}, 93, {"y"}));
    }
  }
  EXPECT_FALSE(tactics.empty());

  // Offered as the step's candidates, but not to a step that adds a residual (the GEMM epilogue
  // has none: those candidates could only fail).
  const std::vector<Dims> shapes = runtime::inferPlanShapes(hwc, {Dims{2, 6, 5, 7}});
  const auto gemm_offered = [&](const engine::PlanStep& step) {
    const std::vector<std::string> names =
        builder::candidateTacticNames(hwc, step, shapes, {shapes}, context(), cl::GemmPolicy{});
    return std::any_of(names.begin(), names.end(), [](const std::string& name) { return name.rfind("hwc_gemm:", 0) == 0; });
  };
  EXPECT_TRUE(gemm_offered(hwc.steps[conv]));
  engine::PlanStep with_residual = hwc.steps[conv];
  ASSERT_EQ(with_residual.inputs.size(), 3u);            // input, kernel, bias
  with_residual.inputs.push_back(with_residual.output);  // a tensor of the output's shape
  EXPECT_FALSE(gemm_offered(with_residual));
}

// The reformat steps transpose (N, C, d...) to (N, d..., C) and back, rank 3 and 4, FLOAT and HALF.
TEST(Layouts, ReformatStepsTransposeToAndFromChannelsLast) {
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const Dims& shape : {Dims{2, 5, 3, 7}, Dims{3, 4, 11}, Dims{1, 1, 1, 1}}) {
      SCOPED_TRACE(shape.toString() + " " + dataTypeName(type));
      const std::size_t count = static_cast<std::size_t>(shape.volume());
      const std::vector<float> floats = randomFloats(count, 90);
      const std::vector<double> values = storedAs(std::vector<double>(floats.begin(), floats.end()), type);
      const std::size_t bytes = count * elementSize(type);
      auto linear = allocate(bytes), hwc = allocate(bytes), back = allocate(bytes);
      upload(stream(), at(linear), encodeAs(values, type));
      engine::PlanStep step;
      step.name = "reformat";
      step.parameters = network::IdentityLayer{type};
      runtime::StepOperands operands;
      operands.inputs = {cl::DeviceTensor{at(linear), shape, type}};
      operands.output = cl::DeviceTensor{at(hwc), shape, type};
      step.tactic = runtime::kReformatToHwc;
      runtime::runStep(cache(), stream(), step, operands);
      operands.inputs = {cl::DeviceTensor{at(hwc), shape, type}};
      operands.output = cl::DeviceTensor{at(back), shape, type};
      step.tactic = runtime::kReformatToLinear;
      runtime::runStep(cache(), stream(), step, operands);
      const std::vector<double> channels_last = decodeAs<double>(download<unsigned char>(stream(), at(hwc), bytes), type);
      const std::vector<double> round_trip = decodeAs<double>(download<unsigned char>(stream(), at(back), bytes), type);
      const std::int64_t n = shape[0], c = shape[1], pixels = shape.volume() / (n * c);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t ch = 0; ch < c; ++ch)
          for (std::int64_t p = 0; p < pixels; ++p) {
            ASSERT_EQ(channels_last[static_cast<std::size_t>((i * pixels + p) * c + ch)],
                      values[static_cast<std::size_t>((i * c + ch) * pixels + p)]);
          }
      EXPECT_EQ(round_trip, values);
    }
  }
}

}  // namespace
}  // namespace mlprt::test
