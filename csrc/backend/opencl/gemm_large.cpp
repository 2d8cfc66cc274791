// Large register-tiled GEMM kernels (kernels/gemm_large.cl): one kernel, its tile sizes as build
// options, offered as a handful of named configurations for the builder to time.
//
// Every variant runs every product (no `fits`): the 16-byte global loads and stores are a build
// option chosen per operand at each call, used where the operand's element offset, its contiguous
// extent and its batch stride are multiples of 4 and plain 4-element loads otherwise. The builder
// aligns activations and weights to 256 bytes, so engines get the vector path whenever N and K
// are multiples of 4 (and M as well for a transposed a).
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"

namespace mlprt::cl {

using namespace support;

namespace {

// A BM x BN block of c per work-group of (BM / TM) x (BN / TN) items, each computing TM x TN,
// over local-memory tiles BK deep (double-buffered); a warp's items cover 32 / lanes_n x lanes_n
// of the item grid (0: the kernel's default, a row of up to 32). Sizes as in gemm_large.cl.
struct LargeTileConfig {
  int bm, bn, bk, tm, tn;
  int lanes_n = 0;

  constexpr int threads() const { return (bm / tm) * (bn / tn); }
  // Two buffers of a BK x (BM + 4) and a BK x (BN + 4) float tile (rows padded by 4).
  constexpr std::size_t localBytes() const {
    return static_cast<std::size_t>(2 * bk * (bm + 4 + bn + 4)) * sizeof(float);
  }
  // What the kernel's #error line demands.
  constexpr int lanesN() const { return lanes_n ? lanes_n : std::min(bn / tn, 32); }
  constexpr bool valid() const {
    return tm % 4 == 0 && tn % 4 == 0 && bk % 4 == 0 && bm % tm == 0 && bn % tn == 0 &&
           (bm * bk / 4) % threads() == 0 && (bn * bk / 4) % threads() == 0 && threads() % 32 == 0 &&
           32 % lanesN() == 0 && (bn / tn) % lanesN() == 0 && (bm / tm) % (32 / lanesN()) == 0;
  }
  std::string name() const {
    const std::string warp = lanes_n ? "_w" + std::to_string(32 / lanes_n) + "x" + std::to_string(lanes_n) : "";
    return "large_m" + std::to_string(bm) + "n" + std::to_string(bn) + "_k" + std::to_string(bk) +
           "_t" + std::to_string(tm) + "x" + std::to_string(tn) + warp;
  }
};

// Offered as tactics. Chosen on an H200 with bench/gemm_tune.cpp (FP32, M = 4096, N and K of
// 1024 and 4096): 128 x 128 x 8 blocks were fastest on every product (39 TFLOP/s with b^T, 46
// with b, CLBlast 27-32); 64 x 128 x 16 with 4 x 8 per item came second where N = 1024 (a
// few hundred blocks); the 64 x 64 blocks keep every SM busy when M x N is small.
constexpr std::array<LargeTileConfig, 4> kOffered{{
    {128, 128, 8, 8, 8},
    {64, 128, 16, 4, 8},
    {64, 64, 16, 8, 8},
    {64, 64, 16, 4, 4},
}};

// Further configurations, timed by the tuning harness only: slower than the offered ones on
// every product measured (the warp shapes made no difference there).
constexpr std::array<LargeTileConfig, 12> kTuningOnly{{
    {128, 128, 16, 8, 8},
    {128, 64, 16, 8, 8},
    {128, 128, 8, 8, 8, 8},
    {128, 128, 8, 8, 8, 4},
    {128, 128, 16, 8, 8, 8},
    {128, 64, 8, 8, 8, 8},
    {64, 128, 8, 8, 8, 8},
    {64, 128, 16, 4, 8, 8},
    {128, 128, 16, 8, 4, 8},
    {128, 256, 8, 8, 16, 8},
    {256, 128, 8, 16, 8, 4},
    {64, 64, 16, 4, 4, 8},
}};

template <std::size_t N>
constexpr bool allValid(const std::array<LargeTileConfig, N>& configs) {
  for (const LargeTileConfig& config : configs) {
    if (!config.valid()) return false;
  }
  return true;
}
static_assert(allValid(kOffered) && allValid(kTuningOnly), "a configuration the kernel refuses");

// ---- Device limits ---------------------------------------------------------------------------

bool fitsDevice(const LargeTileConfig& config, const Context& context) {
  const DeviceInfo& device = context.device();
  return static_cast<std::size_t>(config.threads()) <= device.max_work_group && config.localBytes() <= device.local_memory;
}

// ---- Launch ----------------------------------------------------------------------------------

std::string buildOptions(const LargeTileConfig& config, const GemmCall& call, const DeviceTensor& bias) {
  const GemmShape& shape = call.shape;
  const bool vec_a = vectorAccessible(call.a, shape.a_trans ? shape.m : shape.k, shape.a_batch_stride, 4);
  const bool vec_b = vectorAccessible(call.b, shape.b_trans ? shape.k : shape.n, shape.b_batch_stride, 4);
  const bool vec_out = vectorAccessible(call.out, shape.n, shape.m * shape.n, 4);
  const bool wide = needsWideIndex({call.a.shape.volume(), call.b.shape.volume(), call.out.shape.volume()});
  const std::string tiles = "-DBM=" + std::to_string(config.bm) + " -DBN=" + std::to_string(config.bn) +
                            " -DBK=" + std::to_string(config.bk) + " -DTM=" + std::to_string(config.tm) +
                            " -DTN=" + std::to_string(config.tn) +
                            (config.lanes_n ? " -DLANES_N=" + std::to_string(config.lanes_n) : "");
  return joinOptions({tiles, shape.a_trans ? "-DA_TRANS=1" : "-DA_TRANS=0",
                      shape.b_trans ? "-DB_TRANS=1" : "-DB_TRANS=0", vec_a ? "-DVEC_A" : "",
                      vec_b ? "-DVEC_B" : "", vec_out ? "-DVEC_OUT" : "", halfOption("A", call.a.type),
                      halfOption("B", call.b.type), halfOption("OUT", call.out.type),
                      halfOption("BIAS", bias.type), indexOption(wide)});
}

void runLarge(const LargeTileConfig& config, const GemmCall& call) {
  const GemmShape& shape = call.shape;
  Kernel& kernel = call.cache.get("gemm_large", buildOptions(config, call, call.biasOrOut()), "gemm_large");
  setGemmArguments(kernel, call);
  const auto threads = static_cast<std::size_t>(config.threads());
  kernel.launch(call.stream,
                {tilesCovering(shape.n, config.bn) * threads, tilesCovering(shape.m, config.bm),
                 static_cast<std::size_t>(shape.batch)},
                {threads, 1, 1});
}

GemmVariant variantOf(const LargeTileConfig& config) {
  return {config.name(),
          [config](const Context& context, DataType type, const GemmPolicy&) {
            return isFloating(type) && fitsDevice(config, context);
          },
          {},
          [config](const GemmCall& call) { runLarge(config, call); },
          config.bm,
          config.bn};
}

}  // namespace

std::vector<GemmVariant> largeTileGemmVariants() {
  std::vector<GemmVariant> variants;
  for (const LargeTileConfig& config : kOffered) variants.push_back(variantOf(config));
  return variants;
}

// The offered variants and the tuning-only ones: for bench/gemm_tune.cpp, which declares it
// (not part of gemm_launch.h: nothing else should run untuned configurations).
std::vector<GemmVariant> largeTileGemmCandidates() {
  std::vector<GemmVariant> variants = largeTileGemmVariants();
  for (const LargeTileConfig& config : kTuningOnly) variants.push_back(variantOf(config));
  return variants;
}

}  // namespace mlprt::cl
