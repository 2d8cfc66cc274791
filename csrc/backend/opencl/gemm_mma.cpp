// Tensor-core GEMM kernels (kernels/gemm_mma.cl): inline PTX mma.sync, which only NVIDIA's
// OpenCL compiler understands. They are offered where a probe kernel, using the very
// instructions of each family, compiles and computes known products exactly: HALF operands on
// f16 mma, and FLOAT operands on TF32 mma when the caller's GemmPolicy allows TF32. The
// "mma_f16_async_*" variants (cp.async + ldmatrix, gemm_mma_async) need a second probe of
// exactly those instructions to pass as well, and local memory for their ring of tiles; the
// "wgmma_f16_*" ones (Hopper's warpgroup instructions, gemm_wgmma) a third, which runs their
// kernel, after the second and only when an FP16 build asks.
//
// Every variant runs every product (no fits rule): products whose operands are laid out for
// 16-byte loads (a not transposed, K a multiple of 8 halves / 4 floats, element offsets aligned
// to match; b either way round with K or N aligned) take vector-load kernels, the others a
// build of the same kernel that reads element by element. The builder aligns tensors to 256
// bytes, so engines get the vector loads whenever the shape allows. The async variants take
// only products laid out for 16-byte loads and hand the others to a plain variant.
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backend/opencl/copy.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "backend/opencl/split_k.h"
#include "core/error.h"
#include "core/half.h"
#include "core/logging.h"

