// The tensor-core GEMM variants (backend/opencl/gemm_mma.cpp). On an NVIDIA device the probe
// must pass and every variant must match a double-precision reference on awkward shapes; on any
// other device (PoCL on the development machine) the probe must refuse cleanly, say why in the
// log, and no variant may be offered or run. The tests branch on the device and assert the
// right thing in each case: nothing is skipped. The cp.async + ldmatrix variants
// ("mma_f16_async_*") have their own probe and are checked the same ways, their instructions
// emulated by the PTX ISA's layouts where there are no tensor cores; so are Hopper's wgmma ones
// ("wgmma_f16_*"), which must be offered on an H100 or H200.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernels.h"
#include "core/error.h"
#include "core/half.h"
#include "core/logging.h"
#include "test_util.h"

namespace mlprt::cl {
// gemm_mma.cpp: the cp.async / ldmatrix probe and the wgmma one, run directly (no vendor check,
// no cache).
std::string tensorCoreAsyncProbe(const Context& context, bool emulate);
std::string tensorCoreWgmmaProbe(const Context& context, bool emulate);
}  // namespace mlprt::cl

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

const std::vector<std::string> kAsyncVariants = {"mma_f16_async_128x256", "mma_f16_async_128x128",
                                                 "mma_f16_async_128x64"};
const std::vector<std::string> kHalfVariants = {"mma_f16_128x128", "mma_f16_128x64", "mma_f16_64x64",
                                                "mma_f16_32x64", "mma_f16_32x32", "mma_f16_64x64_k2",
                                                "mma_f16_32x64_k2", "mma_f16_32x32_k4", "mma_f16_64x64_splitk",
                                                "mma_f16_32x32_k4_splitk", "mma_f16_async_128x256",
                                                "mma_f16_async_128x128", "mma_f16_async_128x64",
                                                "wgmma_f16_128x256", "wgmma_f16_128x128"};
const std::vector<std::string> kWgmmaVariants = {"wgmma_f16_128x256", "wgmma_f16_128x128"};
const std::vector<std::string> kTf32Variants = {"mma_tf32_128x128", "mma_tf32_64x64"};

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Hopper: where the wgmma probe must pass.
bool isHopperDevice() {
  const std::string& name = context()->device().name;
  return isNvidiaDevice() && (name.find("H100") != std::string::npos || name.find("H200") != std::string::npos ||
                              name.find("H800") != std::string::npos || name.find("GH200") != std::string::npos);
}

std::set<std::string> tacticNames(DataType type, bool allow_tf32) {
  cl::GemmPolicy policy;
  policy.allow_tf32 = allow_tf32;
  std::set<std::string> names;
  for (const auto& tactic : cl::gemmTactics(*context(), type, policy)) names.insert(tactic.name);
  return names;
}

// ---- Device tensors with a chosen offset and guard elements after them ------------------------

constexpr std::size_t kGuard = 16;

struct Placed {
  DeviceTensor tensor;
  std::size_t lead = 0;  // elements before the tensor
};

// `lead` elements of random bytes, the values, kGuard elements of random bytes.
Placed place(const Dims& shape, DataType type, const std::vector<double>& values, std::size_t lead) {
  const std::size_t size = elementSize(type);
  auto buffer = allocate((lead + values.size() + kGuard) * size);
  std::vector<unsigned char> bytes = randomBytes(buffer->size(), 99);
  const std::vector<unsigned char> data = encodeAs(values, type);
  std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(lead * size));
  upload(stream(), at(buffer), bytes);
  return Placed{DeviceTensor{at(buffer, lead * size), shape, type}, lead};
}

std::vector<double> randomValues(std::size_t count, std::uint32_t seed, DataType type) {
  const std::vector<float> floats = randomFloats(count, seed);
  std::vector<double> values(floats.begin(), floats.end());
  return storedAs(values, type);  // what the device sees
}

// ---- Cases ---------------------------------------------------------------------------------------

struct MmaCase {
  Dims a, b, out;
  bool a_trans, b_trans, bias, relu;
  std::size_t lead;  // 0: aligned (vector loads where the shape allows); 3: element loads
};

