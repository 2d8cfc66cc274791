// The convolution and pooling kernels (backend/opencl/ops/convolution, ops/pooling) against
// float64 references on random data: every convolution tactic at 1x1, 3x3, 5x5 and 7x7 kernels,
// stride 2, dilation 2, groups 1, 2 and depthwise, odd extents, channels that are no multiple of
// any tile, batch 1 and a prime batch, FLOAT and HALF; padding as the launchers receive it
// (resolved in front, as network/spatial.h does).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/convolution/convolution_mma.h"
#include "backend/opencl/ops/convolution/winograd.h"
#include "backend/opencl/ops/pooling/pooling.h"
#include "core/error.h"
#include "pointwise_tactics.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

// At `offset` bytes into a buffer of its own: 8 by default, so that no kernel may assume more
// alignment than an element's; 16 where a test wants the 16-byte-load paths.
DeviceTensor deviceTensor(const Dims& shape, DataType type, const std::vector<double>& values,
                          std::size_t offset = 8) {
  auto buffer = allocate(std::max<std::size_t>(1, values.size()) * elementSize(type) + 16);
  upload(stream(), at(buffer, offset), encodeAs(values, type));
  return DeviceTensor{at(buffer, offset), shape, type};
}

std::vector<double> readBack(const DeviceTensor& tensor) {
  const auto count = static_cast<std::size_t>(tensor.shape.volume());
  return decodeAs<double>(download<unsigned char>(stream(), tensor.range, count * elementSize(tensor.type)), tensor.type);
}

std::vector<double> randomStored(std::size_t count, std::uint32_t seed, DataType type) {
  const std::vector<float> floats = randomFloats(count, seed);
  return storedAs(std::vector<double>(floats.begin(), floats.end()), type);
}

// Values of an (N, C, pixels...) tensor in channels-last order (N, pixels..., C), or (`back`) the
// other way round.
std::vector<double> channelsLastOrder(const std::vector<double>& values, std::int64_t n, std::int64_t c,
                                      std::int64_t pixels, bool back = false) {
  std::vector<double> out(values.size());
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t ch = 0; ch < c; ++ch)
      for (std::int64_t p = 0; p < pixels; ++p) {
        const auto linear = static_cast<std::size_t>((i * c + ch) * pixels + p);
        const auto last = static_cast<std::size_t>((i * pixels + p) * c + ch);
        (back ? out[linear] : out[last]) = back ? values[last] : values[linear];
      }
  return out;
}

// One 2-D geometry (1-D cases have h = kh = 1); output extents from explicit padding, floor.
struct ConvCase {
  std::int64_t n, c, h, w, m, kh, kw, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w, pad_h_end, pad_w_end,
      groups;
  bool bias;
  bool one_d;
  std::int64_t oh() const { return (h + pad_h + pad_h_end - dilation_h * (kh - 1) - 1) / stride_h + 1; }
  std::int64_t ow() const { return (w + pad_w + pad_w_end - dilation_w * (kw - 1) - 1) / stride_w + 1; }
  Dims shape(std::int64_t first, std::int64_t second, std::int64_t height, std::int64_t width) const {
    return one_d ? Dims{first, second, width} : Dims{first, second, height, width};
  }
};

const std::vector<ConvCase> kConvCases = {
    {1, 3, 7, 9, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false},       // 1x1
    {1, 3, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},     // 3x3, padded
    {3, 4, 13, 11, 13, 5, 5, 1, 1, 1, 1, 2, 1, 0, 2, 1, false, false},   // 5x5, prime batch, uneven pads
    {2, 3, 17, 15, 6, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 1, true, false},     // 7x7, stride 2
    {1, 6, 12, 10, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, true, false},     // groups 2, dilation 2
    {1, 9, 10, 10, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 9, true, false},     // depthwise
    {1, 10, 5, 6, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, true, false},     // 2 maps per group of 2 channels
    {2, 3, 1, 23, 4, 1, 5, 1, 3, 1, 2, 0, 2, 0, 1, 1, true, true},       // 1-D
    // Several implicit-GEMM blocks along every axis: K = 37 x 9 (not a multiple of 16), 70 maps
    // (two 64-map blocks), 2 x 99 pixels; then 2 groups of 68 maps.
    {2, 37, 9, 11, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},
    {1, 40, 6, 7, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, false, false},
    // 1x1 on planes of 24 pixels, 16 channels: the 16-byte loads of pointwise tensor-core tiles.
    {2, 16, 4, 6, 24, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, true, false},
    // 150 maps and 153 pixels in one group: three 64-map blocks, two 128-pixel blocks.
    {1, 8, 9, 17, 150, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},
};

std::vector<double> referenceConvolution(const ConvCase& c, const std::vector<double>& x, const std::vector<double>& k,
                                         const std::vector<double>& bias, int activation,
                                         const std::vector<double>& residual = {}, bool residual_after = false) {
  const std::int64_t oh = c.oh(), ow = c.ow(), cg = c.c / c.groups, mg = c.m / c.groups;
  std::vector<double> out(static_cast<std::size_t>(c.n * c.m * oh * ow));
  for (std::int64_t n = 0; n < c.n; ++n)
    for (std::int64_t m = 0; m < c.m; ++m)
      for (std::int64_t oy = 0; oy < oh; ++oy)
        for (std::int64_t ox = 0; ox < ow; ++ox) {
          double sum = c.bias ? bias[static_cast<std::size_t>(m)] : 0.0;
          const std::int64_t g = m / mg;
          for (std::int64_t ci = 0; ci < cg; ++ci)
            for (std::int64_t ky = 0; ky < c.kh; ++ky)
              for (std::int64_t kx = 0; kx < c.kw; ++kx) {
                const std::int64_t iy = oy * c.stride_h - c.pad_h + ky * c.dilation_h;
                const std::int64_t ix = ox * c.stride_w - c.pad_w + kx * c.dilation_w;
                if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                sum += x[static_cast<std::size_t>(((n * c.c + g * cg + ci) * c.h + iy) * c.w + ix)] *
                       k[static_cast<std::size_t>(((m * cg + ci) * c.kh + ky) * c.kw + kx)];
              }
          const auto index = static_cast<std::size_t>(((n * c.m + m) * oh + oy) * ow + ox);
          if (!residual.empty() && !residual_after) sum += residual[index];
          if (activation == 0) sum = std::max(sum, 0.0);
          if (!residual.empty() && residual_after) sum += residual[index];
          out[index] = sum;
        }
  return out;
}

// How a check runs the kernel: on the device as engines do, or (tensor-core tactics) with the
// mma in software.
enum class Run { kDevice, kEmulatedMma, kForcedSlices };

