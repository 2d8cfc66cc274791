// The engine file format (csrc/engine/format.h, docs/engine-format.md): round trips, determinism,
// and a reader that fails cleanly on truncated, corrupted, newer and crafted files.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "engine/format.h"

namespace net = mlprt::network;
namespace eng = mlprt::engine;
using mlprt::DataType;
using mlprt::Dims;
using Bytes = std::vector<std::uint8_t>;

namespace {

// ---------------------------------------------------------------------------------------------
// A plan that uses every LayerParameters alternative and sets every field to a non-default value.

eng::PlanTensor tensor(std::string name, DataType type, Dims shape, eng::TensorRole role, std::uint64_t offset,
                       std::uint64_t capacity) {
  return eng::PlanTensor{std::move(name), type, std::move(shape), role, offset, capacity};
}

std::vector<net::LayerParameters> everyLayerKind() {
  return {
      net::ConstantLayer{Dims{2, 3}, net::Weights{DataType::kINT64, Bytes{1, 2, 3, 0, 255, 7}}},
      net::MatrixMultiplyLayer{net::MatrixOperation::kTRANSPOSE, net::MatrixOperation::kTRANSPOSE},
      net::ElementWiseLayer{net::ElementWiseOperation::kPOW},
      net::ActivationLayer{net::ActivationType::kHARD_SWISH, 0.25f, -1.5f},
      net::UnaryLayer{net::UnaryOperation::kERF},
      net::ShuffleLayer{{1, 0}, true, {0, -1, 7}, {2, 0, 1}},
      net::SoftmaxLayer{1, true},
      net::ReduceLayer{net::ReduceOperation::kAVG, 0b101u, false},
      net::NormalizationLayer{6u, 1e-3f},
      net::ConcatenationLayer{3},
      net::IdentityLayer{DataType::kHALF},
      net::FusedMlpLayer{{net::MlpStage{784, 32, true, true, net::ActivationLayer{net::ActivationType::kLEAKY_RELU, 0.1f, 0}},
                          net::MlpStage{32, 10, false, false, net::ActivationLayer{}}},
                         DataType::kHALF},
      net::SelectLayer{},
      net::ConvolutionLayer{64, {3, 5}, {2, 1}, {1, 0}, {0, 2}, mlprt::PaddingMode::kSAME_LOWER, {1, 2}, 4},
      net::PoolingLayer{mlprt::PoolingType::kAVERAGE, {2, 3}, {2, 2}, {1, 1}, {0, 1},
                        mlprt::PaddingMode::kEXPLICIT_ROUND_UP, false, {1, 2}},
      net::DeconvolutionLayer{32, {4, 4}, {2, 2}, {1, 2}, {2, 1}, mlprt::PaddingMode::kSAME_UPPER, {1, 3}, 2, {1, 0}},
      net::SliceLayer{{-1, 0, 2}, {4, -1, 3}, {1, 1, -2}, mlprt::SampleMode::kREFLECT, 2.5f},
      net::ResizeLayer{{1, 3, -1, 64}, {1.0f, 1.0f, 2.5f, 0.5f}, mlprt::InterpolationMode::kCUBIC,
                       mlprt::ResizeCoordinateTransformation::kALIGN_CORNERS, mlprt::ResizeSelector::kUPPER,
                       mlprt::ResizeRoundMode::kCEIL, -0.5f, true},
      net::LrnLayer{5, 2e-4f, 0.5f, 2.0f},
      net::GatherLayer{2, mlprt::GatherMode::kELEMENT},
      net::TopKLayer{mlprt::TopKOperation::kMIN, 7, 0b100u},
      net::ScatterLayer{mlprt::ScatterMode::kND, 2, mlprt::ScatterReduction::kMAX},
      net::CumulativeLayer{mlprt::CumulativeOperation::kSUM, 3, true, false},
      net::AttentionLayer{0.125f, true, true, false, true, 0b1111u, 12, 4, 30.0f, 16, true, 0.5f, -1e30f},
      net::AxisRangeLayer{2, DataType::kHALF},
  };
}

eng::EnginePlan fullPlan() {
  eng::EnginePlan plan;
  plan.mlprt_version = "0.1.0-test";
  plan.device = {"Portable Computing Language", "cpu-haswell", "GenuineIntel", "5.0", "OpenCL 3.0 PoCL"};
  plan.fp16 = true;
  plan.arena_bytes = 16 * everyLayerKind().size();  // a 16-byte activation per step
  plan.tensors.push_back(tensor("input", DataType::kFLOAT, Dims{-1, 4}, eng::TensorRole::kInput, 3, 128));
  plan.tensors.push_back(tensor("weight", DataType::kHALF, Dims{4, 4}, eng::TensorRole::kConstant, 8, 32));
  const std::vector<net::LayerParameters> kinds = everyLayerKind();
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const bool last = i + 1 == kinds.size();
    plan.tensors.push_back(tensor(last ? "output" : "t" + std::to_string(i), DataType::kINT32, Dims{-1, 4, 2},
                                  last ? eng::TensorRole::kOutput : eng::TensorRole::kActivation, 16 * i, 16));
    eng::PlanStep step;
    step.name = "layer" + std::to_string(i) + " + relu";
    step.parameters = kinds[i];
    step.inputs = {0, 1, static_cast<eng::TensorId>(i + 1)};
    step.output = static_cast<eng::TensorId>(i + 2);
    step.epilogue = {1, true, net::ActivationLayer{net::ActivationType::kCLIP, 0.5f, 6.0f}};
    step.tactic = "gemm_tile_32x32_" + std::to_string(i);
    // An Identity step's tactic is a reformat between layouts (version 13).
    if (std::holds_alternative<net::IdentityLayer>(step.parameters)) step.tactic = "reformat_to_hwc";
    // A normalization adds two residuals (version 15).
    if (std::holds_alternative<net::NormalizationLayer>(step.parameters)) step.inputs = {0, 1, 1, 0, 0};
    // A convolution adds its residual after the activation (version 17).
    if (std::holds_alternative<net::ConvolutionLayer>(step.parameters)) {
      step.inputs.push_back(0);
      step.epilogue.residual_after_activation = true;
    }
    plan.steps.push_back(std::move(step));
  }
  plan.inputs = {0};
  plan.outputs = {static_cast<eng::TensorId>(plan.tensors.size() - 1)};
  plan.profiles.push_back({{Dims{1, 4}}, {Dims{8, 4}}, {Dims{32, 4}}});
  plan.profiles.push_back({{Dims{33, 4}}, {Dims{64, 4}}, {Dims{128, 4}}});
  plan.shared_extents.push_back({0, 0, 0, 1, "batch"});
  plan.weights = Bytes(64);
  for (std::size_t i = 0; i < plan.weights.size(); ++i) plan.weights[i] = static_cast<std::uint8_t>(i * 37 + 1);
  plan.programs.push_back({"elementwise", "-DFP16=1 -cl-fast-relaxed-math", "0123456789abcdef", Bytes{0, 1, 255, 128}});
  plan.programs.push_back({"gemm", "", "fedcba9876543210", Bytes{}});
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Field-by-field comparison.

void expectSame(const net::ConstantLayer& a, const net::ConstantLayer& b) {
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.weights.type, b.weights.type);
  EXPECT_EQ(a.weights.bytes, b.weights.bytes);
}
void expectSame(const net::MatrixMultiplyLayer& a, const net::MatrixMultiplyLayer& b) {
  EXPECT_EQ(a.op0, b.op0);
  EXPECT_EQ(a.op1, b.op1);
}
void expectSame(const net::ElementWiseLayer& a, const net::ElementWiseLayer& b) { EXPECT_EQ(a.op, b.op); }
void expectSame(const net::ActivationLayer& a, const net::ActivationLayer& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.beta, b.beta);
}
void expectSame(const net::UnaryLayer& a, const net::UnaryLayer& b) { EXPECT_EQ(a.op, b.op); }
void expectSame(const net::ShuffleLayer& a, const net::ShuffleLayer& b) {
  EXPECT_EQ(a.first_transpose, b.first_transpose);
  EXPECT_EQ(a.has_reshape, b.has_reshape);
  EXPECT_EQ(a.reshape, b.reshape);
  EXPECT_EQ(a.second_transpose, b.second_transpose);
}
void expectSame(const net::SoftmaxLayer& a, const net::SoftmaxLayer& b) {
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.log, b.log);
}
void expectSame(const net::ReduceLayer& a, const net::ReduceLayer& b) {
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.axes, b.axes);
  EXPECT_EQ(a.keep_dimensions, b.keep_dimensions);
}
void expectSame(const net::NormalizationLayer& a, const net::NormalizationLayer& b) {
  EXPECT_EQ(a.axes, b.axes);
  EXPECT_EQ(a.epsilon, b.epsilon);
}
void expectSame(const net::ConcatenationLayer& a, const net::ConcatenationLayer& b) { EXPECT_EQ(a.axis, b.axis); }
void expectSame(const net::IdentityLayer& a, const net::IdentityLayer& b) { EXPECT_EQ(a.output_type, b.output_type); }
void expectSame(const net::FusedMlpLayer& a, const net::FusedMlpLayer& b) {
  ASSERT_EQ(a.stages.size(), b.stages.size());
  for (std::size_t i = 0; i < a.stages.size(); ++i) {
    EXPECT_EQ(a.stages[i].in_features, b.stages[i].in_features);
    EXPECT_EQ(a.stages[i].out_features, b.stages[i].out_features);
    EXPECT_EQ(a.stages[i].has_bias, b.stages[i].has_bias);
    EXPECT_EQ(a.stages[i].has_activation, b.stages[i].has_activation);
    EXPECT_EQ(a.stages[i].activation.type, b.stages[i].activation.type);
    EXPECT_EQ(a.stages[i].activation.alpha, b.stages[i].activation.alpha);
    EXPECT_EQ(a.stages[i].activation.beta, b.stages[i].activation.beta);
  }
  EXPECT_EQ(a.output_type, b.output_type);
}

