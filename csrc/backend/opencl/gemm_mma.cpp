// Tensor-core GEMM kernels (kernels/gemm_mma.cl): inline PTX mma.sync, which only NVIDIA's
// OpenCL compiler understands. They are offered where a probe kernel, using the very
// instructions of each family, compiles and computes known products exactly: HALF operands on
// f16 mma, and FLOAT operands on TF32 mma when the caller's GemmPolicy allows TF32.
//
// Every variant runs every product (no fits rule): products whose operands are laid out for
// 16-byte loads (a not transposed, K a multiple of 8 halves / 4 floats, element offsets aligned
// to match; b either way round with K or N aligned) take vector-load kernels, the others a
// build of the same kernel that reads element by element. The builder aligns tensors to 256
// bytes, so engines get the vector loads whenever the shape allows.
#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "core/error.h"
#include "core/half.h"
#include "core/logging.h"

namespace mlprt::cl {

using namespace support;

namespace {

enum class Family { kHalf, kTf32 };

struct MmaTactic {
  const char* name;
  Family family;
  int bm, bn, warps_m, warps_n;
};

// Block tiles: 128 x 128 (8 warps of 64 x 32) for big products; 128 x 64 and 64 x 64 (4 warps)
// for products with few columns or rows, where big tiles would leave multiprocessors idle.
constexpr std::array<MmaTactic, 5> kMmaTactics{{
    {"mma_f16_128x128", Family::kHalf, 128, 128, 2, 4},
    {"mma_f16_128x64", Family::kHalf, 128, 64, 2, 2},
    {"mma_f16_64x64", Family::kHalf, 64, 64, 2, 2},
    {"mma_tf32_128x128", Family::kTf32, 128, 128, 2, 4},
    {"mma_tf32_64x64", Family::kTf32, 64, 64, 2, 2},
}};

// ---- The probe ---------------------------------------------------------------------------------

struct ProbeResult {
  bool half = false;
  bool tf32 = false;
  std::string report;
};

bool containsNvidia(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return text.find("NVIDIA") != std::string::npos;
}

std::uint32_t tf32Bits(float value) {
  // cvt.rna.tf32.f32: nearest, ties away from zero, 10 mantissa bits kept.
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return (bits + 0x1000u) & 0xffffe000u;
}

float floatOf(std::uint32_t bits) {
  float value = 0.0f;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Compiles and runs the probe kernel; sets result.half / result.tf32 for the instructions that
// gave exact products, and explains the others in result.report.
void runProbe(const Context& context, ProbeResult& result) {
  const std::shared_ptr<Context> shared = Context::forDevice(context.device());
  std::shared_ptr<const Program> program;
  try {
    program = Program::build(shared, kernelSource("gemm_mma"), "-DPROBE");
  } catch (const std::exception& error) {
    std::string message = error.what();
    if (message.size() > 300) message = message.substr(0, 300) + "...";
    result.report = "the probe kernel does not compile: " + message;
    return;
  }
  // Small integers (products and sums exact in float), plus one TF32 tie to check the rounding.
  std::vector<std::uint16_t> a16(16 * 16), b16(8 * 16);
  std::vector<float> a16f(a16.size()), b16f(b16.size());
  for (std::size_t i = 0; i < a16.size(); ++i) {
    a16f[i] = static_cast<float>(static_cast<int>((i * 7 + 3) % 9) - 4);
    a16[i] = floatToHalf(a16f[i]);
  }
  for (std::size_t i = 0; i < b16.size(); ++i) {
    b16f[i] = static_cast<float>(static_cast<int>((i * 5 + 1) % 7) - 3);
    b16[i] = floatToHalf(b16f[i]);
  }
  std::vector<float> a32(16 * 8), b32(8 * 8);
  for (std::size_t i = 0; i < a32.size(); ++i) a32[i] = static_cast<float>(static_cast<int>((i * 5 + 2) % 11) - 5);
  for (std::size_t i = 0; i < b32.size(); ++i) b32[i] = static_cast<float>(static_cast<int>((i * 3 + 1) % 5) - 2);
  a32[0] = 1.0f + std::ldexp(1.0f, -11);  // a tie: rounds away to 1 + 2^-10
  b32[0] = 1.0f;
  std::vector<float> want16(16 * 8), want32(16 * 8);
  for (int m = 0; m < 16; ++m) {
    for (int n = 0; n < 8; ++n) {
      float sum = 0.0f;
      for (int k = 0; k < 16; ++k) sum += a16f[m * 16 + k] * b16f[n * 16 + k];
      want16[m * 8 + n] = sum;
      float sum32 = 0.0f;
      for (int k = 0; k < 8; ++k) {
        sum32 += floatOf(tf32Bits(a32[m * 8 + k])) * floatOf(tf32Bits(b32[n * 8 + k]));
      }
      want32[m * 8 + n] = sum32;
    }
  }

  std::shared_ptr<Stream> stream = Stream::create(shared);
  const auto upload = [&](const void* data, std::size_t bytes) {
    auto buffer = DeviceBuffer::allocate(shared, bytes);
    copyHostToDevice(*stream, DeviceRange{buffer, 0}, data, bytes, CopyMode::kBlocking);
    return buffer;
  };
  const auto a16_buffer = upload(a16.data(), a16.size() * 2);
  const auto b16_buffer = upload(b16.data(), b16.size() * 2);
  const auto a32_buffer = upload(a32.data(), a32.size() * 4);
  const auto b32_buffer = upload(b32.data(), b32.size() * 4);
  std::vector<float> got16(want16.size(), -1.0f), got32(want32.size(), -1.0f);
  const auto d16_buffer = upload(got16.data(), got16.size() * 4);
  const auto d32_buffer = upload(got32.data(), got32.size() * 4);
  Kernel kernel(program, "mma_probe");
  kernel.setBuffer(0, *a16_buffer);
  kernel.setBuffer(1, *b16_buffer);
  kernel.setBuffer(2, *d16_buffer);
  kernel.setBuffer(3, *a32_buffer);
  kernel.setBuffer(4, *b32_buffer);
  kernel.setBuffer(5, *d32_buffer);
  kernel.launch(*stream, {32}, {32});
  copyDeviceToHost(*stream, got16.data(), DeviceRange{d16_buffer, 0}, got16.size() * 4, CopyMode::kBlocking);
  copyDeviceToHost(*stream, got32.data(), DeviceRange{d32_buffer, 0}, got32.size() * 4, CopyMode::kBlocking);
  stream->synchronize();

  result.half = got16 == want16;
  result.tf32 = got32 == want32;
  const auto describeMismatch = [](const std::vector<float>& got, const std::vector<float>& want) {
    const auto at = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
    return "element " + std::to_string(at) + " is " + std::to_string(got[at]) + ", expected " +
           std::to_string(want[at]);
  };
  result.report = std::string("f16 mma ") + (result.half ? "passed" : "gave a wrong product (" + describeMismatch(got16, want16) + ")") +
                  "; tf32 mma " + (result.tf32 ? "passed" : "gave a wrong product (" + describeMismatch(got32, want32) + ")");
}

ProbeResult probe(const Context& context) {
  ProbeResult result;
  const DeviceInfo& device = context.device();
  if (!containsNvidia(device.vendor) && !containsNvidia(device.platform_name)) {
    result.report = "not an NVIDIA device (vendor '" + device.vendor + "', platform '" +
                    device.platform_name + "'): inline PTX mma is not tried";
  } else {
    try {
      runProbe(context, result);
    } catch (const std::exception& error) {
      result.half = result.tf32 = false;
      result.report = std::string("the probe failed: ") + error.what();
    }
  }
  result.report = "tensor-core GEMM probe on " + device.name + ": " + result.report;
  log(Severity::kVERBOSE, result.report);
  return result;
}

const ProbeResult& cachedProbe(const Context& context) {
  static std::mutex mutex;
  static std::map<std::string, ProbeResult> results;
  const std::lock_guard<std::mutex> lock(mutex);
  const std::string key = context.device().fingerprint();
  auto found = results.find(key);
  if (found == results.end()) found = results.emplace(key, probe(context)).first;
  return found->second;
}

// ---- Launch ----------------------------------------------------------------------------------

void runMma(const MmaTactic& tactic, const GemmCall& call, bool emulate) {
  const GemmShape& shape = call.shape;
  const DeviceTensor& bias = call.biasOrOut();
  const bool tf32 = tactic.family == Family::kTf32;
  const DataType storage = tf32 ? DataType::kFLOAT : DataType::kHALF;
  if (call.a.type != storage) {
    throw InvalidArgument(std::string("matrixMultiply: tactic '") + tactic.name + "' runs " +
                          dataTypeName(storage) + " operands, not " + dataTypeName(call.a.type));
  }
  // Elements per 16-byte load; a layout takes the vector loads when every row start allows them.
  const std::int64_t chunk = tf32 ? 4 : 8;
  const bool a_vec = !shape.a_trans && vectorAccessible(call.a, shape.k, shape.a_batch_stride, chunk);
  const bool b_vect = shape.b_trans && vectorAccessible(call.b, shape.k, shape.b_batch_stride, chunk);
  const bool b_vecn = !shape.b_trans && vectorAccessible(call.b, shape.n, shape.b_batch_stride, chunk);
  const std::string layout = std::string(a_vec ? "-DA_VEC" : "") +
                             (b_vect ? " -DB_VECT" : b_vecn ? " -DB_VECN" : "");
  const std::string options = joinOptions(
      {"-DBM=" + std::to_string(tactic.bm) + " -DBN=" + std::to_string(tactic.bn) +
           " -DWARPS_M=" + std::to_string(tactic.warps_m) + " -DWARPS_N=" + std::to_string(tactic.warps_n),
       tf32 ? "-DTF32" : "", layout, emulate ? "-DMMA_EMULATE" : "", halfOption("A", call.a.type), halfOption("B", call.b.type),
       halfOption("OUT", call.out.type), halfOption("BIAS", bias.type)});
  Kernel& kernel = call.cache.get("gemm_mma", options, "gemm_mma");
  setGemmArguments(kernel, call);
  const std::size_t threads = static_cast<std::size_t>(32 * tactic.warps_m * tactic.warps_n);
  kernel.launch(call.stream,
                {tilesCovering(shape.n, tactic.bn) * threads, tilesCovering(shape.m, tactic.bm),
                 static_cast<std::size_t>(shape.batch)},
                {threads, 1, 1});
}

}  // namespace

std::string tensorCoreProbeReport(const Context& context, bool fresh) {
  return fresh ? probe(context).report : cachedProbe(context).report;
}

bool tensorCoreHalfAvailable(const Context& context) { return cachedProbe(context).half; }

void runTensorCoreGemm(const std::string& tactic, const GemmCall& call, bool emulate) {
  for (const MmaTactic& candidate : kMmaTactics) {
    if (tactic == candidate.name) return runMma(candidate, call, emulate);
  }
  throw InvalidArgument("runTensorCoreGemm: unknown tactic '" + tactic + "'");
}

std::vector<GemmVariant> tensorCoreGemmVariants() {
  std::vector<GemmVariant> variants;
  for (const MmaTactic& tactic : kMmaTactics) {
    const Family family = tactic.family;
    variants.push_back(
        {tactic.name,
         [family](const Context& context, DataType type, const GemmPolicy& policy) {
           if (family == Family::kHalf) return type == DataType::kHALF && cachedProbe(context).half;
           return type == DataType::kFLOAT && policy.allow_tf32 && cachedProbe(context).tf32;
         },
         {}, [&tactic](const GemmCall& call) { runMma(tactic, call, false); }});
  }
  return variants;
}

}  // namespace mlprt::cl