// A workspace for `tactic` on case `c`: what the device's slice choice may need, or `splits`
// slices of the case's blocks where the test forces that count.
DeviceTensor workspaceFor(const std::string& tactic, const ConvCase& c, std::int64_t splits) {
  std::size_t bytes = cl::convolutionWorkspaceBytes(tactic, *cache().context(), c.shape(c.n, c.c, c.h, c.w),
                                                    c.shape(c.m, c.c / c.groups, c.kh, c.kw),
                                                    c.shape(c.n, c.m, c.oh(), c.ow()), DataType::kFLOAT);
  if (const cl::MmaConvolutionTile* tile = cl::findMmaConvolutionTile(tactic); tile && splits > 1) {
    const std::int64_t pixels = c.n * c.oh() * cl::mmaConvolutionRowPitch(*tile, true, c.ow()) + 8 * c.n * c.oh();
    const std::int64_t blocks =
        ((pixels + tile->bn - 1) / tile->bn) * ((c.m / c.groups + tile->bm - 1) / tile->bm) * c.groups;
    bytes = std::max(bytes, cl::mmaConvolutionWorkspaceBytes(*tile, blocks, splits));
  }
  const std::string tile = tactic.rfind("hwc_", 0) == 0 ? tactic.substr(4) : tactic;
  if (tile.rfind("igemm_t", 0) == 0 && splits > 1) {  // "[hwc_]igemm_t<TM>x<TN>_splitk"
    const std::int64_t maps = 16 * (tile[7] - '0'), pixels = 16 * (tile[9] - '0');
    const std::int64_t blocks =
        ((c.n * c.oh() * c.ow() + pixels - 1) / pixels) * ((c.m / c.groups + maps - 1) / maps) * c.groups;
    bytes = std::max(bytes, static_cast<std::size_t>(blocks * splits * maps * pixels) * sizeof(float));
  }
  const auto floats = static_cast<std::int64_t>(std::max<std::size_t>(bytes, 4) / sizeof(float));
  return deviceTensor(Dims{floats}, DataType::kFLOAT, std::vector<double>(static_cast<std::size_t>(floats), 12345.0));
}

// Where a check's residual goes: none (false), before the activation (true, ResNet's block), or
// after it (YOLO's bottleneck).
enum class ResidualAt { kNone, kBeforeActivation, kAfterActivation };
struct Residual {
  ResidualAt at;
  Residual(bool on) : at(on ? ResidualAt::kBeforeActivation : ResidualAt::kNone) {}  // NOLINT: tests pass true
  Residual(ResidualAt where) : at(where) {}  // NOLINT
};

// A residual added after the activation (x + relu(conv); YOLO's x + silu(conv)), as the builder
// fuses an Add into an activated convolution: the tests below check it beside each family's
// residual before the activation, on the same programs (the mode is an argument), at an even
// seed so that ReLU is on and the two orders differ.
constexpr ResidualAt kAfter = ResidualAt::kAfterActivation;
std::uint32_t evenSeed(std::uint32_t& seed) { return (seed += 2) & ~1u; }

void checkConvolution(const std::string& tactic, const ConvCase& c, DataType type, std::uint32_t seed,
                      Residual residual_at = false, Run run = Run::kDevice, std::int64_t splits = 0,
                      std::size_t offset = 8, std::size_t out_offset = 8) {
  const bool with_residual = residual_at.at != ResidualAt::kNone;
  const bool residual_after = residual_at.at == ResidualAt::kAfterActivation;
  SCOPED_TRACE(tactic + " " + dataTypeName(type) + " input " + c.shape(c.n, c.c, c.h, c.w).toString() + " kernel " +
               c.shape(c.m, c.c / c.groups, c.kh, c.kw).toString() +
               (residual_at.at == ResidualAt::kNone ? "" : residual_at.at == ResidualAt::kAfterActivation
                                                              ? " residual after the activation"
                                                              : " residual before the activation"));
  const auto x = randomStored(static_cast<std::size_t>(c.n * c.c * c.h * c.w), seed, type);
  const auto k = randomStored(static_cast<std::size_t>(c.m * (c.c / c.groups) * c.kh * c.kw), seed + 1, type);
  const auto b = randomStored(static_cast<std::size_t>(c.m), seed + 2, type);
  // Channels-last tactics read the input, kernel and residual and write the output as (N, H, W, C).
  const bool channels_last = cl::convolutionTacticChannelsLast(tactic);
  const std::int64_t in_pixels = c.h * c.w, out_pixels = c.oh() * c.ow();
  const DeviceTensor in = deviceTensor(c.shape(c.n, c.c, c.h, c.w), type,
                                       channels_last ? channelsLastOrder(x, c.n, c.c, in_pixels) : x, offset);
  const DeviceTensor kernel = deviceTensor(c.shape(c.m, c.c / c.groups, c.kh, c.kw), type,
                                           channels_last ? channelsLastOrder(k, c.m, c.c / c.groups, c.kh * c.kw) : k,
                                           offset);
  const DeviceTensor bias = deviceTensor(Dims{c.m}, type, b);
  const DeviceTensor out =
      deviceTensor(c.shape(c.n, c.m, c.oh(), c.ow()), type,
                   std::vector<double>(static_cast<std::size_t>(c.n * c.m * c.oh() * c.ow()), 7.0), out_offset);
  cl::ConvolutionWindow window;
  window.groups = c.groups;
  window.stride = c.one_d ? std::vector<std::int64_t>{c.stride_w} : std::vector<std::int64_t>{c.stride_h, c.stride_w};
  window.dilation = c.one_d ? std::vector<std::int64_t>{c.dilation_w} : std::vector<std::int64_t>{c.dilation_h, c.dilation_w};
  window.pad_before = c.one_d ? std::vector<std::int64_t>{c.pad_w} : std::vector<std::int64_t>{c.pad_h, c.pad_w};
  cl::GemmEpilogue epilogue;
  if (c.bias) epilogue.bias = &bias;
  const int activation = seed % 2 == 0 ? 0 : -1;  // RELU on every other case
  epilogue.has_activation = activation == 0;
  epilogue.activation = ActivationType::kRELU;
  epilogue.residual_after_activation = residual_after;
  const std::vector<double> r =
      with_residual ? randomStored(static_cast<std::size_t>(c.n * c.m * c.oh() * c.ow()), seed + 7, type)
                    : std::vector<double>();
  const DeviceTensor residual = deviceTensor(
      c.shape(c.n, c.m, c.oh(), c.ow()), type,
      with_residual ? (channels_last ? channelsLastOrder(r, c.n, c.m, out_pixels) : r)
                    : std::vector<double>(out.shape.volume(), 0.0),
      out_offset);
  // Split-K tactics' workspace, filled with garbage: the kernels must not rely on its contents.
  const DeviceTensor workspace = workspaceFor(tactic, c, splits);
  if (run == Run::kEmulatedMma) {
    cl::convolutionEmulatingTensorCores(cache(), stream(), tactic, in, kernel, window, epilogue, out,
                                        with_residual ? &residual : nullptr, splits, &workspace);
  } else if (run == Run::kForcedSlices) {
    cl::convolutionInSlices(cache(), stream(), tactic, in, kernel, window, epilogue, out,
                            with_residual ? &residual : nullptr, splits, &workspace);
  } else {
    cl::convolution(cache(), stream(), tactic, in, kernel, window, epilogue, out, with_residual ? &residual : nullptr,
                    &workspace);
  }
  const auto expected = referenceConvolution(c, x, k, b, activation, r, residual_after);
  const auto actual = channels_last ? channelsLastOrder(readBack(out), c.n, c.m, out_pixels, true) : readBack(out);
  double scale = 0.0;
  for (double value : expected) scale = std::max(scale, std::fabs(value));
  // TF32 tensor cores round FLOAT inputs to 10 mantissa bits, as HALF storage does.
  const bool tf32 = tactic.find("mma_tf32") != std::string::npos;
  const double tolerance = (type == DataType::kHALF ? 1e-2 : tf32 ? 5e-3 : 1e-5) * std::max(scale, 1.0);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tolerance) << "element " << i;
  }
}