void expectSame(const net::SelectLayer&, const net::SelectLayer&) {}
void expectSame(const net::ConvolutionLayer& a, const net::ConvolutionLayer& b) {
  EXPECT_EQ(a.num_output_maps, b.num_output_maps);
  EXPECT_EQ(a.kernel_size, b.kernel_size);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.pre_padding, b.pre_padding);
  EXPECT_EQ(a.post_padding, b.post_padding);
  EXPECT_EQ(a.padding_mode, b.padding_mode);
  EXPECT_EQ(a.dilation, b.dilation);
  EXPECT_EQ(a.num_groups, b.num_groups);
}
void expectSame(const net::DeconvolutionLayer& a, const net::DeconvolutionLayer& b) {
  EXPECT_EQ(a.num_output_maps, b.num_output_maps);
  EXPECT_EQ(a.kernel_size, b.kernel_size);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.pre_padding, b.pre_padding);
  EXPECT_EQ(a.post_padding, b.post_padding);
  EXPECT_EQ(a.padding_mode, b.padding_mode);
  EXPECT_EQ(a.dilation, b.dilation);
  EXPECT_EQ(a.num_groups, b.num_groups);
  EXPECT_EQ(a.output_padding, b.output_padding);
}
void expectSame(const net::SliceLayer& a, const net::SliceLayer& b) {
  EXPECT_EQ(a.start, b.start);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.fill_value, b.fill_value);
}
void expectSame(const net::ResizeLayer& a, const net::ResizeLayer& b) {
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.resize_mode, b.resize_mode);
  EXPECT_EQ(a.coordinate_transformation, b.coordinate_transformation);
  EXPECT_EQ(a.selector_for_single_pixel, b.selector_for_single_pixel);
  EXPECT_EQ(a.nearest_rounding, b.nearest_rounding);
  EXPECT_EQ(a.cubic_coeff, b.cubic_coeff);
  EXPECT_EQ(a.exclude_outside, b.exclude_outside);
}
void expectSame(const net::LrnLayer& a, const net::LrnLayer& b) {
  EXPECT_EQ(a.window_size, b.window_size);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.beta, b.beta);
  EXPECT_EQ(a.k, b.k);
}
void expectSame(const net::GatherLayer& a, const net::GatherLayer& b) {
  EXPECT_EQ(a.gather_axis, b.gather_axis);
  EXPECT_EQ(a.mode, b.mode);
}
void expectSame(const net::TopKLayer& a, const net::TopKLayer& b) {
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.k, b.k);
  EXPECT_EQ(a.axes, b.axes);
}
void expectSame(const net::ScatterLayer& a, const net::ScatterLayer& b) {
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.reduction, b.reduction);
}
void expectSame(const net::CumulativeLayer& a, const net::CumulativeLayer& b) {
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.exclusive, b.exclusive);
  EXPECT_EQ(a.reverse, b.reverse);
}
void expectSame(const net::AttentionLayer& a, const net::AttentionLayer& b) {
  EXPECT_EQ(a.scale, b.scale);
  EXPECT_EQ(a.causal, b.causal);
  EXPECT_EQ(a.has_mask, b.has_mask);
  EXPECT_EQ(a.keys_transposed, b.keys_transposed);
  EXPECT_EQ(a.zero_masked_rows, b.zero_masked_rows);
  EXPECT_EQ(a.packed, b.packed);
  EXPECT_EQ(a.heads, b.heads);
  EXPECT_EQ(a.kv_heads, b.kv_heads);
  EXPECT_EQ(a.softcap, b.softcap);
  EXPECT_EQ(a.mask_batch_period, b.mask_batch_period);
  EXPECT_EQ(a.merged_qkv, b.merged_qkv);
  EXPECT_EQ(a.mask_if_true, b.mask_if_true);
  EXPECT_EQ(a.mask_if_false, b.mask_if_false);
}
void expectSame(const net::AxisRangeLayer& a, const net::AxisRangeLayer& b) {
  EXPECT_EQ(a.axis, b.axis);
  EXPECT_EQ(a.output_type, b.output_type);
}
void expectSame(const net::PoolingLayer& a, const net::PoolingLayer& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.window_size, b.window_size);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.pre_padding, b.pre_padding);
  EXPECT_EQ(a.post_padding, b.post_padding);
  EXPECT_EQ(a.padding_mode, b.padding_mode);
  EXPECT_EQ(a.average_count_excludes_padding, b.average_count_excludes_padding);
  EXPECT_EQ(a.dilation, b.dilation);
}

void expectSame(const net::LayerParameters& a, const net::LayerParameters& b) {
  ASSERT_EQ(a.index(), b.index());
  std::visit([&b](const auto& layer) { expectSame(layer, std::get<std::decay_t<decltype(layer)>>(b)); }, a);
}

