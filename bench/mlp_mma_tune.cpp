// Times the tensor-core fused MLP (backend/opencl/mlp_mma.h) on issue 5's model, 8 Linear
// layers of width 256 with ReLU between, batch 4096, FP16 weights, against the per-layer path
// (8 tensor-core GEMMs, bias + ReLU fused) on the same data, for several rows-per-work-group and
// warp counts; also half and float activations at the ends, and the 784-32-10 MLP. Each fused
// result is compared with the per-layer one. Microseconds from OpenCL events around `reps`
// back-to-back forwards.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/mlp_mma_tune.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/mlp_mma_tune
//   build/g/mlp_mma_tune [reps]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernels.h"
#include "backend/opencl/mlp_mma.h"
#include "core/half.h"
#include "stream_timing.h"

namespace {

using namespace mlprt;
using namespace mlprt::cl;

std::vector<unsigned char> encode(const std::vector<float>& values, DataType type) {
  std::vector<unsigned char> bytes(values.size() * elementSize(type));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (type == DataType::kHALF) {
      const std::uint16_t h = floatToHalf(values[i]);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(bytes.data() + 4 * i, &values[i], 4);
    }
  }
  return bytes;
}

std::vector<float> randomValues(std::size_t count, float scale, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = value(engine) * scale;
  return values;
}

DeviceTensor upload(const std::shared_ptr<Context>& context, Stream& stream, const Dims& shape, DataType type,
                    const std::vector<float>& values) {
  const auto bytes = encode(values, type);
  auto buffer = DeviceBuffer::allocate(context, std::max<std::size_t>(bytes.size(), 4));
  copyHostToDevice(stream, DeviceRange{buffer, 0}, bytes.data(), bytes.size(), CopyMode::kBlocking);
  return DeviceTensor{DeviceRange{buffer, 0}, shape, type};
}

// A chain's weights (N x K) and biases in one HALF buffer, 256-byte aligned, as in an engine.
struct Chain {
  std::vector<std::int64_t> widths;
  std::vector<DeviceTensor> weights, biases;
  std::vector<MlpStageOperands> stages;