TEST(ConvolutionKernels, EveryTacticMatchesTheReferenceInFloatAndHalf) {
  std::uint32_t seed = 500;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const auto tactics = cl::convolutionTactics(type);
    ASSERT_EQ(tactics, (std::vector<std::string>{"direct_m1", "direct_m4", "direct_m8", "igemm_t2x2", "igemm_t4x4",
                                                 "igemm_t2x2_splitk", "igemm_t4x4_splitk"}));
    for (const std::string& tactic : tactics) {
      for (const ConvCase& c : kConvCases) checkConvolution(tactic, c, type, seed += 3);
    }
  }
}

// A residual (the output's shape) added before the activation, as the builder fuses a ResNet
// block's Add into its last convolution, and after it (kAfter).
TEST(ConvolutionKernels, EveryTacticAddsAResidualBeforeOrAfterTheActivation) {
  std::uint32_t seed = 900;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const std::string& tactic : cl::convolutionTactics(type)) {
      for (std::size_t index : {1u, 2u, 8u}) checkConvolution(tactic, kConvCases.at(index), type, seed += 2, true);
      for (std::size_t index : {1u, 8u}) checkConvolution(tactic, kConvCases.at(index), type, evenSeed(seed), kAfter);
    }
  }
}

// The implicit GEMM's split-K tiles in 2, 3 and 5 slices of K on every case (some slices empty
// where K is a tile or two), with and without a residual, whatever the device would choose.
TEST(ConvolutionKernels, SplitKImplicitGemmMatchesTheReferenceInEverySliceCount) {
  std::uint32_t seed = 2100;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const std::string tactic : {"igemm_t2x2_splitk", "igemm_t4x4_splitk"}) {
      for (std::int64_t splits : {2, 3, 5}) {
        for (const ConvCase& c : kConvCases) checkConvolution(tactic, c, type, seed += 3, false, Run::kForcedSlices, splits);
        checkConvolution(tactic, kConvCases.at(8), type, seed += 2, true, Run::kForcedSlices, splits);
        checkConvolution(tactic, kConvCases.at(8), type, evenSeed(seed), kAfter, Run::kForcedSlices, splits);
      }
    }
  }
}

// The channels-last implicit GEMM on every case (groups, depthwise, 1-D, several blocks along each
// axis), with a residual on three, its split forms in 2, 3 and 5 slices too, FLOAT and HALF.
TEST(ConvolutionKernels, ChannelsLastTacticsMatchTheReference) {
  std::uint32_t seed = 4100;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const auto tactics = cl::channelsLastConvolutionTactics(type);
    ASSERT_EQ(tactics, (std::vector<std::string>{"hwc_igemm_t2x2", "hwc_igemm_t4x4", "hwc_igemm_t2x2_splitk",
                                                 "hwc_igemm_t4x4_splitk", "hwc_depthwise"}));
    for (const std::string& tactic : tactics) {
      EXPECT_TRUE(cl::convolutionTacticChannelsLast(tactic));
      if (tactic == "hwc_depthwise") continue;  // DepthwiseKernelMatchesTheReference
      for (const ConvCase& c : kConvCases) checkConvolution(tactic, c, type, seed += 3);
      for (std::size_t index : {1u, 6u, 8u}) checkConvolution(tactic, kConvCases.at(index), type, seed += 2, true);
      checkConvolution(tactic, kConvCases.at(8), type, evenSeed(seed), kAfter);
    }
    for (const std::string tactic : {"hwc_igemm_t2x2_splitk", "hwc_igemm_t4x4_splitk"}) {
      for (std::int64_t splits : {2, 3, 5}) {
        for (std::size_t index : {2u, 4u, 8u, 9u}) {
          checkConvolution(tactic, kConvCases.at(index), type, seed += 3, index == 8, Run::kForcedSlices, splits);
        }
      }
    }
  }
  for (const std::string& tactic : cl::convolutionTactics(DataType::kFLOAT)) {
    EXPECT_FALSE(cl::convolutionTacticChannelsLast(tactic)) << tactic;
  }
  EXPECT_THROW(cl::convolutionTacticChannelsLast("hwc_direct_m4"), InvalidArgument);
}


// Pointwise convolutions on HWC tensors as one product ("hwc_gemm:<GEMM tactic>"), FLOAT and
// HALF: 1x1 on 7 x 9 and on 4 x 6 pixels, batch 1 and 2, 1-D; other geometries and residuals are
// refused by name.
TEST(ConvolutionKernels, PointwiseGemmTacticsMatchTheReference) {
  const std::vector<ConvCase> pointwise = {
      kConvCases.at(0),
      kConvCases.at(10),
      {3, 5, 1, 17, 9, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, true},  // 1-D, prime batch, no bias
  };
  std::uint32_t seed = 4700;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    // Not pointwise: the register tiles, and the tensor-core tiles where the probe offers them.
    std::vector<std::string> expected = cl::channelsLastConvolutionTactics(type);
    for (const std::string& tactic : cl::convolutionTactics(*context(), type, {})) {
      if (tactic.rfind("mma_", 0) == 0) expected.push_back("hwc_" + tactic);
    }
    EXPECT_EQ(cl::channelsLastConvolutionTactics(*context(), type, {}, false), expected);
    const std::vector<std::string> tactics = pointwiseGemmTacticsToTest(type);
    EXPECT_FALSE(tactics.empty());
    for (const std::string& tactic : tactics) {
      EXPECT_TRUE(cl::convolutionTacticChannelsLast(tactic)) << tactic;
      for (const ConvCase& c : pointwise) checkConvolution(tactic, c, type, seed += 3);
    }
  }
  const std::string tactic = pointwiseGemmTacticsToTest(DataType::kFLOAT).at(0);
  EXPECT_TRUE(cl::pointwiseConvolution({1, 1}, {1, 1}, {0, 0}, {0, 0}, 1));
  EXPECT_FALSE(cl::pointwiseConvolution({1, 1}, {2, 2}, {0, 0}, {0, 0}, 1));
  EXPECT_FALSE(cl::pointwiseConvolution({1, 1}, {1, 1}, {0, 0}, {0, 1}, 1));
  EXPECT_FALSE(cl::pointwiseConvolution({3, 3}, {1, 1}, {0, 0}, {0, 0}, 1));
  EXPECT_FALSE(cl::pointwiseConvolution({1}, {1}, {0}, {0}, 2));
  try {
    checkConvolution(tactic, kConvCases.at(1), DataType::kFLOAT, 4800);  // 3x3
    ADD_FAILURE() << "a 3x3 convolution ran as a product";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("runs 1x1 convolutions of one group"), std::string::npos) << e.what();
  }
  try {
    checkConvolution(tactic, kConvCases.at(0), DataType::kFLOAT, 4801, true);
    ADD_FAILURE() << "a residual was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("adds no residual"), std::string::npos) << e.what();
  }
}