void expectSame(const eng::EnginePlan& a, const eng::EnginePlan& b) {
  EXPECT_EQ(a.mlprt_version, b.mlprt_version);
  EXPECT_EQ(a.device, b.device);
  EXPECT_EQ(a.fp16, b.fp16);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    SCOPED_TRACE("tensor " + std::to_string(i));
    EXPECT_EQ(a.tensors[i].name, b.tensors[i].name);
    EXPECT_EQ(a.tensors[i].type, b.tensors[i].type);
    EXPECT_EQ(a.tensors[i].shape, b.tensors[i].shape);
    EXPECT_EQ(a.tensors[i].role, b.tensors[i].role);
    EXPECT_EQ(a.tensors[i].offset, b.tensors[i].offset);
    EXPECT_EQ(a.tensors[i].capacity, b.tensors[i].capacity);
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i));
    EXPECT_EQ(a.steps[i].name, b.steps[i].name);
    expectSame(a.steps[i].parameters, b.steps[i].parameters);
    EXPECT_EQ(a.steps[i].inputs, b.steps[i].inputs);
    EXPECT_EQ(a.steps[i].output, b.steps[i].output);
    EXPECT_EQ(a.steps[i].epilogue.bias, b.steps[i].epilogue.bias);
    EXPECT_EQ(a.steps[i].epilogue.has_activation, b.steps[i].epilogue.has_activation);
    expectSame(a.steps[i].epilogue.activation, b.steps[i].epilogue.activation);
    EXPECT_EQ(a.steps[i].epilogue.residual_after_activation, b.steps[i].epilogue.residual_after_activation);
    EXPECT_EQ(a.steps[i].tactic, b.steps[i].tactic);
    ASSERT_EQ(a.steps[i].tactic_ranges.size(), b.steps[i].tactic_ranges.size());
    for (std::size_t r = 0; r < a.steps[i].tactic_ranges.size(); ++r) {
      EXPECT_EQ(a.steps[i].tactic_ranges[r].up_to_elements, b.steps[i].tactic_ranges[r].up_to_elements);
      EXPECT_EQ(a.steps[i].tactic_ranges[r].tactic, b.steps[i].tactic_ranges[r].tactic);
    }
  }
  ASSERT_EQ(a.shared_extents.size(), b.shared_extents.size());
  for (std::size_t i = 0; i < a.shared_extents.size(); ++i) {
    EXPECT_EQ(a.shared_extents[i].first_input, b.shared_extents[i].first_input);
    EXPECT_EQ(a.shared_extents[i].first_axis, b.shared_extents[i].first_axis);
    EXPECT_EQ(a.shared_extents[i].second_input, b.shared_extents[i].second_input);
    EXPECT_EQ(a.shared_extents[i].second_axis, b.shared_extents[i].second_axis);
    EXPECT_EQ(a.shared_extents[i].label, b.shared_extents[i].label);
  }
  ASSERT_EQ(a.profiles.size(), b.profiles.size());
  for (std::size_t i = 0; i < a.profiles.size(); ++i) {
    EXPECT_EQ(a.profiles[i].min, b.profiles[i].min);
    EXPECT_EQ(a.profiles[i].opt, b.profiles[i].opt);
    EXPECT_EQ(a.profiles[i].max, b.profiles[i].max);
  }
  EXPECT_EQ(a.arena_bytes, b.arena_bytes);
  EXPECT_EQ(a.weights, b.weights);
  ASSERT_EQ(a.programs.size(), b.programs.size());
  for (std::size_t i = 0; i < a.programs.size(); ++i) {
    EXPECT_EQ(a.programs[i].family, b.programs[i].family);
    EXPECT_EQ(a.programs[i].options, b.programs[i].options);
    EXPECT_EQ(a.programs[i].source_hash, b.programs[i].source_hash);
    EXPECT_EQ(a.programs[i].binary, b.programs[i].binary);
  }
}

eng::EnginePlan deserialize(const Bytes& file) { return eng::deserializePlan(file.data(), file.size()); }

