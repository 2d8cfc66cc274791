// Times every configuration of the large register-tiled GEMM (gemm_large.cpp), offered or not,
// against CLBlast and the best portable kernel on the MLP products of issue 5 (FP32, M = 4096),
// with b as PyTorch's weights (N x K, b^T) and as K x N. Checks each result against CLBlast's.
// Prints a Markdown table of TFLOP/s (OpenCL events around `reps` back-to-back launches).
//
//   cmake -S . -B build/tune -G Ninja -DMLPRT_BUILD_PYTHON=OFF -DMLPRT_BUILD_TESTS=OFF
//   ninja -C build/tune mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/gemm_tune.cpp build/tune/libmlprt_core.a -lclblast -lOpenCL -o build/tune/gemm_tune
//   build/tune/gemm_tune [reps] [divisor]   (divisor: shrink every extent, for a smoke test)
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
#include "backend/opencl/memory.h"
#include "stream_timing.h"

namespace mlprt::cl {
// Defined in gemm_large.cpp: the offered configurations and the tuning-only ones.
std::vector<GemmVariant> largeTileGemmCandidates();
}  // namespace mlprt::cl

namespace {

using namespace mlprt;
using namespace mlprt::cl;

struct Problem {
  std::int64_t m, n, k;
  bool b_trans;
};

DeviceTensor tensor(const std::shared_ptr<DeviceBuffer>& buffer, std::int64_t rows, std::int64_t columns) {
  return DeviceTensor{DeviceRange{buffer, 0}, Dims{rows, columns}, DataType::kFLOAT};
}

// TFLOP/s of `launch` over `reps` back-to-back runs, after one warm-up run.
double tflops(Stream& stream, const Problem& p, int reps, const std::function<void()>& launch) {
  stream.enableTiming();  // streams start untimed
  launch();
  stream.synchronize();
  const Event start = stream.recordTimed();
  for (int r = 0; r < reps; ++r) launch();
  const Event end = stream.recordTimed();
  end.wait();
  const double seconds = Event::elapsedMilliseconds(start, end) / 1e3 / reps;
  return 2.0 * static_cast<double>(p.m) * static_cast<double>(p.n) * static_cast<double>(p.k) / seconds / 1e12;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 10;
  const std::int64_t divisor = argc > 2 ? std::atoi(argv[2]) : 1;
  const auto context = Context::current();
  const auto stream = Stream::create(context);
  KernelCache cache(context);
  std::printf("device: %s (%s)\n", context->device().name.c_str(), context->device().platform_name.c_str());

  constexpr std::int64_t kMax = 4096;
  const auto make = [&](std::uint32_t seed) {
    auto buffer = DeviceBuffer::allocate(context, kMax * kMax * sizeof(float));
    std::vector<float> values(kMax * kMax);
    std::mt19937 engine(seed);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& v : values) v = uniform(engine);
    copyHostToDevice(*stream, DeviceRange{buffer, 0}, values.data(), values.size() * sizeof(float), CopyMode::kBlocking);
    return buffer;
  };
  const auto a_buffer = make(1), b_buffer = make(2);
  const auto out_buffer = DeviceBuffer::allocate(context, kMax * kMax * sizeof(float));
  const auto reference_buffer = DeviceBuffer::allocate(context, kMax * kMax * sizeof(float));

  std::vector<Problem> problems = {{4096, 4096, 1024, true},  {4096, 4096, 1024, false},
                                   {4096, 4096, 4096, true},  {4096, 4096, 4096, false},
                                   {4096, 1024, 4096, true},  {4096, 1024, 4096, false}};
  for (Problem& p : problems) {
    p.m /= divisor;
    p.n /= divisor;
    p.k /= divisor;
  }
  const auto variants = largeTileGemmCandidates();
  std::printf("\n| variant | ");
  for (const Problem& p : problems) {
    std::printf("%lldx%lldx%lld%s | ", static_cast<long long>(p.m), static_cast<long long>(p.n),
                static_cast<long long>(p.k), p.b_trans ? " b^T" : "");
  }
  std::printf("\n|---|");
  for (std::size_t i = 0; i < problems.size(); ++i) std::printf("---|");
  std::printf("\n");

  std::vector<std::vector<std::string>> rows(variants.size() + 2);
  rows[0].push_back("clblast");
  rows[1].push_back("tiled_m8n8_k8");
  for (std::size_t v = 0; v < variants.size(); ++v) rows[v + 2].push_back(variants[v].name);
  char cell[64];
  for (const Problem& p : problems) {
    const DeviceTensor a = tensor(a_buffer, p.m, p.k);
    const DeviceTensor b = p.b_trans ? tensor(b_buffer, p.n, p.k) : tensor(b_buffer, p.k, p.n);
    const DeviceTensor out = tensor(out_buffer, p.m, p.n);
    const DeviceTensor reference = tensor(reference_buffer, p.m, p.n);
    const auto op = p.b_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE;
    const auto portable = [&](const char* name, const DeviceTensor& target) {
      return [&, name] { matrixMultiply(cache, *stream, GemmTactic{name}, a, MatrixOperation::kNONE, b, op, {}, target); };
    };
    std::snprintf(cell, sizeof(cell), "%.1f", tflops(*stream, p, reps, portable("clblast", reference)));
    rows[0].push_back(cell);
    const std::vector<float> expected = bench::readAsFloat(*stream, reference);
    std::snprintf(cell, sizeof(cell), "%.1f", tflops(*stream, p, reps, portable("tiled_m8n8_k8", out)));
    rows[1].push_back(cell);
    GemmShape shape;
    shape.m = p.m;
    shape.n = p.n;
    shape.k = p.k;
    shape.b_trans = p.b_trans;
    const GemmEpilogue epilogue;
    for (std::size_t v = 0; v < variants.size(); ++v) {
      const GemmCall call{cache, *stream, shape, a, b, epilogue, out};
      try {
        const double rate = tflops(*stream, p, reps, [&] { variants[v].run(call); });
        const double error = bench::relativeError(bench::readAsFloat(*stream, out), expected);
        std::snprintf(cell, sizeof(cell), error < 1e-4 ? "%.1f" : "%.1f (err %.0e)", rate, error);
      } catch (const std::exception& failure) {
        std::fprintf(stderr, "%s: %s\n", variants[v].name.c_str(), failure.what());
        std::snprintf(cell, sizeof(cell), "failed");
      }
      rows[v + 2].push_back(cell);
      std::fprintf(stderr, "%s %lldx%lldx%lld%s: %s\n", variants[v].name.c_str(), static_cast<long long>(p.m),
                   static_cast<long long>(p.n), static_cast<long long>(p.k), p.b_trans ? " b^T" : "", cell);
    }
    std::fflush(stdout);
  }
  for (const auto& row : rows) {
    std::printf("|");
    for (const std::string& text : row) std::printf(" %s |", text.c_str());
    std::printf("\n");
  }
  return 0;
}
