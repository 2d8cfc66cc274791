// The tensor-core attention kernel's check on the hardware (attention.h, attentionMmaSelfCheck): the
// f16 mma probe vouches for the instruction, not for the kernel's other PTX (warp shuffles, the f16x2
// conversion) or its fragment layouts, so the kernel itself must give the host's answer on a device
// once before the builder offers it there.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/ops/attention/attention.h"
#include "backend/opencl/stream.h"
#include "core/half.h"
#include "core/logging.h"

namespace mlprt::cl {
namespace {

// The problem: two query heads on one key head, 37 queries (a partial row block), 90 keys (a
// partial second tile), D = 24 and Dv = 40 (neither a multiple of 16), a half padding mask.
constexpr std::int64_t kHeads = 2, kQueries = 37, kKeys = 90, kDepth = 24, kValueDepth = 40;
constexpr float kScale = 0.2f;

// Deterministic values in [-1, 1), rounded to half as stored.
std::vector<float> halfValues(std::size_t count, std::uint32_t seed) {
  std::vector<float> values(count);
  std::uint32_t state = seed;
  for (float& value : values) {
    state = state * 1664525u + 1013904223u;
    value = halfToFloat(floatToHalf(static_cast<float>(state >> 8) / 8388608.0f - 1.0f));
  }
  return values;
}

DeviceTensor upload(Stream& stream, const std::shared_ptr<Context>& context, const Dims& shape,
                    const std::vector<float>& values, DataType type) {
  std::vector<std::uint8_t> bytes(values.size() * elementSize(type));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (type == DataType::kHALF) {
      const std::uint16_t bits = floatToHalf(values[i]);
      std::copy_n(reinterpret_cast<const std::uint8_t*>(&bits), 2, bytes.data() + 2 * i);
    } else {
      std::copy_n(reinterpret_cast<const std::uint8_t*>(&values[i]), 4, bytes.data() + 4 * i);
    }
  }
  DeviceRange range{DeviceBuffer::allocate(context, std::max<std::size_t>(bytes.size(), 4)), 0};
  copyHostToDevice(stream, range, bytes.data(), bytes.size(), CopyMode::kBlocking);
  return DeviceTensor{range, shape, type};
}

std::string runCheck(const std::shared_ptr<Context>& context, bool& passed) {
  passed = false;
  auto stream = Stream::create(context);
  KernelCache cache(context);
  const std::vector<float> q = halfValues(kHeads * kQueries * kDepth, 1);
  const std::vector<float> k = halfValues(kKeys * kDepth, 2);
  const std::vector<float> v = halfValues(kKeys * kValueDepth, 3);
  std::vector<float> mask = halfValues(kKeys, 4);
  for (std::size_t j = 3; j < mask.size(); j += 7) mask[j] = -INFINITY;
  const DeviceTensor dq = upload(*stream, context, Dims{1, kHeads, kQueries, kDepth}, q, DataType::kHALF);
  const DeviceTensor dk = upload(*stream, context, Dims{1, 1, kKeys, kDepth}, k, DataType::kHALF);
  const DeviceTensor dv = upload(*stream, context, Dims{1, 1, kKeys, kValueDepth}, v, DataType::kHALF);
  const DeviceTensor dmask = upload(*stream, context, Dims{1, 1, 1, kKeys}, mask, DataType::kHALF);
  const std::size_t outputs = kHeads * kQueries * kValueDepth;
  const DeviceTensor out =
      upload(*stream, context, Dims{1, kHeads, kQueries, kValueDepth}, std::vector<float>(outputs, 7.0f), DataType::kFLOAT);
  AttentionParameters parameters;
  parameters.scale = kScale;
  const std::string tactic = std::string(kMmaAttentionPrefix) + "2";
  attention(cache, *stream, tactic, parameters, dq, dk, dv, &dmask, out);
  std::vector<float> got(outputs);
  copyDeviceToHost(*stream, got.data(), out.range, outputs * sizeof(float), CopyMode::kBlocking);

  double worst = 0.0;
  std::vector<double> p(kKeys);
  for (std::int64_t h = 0; h < kHeads; ++h) {
    for (std::int64_t i = 0; i < kQueries; ++i) {
      double maximum = -INFINITY, sum = 0.0;
      for (std::int64_t j = 0; j < kKeys; ++j) {
        double dot = 0.0;
        for (std::int64_t c = 0; c < kDepth; ++c) dot += double(q[(h * kQueries + i) * kDepth + c]) * k[j * kDepth + c];
        p[j] = kScale * dot + mask[j];
        maximum = std::max(maximum, p[j]);
      }
      for (double& x : p) sum += (x = std::exp(x - maximum));
      for (std::int64_t c = 0; c < kValueDepth; ++c) {
        double value = 0.0;
        for (std::int64_t j = 0; j < kKeys; ++j) value += p[j] * v[j * kValueDepth + c];
        const double error = std::fabs(got[(h * kQueries + i) * kValueDepth + c] - value / sum);
        worst = std::isnan(error) ? INFINITY : std::max(worst, error);
      }
    }
  }
  // The outputs are averages of values in [-1, 1]; half probabilities keep them within 1e-3.
  passed = worst <= 1e-2;
  return "largest error " + std::to_string(worst) + " against the host (bound 1e-2) with " + tactic;
}

}  // namespace

std::string attentionMmaSelfCheck(const std::shared_ptr<Context>& context) {
  bool passed = false;
  std::string report;
  try {
    report = runCheck(context, passed);
  } catch (const std::exception& error) {
    report = std::string("the kernel failed: ") + error.what();
  }
  return (passed ? "passed: " : "refused: ") + report;
}

bool attentionMmaVerified(const std::shared_ptr<Context>& context) {
  static std::mutex mutex;
  static std::map<std::string, bool> verdicts;
  const std::lock_guard<std::mutex> lock(mutex);
  const std::string key = context->device().fingerprint();
  auto found = verdicts.find(key);
  if (found == verdicts.end()) {
    const std::string report = attentionMmaSelfCheck(context);
    const bool passed = report.rfind("passed", 0) == 0;
    log(passed ? Severity::kVERBOSE : Severity::kWARNING,
        "tensor-core attention on " + context->device().name + ": " + report +
            (passed ? "" : "; attention runs on CUDA cores"));
    found = verdicts.emplace(key, passed).first;
  }
  return found->second;
}

}  // namespace mlprt::cl