  Chain(const std::shared_ptr<Context>& context, Stream& stream, std::vector<std::int64_t> w) : widths(std::move(w)) {
    std::vector<unsigned char> packed;
    const std::size_t count = widths.size() - 1;
    weights.resize(count);
    biases.resize(count);
    const auto place = [&](const std::vector<float>& values, const Dims& shape, DeviceTensor& tensor) {
      packed.resize((packed.size() + 255) / 256 * 256, 0);
      tensor.range.offset = packed.size();
      tensor.shape = shape;
      tensor.type = DataType::kHALF;
      const auto bytes = encode(values, DataType::kHALF);
      packed.insert(packed.end(), bytes.begin(), bytes.end());
    };
    for (std::size_t i = 0; i < count; ++i) {
      const auto k = static_cast<std::size_t>(widths[i]), n = static_cast<std::size_t>(widths[i + 1]);
      place(randomValues(k * n, 1.7f / std::sqrt(static_cast<float>(k)), 10 + static_cast<std::uint32_t>(i)),
            Dims({widths[i + 1], widths[i]}), weights[i]);
      place(randomValues(n, 0.1f, 30 + static_cast<std::uint32_t>(i)), Dims({widths[i + 1]}), biases[i]);
    }
    auto buffer = DeviceBuffer::allocate(context, packed.size());
    copyHostToDevice(stream, DeviceRange{buffer, 0}, packed.data(), packed.size(), CopyMode::kBlocking);
    stages.resize(count);
    for (std::size_t i = 0; i < count; ++i) {
      weights[i].range.buffer = buffer;
      biases[i].range.buffer = buffer;
      stages[i].weights = &weights[i];
      stages[i].bias = &biases[i];
      stages[i].has_activation = i + 1 < count;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const auto context = Context::current();
  auto stream = Stream::create(context);
  KernelCache cache(context);
  std::printf("device: %s (%s), local memory %llu bytes\n%s\n", context->device().name.c_str(),
              context->device().platform_name.c_str(), static_cast<unsigned long long>(context->device().local_memory),
              tensorCoreProbeReport(*context, false).c_str());
  const std::int64_t rows = 4096;
  const Chain chain(context, *stream, std::vector<std::int64_t>(9, 256));
  const std::vector<float> x_values = randomValues(static_cast<std::size_t>(rows * 256), 1.0f, 5);
  const DeviceTensor x_half = upload(context, *stream, {rows, 256}, DataType::kHALF, x_values);
  const DeviceTensor x_float = upload(context, *stream, {rows, 256}, DataType::kFLOAT, x_values);
  const DeviceTensor ping = upload(context, *stream, {rows, 256}, DataType::kHALF, std::vector<float>(rows * 256, 0.0f));
  const DeviceTensor pong = upload(context, *stream, {rows, 256}, DataType::kHALF, std::vector<float>(rows * 256, 0.0f));
  const DeviceTensor y_half = upload(context, *stream, {rows, 256}, DataType::kHALF, std::vector<float>(rows * 256, 0.0f));
  const DeviceTensor y_float = upload(context, *stream, {rows, 256}, DataType::kFLOAT, std::vector<float>(rows * 256, 0.0f));

  // The per-layer path: 8 GEMMs, the last one writing y_half.
  std::vector<float> reference;
  for (const char* tactic : {"mma_f16_64x64", "mma_f16_128x64"}) {
    const auto forward = [&] {
      for (std::size_t layer = 0; layer < 8; ++layer) {
        GemmEpilogue epilogue;
        epilogue.bias = &chain.biases[layer];
        epilogue.has_activation = layer < 7;
        const DeviceTensor& a = layer == 0 ? x_half : layer % 2 ? ping : pong;
        const DeviceTensor& out = layer == 7 ? y_half : layer % 2 ? pong : ping;
        matrixMultiply(cache, *stream, GemmTactic{tactic}, a, MatrixOperation::kNONE, chain.weights[layer],
                       MatrixOperation::kTRANSPOSE, epilogue, out);
      }
    };
    try {
      const double us = 1e3 * bench::streamMilliseconds(*stream, reps, forward);
      const std::vector<float> result = bench::readAsFloat(*stream, y_half);
      if (reference.empty()) reference = result;
      std::printf("per-layer %-16s 8 x (4096 x 256 x 256)  %8.1f us  %6.1f TFLOP/s  rel.err %.2e\n", tactic, us,
                  2.0 * rows * 256 * 256 * 8 / (us * 1e-6) / 1e12, bench::relativeError(result, reference));
    } catch (const std::exception& error) {
      std::printf("per-layer %-16s FAILED: %s\n", tactic, error.what());
    }
  }

  // The fused kernel: rows per group x warps x weight chunks in flight (0: defaults), half at
  // both ends.
  for (int group_rows : {16, 32, 64}) {
    for (int warps : {0, 4}) {
      for (int depth : {1, 2, 4, 8}) {
        FusedMlpMmaOptions options;
        options.warps = warps;
        options.depth = depth;
        const auto forward = [&] { runFusedMlpMma(cache, *stream, group_rows, options, x_half, chain.stages, y_half); };
        try {
          const double us = 1e3 * bench::streamMilliseconds(*stream, reps, forward);
          const std::vector<float> result = bench::readAsFloat(*stream, y_half);
          std::printf("fused_mlp_mma rows %3d warps %d depth %d (half in/out)  %8.1f us  %6.1f TFLOP/s  rel.err vs "
                      "per-layer %.2e\n",
                      group_rows, warps, depth, us, 2.0 * rows * 256 * 256 * 8 / (us * 1e-6) / 1e12,
                      bench::relativeError(result, reference));
        } catch (const std::exception& error) {
          std::printf("fused_mlp_mma rows %3d warps %d depth %d not run: %s\n", group_rows, warps, depth, error.what());
        }
      }
    }
  }
  // As an FP16 engine runs it: float input and output (the casts swallowed), default warps.
  for (int group_rows : fusedMlpMmaRowChoices()) {
    const auto forward = [&] { runFusedMlpMma(cache, *stream, group_rows, {}, x_float, chain.stages, y_float); };
    try {
      const double us = 1e3 * bench::streamMilliseconds(*stream, reps, forward);
      std::printf("fused_mlp_mma rows %3d (float in/out)           %8.1f us  rel.err vs per-layer %.2e\n", group_rows,
                  us, bench::relativeError(bench::readAsFloat(*stream, y_float), reference));
    } catch (const std::exception& error) {
      std::printf("fused_mlp_mma rows %3d (float in/out) not run: %s\n", group_rows, error.what());
    }
  }
  // 784-32-10 (the tutorial's MLP) at a few batches.
  const Chain small(context, *stream, {784, 32, 10});
  for (std::int64_t batch : {64, 4096}) {
    const DeviceTensor in = upload(context, *stream, {batch, 784}, DataType::kFLOAT,
                                   randomValues(static_cast<std::size_t>(batch * 784), 1.0f, 7));
    const DeviceTensor out = upload(context, *stream, {batch, 10}, DataType::kFLOAT,
                                    std::vector<float>(static_cast<std::size_t>(batch * 10), 0.0f));
    for (int group_rows : {16, 32, 64}) {
      const auto forward = [&] { runFusedMlpMma(cache, *stream, group_rows, {}, in, small.stages, out); };
      try {
        const double us = 1e3 * bench::streamMilliseconds(*stream, reps, forward);
        // The emulated kernel on the same data as the check (same tiling, mma in software).
        const std::vector<float> fast = bench::readAsFloat(*stream, out);
        FusedMlpMmaOptions emulated;
        emulated.emulate = true;
        runFusedMlpMma(cache, *stream, group_rows, emulated, in, small.stages, out);
        std::printf("784-32-10 batch %5lld rows %3d  %8.1f us  rel.err vs emulated %.2e\n",
                    static_cast<long long>(batch), group_rows, us,
                    bench::relativeError(fast, bench::readAsFloat(*stream, out)));
      } catch (const std::exception& error) {
        std::printf("784-32-10 batch %5lld rows %3d not run: %s\n", static_cast<long long>(batch), group_rows,
                    error.what());
      }
    }
  }
  return 0;
}
