// Times the tensor-core GEMM variants (gemm_mma.cpp) on the MLP products of issue 5, M = 4096,
// with b as PyTorch's weights (N x K, b^T) and as K x N, bias + ReLU fused; FP16 storage on the
// f16 variants (the plain ones and the cp.async + ldmatrix "mma_f16_async_*" ones), FP32 on TF32
// ones, with CLBlast FP32 and the portable tiled kernel for scale. Also an 8-layer 256-wide MLP
// forward (8 products 4096 x 256 x 256 back to back). Where the async probe passed, a sweep of
// further async configurations (block, warp grid, K per tile, stages) runs next to the offered
// variants through runTensorCoreGemm, and where the wgmma probe passed, wgmma configurations
// (block, stages, with or without a producer warpgroup). Every result is checked against a double-precision CPU
// reference on 1024 sampled outputs (error within 1e-2 relative, 1e-3 of the sum of absolute
// terms: "ok"; else "BAD") and compared with the first variant's. TFLOP/s from OpenCL events
// around `reps` launches. The last lines: the best time of each kernel family per product.
//
//   cmake -S . -B build/g -G Ninja -DMLPRT_BUILD_PYTHON=OFF && ninja -C build/g mlprt_core
//   g++ -O2 -std=c++17 -Icsrc bench/mma_tune.cpp build/g/libmlprt_core.a -lclblast -lOpenCL -o build/g/mma_tune
//   build/g/mma_tune [reps]
//
// `build/g/mma_tune 2 16 emulate` checks the bench itself on any device (PoCL): products 16
// times smaller, and the async sweep run with the mma emulated (-DMMA_EMULATE).
//
// MMA_TUNE_NAMES=prefix,... keeps only the variants whose names start with one of the prefixes
// (e.g. MMA_TUNE_NAMES=wgmma_,mma_f16_async_128x256).
// MMA_TUNE_PROBLEMS=MxNxK[t],... times those products instead (t: b given N x K, as b^T), FP16
// only, and skips the MLP forward: e.g. BERT 4 x 256's at batch 32, sequence 128,
// MMA_TUNE_PROBLEMS=4096x768x256,4096x256x256,4096x1024x256,4096x256x1024.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernels.h"
#include "core/half.h"
#include "core/logging.h"
#include "stream_timing.h"

namespace mlprt::cl {
std::string tensorCoreProbeReport(const Context& context, bool fresh);
}  // namespace mlprt::cl

namespace {

using namespace mlprt;
using namespace mlprt::cl;

// A device tensor and the values it holds (as stored: rounded to half for HALF).
struct Operand {
  DeviceTensor tensor;
  std::vector<float> values;
};

Operand make(const std::shared_ptr<Context>& context, Stream& stream, const Dims& shape, DataType type,
             std::uint32_t seed) {
  const std::size_t count = static_cast<std::size_t>(shape.volume());
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::vector<unsigned char> bytes(count * elementSize(type));
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    const float x = value(engine) * 0.25f;
    if (type == DataType::kHALF) {
      const std::uint16_t h = floatToHalf(x);
      std::memcpy(bytes.data() + 2 * i, &h, 2);
      values[i] = halfToFloat(h);
    } else {
      std::memcpy(bytes.data() + 4 * i, &x, 4);
      values[i] = x;
    }
  }
  auto buffer = DeviceBuffer::allocate(context, bytes.size());
  copyHostToDevice(stream, DeviceRange{buffer, 0}, bytes.data(), bytes.size(), CopyMode::kBlocking);
  return Operand{DeviceTensor{DeviceRange{buffer, 0}, shape, type}, std::move(values)};
}

struct Problem {
  std::int64_t m, n, k;
  bool b_trans;
};

// "MxNxK[t],...": the products MMA_TUNE_PROBLEMS names (t: b^T).
std::vector<Problem> parseProblems(const std::string& text) {
  std::vector<Problem> problems;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    long long m = 0, n = 0, k = 0;
    int consumed = 0;
    if (std::sscanf(item.c_str(), "%lldx%lldx%lld%n", &m, &n, &k, &consumed) != 3 || m <= 0 || n <= 0 || k <= 0) {
      std::fprintf(stderr, "MMA_TUNE_PROBLEMS: '%s' is not MxNxK[t]\n", item.c_str());
      std::exit(2);
    }
    problems.push_back({m, n, k, item.substr(static_cast<std::size_t>(consumed)) == "t"});
    start = end + 1;
  }
  return problems;
}

// Sampled outputs of relu(a x op(b) + bias) in double: positions, values and error bounds.
struct Reference {
  std::vector<std::size_t> at;
  std::vector<double> value, bound;
};