const std::vector<MmaCase> kCases = {
    // PyTorch Linear layout (b is N x K) at the awkward m of an MLP's batch axis.
    {{1, 64}, {64, 64}, {1, 64}, false, true, true, true, 0},
    {{7, 24}, {40, 24}, {7, 40}, false, true, true, false, 0},
    {{13, 32}, {136, 32}, {13, 136}, false, true, false, true, 0},
    {{127, 96}, {72, 96}, {127, 72}, false, true, true, true, 0},
    {{129, 264}, {256, 264}, {129, 256}, false, true, true, false, 0},
    {{257, 256}, {200, 256}, {257, 200}, false, true, true, true, 0},
    // b stored K x N.
    {{129, 64}, {64, 136}, {129, 136}, false, false, true, false, 0},
    {{257, 40}, {40, 8}, {257, 8}, false, false, false, true, 0},
    // Shapes and offsets the vector loads cannot take: odd K and N, transposed a, offsets of
    // 3 elements.
    {{13, 19}, {37, 19}, {13, 37}, false, true, true, true, 0},
    {{19, 127}, {19, 65}, {127, 65}, true, false, true, false, 0},
    {{129, 33}, {129, 33}, {129, 129}, false, true, false, false, 3},
    {{7, 64}, {64, 24}, {7, 24}, false, false, true, true, 3},
    // Big aligned ones, several K tiles.
    {{256, 512}, {512, 512}, {256, 512}, false, true, true, true, 0},
    {{384, 256}, {256, 320}, {384, 320}, false, false, true, false, 0},
    // Batches: b shared (rows fold), a shared (a's batch stride is 0), both batched.
    {{3, 33, 40}, {24, 40}, {3, 33, 24}, false, true, true, false, 0},
    {{17, 32}, {3, 48, 32}, {3, 17, 48}, false, true, false, true, 0},
    {{2, 65, 16}, {2, 16, 40}, {2, 65, 40}, false, false, true, true, 0},
    // K = 0: only the epilogue remains.
    {{5, 0}, {8, 0}, {5, 8}, false, true, true, true, 0},
};

// How a case is run: through matrixMultiply (the real tensor cores), straight into the variant
// with the mma emulated in software (any device), or straight into it on the real tensor cores
// (configurations that are not registered tactics).
enum class Mode { kDevice, kEmulated, kDirect };

// Workspace for the split-K tactics, as an execution context gives it: FLOAT, 8 MB, at an even
// element past the buffer's start.
const DeviceTensor& splitWorkspace() {
  static const DeviceTensor workspace = [] {
    constexpr std::int64_t kFloats = std::int64_t{1} << 21;
    return DeviceTensor{at(allocate((kFloats + 2) * sizeof(float)), 2 * sizeof(float)), Dims{kFloats}, DataType::kFLOAT};
  }();
  return workspace;
}