namespace mlprt::cl {

using namespace support;

namespace {

enum class Family { kHalf, kTf32, kHalfAsync, kHalfWgmma };

struct MmaTactic {
  const char* name;
  Family family;
  int bm, bn, warps_m, warps_n;
  int bk = 0, stages = 0;          // kHalfAsync and kHalfWgmma only: K per tile, tiles in the ring,
  const char* fallback = nullptr;  // and the plain variant that runs the products it cannot read
  int k_slices = 1;                // plain only: warp groups sharing each K tile (gemm_mma.cl, KSPLIT)
  bool split_k = false;            // plain only: K also split across work-groups (gemm_mma.cl, SPLIT_K)
  bool producer = false;           // kHalfWgmma only: a producer warpgroup fills the ring (-DWS)
};

// Block tiles: 128 x 128 (8 warps of 64 x 32) for big products; 128 x 64 and 64 x 64 (4 warps)
// for products with few columns or rows, where big tiles would leave multiprocessors idle.
// The async ones: warps of 64 x 64, as large as the registers allow (128 accumulators per
// item), inside the 48 KiB of local memory NVIDIA's OpenCL gives a work-group: 128 x 256 with
// 8 warps and 4 tiles of K = 16 in flight (48 KiB, one work-group per multiprocessor by
// registers), 128 x 128 with 4 warps and 3 tiles of K = 32 (48 KiB, two work-groups per
// multiprocessor), the latter for products with fewer columns, and 128 x 64 with 4 warps of
// 64 x 32 and 3 tiles of K = 32 (36 KiB) for products of 256 columns (BERT 4 x 256's: 12.1 us
// against 13.6 on the plain 128 x 64 at 4096 x 256 x 256, 22.4 against 28.8 at K = 1024; H100,
// bench/RESULTS.md, issue 16 run 6). 32 x 64 (2 warps) and 32 x 32 (one
// warp) for small products (a transformer at batch 1: 128 x 256 x 256 is 8 tiles of 64 x 64 for
// 132 multiprocessors), four times as many work-groups over the same K loop; and the "_k<s>"
// ones, whose s groups of warps each take a part of every K tile, for the same products' long K
// loops (a 128 x 768 x 768 product on one-warp tiles took 36 us, its 96 work-groups each running
// all of K). The "_splitk" ones also split K across work-groups where the blocks alone would
// leave the device idle (two work-groups per compute unit wanted; partial blocks in the execution
// context's workspace, added up by a second kernel); where they would not, they run as the tile
// they extend.
// The "wgmma_f16_*" ones run Hopper's warpgroup instructions (gemm_wgmma; warps 4 per warpgroup
// of 64 rows, stacked along M) on 128-byte swizzled tiles with 3 tiles of K = 64 in flight, 128 x
// 256 (144 KiB of local memory) and 128 x 128 (96 KiB): the fastest configurations measured from
// OpenCL (378 and 360 TFLOP/s at 4096^3 on an H100, 0.076-0.097 ms on BERT-base's wide products:
// bench/RESULTS.md, issue 16 run 14). Offered where their own probe, which runs the larger, passes.
constexpr std::array<MmaTactic, 17> kMmaTactics{{
    {"mma_f16_128x128", Family::kHalf, 128, 128, 2, 4},
    {"mma_f16_128x64", Family::kHalf, 128, 64, 2, 2},
    {"mma_f16_64x64", Family::kHalf, 64, 64, 2, 2},
    {"mma_f16_32x64", Family::kHalf, 32, 64, 1, 2},
    {"mma_f16_32x32", Family::kHalf, 32, 32, 1, 1},
    {"mma_f16_64x64_k2", Family::kHalf, 64, 64, 2, 2, 0, 0, nullptr, 2},
    {"mma_f16_32x64_k2", Family::kHalf, 32, 64, 1, 2, 0, 0, nullptr, 2},
    {"mma_f16_32x32_k4", Family::kHalf, 32, 32, 1, 1, 0, 0, nullptr, 4},
    {"mma_f16_64x64_splitk", Family::kHalf, 64, 64, 2, 2, 0, 0, nullptr, 1, true},
    {"mma_f16_32x32_k4_splitk", Family::kHalf, 32, 32, 1, 1, 0, 0, nullptr, 4, true},
    {"mma_tf32_128x128", Family::kTf32, 128, 128, 2, 4},
    {"mma_tf32_64x64", Family::kTf32, 64, 64, 2, 2},
    {"mma_f16_async_128x256", Family::kHalfAsync, 128, 256, 2, 4, 16, 4, "mma_f16_128x128"},
    {"mma_f16_async_128x128", Family::kHalfAsync, 128, 128, 2, 2, 32, 3, "mma_f16_64x64"},
    {"mma_f16_async_128x64", Family::kHalfAsync, 128, 64, 2, 2, 32, 3, "mma_f16_128x64"},
    {"wgmma_f16_128x256", Family::kHalfWgmma, 128, 256, 8, 1, 64, 3, "mma_f16_128x128"},
    {"wgmma_f16_128x128", Family::kHalfWgmma, 128, 128, 8, 1, 64, 3, "mma_f16_64x64"},
}};

// The plain variant an async one hands products to that its kernel cannot read. Those products
// (a transposed, K or b's rows not multiples of 8 halves, misaligned offsets) are rare in
// engines and the builder times the plain variants on them anyway, so any plain one serves.
const MmaTactic& plainFallback(const MmaTactic& tactic) {
  const std::string name = tactic.fallback ? tactic.fallback : kMmaTactics[0].name;
  for (const MmaTactic& candidate : kMmaTactics) {
    if (name == candidate.name && candidate.family == Family::kHalf) return candidate;
  }
  return kMmaTactics[0];
}

std::uint64_t asyncLocalBytes(const MmaTactic& tactic) {
  return static_cast<std::uint64_t>(tactic.stages) * (tactic.bm + tactic.bn) * tactic.bk * 2;
}

// Why an async configuration cannot be built (empty: it can): the kernel's layout rules.
std::string asyncConfigProblem(const MmaTactic& t) {
  if (t.warps_m < 1 || t.warps_n < 1 || t.warps_m * t.warps_n > 32) return "1 to 32 warps";
  if (t.bm <= 0 || t.bm % (16 * t.warps_m) != 0) return "BM a multiple of 16 x WARPS_M";
  if (t.bn <= 0 || t.bn % 64 != 0 || t.bn % (16 * t.warps_n) != 0) return "BN a multiple of 64 and of 16 x WARPS_N";
  if (t.bk != 16 && t.bk != 32) return "BK 16 or 32";
  if (t.stages < 2 || t.stages > 8) return "2 to 8 stages";
  return {};
}

// "mma_f16_async_<BM>x<BN>_w<WARPS_M>x<WARPS_N>_k<BK>_s<STAGES>": any async configuration, for
// tuning (bench/mma_tune.cpp) through runTensorCoreGemm; never offered as a tactic.
std::optional<MmaTactic> parseAsyncConfig(const std::string& name) {
  MmaTactic tactic{"", Family::kHalfAsync, 0, 0, 0, 0, 0, 0};
  int consumed = 0;
  if (std::sscanf(name.c_str(), "mma_f16_async_%dx%d_w%dx%d_k%d_s%d%n", &tactic.bm, &tactic.bn, &tactic.warps_m,
                  &tactic.warps_n, &tactic.bk, &tactic.stages, &consumed) != 6 ||
      consumed != static_cast<int>(name.size())) {
    return std::nullopt;
  }
  const std::string problem = asyncConfigProblem(tactic);
  if (!problem.empty()) throw InvalidArgument("runTensorCoreGemm: '" + name + "' breaks the rule " + problem);
  return tactic;
}

// Why a wgmma configuration cannot be built (empty: it can): the instruction's N, warpgroups of
// 64 rows, the ring's depth, and Hopper's 227 KiB of local memory per work-group.
std::string wgmmaConfigProblem(const MmaTactic& t) {
  if (t.bn != 64 && t.bn != 128 && t.bn != 256) return "BN 64, 128 or 256";
  if (t.bm <= 0 || t.bm % 64 != 0 || t.bm > 256) return "BM 64, 128, 192 or 256";
  if (t.stages < 2 || t.stages > 8) return "2 to 8 stages";
  if (static_cast<std::int64_t>(t.stages) * (t.bm + t.bn) * 128 > 227 * 1024) return "at most 227 KiB of local memory";
  return {};
}

// "wgmma_f16_<BM>x<BN>_s<STAGES>" and "wgmma_ws_f16_<BM>x<BN>_s<STAGES>" (with a producer
// warpgroup): any wgmma configuration, for tuning (bench/mma_tune.cpp) through runTensorCoreGemm;
// never offered as a tactic.
std::optional<MmaTactic> parseWgmmaConfig(const std::string& name) {
  MmaTactic tactic{"", Family::kHalfWgmma, 0, 0, 0, 1, 64, 0, "mma_f16_64x64"};
  for (const bool producer : {false, true}) {
    int consumed = 0;
    const char* format = producer ? "wgmma_ws_f16_%dx%d_s%d%n" : "wgmma_f16_%dx%d_s%d%n";
    if (std::sscanf(name.c_str(), format, &tactic.bm, &tactic.bn, &tactic.stages, &consumed) == 3 &&
        consumed == static_cast<int>(name.size())) {
      tactic.producer = producer;
      tactic.warps_m = tactic.bm / 16;
      const std::string problem = wgmmaConfigProblem(tactic);
      if (!problem.empty()) throw InvalidArgument("runTensorCoreGemm: '" + name + "' breaks the rule " + problem);
      return tactic;
    }
  }
  return std::nullopt;
}

// setGemmMmaEmulation: the plain f16 variants offered everywhere and built with the mma in software.
std::atomic<bool>& gemmEmulation() {
  static std::atomic<bool> on{false};
  return on;
}

// ---- The probe ---------------------------------------------------------------------------------

struct ProbeResult {
  bool half = false;
  bool tf32 = false;
  bool async = false;  // cp.async + ldmatrix (+ f16 mma), as gemm_mma_async uses them
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

// `count` small integers that differ from position to position, (i step + offset) mod modulus
// centred on zero: a probe's products and sums of them are exact in float, its operands in half,
// and a transposed or misplaced fragment changes the result.
std::vector<float> smallIntegers(std::size_t count, std::size_t step, std::size_t offset, std::size_t modulus) {
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = static_cast<float>(static_cast<int>((i * step + offset) % modulus) - static_cast<int>(modulus / 2));
  }
  return values;
}

std::vector<std::uint16_t> halvesOf(const std::vector<float>& values) {
  std::vector<std::uint16_t> halves(values.size());
  std::transform(values.begin(), values.end(), halves.begin(), floatToHalf);
  return halves;
}

// gemm_mma.cl built with a probe's options; null when it does not compile, with the compiler's
// message (cut short) in `failure`.
std::shared_ptr<const Program> buildProbe(const std::shared_ptr<Context>& context, const std::string& options,
                                          std::string& failure) {
  try {
    return Program::build(context, kernelSource("gemm_mma"), options);
  } catch (const std::exception& error) {
    failure = error.what();
    if (failure.size() > 300) failure = failure.substr(0, 300) + "...";
    return nullptr;
  }
}

// One argument of a probe kernel: host bytes uploaded before the launch, and read back after it
// when `read_back`.
struct ProbeArgument {
  void* data;
  std::size_t bytes;
  bool read_back;
};

// Runs one warp of a probe kernel with its buffer arguments in order, waiting for the results.
void runProbeWarp(const std::shared_ptr<Context>& context, const std::shared_ptr<const Program>& program,
                  const char* name, const std::vector<ProbeArgument>& arguments) {
  std::shared_ptr<Stream> stream = Stream::create(context);
  std::vector<std::shared_ptr<DeviceBuffer>> buffers;
  Kernel kernel(program, name);
  for (const ProbeArgument& argument : arguments) {
    buffers.push_back(DeviceBuffer::allocate(context, argument.bytes));
    copyHostToDevice(*stream, DeviceRange{buffers.back(), 0}, argument.data, argument.bytes, CopyMode::kBlocking);
    kernel.setBuffer(static_cast<cl_uint>(buffers.size() - 1), *buffers.back());
  }
  kernel.launch(*stream, {32}, {32});
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (!arguments[i].read_back) continue;
    copyDeviceToHost(*stream, arguments[i].data, DeviceRange{buffers[i], 0}, arguments[i].bytes, CopyMode::kBlocking);
  }
  stream->synchronize();
}

// Compiles and runs the probe kernel; sets result.half / result.tf32 for the instructions that
// gave exact products, and explains the others in result.report.
void runProbe(const Context& context, ProbeResult& result) {
  const std::shared_ptr<Context> shared = Context::forDevice(context.device());
  std::string failure;
  const std::shared_ptr<const Program> program = buildProbe(shared, "-DPROBE", failure);
  if (!program) {
    result.report = "the probe kernel does not compile: " + failure;
    return;
  }
  // Small integers (products and sums exact in float), plus one TF32 tie to check the rounding.
  const std::vector<float> a16f = smallIntegers(16 * 16, 7, 3, 9), b16f = smallIntegers(8 * 16, 5, 1, 7);
  std::vector<std::uint16_t> a16 = halvesOf(a16f), b16 = halvesOf(b16f);
  std::vector<float> a32 = smallIntegers(16 * 8, 5, 2, 11), b32 = smallIntegers(8 * 8, 3, 1, 5);
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

  std::vector<float> got16(want16.size(), -1.0f), got32(want32.size(), -1.0f);
  runProbeWarp(shared, program, "mma_probe",
               {{a16.data(), a16.size() * 2, false}, {b16.data(), b16.size() * 2, false},
                {got16.data(), got16.size() * 4, true}, {a32.data(), a32.size() * 4, false},
                {b32.data(), b32.size() * 4, false}, {got32.data(), got32.size() * 4, true}});

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

// Compiles and runs the probe of gemm_mma_async's instructions (-DPROBE_ASYNC; with `emulate`,
// the same kernel with the instructions in software, which must pass on any device). Returns
// whether every product and the zero fill came out exact; `report` says what happened.
bool runAsyncProbe(const Context& context, bool emulate, std::string& report) {
  const std::shared_ptr<Context> shared = Context::forDevice(context.device());
  std::string failure;
  const std::shared_ptr<const Program> program =
      buildProbe(shared, emulate ? "-DPROBE_ASYNC -DMMA_EMULATE" : "-DPROBE_ASYNC", failure);
  if (!program) {
    report = "the cp.async / ldmatrix probe does not compile: " + failure;
    return false;
  }
  // Small integers (products and sums exact), different in every matrix and position, so that
  // a transposed or misplaced fragment changes the result.
  constexpr int kSide = 16;
  const std::vector<float> af = smallIntegers(kSide * kSide, 7, 3, 11), btf = smallIntegers(kSide * kSide, 5, 1, 9),
                           bnf = smallIntegers(kSide * kSide, 3, 2, 7);
  std::vector<std::uint16_t> a = halvesOf(af), bt = halvesOf(btf), bn = halvesOf(bnf);
  std::vector<float> want(2 * kSide * kSide);
  for (int m = 0; m < kSide; ++m) {
    for (int n = 0; n < kSide; ++n) {
      float by_rows = 0.0f, by_columns = 0.0f;
      for (int k = 0; k < kSide; ++k) {
        by_rows += af[m * kSide + k] * btf[n * kSide + k];
        by_columns += af[m * kSide + k] * bnf[k * kSide + n];
      }
      want[m * kSide + n] = by_rows;
      want[kSide * kSide + m * kSide + n] = by_columns;
    }
  }

  std::vector<float> got(want.size(), -1.0f);
  std::vector<std::uint32_t> info(2 + 32 * 4, 0xa5a5a5a5u);
  runProbeWarp(shared, program, "mma_async_probe",
               {{a.data(), a.size() * 2, false}, {bt.data(), bt.size() * 2, false}, {bn.data(), bn.size() * 2, false},
                {got.data(), got.size() * 4, true}, {info.data(), info.size() * 4, true}});

  const std::uint64_t address = info[0] | (static_cast<std::uint64_t>(info[1]) << 32);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(address));
  if (!emulate && (address >= 0x40000 || address % 16 != 0)) {
    report = std::string("cp.async / ldmatrix not tried: a local pointer converts to ") + hex +
             ", not a .shared window address";
    return false;
  }
  if (got != want) {
    const auto at = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
    report = std::string("cp.async / ldmatrix gave a wrong product (") + (at < kSide * kSide ? "b N x K" : "b K x N") +
             ", element " + std::to_string(at % (kSide * kSide)) + " is " + std::to_string(got[at]) +
             ", expected " + std::to_string(want[at]) + ")";
    return false;
  }
  if (std::any_of(info.begin() + 2, info.end(), [](std::uint32_t word) { return word != 0u; })) {
    report = "cp.async with src-size 0 did not write zeros";
    return false;
  }
  report = std::string("cp.async / ldmatrix passed (local addresses like ") + hex + ")";
  return true;
}

// Runs the 128 x 256 wgmma tactic's kernel (b N x K; with `emulate`, its instructions in
// software, which must pass on any device) on a 130 x 264 x 40 product of small integers (every
// sum exact in float): two blocks along M and N, the second ones partial, and a K tile past the
// end. Returns whether every output came out exact; `report` says what happened. A device
// whose PTX is not for Hopper fails here, when the patched program is built.
bool runWgmmaProbe(const Context& context, bool emulate, std::string& report) {
  constexpr std::int64_t kM = 130, kN = 264, kK = 40;
  const std::shared_ptr<Context> shared = Context::forDevice(context.device());
  const std::vector<float> af = smallIntegers(kM * kK, 7, 3, 11), bf = smallIntegers(kN * kK, 5, 1, 9);
  const std::vector<std::uint16_t> a = halvesOf(af), b = halvesOf(bf);
  std::vector<float> want(kM * kN), got(want.size(), -1.0f);
  for (std::int64_t m = 0; m < kM; ++m) {
    for (std::int64_t n = 0; n < kN; ++n) {
      float sum = 0.0f;
      for (std::int64_t k = 0; k < kK; ++k) sum += af[m * kK + k] * bf[n * kK + k];
      want[m * kN + n] = sum;
    }
  }
  KernelCache cache(shared);
  std::shared_ptr<Stream> stream = Stream::create(shared);
  const auto upload = [&](const void* data, std::size_t bytes) {
    std::shared_ptr<DeviceBuffer> buffer = DeviceBuffer::allocate(shared, bytes);
    copyHostToDevice(*stream, DeviceRange{buffer, 0}, data, bytes, CopyMode::kBlocking);
    return buffer;
  };
  const DeviceTensor a_tensor{DeviceRange{upload(a.data(), a.size() * 2), 0}, Dims{kM, kK}, DataType::kHALF};
  const DeviceTensor b_tensor{DeviceRange{upload(b.data(), b.size() * 2), 0}, Dims{kN, kK}, DataType::kHALF};
  const DeviceTensor out{DeviceRange{upload(got.data(), got.size() * 4), 0}, Dims{kM, kN}, DataType::kFLOAT};
  GemmShape shape;
  shape.m = kM;
  shape.n = kN;
  shape.k = kK;
  shape.b_trans = true;
  const GemmEpilogue epilogue;
  try {
    runTensorCoreGemm("wgmma_f16_128x256", GemmCall{cache, *stream, shape, a_tensor, b_tensor, epilogue, out}, emulate);
    copyDeviceToHost(*stream, got.data(), out.range, got.size() * 4, CopyMode::kBlocking);
    stream->synchronize();
  } catch (const std::exception& error) {
    report = error.what();
    if (report.size() > 300) report = report.substr(0, 300) + "...";
    report = "the wgmma probe failed: " + report;
    return false;
  }
  if (got != want) {
    const auto at = std::mismatch(got.begin(), got.end(), want.begin()).first - got.begin();
    report = "wgmma gave a wrong product (element " + std::to_string(at) + " is " + std::to_string(got[at]) +
             ", expected " + std::to_string(want[at]) + ")";
    return false;
  }
  report = "wgmma passed";
  return true;
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
    // The async kernels also run f16 mma: tried only where that passed. Any failure here only
    // withholds them.
    std::string async_report = "cp.async / ldmatrix not tried (no f16 mma)";
    if (result.half) {
      try {
        result.async = runAsyncProbe(context, false, async_report);
      } catch (const std::exception& error) {
        result.async = false;
        async_report = std::string("the cp.async / ldmatrix probe failed: ") + error.what();
      }
    }
    result.report += "; " + async_report;
  }
  result.report = "tensor-core GEMM probe on " + device.name + ": " + result.report;
  log(Severity::kVERBOSE, result.report);
  return result;
}