// The message of the EngineFormatError that reading `file` throws; fails the test otherwise.
std::string readError(const Bytes& file) {
  try {
    deserialize(file);
  } catch (const eng::EngineFormatError& error) {
    return error.what();
  } catch (const std::exception& error) {
    ADD_FAILURE() << "not an EngineFormatError: " << error.what();
    return {};
  }
  ADD_FAILURE() << "the file was accepted";
  return {};
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// An encoder written from docs/engine-format.md, independent of the library's, so crafted
// files can carry values the library would never write (with a correct checksum).

std::uint64_t fnv1a(const Bytes& data) {
  std::uint64_t hash = 14695981039346656037ull;
  for (std::uint8_t byte : data) hash = (hash ^ byte) * 1099511628211ull;
  return hash;
}

class Encoder {
 public:
  Encoder& u8(std::uint64_t value) { return little(value, 1); }
  Encoder& u32(std::uint64_t value) { return little(value, 4); }
  Encoder& u64(std::uint64_t value) { return little(value, 8); }
  Encoder& f32(float value) {
    std::uint32_t bits = 0;
    std::memcpy(&bits, &value, 4);
    return u32(bits);
  }
  Encoder& str(const std::string& text) {
    u32(text.size());
    bytes.insert(bytes.end(), text.begin(), text.end());
    return *this;
  }
  Encoder& raw(const Bytes& data) {
    bytes.insert(bytes.end(), data.begin(), data.end());
    return *this;
  }
  Encoder& dims(const std::vector<std::int64_t>& extents) {
    u32(extents.size());
    for (std::int64_t extent : extents) u64(static_cast<std::uint64_t>(extent));
    return *this;
  }
  Encoder& section(const char* tag, const Bytes& body) {
    bytes.insert(bytes.end(), tag, tag + 4);
    u64(body.size());
    return raw(body);
  }

  Bytes bytes;

 private:
  Encoder& little(std::uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    return *this;
  }
};

Bytes fileWithPayload(const Bytes& payload, std::uint32_t version = eng::kFormatVersion) {
  Encoder file;
  file.raw(Bytes{'M', 'L', 'P', 'R', 'T', 'E', 'N', 'G'}).u32(version).u32(0).u64(payload.size()).u64(fnv1a(payload));
  return file.raw(payload).bytes;
}

// A small plan in raw values (any of which a test may set out of range): x -> relu -> h, h + w -> y.
struct RawTensor {
  std::string name;
  std::int32_t type;
  std::vector<std::int64_t> shape;
  std::uint8_t role;
  std::uint64_t offset;
  std::uint64_t capacity;
};
struct RawStep {
  std::string name;
  std::uint8_t kind;
  Bytes body;
  std::vector<std::int32_t> inputs;
  std::int32_t output;
  std::int32_t bias = -1;
  std::uint8_t has_activation = 0;
  std::uint8_t activation_type = 0;
};
struct RawPlan {
  std::uint64_t arena = 64;
  std::optional<std::uint32_t> tensor_count;  // what the file claims, if not tensors.size()
  std::vector<RawTensor> tensors = {
      {"x", 0, {-1, 4}, 0, 0, 0}, {"y", 0, {-1, 4}, 1, 0, 0}, {"w", 0, {4}, 3, 0, 16}, {"h", 0, {-1, 4}, 2, 0, 64}};
  std::vector<std::int32_t> inputs = {0};
  std::vector<std::int32_t> outputs = {1};
  std::vector<RawStep> steps = {{"relu", 3, Encoder().u8(0).f32(0).f32(0).bytes, {0}, 3},
                                {"add", 2, Encoder().u8(0).bytes, {3, 2}, 1}};
  std::vector<std::array<std::vector<std::int64_t>, 3>> profiles = {{{{1, 4}, {8, 4}, {32, 4}}}};
  std::vector<std::array<std::int32_t, 4>> shared;  // input, axis, input, axis (label "n")
  std::uint64_t weights_size = 16;
  std::optional<std::uint64_t> weights_length;  // what the file claims, if not weights_size
  std::string meta_version = "0.1.0";
  std::uint32_t version = eng::kFormatVersion;
  // Tactic ranges per step index (the STEP section's trailer, version 11 on).
  std::vector<std::pair<std::uint32_t, std::vector<std::pair<std::int64_t, std::string>>>> ranges;
  // Steps adding their residual after the activation (after the ranges' trailer, version 17 on).
  std::vector<std::uint32_t> residuals_after;
};

Bytes encodeSteps(const RawPlan& raw) {
  Encoder steps;
  steps.u32(raw.steps.size());
  for (const RawStep& step : raw.steps) {
    steps.str(step.name).u8(step.kind).raw(step.body).u32(step.inputs.size());
    for (std::int32_t input : step.inputs) steps.u32(static_cast<std::uint32_t>(input));
    steps.u32(static_cast<std::uint32_t>(step.output)).u32(static_cast<std::uint32_t>(step.bias));
    steps.u8(step.has_activation).u8(step.activation_type).f32(0).f32(0).str("");
  }
  if (!raw.ranges.empty() || !raw.residuals_after.empty()) {  // version 11's trailer: (step index, ranges)
    steps.u32(raw.ranges.size());
    for (const auto& [index, ranges] : raw.ranges) {
      steps.u32(index).u32(ranges.size());
      for (const auto& [bound, tactic] : ranges) steps.u64(static_cast<std::uint64_t>(bound)).str(tactic);
    }
  }
  if (!raw.residuals_after.empty()) {  // version 17's: step indices
    steps.u32(raw.residuals_after.size());
    for (std::uint32_t index : raw.residuals_after) steps.u32(index);
  }
  return steps.bytes;
}

Bytes encode(const RawPlan& raw) {
  Encoder meta;
  meta.str(raw.meta_version).str("platform").str("device").str("vendor").str("driver").str("OpenCL 1.2").u8(0);
  Encoder tensors;
  tensors.u64(raw.arena).u32(raw.tensor_count.value_or(static_cast<std::uint32_t>(raw.tensors.size())));
  for (const RawTensor& t : raw.tensors) {
    tensors.str(t.name).u32(static_cast<std::uint32_t>(t.type)).dims(t.shape).u8(t.role).u64(t.offset).u64(t.capacity);
  }
  Encoder bindings;
  bindings.u32(raw.inputs.size());
  for (std::int32_t id : raw.inputs) bindings.u32(static_cast<std::uint32_t>(id));
  bindings.u32(raw.outputs.size());
  for (std::int32_t id : raw.outputs) bindings.u32(static_cast<std::uint32_t>(id));
  Encoder profiles;
  profiles.u32(raw.profiles.size());
  for (const auto& profile : raw.profiles) {
    for (const auto& shape : profile) profiles.u32(1).dims(shape);
  }
  profiles.u32(raw.shared.size());
  for (const auto& axes : raw.shared) {
    for (std::int32_t value : axes) profiles.u32(static_cast<std::uint32_t>(value));
    profiles.str("n");
  }
  Encoder weights;
  weights.u64(raw.weights_length.value_or(raw.weights_size)).raw(Bytes(raw.weights_size, 0x5a));
  Encoder programs;
  programs.u32(1).str("elementwise").str("-DX").str("abc").u64(3).raw(Bytes{1, 2, 3});
  Encoder payload;
  payload.section("META", meta.bytes).section("TENS", tensors.bytes).section("BIND", bindings.bytes);
  payload.section("STEP", encodeSteps(raw)).section("PROF", profiles.bytes).section("WGHT", weights.bytes);
  payload.section("PROG", programs.bytes);
  return fileWithPayload(payload.bytes, raw.version);
}

// The plan that encode(RawPlan{}) describes, built through the library's types.
eng::EnginePlan smallPlan() {
  eng::EnginePlan plan;
  plan.mlprt_version = "0.1.0";
  plan.device = {"platform", "device", "vendor", "driver", "OpenCL 1.2"};
  plan.arena_bytes = 64;
  plan.tensors = {tensor("x", DataType::kFLOAT, Dims{-1, 4}, eng::TensorRole::kInput, 0, 0),
                  tensor("y", DataType::kFLOAT, Dims{-1, 4}, eng::TensorRole::kOutput, 0, 0),
                  tensor("w", DataType::kFLOAT, Dims{4}, eng::TensorRole::kConstant, 0, 16),
                  tensor("h", DataType::kFLOAT, Dims{-1, 4}, eng::TensorRole::kActivation, 0, 64)};
  plan.inputs = {0};
  plan.outputs = {1};
  eng::PlanStep relu;
  relu.name = "relu";
  relu.parameters = net::ActivationLayer{};
  relu.inputs = {0};
  relu.output = 3;
  eng::PlanStep add;
  add.name = "add";
  add.parameters = net::ElementWiseLayer{};
  add.inputs = {3, 2};
  add.output = 1;
  plan.steps = {relu, add};
  plan.profiles = {{{Dims{1, 4}}, {Dims{8, 4}}, {Dims{32, 4}}}};
  plan.weights = Bytes(16, 0x5a);
  plan.programs = {{"elementwise", "-DX", "abc", Bytes{1, 2, 3}}};
  return plan;
}

// Reading the crafted file fails with a message that contains every one of `parts`.
void expectRejected(const RawPlan& raw, const std::vector<std::string>& parts) {
  const std::string message = readError(encode(raw));
  for (const std::string& part : parts) EXPECT_TRUE(contains(message, part)) << "\"" << part << "\" not in: " << message;
}

constexpr std::size_t kHeaderBytes = 32;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Round trips and determinism

TEST(EngineFormat, FullPlanUsesEveryLayerKind) {
  std::set<std::size_t> kinds;
  for (const eng::PlanStep& step : fullPlan().steps) kinds.insert(step.parameters.index());
  EXPECT_EQ(kinds.size(), std::variant_size_v<net::LayerParameters>);
}

TEST(EngineFormat, RoundTripKeepsEveryField) {
  const eng::EnginePlan plan = fullPlan();
  const Bytes file = eng::serializePlan(plan);
  expectSame(deserialize(file), plan);
}

TEST(EngineFormat, RoundTripOfAnEmptyPlan) {
  const eng::EnginePlan empty;
  const Bytes file = eng::serializePlan(empty);
  expectSame(deserialize(file), empty);
  EXPECT_EQ(eng::serializePlan(deserialize(file)), file);
}

TEST(EngineFormat, SerializationIsDeterministic) {
  const Bytes first = eng::serializePlan(fullPlan());
  EXPECT_EQ(eng::serializePlan(fullPlan()), first);
  EXPECT_EQ(eng::serializePlan(deserialize(first)), first);
}

TEST(EngineFormat, FloatBitsSurviveExactly) {
  eng::EnginePlan plan = smallPlan();
  const float nan_with_payload = [] {
    const std::uint32_t bits = 0x7fc12345u;
    float value = 0.0f;
    std::memcpy(&value, &bits, 4);
    return value;
  }();
  plan.steps[0].parameters = net::ActivationLayer{net::ActivationType::kELU, nan_with_payload, -0.0f};
  const Bytes file = eng::serializePlan(plan);
  const eng::EnginePlan read = deserialize(file);
  const auto& activation = std::get<net::ActivationLayer>(read.steps[0].parameters);
  EXPECT_TRUE(std::isnan(activation.alpha));
  EXPECT_TRUE(std::signbit(activation.beta));
  EXPECT_EQ(eng::serializePlan(deserialize(file)), file);
}

// The documented layout, encoded independently, is exactly what the library writes.
TEST(EngineFormat, WriterMatchesTheDocumentedLayout) {
  EXPECT_EQ(eng::serializePlan(smallPlan()), encode(RawPlan{}));
  expectSame(deserialize(encode(RawPlan{})), smallPlan());
}

TEST(EngineFormat, HeaderFields) {
  const Bytes file = eng::serializePlan(smallPlan());
  ASSERT_GE(file.size(), kHeaderBytes);
  EXPECT_EQ(std::string(file.begin(), file.begin() + 8), "MLPRTENG");
  EXPECT_EQ(file[8], eng::kFormatVersion);
  std::uint64_t payload_size = 0;
  for (int i = 0; i < 8; ++i) payload_size |= static_cast<std::uint64_t>(file[16 + i]) << (8 * i);
  EXPECT_EQ(payload_size, file.size() - kHeaderBytes);
}

// ---------------------------------------------------------------------------------------------
// Damaged files

TEST(EngineFormat, EveryTruncationFailsCleanly) {
  const Bytes file = eng::serializePlan(fullPlan());
  for (std::size_t length = 0; length < file.size(); ++length) {
    const Bytes prefix(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(length));
    const std::string message = readError(prefix);
    // A prefix of the magic is a truncated engine, not some other file.
    const char* expected = length == 0 ? "it is empty" : "engine file is truncated";
    EXPECT_TRUE(contains(message, expected)) << length << ": " << message;
  }
}

TEST(EngineFormat, TruncationMessageGivesTheByteCounts) {
  const Bytes file = eng::serializePlan(smallPlan());
  const Bytes prefix(file.begin(), file.end() - 10);
  const std::string payload = std::to_string(file.size() - kHeaderBytes);
  const std::string present = std::to_string(file.size() - kHeaderBytes - 10);
  EXPECT_EQ(readError(prefix), "engine file is truncated: the header announces a payload of " + payload +
                                   " bytes but only " + present + " bytes follow the header");
}

TEST(EngineFormat, EveryBitFlipInThePayloadIsCaughtByTheChecksum) {
  const Bytes file = eng::serializePlan(fullPlan());
  for (std::size_t at = kHeaderBytes; at < file.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes damaged = file;
      damaged[at] = static_cast<std::uint8_t>(damaged[at] ^ (1u << bit));
      const std::string message = readError(damaged);
      ASSERT_TRUE(contains(message, "engine file is corrupted: checksum mismatch")) << at << ": " << message;
    }
  }
}

TEST(EngineFormat, EveryBitFlipInTheHeaderFailsCleanly) {
  const Bytes file = eng::serializePlan(fullPlan());
  for (std::size_t at = 0; at < kHeaderBytes; ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes damaged = file;
      damaged[at] = static_cast<std::uint8_t>(damaged[at] ^ (1u << bit));
      const std::string message = readError(damaged);
      if (at < 8) {
        EXPECT_TRUE(contains(message, "not an mlprt engine file")) << at << ": " << message;
      }
    }
  }
}