// The depthwise kernel (one input channel per group) against the reference: 3x3, 5x5 and 7x7
// kernels, stride 2, dilation 2, a channel multiplier of 2, uneven pads, a prime batch, planes not a
// multiple of its 16 x 16 blocks (and larger than one), 1-D, with bias, ReLU and a residual, FLOAT
// and HALF.
const std::vector<ConvCase> kDepthwiseCases = {
    {1, 9, 10, 10, 9, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 9, true, false},      // stride 2 along H only
    {3, 5, 37, 19, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, true, false},      // 3 x 2 blocks, prime batch
    {1, 4, 23, 29, 8, 5, 5, 2, 2, 1, 1, 2, 1, 1, 2, 4, false, false},     // multiplier 2, uneven pads
    {2, 3, 17, 33, 3, 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 3, true, false},      // 7x7 stride 2: 37-wide patches
    {1, 6, 20, 18, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 6, true, false},      // dilation 2
    {2, 7, 1, 41, 7, 1, 5, 1, 2, 1, 1, 0, 2, 0, 2, 7, true, true},        // 1-D, stride 2
};

TEST(ConvolutionKernels, DepthwiseKernelMatchesTheReference) {
  std::uint32_t seed = 3100;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const std::string tactic : {"depthwise", "hwc_depthwise"}) {
      for (const ConvCase& c : kDepthwiseCases) checkConvolution(tactic, c, type, seed += 3);
      checkConvolution(tactic, kDepthwiseCases.at(1), type, seed += 3, true);
      checkConvolution(tactic, kConvCases.at(5), type, seed += 3);  // depthwise with stride 2 along H
    }
  }
  // Channels-last, no patch limits: a 7x7 kernel at stride 3 (52 input rows per 16 outputs).
  checkConvolution("hwc_depthwise", {1, 4, 60, 60, 4, 7, 7, 3, 3, 1, 1, 0, 0, 0, 0, 4, true, false}, DataType::kFLOAT,
                   seed += 3);
}

TEST(ConvolutionKernels, DepthwiseTacticIsOfferedForDepthwiseLayersOnly) {
  const auto offered = cl::convolutionTactics(*cache().context(), DataType::kHALF, cl::GemmPolicy{});
  EXPECT_NE(std::find(offered.begin(), offered.end(), "depthwise"), offered.end());
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("depthwise", 1, 4096, 1));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("depthwise", 1, 4096, 2));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("depthwise", 1, 4096));
  const auto tensor = [](const Dims& shape) {
    return deviceTensor(shape, DataType::kFLOAT, std::vector<double>(static_cast<std::size_t>(shape.volume()), 1.0));
  };
  const DeviceTensor in = tensor(Dims{1, 4, 60, 60}), out = tensor(Dims{1, 4, 18, 18});
  cl::ConvolutionWindow grouped{{1, 1}, {1, 1}, {0, 0}, 2};
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "depthwise", in, tensor(Dims{4, 2, 3, 3}), grouped, {}, tensor(Dims{1, 4, 58, 58})); },
      "convolution: tactic 'depthwise' runs convolutions with one input channel per group; this one has 4 channels in 2 "
      "groups"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "hwc_depthwise", in, tensor(Dims{4, 2, 3, 3}), grouped, {}, tensor(Dims{1, 4, 58, 58})); },
      "convolution: tactic 'hwc_depthwise' runs convolutions with one input channel per group; this one has 4 channels "
      "in 2 groups"));
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("hwc_depthwise", 1, 4096, 1));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("hwc_depthwise", 1, 4096, 2));
  cl::ConvolutionWindow wide{{3, 3}, {1, 1}, {0, 0}, 4};  // 15 x 3 + 7 = 52 input rows per 16 outputs
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "depthwise", in, tensor(Dims{4, 1, 7, 7}), wide, {}, out); },
      "convolution: tactic 'depthwise' stages at most 48 x 48 input values per block; this stride, dilation and "
      "kernel need 52 x 52"));
}

// Winograd F(2x2, 3x3) against the reference: 3x3 at stride 1, padded and not, outputs of odd
// extents (partial tiles), a prime batch, channel counts not a multiple of anything, bias, ReLU
// and a residual, FLOAT and HALF, with each GEMM tactic it offers here.
const std::vector<ConvCase> kWinogradCases = {
    {1, 3, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},     // padded, odd planes
    {3, 17, 9, 6, 11, 3, 3, 1, 1, 1, 1, 0, 0, 0, 0, 1, false, false},    // unpadded: 7 x 4 outputs, prime batch
    {2, 37, 9, 11, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},    // several GEMM blocks
    {1, 8, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1, 2, 1, 0, 1, true, false},       // a 1x1 plane, uneven pads
};

TEST(ConvolutionKernels, WinogradMatchesTheReference) {
  std::uint32_t seed = 4100;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const std::vector<std::string> tactics = cl::winogradTactics(*cache().context(), type, cl::GemmPolicy{});
    ASSERT_FALSE(tactics.empty());
    for (const std::string& tactic : tactics) {
      if (tactic.find("mma_") != std::string::npos && !isNvidiaDevice()) continue;  // offered only where the probe passed
      for (const ConvCase& c : kWinogradCases) checkConvolution(tactic, c, type, seed += 3);
      checkConvolution(tactic, kWinogradCases.at(2), type, seed += 3, true);
      checkConvolution(tactic, kWinogradCases.at(2), type, evenSeed(seed), kAfter);
    }
  }
}

TEST(ConvolutionKernels, WinogradRunsOnlyWhatItCan) {
  const std::string tactic = "winograd_2x2:large_m64n64_k16_t8x8";
  const auto offered = cl::convolutionTactics(*cache().context(), DataType::kFLOAT, cl::GemmPolicy{});
  EXPECT_NE(std::find(offered.begin(), offered.end(), tactic), offered.end());
  EXPECT_TRUE(cl::winogradRuns({3, 3}, {1, 1}, {1, 1}, 1));
  EXPECT_TRUE(cl::winogradRuns({3, 3}, {}, {}, 1));
  EXPECT_FALSE(cl::winogradRuns({3, 3}, {2, 2}, {1, 1}, 1));
  EXPECT_FALSE(cl::winogradRuns({3, 3}, {1, 1}, {2, 2}, 1));
  EXPECT_FALSE(cl::winogradRuns({3, 3}, {1, 1}, {1, 1}, 2));
  EXPECT_FALSE(cl::winogradRuns({5, 5}, {1, 1}, {1, 1}, 1));
  EXPECT_FALSE(cl::winogradRuns({3}, {1}, {1}, 1));
  EXPECT_TRUE(cl::convolutionTacticWorthTiming(tactic, 8, 4096, 8));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming(tactic, 8, 4096, 3));  // too few channels to pay for the transforms
  const auto tensor = [](const Dims& shape) {
    return deviceTensor(shape, DataType::kFLOAT, std::vector<double>(static_cast<std::size_t>(shape.volume()), 1.0));
  };
  const DeviceTensor in = tensor(Dims{1, 8, 10, 10});
  const cl::ConvolutionWindow strided{{2, 2}, {1, 1}, {1, 1}, 1};
  const std::size_t bytes = cl::convolutionWorkspaceBytes(tactic, *cache().context(), Dims{1, 8, 10, 10},
                                                          Dims{4, 8, 3, 3}, Dims{1, 4, 10, 10}, DataType::kFLOAT);
  // 16 x (4 x 8 kernels + 8 x 25 input tiles + 4 x 25 product tiles) floats, each part 256-byte aligned.
  EXPECT_GE(bytes, 16u * (4 * 8 + 8 * 25 + 4 * 25) * sizeof(float));
  const DeviceTensor workspace = tensor(Dims{static_cast<std::int64_t>(bytes / sizeof(float))});
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), tactic, in, tensor(Dims{4, 8, 3, 3}), strided, {}, tensor(Dims{1, 4, 5, 5}), nullptr, &workspace); },
      "convolution: tactic 'winograd_2x2:large_m64n64_k16_t8x8' runs 2-D 3x3 convolutions at stride 1 without "
      "dilation, of one group; kernel (4, 8, 3, 3) in 1 group(s) is not one"));
  const cl::ConvolutionWindow plain{{1, 1}, {1, 1}, {1, 1}, 1};
  const DeviceTensor short_workspace = tensor(Dims{16});
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), tactic, in, tensor(Dims{4, 8, 3, 3}), plain, {}, tensor(Dims{1, 4, 10, 10}), nullptr, &short_workspace); },
      "winograd convolution: tactic 'winograd_2x2:large_m64n64_k16_t8x8' needs a workspace of"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), tactic, in, tensor(Dims{4, 8, 3, 3}), plain, {}, tensor(Dims{1, 4, 10, 10})); },
      "given 0"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "winograd_2x2:no_such_gemm", in, tensor(Dims{4, 8, 3, 3}), plain, {}, tensor(Dims{1, 4, 10, 10}), nullptr, &workspace); },
      "no_such_gemm"));
}