// A probe's result for the context's device: `run` the first time a process asks, kept after.
template <typename Result, typename Run>
const Result& cachedPerDevice(const Context& context, Run run) {
  static std::mutex mutex;
  static std::map<std::string, Result> results;
  const std::lock_guard<std::mutex> lock(mutex);
  const std::string key = context.device().fingerprint();
  auto found = results.find(key);
  if (found == results.end()) found = results.emplace(key, run()).first;
  return found->second;
}

const ProbeResult& cachedProbe(const Context& context) {
  return cachedPerDevice<ProbeResult>(context, [&] { return probe(context); });
}

// The wgmma probe, apart from the others because it compiles a full GEMM kernel (0.8 s on an
// H100): run only when a build asks whether a wgmma tactic is offered for HALF operands, never in
// FP32 builds. Its kernel copies tiles with cp.async, so it is tried only where that passed.
struct WgmmaProbeResult {
  bool passed = false;
  std::string report;
};

WgmmaProbeResult probeWgmma(const Context& context, bool async_passed) {
  WgmmaProbeResult result;
  if (!async_passed) {
    result.report = "wgmma not tried (no cp.async)";
  } else {
    try {
      result.passed = runWgmmaProbe(context, false, result.report);
    } catch (const std::exception& error) {
      result.passed = false;
      result.report = std::string("the wgmma probe failed: ") + error.what();
    }
  }
  result.report = "wgmma probe on " + context.device().name + ": " + result.report;
  log(Severity::kVERBOSE, result.report);
  return result;
}