// `out_type` (emulated runs only; matrixMultiply takes one storage type) is the output's and the
// bias's storage, `type` by default. `splits` (emulated runs only) forces a split-K tactic's
// slices of K across work-groups (0: its own choice for the device).
void checkCase(const std::string& tactic, const MmaCase& c, DataType type, std::uint32_t seed,
               Mode mode = Mode::kDevice, std::optional<DataType> out_type = std::nullopt,
               std::int64_t splits = 0) {
  const DataType out_storage = out_type.value_or(type);
  const std::int64_t m = c.out[c.out.rank() - 2], n = c.out[c.out.rank() - 1];
  const std::int64_t k = c.a_trans ? c.a[c.a.rank() - 2] : c.a[c.a.rank() - 1];
  const auto a_values = randomValues(static_cast<std::size_t>(c.a.volume()), seed, type);
  const auto b_values = randomValues(static_cast<std::size_t>(c.b.volume()), seed + 1, type);
  const auto bias_values = randomValues(static_cast<std::size_t>(n), seed + 2, out_storage);
  const Placed a = place(c.a, type, a_values, c.lead);
  const Placed b = place(c.b, type, b_values, c.lead);
  const Placed bias = place({n}, out_storage, bias_values, c.lead);
  const Placed out =
      place(c.out, out_storage, std::vector<double>(static_cast<std::size_t>(c.out.volume()), 77.0), c.lead);
  cl::GemmEpilogue epilogue;
  epilogue.bias = c.bias ? &bias.tensor : nullptr;
  epilogue.has_activation = c.relu;
  epilogue.activation = ActivationType::kRELU;
  if (mode == Mode::kDevice) {
    cl::matrixMultiply(cache(), stream(), cl::GemmTactic{tactic}, a.tensor,
                       c.a_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, b.tensor,
                       c.b_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, epilogue,
                       out.tensor, &splitWorkspace());
  } else {
    cl::GemmShape shape;
    shape.m = m;
    shape.n = n;
    shape.k = k;
    shape.batch = c.out.volume() / (m * n);
    shape.a_trans = c.a_trans;
    shape.b_trans = c.b_trans;
    shape.a_batch_stride = c.a.volume() > m * k ? m * k : 0;
    shape.b_batch_stride = c.b.volume() > k * n ? k * n : 0;
    cl::runTensorCoreGemm(
        tactic, cl::GemmCall{cache(), stream(), shape, a.tensor, b.tensor, epilogue, out.tensor, &splitWorkspace(), splits},
        mode == Mode::kEmulated);
  }

  const std::size_t size = elementSize(out_storage);
  const std::size_t volume = static_cast<std::size_t>(c.out.volume());
  const auto bytes = download<unsigned char>(stream(), at(out.tensor.range.buffer), out.tensor.range.buffer->size());
  const std::vector<double> got = decodeAs<double>(
      std::vector<unsigned char>(bytes.begin() + static_cast<std::ptrdiff_t>(c.lead * size),
                                 bytes.begin() + static_cast<std::ptrdiff_t>((c.lead + volume) * size)),
      out_storage);
  const auto original = randomBytes(bytes.size(), 99);
  for (std::size_t i = 0; i < c.lead * size; ++i) ASSERT_EQ(bytes[i], original[i]) << tactic << " wrote before";
  for (std::size_t i = (c.lead + volume) * size; i < bytes.size(); ++i) {
    ASSERT_EQ(bytes[i], original[i]) << tactic << " wrote after the output";
  }

  const std::int64_t batch = c.out.volume() / (m * n);
  const std::int64_t a_matrices = c.a.volume() / std::max<std::int64_t>(m * k, 1);
  const std::int64_t b_matrices = c.b.volume() / std::max<std::int64_t>(k * n, 1);
  const GemmReference reference =
      referenceGemm(a_values, b_values, c.bias ? &bias_values : nullptr, batch, m, n, k, c.a_trans, c.b_trans,
                    a_matrices == 1 ? 0 : m * k, b_matrices == 1 ? 0 : k * n);
  int failures = 0;
  for (std::int64_t p = 0; p < batch; ++p) {
    for (std::int64_t i = 0; i < m; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        const auto o = static_cast<std::size_t>((p * m + i) * n + j);
        double sum = reference.sums[o];
        const double magnitude = reference.magnitudes[o];
        if (c.relu) sum = std::max(sum, 0.0);
        // Relative error 1e-2, with a floor of 1e-3 of the sum of absolute terms for results
        // that cancel. FP16: inputs are exact halves, products are accumulated in float and
        // the result rounded to half (2^-11 relative). TF32: the kernel rounds float inputs to
        // 10 mantissa bits (2^-11 relative each) for the tensor cores, far from the 1e-5 an
        // FP32 kernel meets; that precision is what BuilderFlag.TF32 trades for speed.
        const double value = got[o];
        const double bound = 1e-2 * std::fabs(sum) + 1e-3 * (magnitude + 1.0);
        if (!(std::fabs(value - sum) <= bound) && failures++ < 5) {
          ADD_FAILURE() << tactic << (splits > 0 ? " in " + std::to_string(splits) + " slices" : "") << " a " << c.a.toString() << (c.a_trans ? "^T" : "") << " b "
                        << c.b.toString() << (c.b_trans ? "^T" : "") << " lead " << c.lead
                        << ": element (" << p << ", " << i << ", " << j << ") is " << value
                        << ", expected " << sum << " (tolerance " << bound << ")";
        }
      }
    }
  }
}

// ---- Tests ---------------------------------------------------------------------------------------