Reference sampledReference(const Problem& p, const Operand& a, const Operand& b, const Operand& bias) {
  Reference reference;
  std::mt19937 engine(77);
  std::uniform_int_distribution<std::int64_t> row(0, p.m - 1), column(0, p.n - 1);
  for (int s = 0; s < 1024; ++s) {
    const std::int64_t i = s == 0 ? 0 : s == 1 ? p.m - 1 : row(engine);
    const std::int64_t j = s == 0 ? 0 : s == 1 ? p.n - 1 : column(engine);
    double sum = bias.values[static_cast<std::size_t>(j)], magnitude = std::fabs(sum);
    for (std::int64_t k = 0; k < p.k; ++k) {
      const double term = static_cast<double>(a.values[static_cast<std::size_t>(i * p.k + k)]) *
                          b.values[static_cast<std::size_t>(p.b_trans ? j * p.k + k : k * p.n + j)];
      sum += term;
      magnitude += std::fabs(term);
    }
    reference.at.push_back(static_cast<std::size_t>(i * p.n + j));
    reference.value.push_back(std::max(sum, 0.0));
    reference.bound.push_back(1e-2 * std::fabs(sum) + 1e-3 * (magnitude + 1e-3));
  }
  return reference;
}

// The worst |error| / bound over the samples: <= 1 passes.
double worstRatio(const std::vector<float>& result, const Reference& reference) {
  double worst = 0;
  for (std::size_t s = 0; s < reference.at.size(); ++s) {
    const double error = std::fabs(result[reference.at[s]] - reference.value[s]);
    worst = std::max(worst, std::isfinite(error) ? error / reference.bound[s] : 1e30);
  }
  return worst;
}

// Async configurations tried besides the offered variants (names parsed by runTensorCoreGemm:
// block, warp grid, K per tile, stages); those beyond the device's local memory are skipped.
const std::vector<std::string> kAsyncSweep = {
    "mma_f16_async_128x256_w2x4_k16_s4", "mma_f16_async_256x128_w4x2_k16_s4", "mma_f16_async_128x256_w2x4_k32_s2",
    "mma_f16_async_256x128_w4x2_k32_s2", "mma_f16_async_128x128_w2x2_k32_s3", "mma_f16_async_128x128_w2x2_k16_s4",
    "mma_f16_async_128x128_w2x2_k16_s6", "mma_f16_async_128x128_w2x4_k32_s3", "mma_f16_async_128x128_w2x4_k16_s4",
    "mma_f16_async_64x256_w1x4_k16_s4",  "mma_f16_async_128x64_w2x1_k32_s4",
    // Short K loops (transformer products of K = 256: 8 tiles of K 32), where a ring's prologue and
    // the epilogue weigh more: smaller rings and blocks, more work-groups per multiprocessor.
    "mma_f16_async_128x128_w2x2_k32_s2", "mma_f16_async_128x128_w4x2_k32_s2", "mma_f16_async_64x128_w2x2_k32_s3",
    "mma_f16_async_128x64_w2x2_k32_s3",  "mma_f16_async_64x64_w2x2_k32_s4",   "mma_f16_async_128x128_w2x4_k16_s3",
};

// wgmma configurations (runTensorCoreGemm's "wgmma_[ws_]f16_<BM>x<BN>_s<STAGES>"), tried where the
// wgmma probe passed: the offered tiles' shapes with deeper rings, and the same with a producer
// warpgroup (-DWS) whose mbarriers let the copies run ahead of the products.
const std::vector<std::string> kWgmmaSweep = {
    "wgmma_f16_128x256_s4",    "wgmma_f16_64x256_s4",     "wgmma_ws_f16_128x256_s3", "wgmma_ws_f16_128x256_s4",
    "wgmma_ws_f16_128x128_s4", "wgmma_ws_f16_128x128_s6", "wgmma_ws_f16_256x128_s4", "wgmma_ws_f16_64x256_s4",
    "wgmma_ws_f16_128x64_s6",
};

std::uint64_t sweepLocalBytes(const std::string& name) {
  int bm = 0, bn = 0, wm = 0, wn = 0, bk = 0, stages = 0;
  std::sscanf(name.c_str(), "mma_f16_async_%dx%d_w%dx%d_k%d_s%d", &bm, &bn, &wm, &wn, &bk, &stages);
  return static_cast<std::uint64_t>(stages) * (bm + bn) * bk * 2;
}

// Whether `name` starts with one of the comma-separated prefixes in `prefixes`.
bool startsWithAny(const std::string& name, const std::string& prefixes) {
  std::size_t start = 0;
  while (start <= prefixes.size()) {
    const std::size_t end = std::min(prefixes.find(',', start), prefixes.size());
    const std::string prefix = prefixes.substr(start, end - start);
    if (!prefix.empty() && name.rfind(prefix, 0) == 0) return true;
    start = end + 1;
  }
  return false;
}

