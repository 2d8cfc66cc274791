// The wgmma convolution kernel's check on the hardware (convolution_mma.h,
// wgmmaConvolutionSelfCheck): the wgmma probe vouches for the instructions and the GEMM's tiles,
// not for this kernel's gather of pixels into them or its staged epilogue, so the kernel itself
// must give the host's answer on a device once before the builder offers its tiles there.
#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/ops/convolution/convolution.h"
#include "backend/opencl/ops/convolution/convolution_mma.h"
#include "backend/opencl/stream.h"
#include "core/half.h"
#include "core/logging.h"

namespace mlprt::cl {
namespace {

// The problem: 2 images of 9 x 11 pixels and 16 channels, 3x3 with padding 1, 40 maps (part of
// one block of 64), bias, residual and ReLU: 198 pixels (two blocks of 128, the second partial),
// K = 144 (three K tiles, the last partial). Small integers, so every sum is exact in float and
// in half, and the answer is compared exactly.
constexpr std::int64_t kImages = 2, kChannels = 16, kHeight = 9, kWidth = 11, kMaps = 40, kTaps = 3;
constexpr const char* kCheckedTile = "hwc_wgmma_f16_128x64";

std::vector<float> smallIntegers(std::size_t count, std::uint32_t seed) {
  std::vector<float> values(count);
  std::uint32_t state = seed;
  for (float& value : values) {
    state = state * 1664525u + 1013904223u;
    value = static_cast<float>(static_cast<int>((state >> 16) % 5u) - 2);  // -2 .. 2
  }
  return values;
}

DeviceTensor uploadHalves(Stream& stream, const std::shared_ptr<Context>& context, const Dims& shape,
                          const std::vector<float>& values) {
  std::vector<std::uint16_t> bits(values.size());
  std::transform(values.begin(), values.end(), bits.begin(), floatToHalf);
  DeviceRange range{DeviceBuffer::allocate(context, std::max<std::size_t>(bits.size() * 2, 4)), 0};
  copyHostToDevice(stream, range, bits.data(), bits.size() * 2, CopyMode::kBlocking);
  return DeviceTensor{range, shape, DataType::kHALF};
}

// The host's answer, (N, H, W, M) as the kernel stores it: relu(conv + bias + residual).
std::vector<float> expected(const std::vector<float>& in, const std::vector<float>& kernel,
                            const std::vector<float>& bias, const std::vector<float>& residual) {
  std::vector<float> out(residual.size());
  for (std::int64_t n = 0; n < kImages; ++n)
    for (std::int64_t y = 0; y < kHeight; ++y)
      for (std::int64_t x = 0; x < kWidth; ++x)
        for (std::int64_t m = 0; m < kMaps; ++m) {
          const std::int64_t at = ((n * kHeight + y) * kWidth + x) * kMaps + m;
          float sum = bias[static_cast<std::size_t>(m)] + residual[static_cast<std::size_t>(at)];
          for (std::int64_t ky = 0; ky < kTaps; ++ky)
            for (std::int64_t kx = 0; kx < kTaps; ++kx) {
              const std::int64_t iy = y + ky - 1, ix = x + kx - 1;
              if (iy < 0 || iy >= kHeight || ix < 0 || ix >= kWidth) continue;
              for (std::int64_t c = 0; c < kChannels; ++c) {
                sum += in[static_cast<std::size_t>(((n * kHeight + iy) * kWidth + ix) * kChannels + c)] *
                       kernel[static_cast<std::size_t>(((m * kTaps + ky) * kTaps + kx) * kChannels + c)];
              }
            }
          out[static_cast<std::size_t>(at)] = std::max(sum, 0.0f);
        }
  return out;
}

std::string runCheck(const std::shared_ptr<Context>& context, bool emulate, bool& passed) {
  passed = false;
  auto stream = Stream::create(context);
  KernelCache cache(context);
  const std::int64_t pixels = kImages * kHeight * kWidth;
  const std::vector<float> in = smallIntegers(static_cast<std::size_t>(pixels * kChannels), 1);
  const std::vector<float> kernel = smallIntegers(static_cast<std::size_t>(kMaps * kTaps * kTaps * kChannels), 2);
  const std::vector<float> bias = smallIntegers(kMaps, 3);
  const std::vector<float> residual = smallIntegers(static_cast<std::size_t>(pixels * kMaps), 4);
  const DeviceTensor d_in = uploadHalves(*stream, context, Dims{kImages, kChannels, kHeight, kWidth}, in);
  const DeviceTensor d_kernel = uploadHalves(*stream, context, Dims{kMaps, kChannels, kTaps, kTaps}, kernel);
  const DeviceTensor d_bias = uploadHalves(*stream, context, Dims{kMaps}, bias);
  const DeviceTensor d_residual = uploadHalves(*stream, context, Dims{kImages, kMaps, kHeight, kWidth}, residual);
  const DeviceTensor d_out = uploadHalves(*stream, context, Dims{kImages, kMaps, kHeight, kWidth},
                                          std::vector<float>(static_cast<std::size_t>(pixels * kMaps), 7.0f));
  ConvolutionWindow window;
  window.stride = {1, 1};
  window.dilation = {1, 1};
  window.pad_before = {1, 1};
  GemmEpilogue epilogue;
  epilogue.bias = &d_bias;
  epilogue.has_activation = true;
  epilogue.activation = ActivationType::kRELU;
  if (emulate) {
    convolutionEmulatingTensorCores(cache, *stream, kCheckedTile, d_in, d_kernel, window, epilogue, d_out, &d_residual, 0);
  } else {
    convolution(cache, *stream, kCheckedTile, d_in, d_kernel, window, epilogue, d_out, &d_residual);
  }
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(pixels * kMaps));
  copyDeviceToHost(*stream, bits.data(), d_out.range, bits.size() * 2, CopyMode::kBlocking);
  const std::vector<float> want = expected(in, kernel, bias, residual);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const float got = halfToFloat(bits[i]);
    if (got != want[i]) {
      return std::string(kCheckedTile) + " gave a wrong convolution (element " + std::to_string(i) + " is " +
             std::to_string(got) + ", expected " + std::to_string(want[i]) + ")";
    }
  }
  passed = true;
  return std::string(kCheckedTile) + " matched the host on a 3x3 convolution of 198 pixels";
}

}  // namespace

std::string wgmmaConvolutionSelfCheck(const std::shared_ptr<Context>& context, bool emulate) {
  bool passed = false;
  std::string report;
  try {
    report = runCheck(context, emulate, passed);
  } catch (const std::exception& error) {
    report = std::string("the kernel failed: ") + error.what();
  }
  return (passed ? "passed: " : "refused: ") + report;
}

bool wgmmaConvolutionVerified(const Context& context) {
  static std::mutex mutex;
  static std::map<std::string, bool> verdicts;
  const std::lock_guard<std::mutex> lock(mutex);
  const std::string key = context.device().fingerprint();
  auto found = verdicts.find(key);
  if (found == verdicts.end()) {
    const std::string report = wgmmaConvolutionSelfCheck(Context::forDevice(context.device()), false);
    const bool passed = report.rfind("passed", 0) == 0;
    log(passed ? Severity::kVERBOSE : Severity::kWARNING,
        "wgmma convolutions on " + context.device().name + ": " + report +
            (passed ? "" : "; convolutions run on the other tensor-core tiles"));
    found = verdicts.emplace(key, passed).first;
  }
  return found->second;
}

}  // namespace mlprt::cl