TEST(GemmMma, ProbeDecidesWhatIsOffered) {
  std::mutex mutex;
  std::vector<std::string> messages;
  setLogSink(
      [&](Severity severity, const std::string& message) {
        const std::lock_guard<std::mutex> lock(mutex);
        if (severity == Severity::kVERBOSE) messages.push_back(message);
      },
      Severity::kVERBOSE);
  const std::string report = cl::tensorCoreProbeReport(*context(), true);
  resetLogSink();
  // Two probes, each logged: the mma.sync / cp.async one, then the wgmma one.
  const bool first_logged = std::any_of(messages.begin(), messages.end(), [&](const std::string& message) {
    return report.rfind(message + "; wgmma probe on ", 0) == 0;
  });
  const bool second_logged = std::any_of(messages.begin(), messages.end(), [&](const std::string& message) {
    return message.rfind("wgmma probe on " + context()->device().name + ": ", 0) == 0 &&
           report.size() > message.size() && report.compare(report.size() - message.size(), message.size(), message) == 0;
  });
  EXPECT_TRUE(first_logged && second_logged) << "the probes' reports were not logged at VERBOSE: " << report;
  EXPECT_NE(report.find("tensor-core GEMM probe on " + context()->device().name), std::string::npos) << report;
  // The cached answer is the same.
  EXPECT_EQ(cl::tensorCoreProbeReport(*context(), false), report);

  const auto halves = tacticNames(DataType::kHALF, false);
  const auto floats = tacticNames(DataType::kFLOAT, false);
  const auto floats_tf32 = tacticNames(DataType::kFLOAT, true);
  for (const auto& name : kTf32Variants) {
    EXPECT_FALSE(floats.count(name)) << name << " offered without BuilderFlag.TF32";
    EXPECT_FALSE(halves.count(name)) << name << " offered for HALF";
  }
  for (const auto& name : kHalfVariants) {
    EXPECT_FALSE(floats_tf32.count(name)) << name << " offered for FLOAT";
  }
  if (isNvidiaDevice()) {
    EXPECT_NE(report.find("f16 mma passed"), std::string::npos) << report;
    EXPECT_NE(report.find("tf32 mma passed"), std::string::npos) << report;
    // The async variants need cp.async (sm_80) and their probe; older NVIDIA devices refuse them.
    const bool async = report.find("cp.async / ldmatrix passed") != std::string::npos;
    // wgmma: Hopper only (its PTX target sm_90a), after cp.async.
    const bool wgmma = report.find("wgmma passed") != std::string::npos;
    if (isHopperDevice()) {
      EXPECT_TRUE(wgmma) << report;
    }
    if (wgmma) {
      EXPECT_TRUE(async) << report;
    }
    for (const auto& name : kHalfVariants) {
      // The async ones run where their probe passes, but wgmma supersedes them as candidates.
      const bool offered = contains(kWgmmaVariants, name)  ? wgmma
                           : contains(kAsyncVariants, name) ? async && !wgmma
                                                            : true;
      EXPECT_EQ(halves.count(name), offered ? 1u : 0u) << name << ": " << report;
    }
    for (const auto& name : kTf32Variants) EXPECT_TRUE(floats_tf32.count(name)) << name;
  } else {
    EXPECT_NE(report.find("not an NVIDIA device"), std::string::npos) << report;
    for (const auto& names : {halves, floats, floats_tf32}) {
      for (const auto& name : names) EXPECT_NE(name.rfind("mma_", 0), 0u) << name << " offered off NVIDIA";
    }
  }
}

TEST(GemmMma, ProbeKernelCompilesOnlyOnNvidia) {
  // The reason the probe exists: the PTX does not compile for other devices. Program::build must
  // report that as an exception (never crash), and must succeed on NVIDIA.
  const auto build = [] { return cl::Program::build(context(), cl::kernelSource("gemm_mma"), "-DPROBE"); };
  if (isNvidiaDevice()) {
    EXPECT_NO_THROW(build());
  } else {
    EXPECT_ANY_THROW(build());
  }
}

TEST(GemmMma, EveryVariantMatchesDoubleReference) {
  if (!isNvidiaDevice()) {
    // Not offered, so a named variant is refused before anything is enqueued.
    const Placed a = place({4, 8}, DataType::kHALF, std::vector<double>(32, 1.0), 0);
    const Placed b = place({8, 8}, DataType::kHALF, std::vector<double>(64, 1.0), 0);
    const Placed out = place({4, 8}, DataType::kHALF, std::vector<double>(32, 0.0), 0);
    for (const auto& name : kHalfVariants) {
      EXPECT_TRUE(throwsWith<InvalidArgument>(
          [&] {
            cl::matrixMultiply(cache(), stream(), cl::GemmTactic{name}, a.tensor, MatrixOperation::kNONE,
                               b.tensor, MatrixOperation::kTRANSPOSE, {}, out.tensor);
          },
          "tactic '" + name + "' cannot run HALF operands"));
    }
    return;
  }
  std::uint32_t seed = 500;
  const auto offered = tacticNames(DataType::kHALF, false);
  for (const auto& name : kHalfVariants) {
    // The wgmma ones where their probe passed (ProbeDecidesWhatIsOffered: on every Hopper device).
    if (contains(kWgmmaVariants, name) && !offered.count(name)) continue;
    for (const MmaCase& c : kCases) checkCase(name, c, DataType::kHALF, seed += 3);
  }
  for (const auto& name : kTf32Variants) {
    for (const MmaCase& c : kCases) checkCase(name, c, DataType::kFLOAT, seed += 3);
  }
}