TEST(ConvolutionKernels, RefusesWhatDoesNotFit) {
  const DeviceTensor in = deviceTensor(Dims{1, 4, 5, 5}, DataType::kFLOAT, std::vector<double>(100, 1.0));
  const DeviceTensor kernel = deviceTensor(Dims{2, 3, 3, 3}, DataType::kFLOAT, std::vector<double>(54, 1.0));
  const DeviceTensor out = deviceTensor(Dims{1, 2, 3, 3}, DataType::kFLOAT, std::vector<double>(18, 0.0));
  cl::ConvolutionWindow window{{1, 1}, {1, 1}, {0, 0}, 1};
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "direct_m4", in, kernel, window, {}, out); },
      "convolution: kernel (2, 3, 3, 3) in 1 groups does not fit input (1, 4, 5, 5)"));
  const DeviceTensor fitting_kernel = deviceTensor(Dims{2, 4, 3, 3}, DataType::kFLOAT, std::vector<double>(72, 1.0));
  const DeviceTensor wrong_residual = deviceTensor(Dims{1, 2, 3, 4}, DataType::kFLOAT, std::vector<double>(24, 0.0));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "direct_m1", in, fitting_kernel, window, {}, out, &wrong_residual); },
      "convolution: residual (1, 2, 3, 4) FLOAT is not the output's (1, 2, 3, 3) FLOAT"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolution(cache(), stream(), "winograd", in, kernel, window, {}, out); },
      "unknown convolution tactic 'winograd'"));
  EXPECT_TRUE(cl::convolutionTactics(DataType::kINT32).empty());
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::convolutionEmulatingTensorCores(cache(), stream(), "mma_f16_64x64", in, fitting_kernel, window, {}, out); },
      "convolution: tactic 'mma_f16_64x64' does not run FLOAT tensors"));
  const DeviceTensor half_in = deviceTensor(Dims{1, 4, 5, 5}, DataType::kHALF, std::vector<double>(100, 1.0));
  const DeviceTensor half_kernel = deviceTensor(Dims{2, 4, 3, 3}, DataType::kHALF, std::vector<double>(72, 1.0));
  const DeviceTensor half_out = deviceTensor(Dims{1, 2, 3, 3}, DataType::kHALF, std::vector<double>(18, 0.0));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::convolutionEmulatingTensorCores(cache(), stream(), "mma_f16_32x32_splitk", half_in, half_kernel, window, {},
                                            half_out, nullptr, 2);
      },
      "convolution: tactic 'mma_f16_32x32_splitk' runs this convolution in 2 slices of K and needs 8192 bytes of "
      "workspace; none was given"));
  const DeviceTensor small_workspace = deviceTensor(Dims{100}, DataType::kFLOAT, std::vector<double>(100, 0.0));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::convolutionEmulatingTensorCores(cache(), stream(), "mma_f16_32x32_splitk", half_in, half_kernel, window, {},
                                            half_out, nullptr, 2, &small_workspace);
      },
      "needs 8192 bytes of workspace; the workspace given is (100) FLOAT at element 2"));
  const DeviceTensor deconv_kernel = deviceTensor(Dims{4, 2, 3, 3}, DataType::kFLOAT, std::vector<double>(72, 1.0));
  const DeviceTensor deconv_out = deviceTensor(Dims{1, 2, 7, 7}, DataType::kFLOAT, std::vector<double>(98, 0.0));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::deconvolution(cache(), stream(), "igemm_t2x2", in, deconv_kernel, window, {}, deconv_out); },
      "deconvolution: tactic 'igemm_t2x2' runs convolutions only"));
}

// The cases the emulated tensor-core tests run each tile on: all of them, but under a sanitizer
// those of one block of maps and pixels, and a residual on a 3x3 case of one block in place of the
// several-block case 8. The emulated mma is most of these tests' time (50 of the ASan suite's
// 248 CPU seconds, 2026-12-07); the host code takes the same paths on the cases left.
std::vector<ConvCase> emulatedTileCases() {
  if (!kSanitizedBuild) return kConvCases;
  std::vector<ConvCase> cases;
  for (std::size_t index = 0; index < kConvCases.size(); ++index) {
    if (index != 8 && index != 9 && index != 11) cases.push_back(kConvCases[index]);
  }
  return cases;
}
const ConvCase& emulatedResidualCase() { return kConvCases.at(kSanitizedBuild ? 1 : 8); }

// The tensor-core implicit GEMM (f16, and TF32 for FLOAT) with its mma in software: every tile on
// every case, with and without a residual, so that the gather, the tiling and the NCHW epilogue
// are checked on any device. The split-K tiles run in 3 slices of K (some of them empty where K
// is a single tile), summed from the workspace by the epilogue pass.
TEST(ConvolutionKernels, EveryTensorCoreTacticMatchesTheReferenceEmulated) {
  std::uint32_t seed = 1300;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const auto tactics = cl::tensorCoreConvolutionTactics(type);
    ASSERT_EQ(tactics.size(), 5u);
    for (const std::string& tactic : tactics) {
      const std::int64_t splits = tactic.find("_splitk") != std::string::npos ? 3 : 0;
      for (const ConvCase& c : emulatedTileCases()) {
        checkConvolution(tactic, c, type, seed += 3, false, Run::kEmulatedMma, splits);
      }
      for (const ConvCase* c : {&kConvCases.at(1), &emulatedResidualCase()}) {
        checkConvolution(tactic, *c, type, seed += 2, true, Run::kEmulatedMma, splits);
      }
      checkConvolution(tactic, emulatedResidualCase(), type, evenSeed(seed), kAfter, Run::kEmulatedMma, splits);
      // 16-byte aligned operands: the vector loads of weights (K = 16 x 9) and of 1x1 inputs.
      for (std::size_t index : {9u, 10u}) {
        checkConvolution(tactic, kConvCases.at(index), type, seed += 2, false, Run::kEmulatedMma, splits, 16);
      }
    }
  }
}

