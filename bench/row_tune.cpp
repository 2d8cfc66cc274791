// Times mlprt's row-kernel tactics (gemm_kernels.cpp: small_m1, small_m8, their _splitk forms,
// small_m1_g1024) through the library's launcher on the wide MLP's three batch-1 layers
// (1024 x 4096, 4096 x 4096, 4096 x 1024), FP32 with K x N weights and FP16 with N x K weights
// (as engines store them), each as the launcher queues it and as an execution context replays its
// captured launches. Each figure: microseconds per launch over `reps` back-to-back launches
// between two timed events (after two warm-up launches), as bench/gemv_probe.cpp times its raw
// kernels on the same shapes: the two tables side by side say whether a gap between them lies in
// the kernels or in how they are launched. Each result is checked against tiled_m8n8_k8's.
//
//   cmake -S . -B build/tune -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF
//   ninja -C build/tune mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/row_tune.cpp build/tune/libmlprt_core.a -lclblast -lOpenCL -o build/tune/row_tune
//   build/tune/row_tune [reps] [divisor]   (divisor: shrink every extent, for a smoke test)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/launch_capture.h"
#include "backend/opencl/memory.h"
#include "core/half.h"
#include "stream_timing.h"

namespace {

using namespace mlprt;
using namespace mlprt::cl;

struct Layer {
  std::int64_t k, n;
};

std::shared_ptr<DeviceBuffer> randomBuffer(const std::shared_ptr<Context>& context, Stream& stream, std::size_t count,
                                           DataType type, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(engine);
  const std::size_t bytes = count * (type == DataType::kHALF ? 2 : 4);
  auto buffer = DeviceBuffer::allocate(context, bytes);
  if (type == DataType::kHALF) {
    std::vector<std::uint16_t> halves(count);
    for (std::size_t i = 0; i < count; ++i) halves[i] = floatToHalf(values[i]);
    copyHostToDevice(stream, DeviceRange{buffer, 0}, halves.data(), bytes, CopyMode::kBlocking);
  } else {
    copyHostToDevice(stream, DeviceRange{buffer, 0}, values.data(), bytes, CopyMode::kBlocking);
  }
  return buffer;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::int64_t divisor = argc > 2 ? std::atoi(argv[2]) : 1;
  const auto context = Context::current();
  const auto stream = Stream::create(context);
  KernelCache cache(context);
  std::printf("device: %s (%s), %d launches per figure\n", context->device().name.c_str(),
              context->device().platform_name.c_str(), reps);
  const std::vector<Layer> layers = {{1024 / divisor, 4096 / divisor}, {4096 / divisor, 4096 / divisor},
                                     {4096 / divisor, 1024 / divisor}};
  const std::vector<const char*> tactics = {"small_m1", "small_m8", "small_m1_splitk", "small_m8_splitk",
                                            "small_m1_g1024"};
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const bool half = type == DataType::kHALF;
    std::printf("\n## %s, b %s\n| tactic | launch |", half ? "FP16" : "FP32", half ? "N x K" : "K x N");
    for (const Layer& l : layers) std::printf(" %lldx%lld us |", static_cast<long long>(l.k), static_cast<long long>(l.n));
    std::printf(" three us | max rel error |\n| --- | --- |");
    for (std::size_t i = 0; i < layers.size(); ++i) std::printf(" ---: |");
    std::printf(" ---: | ---: |\n");
    std::vector<DeviceTensor> as, bs, outs, references, workspaces;
    for (std::size_t i = 0; i < layers.size(); ++i) {
      const Layer& l = layers[i];
      const auto seed = static_cast<std::uint32_t>(10 * i);
      as.push_back({{randomBuffer(context, *stream, static_cast<std::size_t>(l.k), type, seed + 1), 0}, Dims{1, l.k}, type});
      const Dims b_shape = half ? Dims{l.n, l.k} : Dims{l.k, l.n};
      bs.push_back({{randomBuffer(context, *stream, static_cast<std::size_t>(l.k * l.n), type, seed + 2), 0}, b_shape, type});
      outs.push_back({{DeviceBuffer::allocate(context, static_cast<std::size_t>(l.n) * 4), 0}, Dims{1, l.n}, type});
      references.push_back({{DeviceBuffer::allocate(context, static_cast<std::size_t>(l.n) * 4), 0}, Dims{1, l.n}, type});
      const std::size_t workspace = 64u << 20;
      workspaces.push_back({{DeviceBuffer::allocate(context, workspace), 0},
                            Dims{static_cast<std::int64_t>(workspace / 4)}, DataType::kFLOAT});
    }
    const MatrixOperation op1 = half ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE;
    const auto run = [&](const std::string& tactic, std::size_t i, const DeviceTensor& target) {
      matrixMultiply(cache, *stream, GemmTactic{tactic}, as[i], MatrixOperation::kNONE, bs[i], op1, {}, target,
                     &workspaces[i]);
    };
    for (std::size_t i = 0; i < layers.size(); ++i) run("tiled_m8n8_k8", i, references[i]);
    for (const char* tactic : tactics) {
      for (bool replayed : {false, true}) {
        std::vector<double> times;
        double error = 0.0;
        try {
          std::vector<std::unique_ptr<LaunchCapture>> captures;
          for (std::size_t i = 0; i < layers.size(); ++i) {
            std::vector<cl_mem> lasting{as[i].range.buffer->mem(), bs[i].range.buffer->mem(),
                                        outs[i].range.buffer->mem(), workspaces[i].range.buffer->mem()};
            captures.push_back(std::make_unique<LaunchCapture>(lasting));
            {
              const CaptureScope scope(*captures.back());
              run(tactic, i, outs[i]);
            }
            if (replayed && !captures.back()->replayable()) {
              throw std::runtime_error("capture not replayable: " + captures.back()->whyNotReplayable());
            }
            const auto launch = [&, i] {
              if (replayed) {
                captures[i]->replay(*stream);
              } else {
                run(tactic, i, outs[i]);
              }
            };
            times.push_back(1e3 * bench::streamMilliseconds(*stream, reps, launch));
            error = std::max(error, bench::relativeError(bench::readAsFloat(*stream, outs[i]),
                                                         bench::readAsFloat(*stream, references[i])));
          }
          times.push_back(1e3 * bench::streamMilliseconds(*stream, reps, [&] {
            for (std::size_t i = 0; i < layers.size(); ++i) {
              if (replayed) {
                captures[i]->replay(*stream);
              } else {
                run(tactic, i, outs[i]);
              }
            }
          }));
        } catch (const std::exception& failure) {
          std::printf("| %s | %s | failed: %s |\n", tactic, replayed ? "replay" : "launcher", failure.what());
          continue;
        }
        std::printf("| %s | %s |", tactic, replayed ? "replay" : "launcher");
        for (double t : times) std::printf(" %.1f |", t);
        std::printf(" %.1e |\n", error);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