TEST(GemmMma, EmulatedMmaKernelsMatchDoubleReference) {
  // The kernels' tiling, vector and element loads, edge tiles, batches and epilogue, with the
  // warp's mma done in software by the same fragment layouts that the probe checks on the
  // hardware: runs on every device. Large cases only on NVIDIA (emulation is slow on CPUs).
  // CPU OpenCL compilers take minutes over the emulated kernels (barriers in unrolled loops),
  // so there: the 64 x 64 variants (same code as the others, smaller constants) on the cases
  // up to 2^17 multiply-adds, which still cover every load path, edge tiles, batches and K = 0.
  const bool nvidia = isNvidiaDevice();
  const std::int64_t limit = nvidia ? std::int64_t{1} << 24 : std::int64_t{1} << 17;
  const std::vector<std::string> halves = nvidia ? kHalfVariants : std::vector<std::string>{"mma_f16_64x64"};
  const std::vector<std::string> tf32s = nvidia ? kTf32Variants : std::vector<std::string>{"mma_tf32_64x64"};
  std::uint32_t seed = 900;
  int checked = 0;
  for (const MmaCase& c : kCases) {
    const std::int64_t work = c.out.volume() * std::max<std::int64_t>(c.a_trans ? c.a[c.a.rank() - 2] : c.a[c.a.rank() - 1], 1);
    if (work > limit) continue;
    for (const auto& name : halves) checkCase(name, c, DataType::kHALF, seed += 3, Mode::kEmulated);
    for (const auto& name : tf32s) checkCase(name, c, DataType::kFLOAT, seed += 3, Mode::kEmulated);
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// K split across work-groups: each slice's partial block in the workspace, then the second pass
// (slices added in order, bias, activation, output type). On NVIDIA every case in slices of 1 (the
// tile it extends), 3 and 9 (more than the K tiles: empty slices), both tactics. Elsewhere, where
// each emulated program takes CPU compilers many seconds: K of two tiles asked for 3 slices
// (element loads, FLOAT output), a batch of three in 2 (K = 40, the second slice partial), and the
// tactic's own count, which splits on every device when the blocks are few (1 block here: 64 x 64
// over 40 x 50, K = 512).
TEST(GemmMma, SplitKAcrossWorkGroupsMatchesTheReference) {
  struct SplitRun {
    MmaCase c;
    std::int64_t splits;
    DataType out;
  };
  std::vector<SplitRun> runs{
      {{{7, 64}, {64, 24}, {7, 24}, false, false, true, true, 3}, 3, DataType::kFLOAT},
      {{{3, 33, 40}, {24, 40}, {3, 33, 24}, false, true, true, true, 0}, 2, DataType::kHALF},
      {{{40, 512}, {50, 512}, {40, 50}, false, true, true, true, 0}, 0, DataType::kHALF},
  };
  std::vector<std::string> tactics{"mma_f16_64x64_splitk"};
  if (isNvidiaDevice()) {
    tactics.push_back("mma_f16_32x32_k4_splitk");
    for (const MmaCase& c : kCases) {
      for (std::int64_t splits : {std::int64_t{1}, std::int64_t{3}, std::int64_t{9}}) {
        runs.push_back({c, splits, splits == 3 ? DataType::kFLOAT : DataType::kHALF});
      }
    }
  }
  std::uint32_t seed = 1300;
  for (const std::string& tactic : tactics) {
    for (const SplitRun& run : runs) checkCase(tactic, run.c, DataType::kHALF, seed += 3, Mode::kEmulated, run.out, run.splits);
  }
}

TEST(GemmMma, SplitKTacticsNeedTheirWorkspace) {
  EXPECT_GT(cl::gemmWorkspaceBytes(cl::GemmTactic{"mma_f16_64x64_splitk"}, *context()), 0u);
  EXPECT_EQ(cl::gemmWorkspaceBytes(cl::GemmTactic{"mma_f16_64x64"}, *context()), 0u);
  EXPECT_EQ(cl::gemmWorkspaceBytes(cl::GemmTactic{"clblast"}, *context()), 0u);
  // The bound holds the most any product can need on this device: 2 x 2 work-groups per compute unit.
  EXPECT_EQ(cl::gemmWorkspaceBytes(cl::GemmTactic{"mma_f16_32x32_k4_splitk"}, *context()),
            std::size_t{4} * context()->device().compute_units * 32 * 32 * sizeof(float));
  const Dims a{40, 512}, b{50, 512}, out{40, 50};
  const auto values = [](const Dims& shape) { return std::vector<double>(static_cast<std::size_t>(shape.volume()), 0.5); };
  const Placed pa = place(a, DataType::kHALF, values(a), 0), pb = place(b, DataType::kHALF, values(b), 0);
  const Placed po = place(out, DataType::kHALF, values(out), 0);
  cl::GemmShape shape;
  shape.m = 40;
  shape.n = 50;
  shape.k = 512;
  shape.batch = 1;
  shape.b_trans = true;
  const cl::GemmEpilogue epilogue;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::runTensorCoreGemm("mma_f16_64x64_splitk",
                              cl::GemmCall{cache(), stream(), shape, pa.tensor, pb.tensor, epilogue, po.tensor, nullptr, 4},
                              true);
      },
      "matrixMultiply: tactic 'mma_f16_64x64_splitk' runs this product in 4 slices of K and needs 65536 bytes of "
      "workspace; none was given"));
  const DeviceTensor small{at(allocate(4096), 4), Dims{1000}, DataType::kFLOAT};
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::runTensorCoreGemm("mma_f16_64x64_splitk",
                              cl::GemmCall{cache(), stream(), shape, pa.tensor, pb.tensor, epilogue, po.tensor, &small, 4},
                              true);
      },
      "needs 65536 bytes of workspace; the workspace given is (1000) FLOAT at element 1"));
}