// The tensor-core tiles on channels-last tensors ("hwc_mma_*", kernels stored (M, KH, KW, C /
// groups)) with the mma in software: every tile on every case, where the chunks of channels are
// gathered value by value (channels per group no multiple of a chunk, or an unaligned input), and
// on cases whose chunks are 16-byte loads (-DHWC_VEC: 8 to 24 channels per group, aligned
// operands), with residuals, the split-K tiles in 3 slices.
const std::vector<ConvCase> kChannelsLastVectorCases = {
    kConvCases.at(10),                                                 // 1x1, 16 channels
    kConvCases.at(11),                                                 // 3x3, 8 channels, 150 maps
    {2, 24, 9, 11, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, true, false},  // stride 2, 24 channels
    {1, 32, 7, 6, 48, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2, true, false},   // 2 groups of 16, dilation 2
};

TEST(ConvolutionKernels, ChannelsLastTensorCoreTilesMatchTheReferenceEmulated) {
  std::uint32_t seed = 5300;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const auto tactics = cl::tensorCoreConvolutionTactics(type, true);
    ASSERT_EQ(tactics.size(), 5u);
    for (const std::string& tactic : tactics) {
      EXPECT_EQ(tactic.rfind("hwc_mma_", 0), 0u) << tactic;
      EXPECT_TRUE(cl::convolutionTacticChannelsLast(tactic)) << tactic;
      const std::int64_t splits = tactic.find("_splitk") != std::string::npos ? 3 : 0;
      for (const ConvCase& c : emulatedTileCases()) {
        checkConvolution(tactic, c, type, seed += 3, false, Run::kEmulatedMma, splits);
      }
      checkConvolution(tactic, emulatedResidualCase(), type, seed += 2, true, Run::kEmulatedMma, splits);
      for (const ConvCase& c : kChannelsLastVectorCases) {
        checkConvolution(tactic, c, type, seed += 3, false, Run::kEmulatedMma, splits, 16);
      }
      checkConvolution(tactic, kChannelsLastVectorCases.at(3), type, seed += 2, true, Run::kEmulatedMma, splits, 16);
      checkConvolution(tactic, kChannelsLastVectorCases.at(3), type, evenSeed(seed), kAfter, Run::kEmulatedMma, splits, 16);
    }
  }
}

// The wgmma tiles ("hwc_wgmma_f16_*") run HALF channels-last convolutions of one group with
// channels a multiple of 8. Cases: several pixel blocks and K tiles (the ring wraps; the last tile
// partial), 1x1, more maps than a block, stride 2, 1-D with stride 3, dilation 2 and uneven pads
// and an odd count of maps (no paired stores), K of six tiles.
const std::vector<ConvCase> kWgmmaCases = {
    {2, 24, 9, 11, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false},   // 198 pixels, K 216
    kChannelsLastVectorCases.at(0),                                     // 1x1, 16 channels
    kChannelsLastVectorCases.at(1),                                     // 3x3, 8 channels, 150 maps
    kChannelsLastVectorCases.at(2),                                     // stride 2, 24 channels
    {3, 8, 1, 23, 37, 1, 5, 1, 3, 1, 2, 0, 2, 0, 1, 1, true, true},     // 1-D, 37 maps
    {1, 40, 6, 7, 136, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false, false},  // K 360, no bias
};

// Outputs (and residuals) 16-byte aligned, where runs of 8 maps are one load and one store, and
// not (8 bytes in: map by map).
void checkWgmmaTile(const std::string& tactic, std::uint32_t& seed, Run run) {
  for (const ConvCase& c : kWgmmaCases) checkConvolution(tactic, c, DataType::kHALF, seed += 3, false, run, 0, 16, 16);
  for (std::size_t index : {0u, 4u, 5u}) {
    checkConvolution(tactic, kWgmmaCases.at(index), DataType::kHALF, seed += 2, true, run, 0, 16, 16);
  }
  checkConvolution(tactic, kWgmmaCases.at(0), DataType::kHALF, seed += 2, true, run, 0, 16, 8);
  checkConvolution(tactic, kWgmmaCases.at(0), DataType::kHALF, evenSeed(seed), kAfter, run, 0, 16, 16);
  checkConvolution(tactic, kWgmmaCases.at(0), DataType::kHALF, evenSeed(seed), kAfter, run, 0, 16, 8);
}

// With the warpgroup product in software: the pixel gather into swizzled lines, the zero chunks
// of the padding, the ring, and the epilogue (bias, residual, ReLU, pairs of maps), on any device.
// What they refuse is refused by name.
TEST(ConvolutionKernels, WgmmaTilesMatchTheReferenceEmulated) {
  std::uint32_t seed = 6100;
  ASSERT_EQ(cl::wgmmaConvolutionTiles().size(), 3u);
  for (const cl::WgmmaConvolutionTile& tile : cl::wgmmaConvolutionTiles()) {
    EXPECT_TRUE(cl::convolutionTacticChannelsLast(tile.name)) << tile.name;
    checkWgmmaTile(tile.name, seed, Run::kEmulatedMma);
  }
  const std::string tactic = cl::wgmmaConvolutionTiles().front().name;
  const auto refused = [&](const ConvCase& c, DataType type, const std::string& why, std::size_t offset = 16) {
    try {
      checkConvolution(tactic, c, type, 6900, false, Run::kEmulatedMma, 0, offset);
      ADD_FAILURE() << "ran: " << why;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("tactic '" + tactic + "' " + why), std::string::npos) << e.what();
    }
  };
  refused(kChannelsLastVectorCases.at(3), DataType::kHALF, "runs convolutions of one group; this one has 2");
  refused(kConvCases.at(1), DataType::kHALF, "runs inputs of a multiple of 8 channels");
  refused(kWgmmaCases.at(0), DataType::kFLOAT, "does not run FLOAT tensors");
  refused(kWgmmaCases.at(0), DataType::kHALF, "needs the input and the kernel at 16-byte aligned offsets (elements 4", 8);
  EXPECT_FALSE(cl::convolutionTacticWorthTiming(tactic, 64, 4096, 12));  // 12 channels
  EXPECT_TRUE(cl::convolutionTacticWorthTiming(tactic, 64, 4096, 16));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming(tactic, 64, 4096, 16, 2));  // grouped: refused when run
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("hwc_wgmma_f16_128x256", 64, 4096, 16));  // 256 maps >= 4 x 64
  EXPECT_FALSE(cl::convolutionTacticWorthTiming(tactic, 64, 32, 16));                     // 128 pixels >= 4 x 32
}