// fullPlan() with only what format `version` holds (version 17's residual after the activation,
// 15's second residual, 13's reformat tactic). Its attention step has version 16's fields
// (the BOOL mask's values), which no older reader expects: versions 13 to 15 get a cumulative
// step in its place; the tests of versions before 13 replace it where they need to.
eng::EnginePlan fullPlanOfVersion(std::uint32_t version) {
  eng::EnginePlan plan = fullPlan();
  for (eng::PlanStep& step : plan.steps) {
    if (version >= 13 && version < 16 && std::holds_alternative<net::AttentionLayer>(step.parameters)) {
      step.parameters = net::CumulativeLayer{};
    }
    if (version < 13 && std::holds_alternative<net::IdentityLayer>(step.parameters)) step.tactic.clear();
    if (version < 15 && std::holds_alternative<net::NormalizationLayer>(step.parameters)) step.inputs.resize(3);
    if (version < 17) step.epilogue.residual_after_activation = false;
  }
  return plan;
}

TEST(EngineFormat, OlderVersionsRefuseLaterKindsAndCodes) {
  Bytes reformat = eng::serializePlan(fullPlanOfVersion(14));
  reformat[8] = 12;  // version 12 knows no reformat steps
  EXPECT_TRUE(contains(readError(reformat), "an Identity step's tactic ('reformat_to_hwc') needs format version 13"))
      << readError(reformat);
  // Version 13's channels-last convolutions read LINEAR kernels, which 14 stores channels-last.
  eng::EnginePlan hwc_convolution = fullPlanOfVersion(14);
  for (eng::PlanStep& step : hwc_convolution.steps) {
    if (std::holds_alternative<net::ConvolutionLayer>(step.parameters)) step.tactic = "hwc_igemm_t2x2";
  }
  Bytes version13 = eng::serializePlan(hwc_convolution);
  EXPECT_NO_THROW(deserialize(version13));
  version13[8] = 13;
  EXPECT_TRUE(contains(readError(version13), "channels-last convolution tactic 'hwc_igemm_t2x2' read its kernel LINEAR "
                                             "in format version 13; this mlprt reads it channels-last (version " +
                                                 std::to_string(eng::kFormatVersion) + "): rebuild the engine"))
      << readError(version13);
  // Version 15's normalizations add up to two residuals; 14's at most one.
  Bytes version14 = eng::serializePlan(fullPlanOfVersion(15));
  EXPECT_NO_THROW(deserialize(version14));
  version14[8] = 14;
  EXPECT_TRUE(contains(readError(version14), "a Normalization step with 2 residuals needs format version 15"))
      << readError(version14);
  Bytes file = eng::serializePlan(fullPlanOfVersion(12));
  eng::EnginePlan dense_attention = fullPlanOfVersion(12);
  dense_attention.steps.at(23).parameters = net::CumulativeLayer{};
  Bytes kinds = eng::serializePlan(dense_attention);
  kinds[8] = 9;  // version 9 knows layer kinds 0 to 23
  EXPECT_TRUE(contains(readError(kinds), "is not a layer kind of format version 9 (0 to 23)")) << readError(kinds);
  eng::EnginePlan older_kinds = fullPlanOfVersion(12);
  older_kinds.steps.at(24).parameters = net::CumulativeLayer{};
  Bytes packed = eng::serializePlan(older_kinds);
  packed[8] = 9;  // version 9's attention steps end before `packed`: the bytes that follow misread
  EXPECT_TRUE(contains(readError(packed), "section STEP")) << readError(packed);
  eng::EnginePlan without_attention = older_kinds;
  without_attention.steps.at(23).parameters = net::CumulativeLayer{};
  Bytes older = eng::serializePlan(without_attention);
  older[8] = 9;
  EXPECT_NO_THROW(deserialize(older));
  older[8] = 8;  // version 8 knows no shared extents (the PROF section has bytes left)
  EXPECT_TRUE(contains(readError(older), "section PROF")) << readError(older);
  file[8] = 7;  // version 7 knows layer kinds 0 to 22
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 7 (0 to 22)")) << readError(file);
  file[8] = 6;  // versions 5 and 6 know layer kinds 0 to 20
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 6 (0 to 20)")) << readError(file);
  file[8] = 4;  // version 4 knows layer kinds 0 to 19
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 4 (0 to 19)")) << readError(file);
  file[8] = 3;  // version 3 knows layer kinds 0 to 12
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 3 (0 to 12)")) << readError(file);
  file[8] = 2;  // version 2 knows layer kinds 0 to 11
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 2 (0 to 11)")) << readError(file);
  file[8] = 1;
  EXPECT_TRUE(contains(readError(file), "is not a layer kind of format version 1 (0 to 10)")) << readError(file);
  eng::EnginePlan plan = smallPlan();
  plan.steps[1].parameters = net::ElementWiseLayer{net::ElementWiseOperation::kLESS};
  Bytes comparison = eng::serializePlan(plan);
  EXPECT_EQ(std::get<net::ElementWiseLayer>(deserialize(comparison).steps[1].parameters).op,
            net::ElementWiseOperation::kLESS);
  comparison[8] = 2;  // version 2 knows ElementWiseOperation 0 to 6
  EXPECT_TRUE(contains(readError(comparison), "value 13 is not valid (0 to 6)")) << readError(comparison);
  plan.steps[1].parameters = net::UnaryLayer{net::UnaryOperation::kATANH};
  Bytes trigonometry = eng::serializePlan(plan);
  EXPECT_EQ(std::get<net::UnaryLayer>(deserialize(trigonometry).steps[1].parameters).op, net::UnaryOperation::kATANH);
  trigonometry[8] = 5;  // version 5 knows UnaryOperation 0 to 7
  EXPECT_TRUE(contains(readError(trigonometry), "value 24 is not valid (0 to 7)")) << readError(trigonometry);
  plan.steps[1].parameters = net::ElementWiseLayer{net::ElementWiseOperation::kSHIFT_RIGHT};
  Bytes shift = eng::serializePlan(plan);
  EXPECT_EQ(std::get<net::ElementWiseLayer>(deserialize(shift).steps[1].parameters).op,
            net::ElementWiseOperation::kSHIFT_RIGHT);
  shift[8] = 6;  // version 6 knows ElementWiseOperation 0 to 15
  EXPECT_TRUE(contains(readError(shift), "value 20 is not valid (0 to 15)")) << readError(shift);
}

// Version 10 added AttentionLayer's packed, heads and kv_heads after its older fields: a version-9
// step lacks them and reads with its operands dense; at version 10 the same bytes are too short.
TEST(EngineFormat, Version9AttentionStepsReadWithDenseOperands) {
  RawPlan raw;
  raw.version = 9;
  raw.steps[0] = {"attention", 23, Encoder().f32(0.5f).u8(1).u8(0).u8(1).u8(0).bytes, {0, 0, 0}, 3};
  const eng::EnginePlan plan = deserialize(encode(raw));
  const auto& attention = std::get<net::AttentionLayer>(plan.steps[0].parameters);
  EXPECT_EQ(attention.scale, 0.5f);
  EXPECT_TRUE(attention.causal);
  EXPECT_FALSE(attention.has_mask);
  EXPECT_TRUE(attention.keys_transposed);
  EXPECT_EQ(attention.packed, 0u);
  EXPECT_EQ(attention.heads, 0);
  EXPECT_EQ(attention.kv_heads, 0);
  raw.version = 10;
  raw.steps[0].body = Encoder().f32(0.5f).u8(1).u8(0).u8(0).u8(0).u32(5).u32(4).u32(2).bytes;
  const eng::EnginePlan current = deserialize(encode(raw));
  const auto& packed = std::get<net::AttentionLayer>(current.steps[0].parameters);
  EXPECT_EQ(packed.packed, 5u);
  EXPECT_EQ(packed.heads, 4);
  EXPECT_EQ(packed.kv_heads, 2);
  EXPECT_EQ(packed.softcap, 0.0f);  // version 11 added softcap after kv_heads
  raw.version = 11;
  raw.steps[0].body = Encoder().f32(0.5f).u8(1).u8(0).u8(0).u8(0).u32(5).u32(4).u32(2).f32(2.5f).bytes;
  const eng::EnginePlan version11 = deserialize(encode(raw));
  const auto& capped = std::get<net::AttentionLayer>(version11.steps[0].parameters);
  EXPECT_EQ(capped.softcap, 2.5f);
  EXPECT_EQ(capped.mask_batch_period, 0);  // version 12 added mask_batch_period after softcap
  raw.version = 12;
  raw.steps[0].body = Encoder().f32(0.5f).u8(1).u8(1).u8(0).u8(0).u32(5).u32(4).u32(2).f32(0.0f).u32(64).u8(1).bytes;
  raw.steps[0].inputs = {0, 0, 0, 0};
  const eng::EnginePlan version12 = deserialize(encode(raw));
  const auto& latest = std::get<net::AttentionLayer>(version12.steps[0].parameters);
  EXPECT_EQ(latest.mask_batch_period, 64);  // version 12 added mask_batch_period and merged_qkv after softcap
  EXPECT_TRUE(latest.merged_qkv);
  EXPECT_EQ(latest.mask_if_true, 0.0f);  // version 16 added the BOOL mask's values after merged_qkv
  EXPECT_EQ(latest.mask_if_false, -std::numeric_limits<float>::infinity());
  raw.version = 16;
  const Bytes body12 = raw.steps[0].body;
  raw.steps[0].body = Encoder().raw(body12).f32(0.25f).f32(std::numeric_limits<float>::lowest()).bytes;
  const eng::EnginePlan version16 = deserialize(encode(raw));
  const auto& boolean = std::get<net::AttentionLayer>(version16.steps[0].parameters);
  EXPECT_EQ(boolean.mask_if_true, 0.25f);
  EXPECT_EQ(boolean.mask_if_false, std::numeric_limits<float>::lowest());
  raw.steps[0].body = body12;  // a version-16 step without them is short
  EXPECT_FALSE(readError(encode(raw)).empty());
}

