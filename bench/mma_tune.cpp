// Times the tensor-core GEMM variants (gemm_mma.cpp) on the MLP products of issue 5, M = 4096,
// with b as PyTorch's weights (N x K, b^T) and as K x N, bias + ReLU fused; FP16 storage on the
// f16 variants, FP32 on TF32 ones, with CLBlast FP32 and the portable tiled kernel for scale.
// Also an 8-layer 256-wide MLP forward (8 products 4096 x 256 x 256 back to back). Checks each
// result against the first variant's. TFLOP/s from OpenCL events around `reps` launches.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/mma_tune.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/mma_tune
//   build/g/mma_tune [reps]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/kernels.h"
#include "core/half.h"
#include "core/logging.h"

namespace mlprt::cl {
std::string tensorCoreProbeReport(const Context& context, bool fresh);
}  // namespace mlprt::cl

namespace {

using namespace mlprt;
using namespace mlprt::cl;

struct Operand {
  DeviceTensor tensor;
};

DeviceTensor make(const std::shared_ptr<Context>& context, Stream& stream, const Dims& shape, DataType type,
                  std::uint32_t seed) {
  const std::size_t count = static_cast<std::size_t>(shape.volume());
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<unsigned char> bytes(count * elementSize(type));
  for (std::size_t i = 0; i < count; ++i) {
    const float x = value(engine) * 0.25f;
    if (type == DataType::kHALF) {
      const std::uint16_t h = floatToHalf(x);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(bytes.data() + 4 * i, &x, 4);
    }
  }
  auto buffer = DeviceBuffer::allocate(context, bytes.size());
  copyHostToDevice(stream, DeviceRange{buffer, 0}, bytes.data(), bytes.size(), CopyMode::kBlocking);
  return DeviceTensor{DeviceRange{buffer, 0}, shape, type};
}

std::vector<float> read(Stream& stream, const DeviceTensor& t) {
  const std::size_t count = static_cast<std::size_t>(t.shape.volume());
  std::vector<unsigned char> bytes(count * elementSize(t.type));
  copyDeviceToHost(stream, bytes.data(), t.range, bytes.size(), CopyMode::kBlocking);
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (t.type == DataType::kHALF) {
      std::uint16_t h;
      std::memcpy(&h, bytes.data() + 2 * i, 2);
      values[i] = halfToFloat(h);
    } else {
      std::memcpy(&values[i], bytes.data() + 4 * i, 4);
    }
  }
  return values;
}

double relativeError(const std::vector<float>& x, const std::vector<float>& y) {
  double difference = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    difference = std::max(difference, std::fabs(static_cast<double>(x[i]) - y[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(y[i])));
  }
  return difference / std::max(scale, 1e-30);
}

// Milliseconds per call of `launch`, over `reps` back-to-back calls after two warm-up calls.
double milliseconds(Stream& stream, int reps, const std::function<void()>& launch) {
  launch();
  launch();
  stream.synchronize();
  const Event start = stream.record();
  for (int i = 0; i < reps; ++i) launch();
  const Event end = stream.record();
  end.wait();
  return Event::elapsedMilliseconds(start, end) / reps;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const auto context = Context::current();
  auto stream = Stream::create(context);
  KernelCache cache(context);
  std::printf("device: %s (%s)\n%s\n", context->device().name.c_str(), context->device().platform_name.c_str(),
              tensorCoreProbeReport(*context, false).c_str());
  const GemmPolicy tf32{true};

  struct Problem {
    std::int64_t m, n, k;
    bool b_trans;
  };
  const std::vector<Problem> problems = {{4096, 4096, 1024, true}, {4096, 1024, 4096, true}, {4096, 256, 256, true},
                                         {4096, 4096, 1024, false}, {4096, 256, 256, false}};
  for (const DataType type : {DataType::kHALF, DataType::kFLOAT}) {
    std::vector<std::string> names;
    for (const auto& tactic : gemmTactics(*context, type, tf32)) {
      if (tactic.name.rfind("mma_", 0) == 0 || tactic.name == "clblast" || tactic.name == "tiled_m8n8_k8") {
        names.push_back(tactic.name);
      }
    }
    for (const Problem& p : problems) {
      const DeviceTensor a = make(context, *stream, {p.m, p.k}, type, 1);
      const DeviceTensor b = make(context, *stream, p.b_trans ? Dims{p.n, p.k} : Dims{p.k, p.n}, type, 2);
      const DeviceTensor bias = make(context, *stream, {p.n}, type, 3);
      const DeviceTensor out = make(context, *stream, {p.m, p.n}, type, 4);
      GemmEpilogue epilogue;
      epilogue.bias = &bias;
      epilogue.has_activation = true;
      std::vector<float> reference;
      for (const std::string& name : names) {
        const auto launch = [&] {
          matrixMultiply(cache, *stream, GemmTactic{name}, a, MatrixOperation::kNONE, b,
                         p.b_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, epilogue, out);
        };
        double ms = 0;
        try {
          ms = milliseconds(*stream, name.rfind("mma_", 0) == 0 ? reps : 5, launch);
        } catch (const std::exception& error) {
          std::printf("%-6s %5lld x %5lld x %5lld b%s %-18s FAILED: %s\n", dataTypeName(type),
                      static_cast<long long>(p.m), static_cast<long long>(p.n), static_cast<long long>(p.k),
                      p.b_trans ? "^T" : "  ", name.c_str(), error.what());
          continue;
        }
        const std::vector<float> result = read(*stream, out);
        if (reference.empty()) reference = result;
        const double flops = 2.0 * p.m * p.n * p.k;
        std::printf("%-6s %5lld x %5lld x %5lld b%s %-18s %9.1f us %7.1f TFLOP/s  rel.err vs first %.2e\n",
                    dataTypeName(type), static_cast<long long>(p.m), static_cast<long long>(p.n),
                    static_cast<long long>(p.k), p.b_trans ? "^T" : "  ", name.c_str(), ms * 1e3,
                    flops / (ms * 1e-3) / 1e12, relativeError(result, reference));
      }
    }
    // 8-layer 256-wide MLP forward, batch 4096: ping-pong between two activations.
    const DeviceTensor x0 = make(context, *stream, {4096, 256}, type, 5);
    const DeviceTensor x1 = make(context, *stream, {4096, 256}, type, 6);
    std::vector<DeviceTensor> weights, biases;
    for (int layer = 0; layer < 8; ++layer) {
      weights.push_back(make(context, *stream, {256, 256}, type, 10 + layer));
      biases.push_back(make(context, *stream, {256}, type, 30 + layer));
    }
    for (const std::string& name : names) {
      const auto forward = [&] {
        for (int layer = 0; layer < 8; ++layer) {
          GemmEpilogue epilogue;
          epilogue.bias = &biases[layer];
          epilogue.has_activation = layer < 7;
          matrixMultiply(cache, *stream, GemmTactic{name}, layer % 2 ? x1 : x0, MatrixOperation::kNONE,
                         weights[layer], MatrixOperation::kTRANSPOSE, epilogue, layer % 2 ? x0 : x1);
        }
      };
      try {
        const double ms = milliseconds(*stream, 20, forward);
        std::printf("%-6s MLP 8 x (4096 x 256 x 256) %-18s %9.1f us per forward\n", dataTypeName(type),
                    name.c_str(), ms * 1e3);
      } catch (const std::exception& error) {
        std::printf("%-6s MLP %-18s FAILED: %s\n", dataTypeName(type), name.c_str(), error.what());
      }
    }
  }
  return 0;
}