// The kernel's own check before the builder offers its tiles: it passes with the instructions in
// software, and refuses (without throwing) where they do not compile.
TEST(ConvolutionKernels, WgmmaSelfCheckPassesEmulatedAndRefusesOffHopper) {
  const std::string emulated = cl::wgmmaConvolutionSelfCheck(cache().context(), true);
  EXPECT_EQ(emulated.rfind("passed: hwc_wgmma_f16_128x64 matched the host", 0), 0u) << emulated;
  const std::string real = cl::wgmmaConvolutionSelfCheck(cache().context(), false);
  if (!cl::tensorCoreWgmmaAvailable(*cache().context())) {
    EXPECT_EQ(real.rfind("refused: ", 0), 0u) << real;
  }
  EXPECT_EQ(cl::wgmmaConvolutionOffered(*cache().context(), DataType::kHALF),
            cl::tensorCoreWgmmaAvailable(*cache().context()) && real.rfind("passed: ", 0) == 0)
      << real;
  EXPECT_FALSE(cl::wgmmaConvolutionOffered(*cache().context(), DataType::kFLOAT));
}

// The same on the device's own warpgroup products, where the wgmma probe and the self-check
// passed (Hopper); elsewhere they are not offered.
TEST(ConvolutionKernels, OfferedWgmmaTilesMatchTheReference) {
  const std::vector<std::string> tactics =
      cl::channelsLastConvolutionTactics(*cache().context(), DataType::kHALF, {}, false);
  std::uint32_t seed = 6500;
  std::size_t offered = 0;
  for (const std::string& tactic : tactics) {
    if (!cl::findWgmmaConvolutionTile(tactic)) continue;
    ++offered;
    checkWgmmaTile(tactic, seed, Run::kDevice);
    // A ResNet-50 3x3 layer of stage 3 at batch 2: 392 pixels (the last block partial), K 2304.
    checkConvolution(tactic, {2, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false}, DataType::kHALF,
                     seed += 2, true, Run::kDevice, 0, 16);
  }
  EXPECT_EQ(offered, cl::wgmmaConvolutionOffered(*cache().context(), DataType::kHALF) ? cl::wgmmaConvolutionTiles().size()
                                                                                      : 0u);
  if (cl::tensorCoreWgmmaAvailable(*cache().context())) {
    EXPECT_TRUE(cl::wgmmaConvolutionVerified(*cache().context()));  // Hopper: the self-check passes
  }
  if (offered == 0) GTEST_SKIP() << "the wgmma tiles are not offered on this device";
}

// The same on the device's own tensor cores, where the probe offers them (NVIDIA GPUs).
TEST(ConvolutionKernels, EveryOfferedTensorCoreTacticMatchesTheReference) {
  cl::GemmPolicy policy;
  policy.allow_tf32 = true;
  std::uint32_t seed = 1700;
  std::size_t offered = 0;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    std::vector<std::string> tactics = cl::convolutionTactics(*cache().context(), type, policy);
    for (const std::string& tactic : cl::channelsLastConvolutionTactics(*cache().context(), type, policy, false)) {
      tactics.push_back(tactic);
    }
    for (const std::string& tactic : tactics) {
      if (tactic.rfind("mma_", 0) != 0 && tactic.rfind("hwc_mma_", 0) != 0) continue;
      ++offered;
      for (const ConvCase& c : kConvCases) checkConvolution(tactic, c, type, seed += 3);
      checkConvolution(tactic, kConvCases.at(8), type, seed += 2, true);
      checkConvolution(tactic, kConvCases.at(10), type, seed += 2, true, Run::kDevice, 0, 16);
      for (const ConvCase& c : kChannelsLastVectorCases) checkConvolution(tactic, c, type, seed += 3, true, Run::kDevice, 0, 16);
      // A late layer at batch 1 (few blocks, deep K): the split-K tiles split it on a GPU.
      checkConvolution(tactic, {1, 128, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true, false}, type, seed += 2, true,
                       Run::kDevice, 0, 16);
    }
  }
  if (offered == 0) GTEST_SKIP() << "no tensor-core convolution tactic is offered on this device";
}

// Split K only where the blocks leave the device idle, in slices of at least four K tiles.
TEST(ConvolutionKernels, SplitKSlicesOnlyLayersWithFewBlocks) {
  const cl::MmaConvolutionTile* split = cl::findMmaConvolutionTile("mma_f16_32x32_splitk");
  const cl::MmaConvolutionTile* plain = cl::findMmaConvolutionTile("mma_f16_32x32");
  ASSERT_TRUE(split && plain);
  EXPECT_EQ(split->tileK(), 64);
  EXPECT_EQ(cl::mmaConvolutionSplits(*split, 32, 4608, 132), 9);   // 264 work-groups wanted
  EXPECT_EQ(cl::mmaConvolutionSplits(*split, 1, 4608, 132), 18);   // 72 K tiles, 4 per slice
  EXPECT_EQ(cl::mmaConvolutionSplits(*split, 264, 4608, 132), 1);  // fills the device already
  EXPECT_EQ(cl::mmaConvolutionSplits(*split, 1, 200, 132), 1);     // 4 K tiles: one slice
  EXPECT_EQ(cl::mmaConvolutionSplits(*plain, 1, 4608, 132), 1);
}

// Blocks of four times the maps of a group or the pixels or more are not worth timing; the
// smallest direct tile always is (a depthwise convolution has one map per group).
TEST(ConvolutionKernels, TacticsWhoseBlocksDwarfTheLayerAreNotWorthTiming) {
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("direct_m1", 1, 1));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("direct_m4", 1, 4096));
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("direct_m4", 2, 4096));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("igemm_t2x2", 8, 4096));   // 32 maps >= 4 x 8
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("igemm_t2x2", 9, 4096));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("igemm_t4x4", 64, 16));    // 64 pixels >= 4 x 16
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("igemm_t4x4", 64, 17));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("mma_f16_128x128", 32, 4096));  // 128 maps >= 4 x 32
  EXPECT_TRUE(cl::convolutionTacticWorthTiming("mma_f16_128x128", 33, 4096));
  EXPECT_FALSE(cl::convolutionTacticWorthTiming("mma_tf32_32x32", 1, 4096));    // depthwise
  EXPECT_THROW(cl::convolutionTacticWorthTiming("winograd", 64, 64), InvalidArgument);
}

// A transposed convolution as the scatter it is: each input element adds kernel-weighted values
// to the full output, cropped by `crop` in front; the kernel gathers instead.
struct DeconvCase {
  std::int64_t n, c, h, w, m, kh, kw, stride_h, stride_w, dilation_h, dilation_w, crop_h, crop_w, oh, ow, groups;
};

const std::vector<DeconvCase> kDeconvCases = {
    {1, 3, 5, 4, 4, 3, 3, 1, 1, 1, 1, 0, 0, 7, 6, 1},     // full output, no cropping
    {2, 4, 5, 7, 6, 4, 4, 2, 2, 1, 1, 1, 1, 10, 14, 1},   // stride 2, cropped 1 on each side
    {1, 4, 6, 5, 6, 3, 3, 2, 3, 2, 1, 1, 0, 14, 15, 2},   // groups 2, dilation (2, 1), output padding
    {3, 5, 4, 4, 5, 3, 3, 2, 2, 1, 1, 0, 0, 8, 8, 5},     // depthwise, prime batch
    {2, 3, 1, 7, 2, 1, 5, 1, 2, 1, 1, 0, 2, 1, 14, 1},    // 1-D as height 1
};