// Version 11 added the steps' tactic ranges, as a trailer of the STEP section present only when
// some step has them: ascending bounds, the last unbounded, each naming a tactic. A plan with
// ranges round-trips; without, its file is that of version 10 but for the version.
TEST(EngineFormat, TacticRangesAreReadAndChecked) {
  constexpr std::int64_t kUnbounded = std::numeric_limits<std::int64_t>::max();
  eng::EnginePlan ranged = smallPlan();
  ranged.steps[1].tactic_ranges = {{7, "small_m1"}, {700, "small_m8"}, {kUnbounded, "tiled_m4n4_k16"}};
  expectSame(deserialize(eng::serializePlan(ranged)), ranged);
  RawPlan raw;
  raw.ranges = {{0, {{31, "small_m1"}, {kUnbounded, "tiled_m4n4_k16"}}}};
  const eng::EnginePlan plan = deserialize(encode(raw));
  ASSERT_EQ(plan.steps[0].tactic_ranges.size(), 2u);
  EXPECT_EQ(plan.steps[0].tactic_ranges[0].up_to_elements, 31);
  EXPECT_EQ(plan.steps[0].tactic_ranges[1].tactic, "tiled_m4n4_k16");
  EXPECT_EQ(eng::tacticAt(plan.steps[0], 31), "small_m1");
  EXPECT_EQ(eng::tacticAt(plan.steps[0], 32), "tiled_m4n4_k16");
  EXPECT_EQ(eng::tacticAt(plan.steps[1], 32), "");  // no ranges: the step's tactic
  const auto error = [&raw](std::vector<std::pair<std::uint32_t, std::vector<std::pair<std::int64_t, std::string>>>> ranges) {
    RawPlan bad = raw;
    bad.ranges = std::move(ranges);
    return readError(encode(bad));
  };
  std::string message = error({{0, {{31, "small_m1"}, {31, "small_m8"}, {kUnbounded, "tiled_m4n4_k16"}}}});
  EXPECT_TRUE(contains(message, "value 31 does not exceed the previous range's bound")) << message;
  message = error({{0, {{31, "small_m1"}, {64, "small_m8"}}}});
  EXPECT_TRUE(contains(message, "value 64 must be the largest 64-bit integer (the last range is unbounded)")) << message;
  message = error({{0, {{31, ""}, {kUnbounded, "small_m8"}}}});
  EXPECT_TRUE(contains(message, "a tactic range names no tactic")) << message;
  message = error({{1, {{kUnbounded, "small_m8"}}}, {0, {{kUnbounded, "small_m8"}}}});
  EXPECT_TRUE(contains(message, "value 0 is not a later step than the previous one (2 steps)")) << message;
  message = error({{2, {{kUnbounded, "small_m8"}}}});
  EXPECT_TRUE(contains(message, "value 2 is not a later step")) << message;
  RawPlan older = raw;  // version 10 has no trailer: its bytes are left over
  older.version = 10;
  EXPECT_TRUE(contains(readError(encode(older)), "unread bytes")) << readError(encode(older));
}

// Version 17 added the convolutions that add their residual after the activation, as a trailer
// after the tactic ranges' (whose count then comes, 0 or more). Indices ascend and name
// convolutions with a residual; version 16 reads none.
TEST(EngineFormat, ResidualsAfterTheActivationAreReadAndChecked) {
  eng::EnginePlan plan = fullPlan();
  const eng::EnginePlan read = deserialize(eng::serializePlan(plan));
  expectSame(read, plan);
  EXPECT_EQ(std::count_if(read.steps.begin(), read.steps.end(),
                          [](const eng::PlanStep& step) { return step.epilogue.residual_after_activation; }),
            1);
  RawPlan raw;  // its steps: an activation and an elementwise sum
  raw.residuals_after = {0};
  std::string message = readError(encode(raw));
  EXPECT_TRUE(contains(message, "residuals after the activation, step index: step 0 \"relu\" is no convolution with a "
                                "residual (input 3) to add after its activation")) << message;
  raw.residuals_after = {5};
  message = readError(encode(raw));
  EXPECT_TRUE(contains(message, "value 5 is not a later step than the previous one (2 steps)")) << message;
  Bytes older = eng::serializePlan(plan);
  older[8] = 16;  // version 16 has no such trailer: its bytes are left over
  EXPECT_TRUE(contains(readError(older), "8 unread bytes")) << readError(older);
}

TEST(EngineFormat, TrailingBytesAreRejected) {
  Bytes file = eng::serializePlan(smallPlan());
  file.push_back(0);
  EXPECT_TRUE(contains(readError(file), "1 unexpected bytes follow"));
}

TEST(EngineFormat, NewerVersionSaysToRebuild) {
  Bytes file = eng::serializePlan(smallPlan());
  file[8] = static_cast<std::uint8_t>(eng::kFormatVersion + 1);
  EXPECT_EQ(readError(file), "engine file format version " + std::to_string(eng::kFormatVersion + 1) +
                                 " is newer than this mlprt supports (up to " + std::to_string(eng::kFormatVersion) +
                                 "); rebuild the engine with this version");
  // The version is checked before the sizes: a newer, longer header is not "truncated".
  EXPECT_TRUE(contains(readError(Bytes(file.begin(), file.begin() + 40)), "is newer than"));
}

TEST(EngineFormat, VersionZeroIsRejected) {
  EXPECT_TRUE(contains(readError(fileWithPayload(Bytes{}, 0)), "format version 0"));
}

TEST(EngineFormat, EmptyInputIsNotAnEngine) {
  EXPECT_EQ(readError(Bytes{}), "not an mlprt engine file: it is empty");
  EXPECT_THROW(eng::deserializePlan(nullptr, 0), eng::EngineFormatError);
}

TEST(EngineFormat, OtherFilesAreNotEngines) {
  const std::string onnx = "\x08\x07\x12\x07pytorch-model-bytes-that-go-on-for-a-while....";
  EXPECT_EQ(readError(Bytes(onnx.begin(), onnx.end())), "not an mlprt engine file: it does not start with \"MLPRTENG\"");
}

TEST(EngineFormat, ErrorsAreInvalidArguments) {
  EXPECT_THROW(deserialize(Bytes{1, 2, 3}), mlprt::InvalidArgument);
}