// Which family a name belongs to, for the summary.
std::string familyOf(const std::string& name) {
  if (name.rfind("mma_f16_async_", 0) == 0) return "mma_f16_async";
  if (name.rfind("wgmma_ws_", 0) == 0) return "wgmma_ws (producer warpgroup)";
  if (name.rfind("wgmma_", 0) == 0) return "wgmma";
  if (name.rfind("mma_f16_", 0) == 0) return "mma_f16 (plain)";
  if (name.rfind("mma_tf32_", 0) == 0) return "mma_tf32";
  return name;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const std::int64_t scale = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  const bool emulate = argc > 3 && std::string(argv[3]) == "emulate";
  const auto context = Context::current();
  auto stream = Stream::create(context);
  KernelCache cache(context);
  const std::string probe = tensorCoreProbeReport(*context, false);
  std::printf("device: %s (%s), local memory %llu bytes\n%s\n", context->device().name.c_str(),
              context->device().platform_name.c_str(),
              static_cast<unsigned long long>(context->device().local_memory), probe.c_str());
  const GemmPolicy tf32{true};
  const bool async = emulate || probe.find("cp.async / ldmatrix passed") != std::string::npos;

  std::vector<Problem> problems = {{4096, 4096, 1024, true}, {4096, 1024, 4096, true}, {4096, 256, 256, true},
                                   {4096, 4096, 1024, false}, {4096, 1024, 4096, false}, {4096, 256, 256, false}};
  const char* chosen = std::getenv("MMA_TUNE_PROBLEMS");
  if (chosen != nullptr && *chosen != '\0') problems = parseProblems(chosen);
  for (Problem& p : problems) {
    p.m /= scale;
    p.n /= scale;
    p.k /= scale;
  }
  // best[problem line][family] = (microseconds, TFLOP/s, name)
  std::map<std::string, std::map<std::string, std::tuple<double, double, std::string>>> best;
  const std::vector<DataType> types =
      chosen != nullptr && *chosen != '\0' ? std::vector<DataType>{DataType::kHALF}
                                            : std::vector<DataType>{DataType::kHALF, DataType::kFLOAT};
  for (const DataType type : types) {
    std::vector<std::string> names;
    for (const auto& tactic : gemmTactics(*context, type, tf32)) {
      if (tactic.name.rfind("mma_", 0) == 0 || tactic.name.rfind("wgmma_", 0) == 0 || tactic.name == "clblast" ||
          tactic.name == "tiled_m8n8_k8") {
        names.push_back(tactic.name);
      }
    }
    std::vector<std::string> sweep;
    if (type == DataType::kHALF && async) {
      for (const std::string& name : kAsyncSweep) {
        if (sweepLocalBytes(name) <= context->device().local_memory) {
          sweep.push_back(name);
        } else {
          std::printf("sweep: %s skipped (%llu bytes of local memory)\n", name.c_str(),
                      static_cast<unsigned long long>(sweepLocalBytes(name)));
        }
      }
    }
    if (type == DataType::kHALF && (emulate || probe.find("wgmma passed") != std::string::npos)) {
      sweep.insert(sweep.end(), kWgmmaSweep.begin(), kWgmmaSweep.end());
    }
    if (const char* only = std::getenv("MMA_TUNE_NAMES"); only != nullptr && *only != '\0') {
      const auto unwanted = [only](const std::string& name) { return !startsWithAny(name, only); };
      names.erase(std::remove_if(names.begin(), names.end(), unwanted), names.end());
      sweep.erase(std::remove_if(sweep.begin(), sweep.end(), unwanted), sweep.end());
    }
    for (const Problem& p : problems) {
      const Operand a = make(context, *stream, {p.m, p.k}, type, 1);
      const Operand b = make(context, *stream, p.b_trans ? Dims{p.n, p.k} : Dims{p.k, p.n}, type, 2);
      const Operand bias = make(context, *stream, {p.n}, type, 3);
      const Operand out = make(context, *stream, {p.m, p.n}, type, 4);
      const Reference reference = sampledReference(p, a, b, bias);
      GemmEpilogue epilogue;
      epilogue.bias = &bias.tensor;
      epilogue.has_activation = true;
      GemmShape shape;
      shape.m = p.m;
      shape.n = p.n;
      shape.k = p.k;
      shape.b_trans = p.b_trans;
      char line[96];
      std::snprintf(line, sizeof line, "%-6s %5lld x %5lld x %5lld b%s", dataTypeName(type), static_cast<long long>(p.m),
                    static_cast<long long>(p.n), static_cast<long long>(p.k), p.b_trans ? "^T" : "  ");
      std::vector<float> first;
      const auto measure = [&](const std::string& name, const std::function<void()>& launch) {
        double ms = 0;
        try {
          const bool tensor_cores = name.rfind("mma_", 0) == 0 || name.rfind("wgmma_", 0) == 0;
          ms = bench::streamMilliseconds(*stream, tensor_cores ? reps : 5, launch);
        } catch (const std::exception& error) {
          std::printf("%s %-34s FAILED: %s\n", line, name.c_str(), error.what());
          return;
        }
        const std::vector<float> result = bench::readAsFloat(*stream, out.tensor);
        if (first.empty()) first = result;
        const double ratio = worstRatio(result, reference);
        const double flops = 2.0 * p.m * p.n * p.k;
        const double tflops = flops / (ms * 1e-3) / 1e12;
        std::printf("%s %-34s %9.1f us %7.1f TFLOP/s  check %s (worst %.2f of bound)  rel.err vs first %.2e\n", line,
                    name.c_str(), ms * 1e3, tflops, ratio <= 1.0 ? "ok " : "BAD", ratio,
                    bench::relativeError(result, first));
        std::fflush(stdout);
        if (ratio > 1.0) return;
        auto& entry = best[line][familyOf(name)];
        if (std::get<2>(entry).empty() || ms * 1e3 < std::get<0>(entry)) entry = {ms * 1e3, tflops, name};
      };
      for (const std::string& name : names) {
        // The split-K tiles' workspace, as an execution context gives it.
        const std::size_t workspace_bytes = std::max<std::size_t>(4, gemmWorkspaceBytes(GemmTactic{name}, *context));
        const DeviceTensor workspace{DeviceRange{DeviceBuffer::allocate(context, workspace_bytes), 0},
                                     Dims{static_cast<std::int64_t>(workspace_bytes / 4)}, DataType::kFLOAT};
        measure(name, [&] {
          matrixMultiply(cache, *stream, GemmTactic{name}, a.tensor, MatrixOperation::kNONE, b.tensor,
                         p.b_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, epilogue, out.tensor,
                         &workspace);
        });
      }
      for (const std::string& name : sweep) {
        measure(name, [&] {
          runTensorCoreGemm(name, GemmCall{cache, *stream, shape, a.tensor, b.tensor, epilogue, out.tensor}, emulate);
        });
      }
    }
    if (chosen != nullptr && *chosen != '\0') continue;
    // 8-layer 256-wide MLP forward, batch 4096: ping-pong between two activations.
    const std::int64_t rows = 4096 / scale, width = 256 / scale;
    const Operand x0 = make(context, *stream, {rows, width}, type, 5);
    const Operand x1 = make(context, *stream, {rows, width}, type, 6);
    std::vector<Operand> weights, biases;
    for (int layer = 0; layer < 8; ++layer) {
      weights.push_back(make(context, *stream, {width, width}, type, 10 + layer));
      biases.push_back(make(context, *stream, {width}, type, 30 + layer));
    }
    for (const std::string& name : names) {
      const auto forward = [&] {
        for (int layer = 0; layer < 8; ++layer) {
          GemmEpilogue epilogue;
          epilogue.bias = &biases[layer].tensor;
          epilogue.has_activation = layer < 7;
          matrixMultiply(cache, *stream, GemmTactic{name}, layer % 2 ? x1.tensor : x0.tensor, MatrixOperation::kNONE,
                         weights[layer].tensor, MatrixOperation::kTRANSPOSE, epilogue,
                         layer % 2 ? x0.tensor : x1.tensor);
        }
      };
      try {
        const double ms = bench::streamMilliseconds(*stream, 20, forward);
        std::printf("%-6s MLP 8 x (%lld x %lld x %lld) %-22s %9.1f us per forward\n", dataTypeName(type),
                    static_cast<long long>(rows), static_cast<long long>(width), static_cast<long long>(width),
                    name.c_str(), ms * 1e3);
      } catch (const std::exception& error) {
        std::printf("%-6s MLP %-22s FAILED: %s\n", dataTypeName(type), name.c_str(), error.what());
      }
    }
  }
  std::printf("\nbest per family (checked results only):\n");
  for (const auto& [line, families] : best) {
    for (const auto& [family, entry] : families) {
      std::printf("%s %-16s %9.1f us %7.1f TFLOP/s  %s\n", line.c_str(), family.c_str(), std::get<0>(entry),
                  std::get<1>(entry), std::get<2>(entry).c_str());
    }
  }
  return 0;
}