TEST(GemmMma, VariantsRunEveryProduct) {
  // No fits rule: any n, k, transposes and alignment run (element loads where vector loads
  // cannot), so the builder may pick them for any layer.
  const Dims a{13, 7}, b{13, 5}, out{7, 5};
  for (const auto& name : kHalfVariants) {
    EXPECT_TRUE(cl::gemmTacticIsGeneral(cl::GemmTactic{name})) << name;
    EXPECT_TRUE(cl::gemmTacticFits(cl::GemmTactic{name}, a, MatrixOperation::kTRANSPOSE, b,
                                   MatrixOperation::kNONE, out))
        << name;
  }
  for (const auto& name : kTf32Variants) EXPECT_TRUE(cl::gemmTacticIsGeneral(cl::GemmTactic{name})) << name;
}

// ---- The cp.async + ldmatrix variants ------------------------------------------------------------

TEST(GemmMma, AsyncProbeEmulatedPasses) {
  // The probe's kernel with cp.async, ldmatrix and mma in software (the PTX ISA's layouts) must
  // give the host's exact products on any device: checks the probe's own expectations and the
  // emulation the kernel tests below rely on.
  const std::string report = cl::tensorCoreAsyncProbe(*context(), true);
  EXPECT_EQ(report.rfind("passed: ", 0), 0u) << report;
}

TEST(GemmMma, AsyncProbeRefusesWhereThePtxDoesNotCompile) {
  // The refusal path: off NVIDIA the PTX does not compile, the probe says so (no exception) and
  // the async variants are not offered. On NVIDIA, the probe run here agrees with the cached
  // one that decides what is offered.
  const std::string report = cl::tensorCoreAsyncProbe(*context(), false);
  const auto halves = tacticNames(DataType::kHALF, false);
  if (isNvidiaDevice()) {
    const bool passed = report.rfind("passed: ", 0) == 0;
    const bool offered_by_probe =
        cl::tensorCoreProbeReport(*context(), false).find("cp.async / ldmatrix passed") != std::string::npos;
    EXPECT_EQ(passed, offered_by_probe) << report;
  } else {
    EXPECT_EQ(report.rfind("refused: the cp.async / ldmatrix probe does not compile", 0), 0u) << report;
    for (const auto& name : kAsyncVariants) EXPECT_FALSE(halves.count(name)) << name;
  }
}

// Products the async kernel takes (a row-major, K and b's rows multiples of 8 halves, aligned),
// at awkward sizes: m and n of 1, primes, and just past a tile; K past tiles of 16 and 32.
const std::vector<MmaCase> kAsyncCases = {
    {{1, 8}, {8, 8}, {1, 8}, false, true, true, true, 0},
    {{9, 16}, {1, 16}, {9, 1}, false, true, true, true, 0},
    {{7, 24}, {40, 24}, {7, 40}, false, true, true, false, 0},
    {{129, 264}, {136, 264}, {129, 136}, false, true, true, true, 0},
    {{131, 72}, {264, 72}, {131, 264}, false, true, false, false, 0},
    {{13, 40}, {40, 1000}, {13, 1000}, false, false, true, true, 0},
    {{129, 96}, {96, 136}, {129, 136}, false, false, false, true, 0},
    {{3, 37, 16}, {16, 72}, {3, 37, 72}, false, false, true, false, 0},
    {{2, 65, 48}, {2, 24, 48}, {2, 65, 24}, false, true, true, true, 0},
    {{5, 0}, {8, 0}, {5, 8}, false, true, true, true, 0},
};