TEST(EngineFormat, LooksLikeEngine) {
  const Bytes file = eng::serializePlan(smallPlan());
  EXPECT_TRUE(eng::looksLikeEngine(file.data(), file.size()));
  EXPECT_TRUE(eng::looksLikeEngine(file.data(), kHeaderBytes));  // header only: still "looks like"
  EXPECT_FALSE(eng::looksLikeEngine(file.data(), kHeaderBytes - 1));
  EXPECT_FALSE(eng::looksLikeEngine(file.data(), 0));
  EXPECT_FALSE(eng::looksLikeEngine(nullptr, 0));
  Bytes other = file;
  other[0] = 'X';
  EXPECT_FALSE(eng::looksLikeEngine(other.data(), other.size()));
}

// ---------------------------------------------------------------------------------------------
// Crafted payloads with a correct checksum

TEST(EngineFormat, CraftedHugeTensorCountFailsBeforeAllocating) {
  RawPlan raw;
  raw.tensor_count = 0xffffffffu;
  expectRejected(raw, {"engine file is malformed", "section TENS", "tensor count", "count 4294967295"});
}

TEST(EngineFormat, CraftedHugeByteArrayFailsBeforeAllocating) {
  RawPlan raw;
  raw.weights_length = std::uint64_t{1} << 40;
  expectRejected(raw, {"section WGHT", "weights", "length 1099511627776"});
}

TEST(EngineFormat, CraftedHugeSectionLength) {
  Encoder payload;
  payload.raw(Bytes{'M', 'E', 'T', 'A'}).u64(std::uint64_t{1} << 40);
  const std::string message = readError(fileWithPayload(payload.bytes));
  EXPECT_TRUE(contains(message, "section META, length")) << message;
  EXPECT_TRUE(contains(message, "(at byte 36)")) << message;
}

TEST(EngineFormat, CraftedHugeStringLength) {
  Bytes file = encode(RawPlan{});
  // META starts at byte 32; its first field, mlprt_version's length, at 32 + 4 + 8.
  file[44 + 3] = 0x7f;
  const Bytes payload(file.begin() + kHeaderBytes, file.end());
  const std::string message = readError(fileWithPayload(payload));
  EXPECT_TRUE(contains(message, "section META, mlprt_version: count")) << message;
  EXPECT_TRUE(contains(message, "(at byte 44)")) << message;
}

TEST(EngineFormat, CraftedOutOfRangeTensorIds) {
  RawPlan output;
  output.steps[1].output = 4;
  expectRejected(output, {"section STEP", "step 1 \"add\"", "output", "tensor id 4 is out of range"});
  RawPlan input;
  input.steps[0].inputs = {-7};
  expectRejected(input, {"step 0 \"relu\"", "inputs", "tensor id -7"});
  RawPlan bias;
  bias.steps[0].bias = 99;
  expectRejected(bias, {"epilogue.bias", "tensor id 99"});
  RawPlan binding;
  binding.outputs = {12};
  expectRejected(binding, {"section BIND", "outputs", "tensor id 12"});
}

TEST(EngineFormat, CraftedBadEnums) {
  RawPlan role;
  role.tensors[3].role = 4;
  expectRejected(role, {"section TENS", "tensor 3 \"h\"", "role", "value 4 is not valid"});
  RawPlan type;
  type.tensors[0].type = 6;
  expectRejected(type, {"tensor 0 \"x\"", "type", "value 6 is not a DataType"});
  RawPlan kind;
  const std::size_t first_unknown_kind = std::variant_size_v<net::LayerParameters>;
  kind.steps[1].kind = static_cast<std::uint8_t>(first_unknown_kind);
  expectRejected(kind, {"step 1", "layer kind", "value " + std::to_string(first_unknown_kind) + " is not a layer kind"});
  RawPlan activation;
  activation.steps[0].body = Encoder().u8(13).f32(0).f32(0).bytes;
  expectRejected(activation, {"step 0", "type", "value 13 is not valid (0 to 12)"});
  RawPlan epilogue;
  epilogue.steps[0].activation_type = 200;
  expectRejected(epilogue, {"epilogue.activation.type", "value 200"});
  RawPlan boolean;
  boolean.steps[0].has_activation = 2;
  expectRejected(boolean, {"epilogue.has_activation", "must be 0 or 1"});
}

TEST(EngineFormat, CraftedBadDims) {
  RawPlan rank;
  rank.tensors[0].shape = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  expectRejected(rank, {"tensor 0 \"x\"", "shape", "rank 9 exceeds the maximum of 8"});
  RawPlan extent;
  extent.tensors[2].shape = {-2};
  expectRejected(extent, {"tensor 2 \"w\"", "shape", "extent -2 is negative"});
}

TEST(EngineFormat, CraftedErrorGivesTheByteOffset) {
  RawPlan raw;
  raw.tensors[0].shape = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  // TENS follows META, whose length is read from the file: its tag and length, then its body.
  const Bytes good = encode(RawPlan{});
  std::size_t meta_length = 0;
  for (int i = 0; i < 8; ++i) meta_length |= static_cast<std::size_t>(good[36 + i]) << (8 * i);
  // TENS body: arena (8), count (4), then tensor 0: name "x" (4 + 1), type (4), then the rank.
  const std::size_t rank_at = kHeaderBytes + 12 + meta_length + 12 + 8 + 4 + 5 + 4;
  EXPECT_EQ(readError(encode(raw)),
            "engine file is malformed: section TENS, tensor 0 \"x\", shape: rank 9 exceeds the maximum of 8 (at byte " +
                std::to_string(rank_at) + ")");
}

TEST(EngineFormat, CraftedGraphErrors) {
  RawPlan twice;
  twice.steps[1].output = 3;
  expectRejected(twice, {"step 1", "output", "written by an earlier step"});
  RawPlan into_input;
  into_input.steps[0].output = 0;
  expectRejected(into_input, {"step 0", "no step may write it"});
  RawPlan constant;
  constant.tensors[2].offset = 8;
  expectRejected(constant, {"section WGHT", "constant tensor 2 \"w\"", "outside the 16 bytes of weights"});
  RawPlan overflow;
  overflow.tensors[2].offset = std::numeric_limits<std::uint64_t>::max() - 4;
  expectRejected(overflow, {"constant tensor 2"});
  RawPlan small_constant;
  small_constant.tensors[2].capacity = 15;
  expectRejected(small_constant, {"tensor 2 \"w\"", "capacity", "less than the 16 bytes"});
  RawPlan arena;
  arena.arena = 63;
  expectRejected(arena, {"tensor 3 \"h\"", "outside the arena of 63 bytes"});
  RawPlan wrong_role;
  wrong_role.inputs = {3};
  expectRejected(wrong_role, {"section BIND", "inputs", "does not have the role kInput"});
  RawPlan output_role;
  output_role.outputs = {0};
  expectRejected(output_role, {"outputs", "does not have the role kOutput"});
  RawPlan same_name;
  same_name.tensors[1].name = "x";
  expectRejected(same_name, {"a second input or output is named \"x\""});
}

TEST(EngineFormat, CraftedProfileErrors) {
  RawPlan count;
  count.inputs = {};
  expectRejected(count, {"section PROF", "profile 0", "min", "1 shapes for 0 network inputs"});
  RawPlan rank;
  rank.profiles[0][2] = {32, 4, 1};
  expectRejected(rank, {"profile 0", "max", "of rank 2"});
  RawPlan shared_input;
  shared_input.shared = {{0, 0, 1, 0}};
  expectRejected(shared_input, {"section PROF", "shared extent 0", "second_input", "1 is not one of the 1 network inputs"});
  RawPlan shared_axis;
  shared_axis.shared = {{0, 0, 0, 2}};
  expectRejected(shared_axis, {"shared extent 0", "second_axis", "2 is not an axis of a rank-2 input"});
}