const WgmmaProbeResult& cachedWgmmaProbe(const Context& context) {
  const bool async_passed = cachedProbe(context).async;
  return cachedPerDevice<WgmmaProbeResult>(context, [&] { return probeWgmma(context, async_passed); });
}

// ---- Launch ----------------------------------------------------------------------------------

// The epilogue's activation as a build option (gemm_mma.cl, epilogue()): one program per
// activation kind an engine uses, each without the others' code.
std::string fixedActivationOption(const GemmEpilogue& epilogue) {
  return "-DFIXED_ACTIVATION=" + std::to_string(activationCode(epilogue));
}

// gemm_mma_async for a product whose a and b take 16-byte loads (b_vect: b is N x K).
void runAsync(const MmaTactic& tactic, const GemmCall& call, bool b_vect, bool emulate) {
  const GemmShape& shape = call.shape;
  const std::string options = joinOptions(
      {"-DASYNC -DBM=" + std::to_string(tactic.bm) + " -DBN=" + std::to_string(tactic.bn) +
           " -DWARPS_M=" + std::to_string(tactic.warps_m) + " -DWARPS_N=" + std::to_string(tactic.warps_n) +
           " -DBK=" + std::to_string(tactic.bk) + " -DSTAGES=" + std::to_string(tactic.stages),
       b_vect ? "-DB_VECT" : "-DB_VECN", emulate ? "-DMMA_EMULATE" : "", halfOption("A", call.a.type),
       halfOption("B", call.b.type), halfOption("OUT", call.out.type), halfOption("BIAS", call.biasOrOut().type),
       fixedActivationOption(call.epilogue)});
  Kernel& kernel = call.cache.get("gemm_mma", options, "gemm_mma_async");
  setGemmArguments(kernel, call);
  const std::size_t threads = static_cast<std::size_t>(32 * tactic.warps_m * tactic.warps_n);
  kernel.launch(call.stream,
                {tilesCovering(shape.n, tactic.bn) * threads, tilesCovering(shape.m, tactic.bm),
                 static_cast<std::size_t>(shape.batch)},
                {threads, 1, 1});
}