// Each of `names` on every async case in emulation, and again with FLOAT output (and bias) for the
// first name on the cases with a bias.
void checkEmulatedOnAsyncCases(const std::vector<std::string>& names, std::uint32_t seed) {
  for (const auto& name : names) {
    for (const MmaCase& c : kAsyncCases) {
      checkCase(name, c, DataType::kHALF, seed += 3, Mode::kEmulated);
      if (name == names[0] && c.bias) {
        checkCase(name, c, DataType::kHALF, seed += 3, Mode::kEmulated, DataType::kFLOAT);
      }
    }
  }
}

TEST(GemmMma, EmulatedAsyncKernelsMatchDoubleReference) {
  // gemm_mma_async's tiling, swizzled slots, ring of stages (cp.async emulated with its delay:
  // a copy lands only when a wait retires its group), ldmatrix fragments, edge tiles, batches
  // and epilogue, on any device: the registered variants (K tiles of 16 and 32, 4 and 3
  // stages, warps of 64 x 64 and 64 x 32) and a spelled-out configuration with 2 stages; FLOAT
  // output on the first. Each variant, b layout and output type is a program that a CPU OpenCL
  // compiles for seconds, so the set is kept to these.
  checkEmulatedOnAsyncCases({kAsyncVariants[0], kAsyncVariants[1], kAsyncVariants[2], "mma_f16_async_64x64_w1x2_k32_s2"},
                            1300);
}

TEST(GemmMma, EmulatedAsyncVariantsFallBackForOtherLayouts) {
  // a transposed, odd K and N, or offsets that break 16-byte alignment: the async tactics (and the
  // wgmma ones) hand the product to a plain variant (element loads here), and the result is still
  // right. Through
  // mma_f16_async_128x128, whose fallback is mma_f16_64x64: the same program as the plain
  // emulated test builds for these layouts, so no further compile on CPU OpenCL.
  const std::vector<MmaCase> cases = {
      {{13, 19}, {37, 19}, {13, 37}, false, true, true, true, 0},
      {{19, 7}, {19, 9}, {7, 9}, true, false, true, false, 0},
      {{7, 64}, {64, 24}, {7, 24}, false, false, true, true, 3},
  };
  std::uint32_t seed = 1700;
  for (const MmaCase& c : cases) checkCase(kAsyncVariants[1], c, DataType::kHALF, seed += 3, Mode::kEmulated);
  // The wgmma tactics hand such products on the same way (wgmma_f16_128x128's fallback is the
  // same mma_f16_64x64, so no further compile).
  for (const MmaCase& c : cases) checkCase(kWgmmaVariants[1], c, DataType::kHALF, seed += 3, Mode::kEmulated);
}

TEST(GemmMma, WgmmaProbeEmulatedPasses) {
  // The probe's product through gemm_wgmma with the warpgroup instructions in software (the
  // tiles' core-matrix layouts read back as the descriptors describe them, the accumulators by
  // the PTX ISA's layout) must give the host's exact sums on any device.
  const std::string report = cl::tensorCoreWgmmaProbe(*context(), true);
  EXPECT_EQ(report, "passed: wgmma passed");
}

TEST(GemmMma, WgmmaProbeRefusesWhereThePtxIsNotHoppers) {
  // Off NVIDIA the kernel's PTX does not compile; on NVIDIA before Hopper its patched target
  // (sm_90a) is refused. Either way the probe says so without throwing and nothing wgmma is
  // offered. On NVIDIA, the probe run here agrees with the cached one.
  const std::string report = cl::tensorCoreWgmmaProbe(*context(), false);
  const auto halves = tacticNames(DataType::kHALF, false);
  if (isNvidiaDevice()) {
    const bool passed = report == "passed: wgmma passed";
    const bool offered = cl::tensorCoreProbeReport(*context(), false).find("wgmma passed") != std::string::npos;
    EXPECT_EQ(passed, offered) << report;
    if (isHopperDevice()) {
      EXPECT_TRUE(passed) << report;
    }
  } else {
    EXPECT_EQ(report.rfind("refused: the wgmma probe failed: ", 0), 0u) << report;
    for (const auto& name : kWgmmaVariants) EXPECT_FALSE(halves.count(name)) << name;
  }
}