std::vector<double> referenceDeconvolution(const DeconvCase& c, const std::vector<double>& x,
                                           const std::vector<double>& k, const std::vector<double>& bias) {
  const std::int64_t cg = c.c / c.groups, mg = c.m / c.groups;
  std::vector<double> out(static_cast<std::size_t>(c.n * c.m * c.oh * c.ow), 0.0);
  for (std::int64_t n = 0; n < c.n; ++n)
    for (std::int64_t ci = 0; ci < c.c; ++ci)
      for (std::int64_t iy = 0; iy < c.h; ++iy)
        for (std::int64_t ix = 0; ix < c.w; ++ix)
          for (std::int64_t ml = 0; ml < mg; ++ml)
            for (std::int64_t ky = 0; ky < c.kh; ++ky)
              for (std::int64_t kx = 0; kx < c.kw; ++kx) {
                const std::int64_t oy = iy * c.stride_h + ky * c.dilation_h - c.crop_h;
                const std::int64_t ox = ix * c.stride_w + kx * c.dilation_w - c.crop_w;
                if (oy < 0 || oy >= c.oh || ox < 0 || ox >= c.ow) continue;
                const std::int64_t m = (ci / cg) * mg + ml;
                out[static_cast<std::size_t>(((n * c.m + m) * c.oh + oy) * c.ow + ox)] +=
                    x[static_cast<std::size_t>(((n * c.c + ci) * c.h + iy) * c.w + ix)] *
                    k[static_cast<std::size_t>(((ci * mg + ml) * c.kh + ky) * c.kw + kx)];
              }
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] += bias[static_cast<std::size_t>((static_cast<std::int64_t>(i) / (c.oh * c.ow)) % c.m)];
  }
  return out;
}

TEST(ConvolutionKernels, EveryDeconvolutionTacticMatchesTheScatterReference) {
  std::uint32_t seed = 700;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const std::string& tactic : cl::deconvolutionTactics(type)) {
      for (const DeconvCase& c : kDeconvCases) {
        SCOPED_TRACE(tactic + " " + dataTypeName(type) + " case with input (" + std::to_string(c.n) + ", " +
                     std::to_string(c.c) + ", " + std::to_string(c.h) + ", " + std::to_string(c.w) + ")");
        const bool one_d = c.h == 1 && c.kh == 1 && c.oh == 1;
        const auto dims = [one_d](std::int64_t a, std::int64_t b, std::int64_t h, std::int64_t w) {
          return one_d ? Dims{a, b, w} : Dims{a, b, h, w};
        };
        seed += 3;
        const auto x = randomStored(static_cast<std::size_t>(c.n * c.c * c.h * c.w), seed, type);
        const auto k = randomStored(static_cast<std::size_t>(c.c * (c.m / c.groups) * c.kh * c.kw), seed + 1, type);
        const auto b = randomStored(static_cast<std::size_t>(c.m), seed + 2, type);
        const DeviceTensor in = deviceTensor(dims(c.n, c.c, c.h, c.w), type, x);
        const DeviceTensor kernel = deviceTensor(dims(c.c, c.m / c.groups, c.kh, c.kw), type, k);
        const DeviceTensor bias = deviceTensor(Dims{c.m}, type, b);
        const DeviceTensor out = deviceTensor(dims(c.n, c.m, c.oh, c.ow), type,
                                              std::vector<double>(static_cast<std::size_t>(c.n * c.m * c.oh * c.ow), 3.0));
        cl::ConvolutionWindow window;
        window.groups = c.groups;
        window.stride = one_d ? std::vector<std::int64_t>{c.stride_w} : std::vector<std::int64_t>{c.stride_h, c.stride_w};
        window.dilation = one_d ? std::vector<std::int64_t>{c.dilation_w}
                                : std::vector<std::int64_t>{c.dilation_h, c.dilation_w};
        window.pad_before = one_d ? std::vector<std::int64_t>{c.crop_w} : std::vector<std::int64_t>{c.crop_h, c.crop_w};
        cl::GemmEpilogue epilogue;
        epilogue.bias = &bias;
        cl::deconvolution(cache(), stream(), tactic, in, kernel, window, epilogue, out);
        const auto expected = referenceDeconvolution(c, x, k, b);
        const auto actual = readBack(out);
        double scale = 1.0;
        for (double value : expected) scale = std::max(scale, std::fabs(value));
        for (std::size_t i = 0; i < expected.size(); ++i) {
          ASSERT_NEAR(actual[i], expected[i], (type == DataType::kHALF ? 1e-2 : 1e-5) * scale) << "element " << i;
        }
      }
    }
  }
}

TEST(PoolingKernels, MaxAndAverageMatchTheReference) {
  // (1, 2, 7, 8) pooled 3x3, stride 2, dilation 1 or 2, padded (1, 1) before and (1, 2) after.
  const Dims in_shape{2, 3, 7, 8};
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (std::int64_t dilation : {1, 2}) {
      for (int mode = 0; mode < 3; ++mode) {  // max, average excluding padding, including it
        SCOPED_TRACE(std::string(dataTypeName(type)) + " dilation " + std::to_string(dilation) + " mode " +
                     std::to_string(mode));
        const auto x = randomStored(static_cast<std::size_t>(in_shape.volume()), 900 + mode, type);
        const std::int64_t h = 7, w = 8, k = 3, s = 2, ph = 1, pw = 1, qh = 1, qw = 2;
        const std::int64_t span = dilation * (k - 1) + 1;
        const std::int64_t oh = (h + ph + qh - span) / s + 1, ow = (w + pw + qw - span) / s + 1;
        const DeviceTensor in = deviceTensor(in_shape, type, x);
        const DeviceTensor out = deviceTensor(Dims{2, 3, oh, ow}, type, std::vector<double>(static_cast<std::size_t>(6 * oh * ow), 5.0));
        cl::PoolingWindow window{{k, k}, {s, s}, {dilation, dilation}, {ph, pw}, {qh, qw}, mode == 1};
        cl::pooling(cache(), stream(), mode == 0 ? PoolingType::kMAX : PoolingType::kAVERAGE, in, window, out);
        const auto actual = readBack(out);
        for (std::int64_t plane = 0; plane < 6; ++plane)
          for (std::int64_t oy = 0; oy < oh; ++oy)
            for (std::int64_t ox = 0; ox < ow; ++ox) {
              double best = -std::numeric_limits<double>::infinity(), sum = 0.0;
              int inside = 0, counted = 0;
              for (std::int64_t ky = 0; ky < k; ++ky)
                for (std::int64_t kx = 0; kx < k; ++kx) {
                  const std::int64_t iy = oy * s - ph + ky * dilation, ix = ox * s - pw + kx * dilation;
                  if (iy < h + qh && ix < w + qw) ++counted;
                  if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                  const double value = x[static_cast<std::size_t>((plane * h + iy) * w + ix)];
                  best = std::max(best, value);
                  sum += value;
                  ++inside;
                }
              const double expected = mode == 0 ? best : sum / (mode == 1 ? inside : counted);
              const double actual_value = actual[static_cast<std::size_t>((plane * oh + oy) * ow + ox)];
              ASSERT_NEAR(actual_value, expected, type == DataType::kHALF ? 1e-2 : 1e-6)
                  << "plane " << plane << " at (" << oy << ", " << ox << ")";
            }
      }
    }
  }
}

}  // namespace
}  // namespace mlprt::test