// gemm_wgmma for a product whose a and b take 16-byte loads (b_vect: b is N x K).
void runWgmma(const MmaTactic& tactic, const GemmCall& call, bool b_vect, bool emulate) {
  const GemmShape& shape = call.shape;
  const int groups = tactic.bm / 64;
  const std::string options = joinOptions(
      {"-DWGMMA -DBN=" + std::to_string(tactic.bn) + " -DGROUPS=" + std::to_string(groups) +
           " -DSTAGES=" + std::to_string(tactic.stages) + (tactic.producer ? " -DWS" : ""),
       b_vect ? "-DB_VECT" : "-DB_VECN", emulate ? "-DMMA_EMULATE" : "", halfOption("A", call.a.type),
       halfOption("B", call.b.type), halfOption("OUT", call.out.type), halfOption("BIAS", call.biasOrOut().type),
       fixedActivationOption(call.epilogue)});
  Kernel& kernel = call.cache.get("gemm_mma", options, "gemm_wgmma");
  setGemmArguments(kernel, call);
  const std::size_t threads = static_cast<std::size_t>(128 * (groups + (tactic.producer ? 1 : 0)));
  kernel.launch(call.stream,
                {tilesCovering(shape.n, tactic.bn) * threads, tilesCovering(shape.m, tactic.bm),
                 static_cast<std::size_t>(shape.batch)},
                {threads, 1, 1});
}