TEST(EngineFormat, CraftedSectionFramingErrors) {
  // A section body with a byte too many (its length says so), then one too few.
  const Bytes file = encode(RawPlan{});
  Bytes payload(file.begin() + kHeaderBytes, file.end());
  const std::size_t meta_length = payload[4];  // META's body is shorter than 256 bytes
  payload.insert(payload.begin() + static_cast<std::ptrdiff_t>(12 + meta_length), 0);
  payload[4] = static_cast<std::uint8_t>(meta_length + 1);
  const std::string message = readError(fileWithPayload(payload));
  EXPECT_TRUE(contains(message, "engine file is malformed: section META, end of section: 1 unread bytes")) << message;

  Encoder wrong_tag;
  wrong_tag.section("TENS", Bytes{});
  EXPECT_TRUE(contains(readError(fileWithPayload(wrong_tag.bytes)), "section META, tag: found \"TENS\""));

  Encoder short_body;
  short_body.section("META", Bytes{0, 0});
  EXPECT_TRUE(contains(readError(fileWithPayload(short_body.bytes)), "section META, mlprt_version"));

  Bytes extra = encode(RawPlan{});
  Bytes extra_payload(extra.begin() + kHeaderBytes, extra.end());
  extra_payload.push_back(0);
  EXPECT_TRUE(contains(readError(fileWithPayload(extra_payload)), "unexpected bytes after the last section"));

  EXPECT_TRUE(contains(readError(fileWithPayload(Bytes{})), "section META, tag"));
}

// `file` with the `width`-byte field at `offset` into section `tag`'s body set to `value`, and the
// checksum made right again.
Bytes patched(const Bytes& file, const char* tag, std::size_t offset, std::uint64_t value, std::size_t width) {
  Bytes payload(file.begin() + kHeaderBytes, file.end());
  std::size_t at = 0;
  while (std::memcmp(payload.data() + at, tag, 4) != 0) {
    std::uint64_t length = 0;
    for (int i = 0; i < 8; ++i) length |= static_cast<std::uint64_t>(payload[at + 4 + i]) << (8 * i);
    at += 12 + static_cast<std::size_t>(length);
  }
  for (std::size_t i = 0; i < width; ++i) payload[at + 12 + offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
  return fileWithPayload(payload);
}

// A count of 2^32-1 or a byte length of 2^40 anywhere is refused by comparing it with the bytes
// that remain, before anything is reserved (the fuzzer, whose allocations are capped at 64 MiB,
// holds the reader to that); each message names the section and the field.
TEST(EngineFormat, CraftedHugeCountsInEverySectionFailBeforeAllocating) {
  const Bytes file = encode(RawPlan{});
  constexpr std::uint64_t kHugeCount = 0xffffffffu;
  constexpr std::uint64_t kHugeLength = std::uint64_t{1} << 40;
  const struct {
    const char* tag;
    std::size_t offset;
    std::uint64_t value;
    std::size_t width;
    std::vector<std::string> parts;
  } cases[] = {
      {"BIND", 0, kHugeCount, 4, {"section BIND", "inputs", "count 4294967295"}},
      {"BIND", 8, kHugeCount, 4, {"section BIND", "outputs", "count 4294967295"}},
      {"STEP", 0, kHugeCount, 4, {"section STEP", "step count", "count 4294967295"}},
      // step 0: count (4), name "relu" (4 + 4), kind (1), activation body (9), then its inputs
      {"STEP", 22, kHugeCount, 4, {"section STEP", "step 0 \"relu\"", "inputs", "count 4294967295"}},
      {"PROF", 0, kHugeCount, 4, {"section PROF", "profile count", "count 4294967295"}},
      {"PROF", 4, kHugeCount, 4, {"section PROF", "profile 0", "min", "count 4294967295"}},
      {"PROG", 0, kHugeCount, 4, {"section PROG", "program count", "count 4294967295"}},
      // program 0: count (4), family "elementwise" (4 + 11), options "-DX" (4 + 3), hash "abc" (4 + 3)
      {"PROG", 33, kHugeLength, 8, {"section PROG", "program 0", "binary", "length 1099511627776"}},
      {"META", 0, kHugeCount, 4, {"section META", "mlprt_version", "count 4294967295"}},
  };
  for (const auto& c : cases) {
    const std::string message = readError(patched(file, c.tag, c.offset, c.value, c.width));
    for (const std::string& part : c.parts) EXPECT_TRUE(contains(message, part)) << part << " not in: " << message;
  }
  RawPlan stages;
  stages.steps[0].kind = 11;
  stages.steps[0].body = Encoder().u32(kHugeCount).bytes;
  expectRejected(stages, {"section STEP", "step 0", "stages", "count 4294967295"});
  RawPlan constant;
  constant.steps[0].kind = 0;
  constant.steps[0].body = Encoder().dims({4}).u32(0).u64(kHugeLength).bytes;
  expectRejected(constant, {"section STEP", "step 0", "weights.bytes", "length 1099511627776"});
}

// Names and the other text strings reach Python as str: bytes that are not UTF-8 are refused by
// the reader (naming the field) instead of failing later in a conversion.
TEST(EngineFormat, CraftedTextThatIsNotUtf8) {
  for (const std::string& bad : {std::string("\xff"), std::string("x\xc0\xaf"), std::string("\xed\xa0\x80"),
                                 std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80"), std::string("\x80")}) {
    RawPlan tensor;
    tensor.tensors[3].name = bad;
    expectRejected(tensor, {"section TENS", "tensor 3", "name", "is not valid UTF-8"});
    RawPlan step;
    step.steps[1].name = bad;
    expectRejected(step, {"section STEP", "step 1", "name", "is not valid UTF-8"});
    RawPlan meta;
    meta.meta_version = bad;
    expectRejected(meta, {"section META", "mlprt_version", "is not valid UTF-8"});
  }
  RawPlan good;
  good.tensors[3].name = "\xcf\x80 \xe2\x82\xac \xf0\x9d\x84\x9e";  // pi, euro, a 4-byte character
  EXPECT_EQ(deserialize(encode(good)).tensors[3].name, good.tensors[3].name);
}

TEST(EngineFormat, WriterRefusesNamesThatAreNotUtf8) {
  eng::EnginePlan plan = smallPlan();
  plan.tensors[3].name = "h\xff";
  try {
    eng::serializePlan(plan);
    FAIL() << "written";
  } catch (const eng::EngineFormatError& error) {
    EXPECT_TRUE(contains(error.what(), "a tensor name \"h?\" is not valid UTF-8")) << error.what();
  }
}

TEST(EngineFormat, CraftedShuffleWithTooManyAxes) {
  RawPlan raw;
  raw.steps[0].kind = 5;
  raw.steps[0].body = Encoder().u32(9).bytes;
  expectRejected(raw, {"step 0", "first_transpose", "has 9 entries"});
}

// A plan the library cannot describe is refused on write rather than written unreadably.
TEST(EngineFormat, WriterRefusesUnknownEnumValues) {
  eng::EnginePlan plan = smallPlan();
  plan.tensors[0].role = static_cast<eng::TensorRole>(9);
  EXPECT_THROW(eng::serializePlan(plan), eng::EngineFormatError);
}

// Every byte of the payload set to a few other values, with the checksum made right again: the
// reader accepts the file or throws EngineFormatError, never anything else (run under ASan too).
TEST(EngineFormat, MutatedPayloadsWithValidChecksumsFailCleanly) {
  const Bytes file = eng::serializePlan(fullPlan());
  const Bytes payload(file.begin() + kHeaderBytes, file.end());
  std::size_t rejected = 0;
  for (std::size_t at = 0; at < payload.size(); ++at) {
    const std::uint8_t original = payload[at];
    for (const std::uint8_t value : {std::uint8_t{0}, std::uint8_t{0xff}, std::uint8_t(original ^ 0x80),
                                     std::uint8_t(original + 1), std::uint8_t(original - 1)}) {
      if (value == original) continue;
      Bytes mutated = payload;
      mutated[at] = value;
      try {
        deserialize(fileWithPayload(mutated));
      } catch (const eng::EngineFormatError&) {
        ++rejected;
      } catch (const std::exception& error) {
        FAIL() << "byte " << at << " = " << int{value} << ": not an EngineFormatError: " << error.what();
      }
    }
  }
  EXPECT_GT(rejected, payload.size());  // most mutations break the structure
}

// Checks stay linear: many inputs (each checked for a unique name) read back quickly.
TEST(EngineFormat, ManyBindingsReadInLinearTime) {
  eng::EnginePlan plan;
  constexpr int kInputs = 100000;
  for (int i = 0; i < kInputs; ++i) {
    plan.tensors.push_back(tensor("input" + std::to_string(i), DataType::kFLOAT, Dims{1}, eng::TensorRole::kInput, 0, 4));
    plan.inputs.push_back(i);
  }
  const eng::EnginePlan read = deserialize(eng::serializePlan(plan));
  EXPECT_EQ(read.inputs.size(), static_cast<std::size_t>(kInputs));
}