TEST(GemmMma, GemmTacticsLeaveOutExactlyTheSupersededOnes) {
  // The builder asks gemmTacticSuperseded late (its answer may run the wgmma probe): what it
  // keeps must be what gemmTactics offers. On Hopper the cp.async tiles are the superseded ones.
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    std::set<std::string> kept;
    for (const auto& tactic : cl::gemmTacticsWithSuperseded(*context(), type)) {
      if (!cl::gemmTacticSuperseded(tactic, *context())) kept.insert(tactic.name);
    }
    EXPECT_EQ(kept, tacticNames(type, false)) << dataTypeName(type);
  }
  const bool async_superseded = cl::gemmTacticSuperseded({"mma_f16_async_128x64"}, *context());
  EXPECT_EQ(async_superseded, cl::tensorCoreWgmmaAvailable(*context()));
  EXPECT_FALSE(cl::gemmTacticSuperseded({"mma_f16_64x64"}, *context()));
}

TEST(GemmMma, EmulatedWgmmaKernelsMatchDoubleReference) {
  // gemm_wgmma's swizzled slots (K-major tiles for a and b N x K, N-major for b K x N), its ring
  // of stages, descriptors' offsets, warpgroups, edge tiles past M, N and K, batches and epilogue,
  // with the warpgroup product in software, on any device: both registered variants (BN 256 and
  // 128) on the async cases (K of up to 5 tiles), FLOAT output on the first. (What the emulation cannot
  // show: a missing wait or fence, since its copies and products are synchronous; the device run
  // in EveryVariantMatchesDoubleReference covers those on Hopper.)
  checkEmulatedOnAsyncCases(kWgmmaVariants, 1900);
}

TEST(GemmMma, EmulatedWarpSpecialisedWgmmaMatchesDoubleReference) {
  // The producer-warpgroup form (-DWS): the last warpgroup copies every tile (its own copy
  // indices), the two consumer warpgroups take the slots in turn, with the instruction's N of 64
  // and a ring of 3 over K of up to 5 tiles; the mbarrier hand-over itself runs on the device only
  // (EveryWgmmaConfigurationMatchesOnHopper).
  checkEmulatedOnAsyncCases({"wgmma_ws_f16_128x64_s3"}, 2100);
}

TEST(GemmMma, EveryWgmmaConfigurationMatchesOnHopper) {
  // The tuning configurations of bench/mma_tune.cpp, with and without a producer warpgroup, on
  // the real instructions: every case, both b layouts.
  if (!cl::tensorCoreWgmmaAvailable(*context())) GTEST_SKIP() << "wgmma is not offered on this device";
  std::uint32_t seed = 2300;
  for (const char* name : {"wgmma_ws_f16_128x256_s4", "wgmma_ws_f16_128x128_s4", "wgmma_ws_f16_128x128_s6",
                           "wgmma_ws_f16_128x64_s3", "wgmma_f16_128x128_s4", "wgmma_f16_64x128_s3"}) {
    for (const MmaCase& c : kCases) checkCase(name, c, DataType::kHALF, seed += 3, Mode::kDirect);
  }
}

TEST(GemmMma, AsyncConfigurationsAreChecked) {
  const Placed a = place({8, 16}, DataType::kHALF, randomValues(128, 1, DataType::kHALF), 0);
  const Placed b = place({16, 16}, DataType::kHALF, randomValues(256, 2, DataType::kHALF), 0);
  const Placed out = place({8, 16}, DataType::kHALF, std::vector<double>(128, 0.0), 0);
  cl::GemmShape shape;
  shape.m = 8;
  shape.n = 16;
  shape.k = 16;
  cl::GemmEpilogue epilogue;
  const cl::GemmCall call{cache(), stream(), shape, a.tensor, b.tensor, epilogue, out.tensor};
  for (const char* name : {"mma_f16_async_64x48_w2x2_k16_s2", "mma_f16_async_64x64_w2x2_k64_s2",
                           "mma_f16_async_64x64_w2x2_k16_s1", "mma_f16_async_64x64_w8x2_k16_s2"}) {
    EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::runTensorCoreGemm(name, call, true); }, "breaks the rule"))
        << name;
  }
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::runTensorCoreGemm("mma_f16_async_64x64_w2x2_k16_s2x", call, true); }, "unknown tactic"));
  for (const char* name : {"wgmma_f16_128x96_s3", "wgmma_ws_f16_96x128_s3", "wgmma_f16_128x128_s1",
                           "wgmma_ws_f16_256x256_s4"}) {
    EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::runTensorCoreGemm(name, call, true); }, "breaks the rule"))
        << name;
  }
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::runTensorCoreGemm("wgmma_ws_f16_128x128_s3_", call, true); },
                                          "unknown tactic"));
}

}  // namespace
}  // namespace mlprt::test