// K per tile of a plain variant's kernel (gemm_mma.cl: BK).
std::int64_t plainTileK(const MmaTactic& tactic) {
  return static_cast<std::int64_t>(tactic.family == Family::kTf32 ? 16 : 32) * tactic.k_slices;
}

// The slices of K a split-K variant runs `call` in across work-groups (1: no split): enough for
// the device (splitKSlices, counted in 32-deep K steps so that deep tiles split as often), at most
// one per K tile; or the test's forced count.
std::int64_t kSlicesAcrossGroups(const MmaTactic& tactic, const GemmCall& call) {
  if (!tactic.split_k) return 1;
  const GemmShape& shape = call.shape;
  const std::int64_t k_tiles = std::max<std::int64_t>(1, (shape.k + plainTileK(tactic) - 1) / plainTileK(tactic));
  if (call.forced_splits > 0) return std::min(call.forced_splits, k_tiles);
  const std::int64_t blocks = static_cast<std::int64_t>(tilesCovering(shape.m, tactic.bm) *
                                                        tilesCovering(shape.n, tactic.bn)) * shape.batch;
  const std::int64_t steps = (shape.k + 31) / 32;
  return std::min(splitKSlices(blocks, steps, call.cache.context()->device().compute_units), k_tiles);
}

// The workspace a split launch of `blocks` blocks per matrix in `splits` slices stores its partial
// blocks in, checked (checkSplitWorkspace).
const DeviceTensor& splitWorkspace(const MmaTactic& tactic, const GemmCall& call, std::size_t blocks,
                                   std::int64_t splits) {
  const std::size_t bytes = blocks * static_cast<std::size_t>(call.shape.batch * splits) *
                            static_cast<std::size_t>(tactic.bm * tactic.bn) * sizeof(float);
  return checkSplitWorkspace(call.cache, "matrixMultiply", tactic.name, "product", call.workspace, bytes, splits);
}

void runMma(const MmaTactic& tactic, const GemmCall& call, bool emulate) {
  const GemmShape& shape = call.shape;
  const DeviceTensor& bias = call.biasOrOut();
  if (tactic.family == Family::kHalfAsync || tactic.family == Family::kHalfWgmma) {
    if (call.a.type != DataType::kHALF) {
      throw InvalidArgument(std::string("matrixMultiply: tactic '") + tactic.name + "' runs HALF operands, not " +
                            dataTypeName(call.a.type));
    }
    const bool a_vec = !shape.a_trans && vectorAccessible(call.a, shape.k, shape.a_batch_stride, 8);
    const bool b_vect = shape.b_trans && vectorAccessible(call.b, shape.k, shape.b_batch_stride, 8);
    const bool b_vecn = !shape.b_trans && vectorAccessible(call.b, shape.n, shape.b_batch_stride, 8);
    if (a_vec && (b_vect || b_vecn)) {
      return tactic.family == Family::kHalfWgmma ? runWgmma(tactic, call, b_vect, emulate)
                                                  : runAsync(tactic, call, b_vect, emulate);
    }
    return runMma(plainFallback(tactic), call, emulate);
  }
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
  const std::int64_t splits = kSlicesAcrossGroups(tactic, call);
  const std::string options = joinOptions(
      {"-DBM=" + std::to_string(tactic.bm) + " -DBN=" + std::to_string(tactic.bn) +
           " -DWARPS_M=" + std::to_string(tactic.warps_m) + " -DWARPS_N=" + std::to_string(tactic.warps_n),
       tactic.k_slices > 1 ? "-DKSPLIT=" + std::to_string(tactic.k_slices) : "", splits > 1 ? "-DSPLIT_K" : "",
       tf32 ? "-DTF32" : "", layout, emulate ? "-DMMA_EMULATE" : "", halfOption("A", call.a.type), halfOption("B", call.b.type),
       halfOption("OUT", call.out.type), halfOption("BIAS", bias.type), fixedActivationOption(call.epilogue)});
  Kernel& kernel = call.cache.get("gemm_mma", options, "gemm_mma");
  Arguments arguments = setGemmArguments(kernel, call);
  const std::size_t threads = static_cast<std::size_t>(32 * tactic.warps_m * tactic.warps_n * tactic.k_slices);
  const std::size_t groups_x = tilesCovering(shape.n, tactic.bn), groups_y = tilesCovering(shape.m, tactic.bm);
  if (splits == 1) {
    kernel.launch(call.stream, {groups_x * threads, groups_y, static_cast<std::size_t>(shape.batch)}, {threads, 1, 1});
    return;
  }
  const DeviceTensor& partials = splitWorkspace(tactic, call, groups_x * groups_y, splits);
  arguments.value<cl_int>(static_cast<cl_int>(splits)).tensor(partials);
  kernel.launch(call.stream, {groups_x * threads, groups_y, static_cast<std::size_t>(shape.batch * splits)},
                {threads, 1, 1});
  Kernel& finish = call.cache.get("gemm_mma", options, "gemm_mma_finish");
  const std::int64_t count = shape.batch * shape.m * shape.n;
  Arguments finishing(finish, true);
  finishing.tensor(call.out).tensor(bias)
      .value<cl_int>(static_cast<cl_int>(shape.m)).value<cl_int>(static_cast<cl_int>(shape.n))
      .value<cl_int>(call.epilogue.bias ? 1 : 0).value<cl_int>(activationCode(call.epilogue))
      .value<cl_float>(call.epilogue.alpha).value<cl_float>(call.epilogue.beta)
      .value<cl_int>(static_cast<cl_int>(splits)).tensor(partials)
      .value<cl_int>(static_cast<cl_int>(groups_x)).value<cl_int>(static_cast<cl_int>(groups_y))
      .value<cl_long>(count);
  constexpr std::size_t kFinishGroup = 256;
  finish.launch(call.stream, {tilesCovering(count, kFinishGroup) * kFinishGroup}, {kFinishGroup});
}

}  // namespace

std::string tensorCoreProbeReport(const Context& context, bool fresh) {
  if (!fresh) return cachedProbe(context).report + "; " + cachedWgmmaProbe(context).report;
  const ProbeResult result = probe(context);
  return result.report + "; " + probeWgmma(context, result.async).report;
}

bool tensorCoreHalfAvailable(const Context& context) { return cachedProbe(context).half; }

bool tensorCoreTf32Available(const Context& context) { return cachedProbe(context).tf32; }

bool tensorCoreWgmmaAvailable(const Context& context) { return cachedWgmmaProbe(context).passed; }

void runTensorCoreGemm(const std::string& tactic, const GemmCall& call, bool emulate) {
  for (const MmaTactic& candidate : kMmaTactics) {
    if (tactic == candidate.name) return runMma(candidate, call, emulate);
  }
  std::optional<MmaTactic> config = parseAsyncConfig(tactic);
  if (!config) config = parseWgmmaConfig(tactic);
  if (config) {
    config->name = tactic.c_str();
    return runMma(*config, call, emulate);
  }
  throw InvalidArgument("runTensorCoreGemm: unknown tactic '" + tactic + "'");
}

// Declared where used (tests, bench/mma_tune.cpp): the async probe on any device, without the
// vendor check and the cache; with `emulate`, its instructions in software. "passed" at the
// start of the answer when it passed, else the reason.
std::string tensorCoreAsyncProbe(const Context& context, bool emulate) {
  std::string report;
  const bool passed = runAsyncProbe(context, emulate, report);
  return (passed ? "passed: " : "refused: ") + report;
}

// The same for the wgmma probe (runWgmmaProbe).
std::string tensorCoreWgmmaProbe(const Context& context, bool emulate) {
  std::string report;
  const bool passed = runWgmmaProbe(context, emulate, report);
  return (passed ? "passed: " : "refused: ") + report;
}

void setGemmMmaEmulation(bool on) { gemmEmulation().store(on); }

std::vector<GemmVariant> tensorCoreGemmVariants() {
  std::vector<GemmVariant> variants;
  for (const MmaTactic& tactic : kMmaTactics) {
    const Family family = tactic.family;
    const std::uint64_t local_bytes = family == Family::kHalfAsync ? asyncLocalBytes(tactic) : 0;
    variants.push_back(
        {tactic.name,
         [family, local_bytes](const Context& context, DataType type, const GemmPolicy& policy) {
           if (family == Family::kHalf) {
             return type == DataType::kHALF && (gemmEmulation().load() || cachedProbe(context).half);
           }
           if (family == Family::kHalfAsync) {
             return type == DataType::kHALF && local_bytes <= context.device().local_memory &&
                    cachedProbe(context).half && cachedProbe(context).async;
           }
           if (family == Family::kHalfWgmma) {
             // Their local memory exceeds what NVIDIA's driver reports (and grants): the probe,
             // which runs the larger tile, decides.
             return type == DataType::kHALF && tensorCoreWgmmaAvailable(context);
           }
           return type == DataType::kFLOAT && policy.allow_tf32 && cachedProbe(context).tf32;
         },
         {}, [&tactic](const GemmCall& call) { runMma(tactic, call, gemmEmulation().load()); }, tactic.bm, tactic.bn,
         tactic.bm <= 32 || tactic.k_slices > 1 || tactic.split_k});
    variants.back().tensor_cores = true;
    if (family == Family::kHalfAsync) {
      // Where wgmma runs, the cp.async tiles won no step of ResNet-50 b32, YOLOv8n b1 or BERT-base
      // b32 (H100, bench/RESULTS.md, issue 16 runs 22 and 25) and cost ResNet-50's cold build six
      // compiles (30 s of its 335 s): they remain the FP16 tiles of Ampere and Ada devices.
      variants.back().superseded = [](const Context& context) { return tensorCoreWgmmaAvailable(context); };
    }
    if (tactic.split_k) {
      const auto block = static_cast<std::size_t>(tactic.bm * tactic.bn);
      variants.back().workspace_bytes = [block](const Context& context) {
        return splitKWorkspaceBound(block, context.device().compute_units);
      };
    }
  }
  return variants;
}

}  // namespace mlprt::cl
