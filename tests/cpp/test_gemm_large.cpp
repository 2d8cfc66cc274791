// The large register-tiled GEMM variants (gemm_large.cpp, kernels/gemm_large.cl), each by name,
// against a double-precision CPU reference: extents that are not multiples of any tile, K = 0
// and 1, every transpose, shared and batched operands, fused bias and activation, FLOAT and
// HALF storage, and the choice between aligned vector access and plain loads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "backend/opencl/split_k.h"
#include "core/error.h"
#include "core/half.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

const std::vector<std::string> kLargeVariants = {
    "large_m128n128_k8_t8x8",
    "large_m64n128_k16_t4x8",
    "large_m64n64_k16_t8x8",
    "large_m64n64_k16_t4x4",
};

cl::Stream& largeStream() {
  static std::shared_ptr<cl::Stream> instance = cl::Stream::create(context());
  return *instance;
}

constexpr float kSentinel = 77.0f;

// A tensor `offset` elements into its buffer, with `offset` sentinel elements before and 5 after
// (offset 0 or 4: aligned for vector access; 3: not).
DeviceTensor place(const Dims& shape, DataType type, const std::vector<float>& values, std::size_t offset) {
  std::vector<float> padded(offset, kSentinel);
  padded.insert(padded.end(), values.begin(), values.end());
  padded.insert(padded.end(), 5, kSentinel);
  auto buffer = allocate(padded.size() * elementSize(type));
  upload(largeStream(), at(buffer), encodeAs(padded, type));
  return DeviceTensor{at(buffer, offset * elementSize(type)), shape, type};
}

// The whole buffer of a tensor placed with `offset`.
std::vector<float> readBuffer(const DeviceTensor& tensor) {
  const auto bytes = download<unsigned char>(largeStream(), at(tensor.range.buffer), tensor.range.buffer->size());
  return decodeAs<float>(bytes, tensor.type);
}

struct LargeCase {
  std::int64_t batch, m, n, k;
  bool a_batched, b_batched;  // false: one matrix for the whole batch
  bool a_trans, b_trans;
  bool bias;
  int activation;  // -1: none, else an ActivationType
};

double referenceActivation(int activation, double x) {
  switch (static_cast<ActivationType>(activation)) {
    case ActivationType::kRELU: return std::max(x, 0.0);
    case ActivationType::kLEAKY_RELU: return x < 0 ? 0.1 * x : x;
    case ActivationType::kSIGMOID: return 1.0 / (1.0 + std::exp(-x));
    case ActivationType::kGELU_TANH:
      return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    default: return x;
  }
}

Dims operandShape(std::int64_t batch, bool batched, std::int64_t rows, std::int64_t columns) {
  return batched && batch > 1 ? Dims{batch, rows, columns} : Dims{rows, columns};
}

// Runs `variant` on one case with every operand `offset` elements into its buffer and checks the
// result and that nothing outside the output was written. Returns the build options used.
std::string checkCase(const std::string& variant, const LargeCase& c, DataType type, std::size_t offset,
                      std::uint32_t seed) {
  const Dims a_shape = operandShape(c.batch, c.a_batched, c.a_trans ? c.k : c.m, c.a_trans ? c.m : c.k);
  const Dims b_shape = operandShape(c.batch, c.b_batched, c.b_trans ? c.n : c.k, c.b_trans ? c.k : c.n);
  const Dims out_shape = c.batch > 1 ? Dims{c.batch, c.m, c.n} : Dims{c.m, c.n};
  const auto a_values = storedAs(randomFloats(static_cast<std::size_t>(a_shape.volume()), seed), type);
  const auto b_values = storedAs(randomFloats(static_cast<std::size_t>(b_shape.volume()), seed + 1), type);
  const auto bias_values = storedAs(randomFloats(static_cast<std::size_t>(c.n), seed + 2), type);
  const DeviceTensor a = place(a_shape, type, a_values, offset);
  const DeviceTensor b = place(b_shape, type, b_values, offset);
  const DeviceTensor bias = place(Dims{c.n}, type, bias_values, offset);
  const DeviceTensor out =
      place(out_shape, type, std::vector<float>(static_cast<std::size_t>(out_shape.volume()), kSentinel), offset);
  cl::GemmEpilogue epilogue;
  epilogue.bias = c.bias ? &bias : nullptr;
  epilogue.has_activation = c.activation >= 0;
  epilogue.activation = static_cast<ActivationType>(std::max(c.activation, 0));
  epilogue.alpha = 0.1f;
  cl::KernelCache cache(context());
  const auto op = [](bool trans) { return trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE; };
  cl::matrixMultiply(cache, largeStream(), cl::GemmTactic{variant}, a, op(c.a_trans), b, op(c.b_trans),
                     epilogue, out);
  const std::vector<float> actual = readBuffer(out);

  const std::string what = variant + " " + dataTypeName(type) + " batch " + std::to_string(c.batch) + " m " +
                           std::to_string(c.m) + " n " + std::to_string(c.n) + " k " + std::to_string(c.k) +
                           (c.a_trans ? " a^T" : "") + (c.b_trans ? " b^T" : "") + " offset " +
                           std::to_string(offset);
  const double relative = type == DataType::kHALF ? 1e-2 : 1e-5;
  const GemmReference reference =
      referenceGemm(a_values, b_values, c.bias ? &bias_values : nullptr, c.batch, c.m, c.n, c.k, c.a_trans,
                    c.b_trans, c.a_batched ? c.m * c.k : 0, c.b_batched ? c.k * c.n : 0);
  int failures = 0;
  for (std::int64_t p = 0; p < c.batch; ++p) {
    for (std::int64_t i = 0; i < c.m; ++i) {
      for (std::int64_t j = 0; j < c.n && failures < 5; ++j) {
        const auto o = static_cast<std::size_t>((p * c.m + i) * c.n + j);
        const double magnitude = 1.0 + reference.magnitudes[o];
        const double expected = referenceActivation(c.activation, reference.sums[o]);
        const double got = actual[offset + o];
        if (!(std::fabs(got - expected) <= relative * (std::fabs(expected) + 0.1 * magnitude))) {
          ADD_FAILURE() << what << ": (" << p << ", " << i << ", " << j << ") is " << got << ", expected " << expected;
          ++failures;
        }
      }
    }
  }
  const std::size_t end = offset + static_cast<std::size_t>(out_shape.volume());
  for (std::size_t e = 0; e < actual.size(); ++e) {
    if (e < offset || e >= end) {
      EXPECT_EQ(actual[e], kSentinel) << what << ": wrote outside, element " << e;
    }
  }
  const auto programs = cache.programs();
  return programs.empty() ? std::string() : programs.back().options;
}

// Extents that are not multiples of 4, of BK or of any block, and ones that are.
const std::vector<LargeCase> kCases = {
    {1, 1, 1, 1, false, false, false, false, false, -1},
    {1, 7, 13, 0, false, false, false, false, true, static_cast<int>(ActivationType::kSIGMOID)},
    {1, 13, 7, 1, false, false, true, false, true, -1},
    {1, 129, 127, 13, false, false, false, true, true, static_cast<int>(ActivationType::kRELU)},
    {1, 127, 129, 37, false, false, true, true, false, -1},
    {1, 257, 65, 64, false, false, false, false, true, static_cast<int>(ActivationType::kGELU_TANH)},
    {1, 64, 136, 40, false, false, true, false, true, static_cast<int>(ActivationType::kLEAKY_RELU)},
    {1, 132, 260, 36, false, false, false, true, true, -1},
    // Batch of a folded into rows (b shared), one a for a batch of b, both batched.
    {3, 21, 12, 20, true, false, false, true, true, -1},
    {2, 20, 9, 16, false, true, true, false, false, -1},
    {2, 12, 20, 9, true, true, true, true, true, static_cast<int>(ActivationType::kRELU)},
};

TEST(GemmLarge, OfferedForFloatAndHalfAndGeneral) {
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    std::set<std::string> names;
    for (const auto& tactic : cl::gemmTactics(*context(), type)) names.insert(tactic.name);
    for (const std::string& variant : kLargeVariants) {
      EXPECT_TRUE(names.count(variant)) << variant << " " << dataTypeName(type);
    }
  }
  for (const std::string& variant : kLargeVariants) {
    const cl::GemmTactic tactic{variant};
    EXPECT_TRUE(cl::gemmTacticIsGeneral(tactic)) << variant;
    EXPECT_TRUE(cl::gemmTacticFits(tactic, Dims{7, 13}, MatrixOperation::kTRANSPOSE, Dims{5, 13},
                                   MatrixOperation::kTRANSPOSE, Dims{13, 5}))
        << variant;
  }
}

// A block four times the product or more along M or N is not worth compiling; tactics without a
// fixed block are (CLBlast always, the row kernels up to 32 passes of their rows).
TEST(GemmLarge, BlocksFarLargerThanTheProductAreNotWorthTiming) {
  const auto worth = [](const std::string& name, std::int64_t m, std::int64_t n) {
    return cl::gemmTacticWorthTiming(cl::GemmTactic{name}, Dims{m, 40}, MatrixOperation::kNONE, Dims{n, 40},
                                     MatrixOperation::kTRANSPOSE, Dims{m, n});
  };
  EXPECT_TRUE(worth("large_m64n64_k16_t8x8", 64, 32));    // 2x along N
  EXPECT_TRUE(worth("large_m64n64_k16_t8x8", 17, 17));    // just under 4x
  EXPECT_FALSE(worth("large_m64n64_k16_t8x8", 16, 64));   // 4x along M
  EXPECT_FALSE(worth("large_m64n128_k16_t4x8", 64, 32));  // 4x along N
  EXPECT_FALSE(worth("large_m128n128_k8_t8x8", 1, 4096));
  EXPECT_TRUE(worth("large_m128n128_k8_t8x8", 4096, 4096));
  EXPECT_FALSE(worth("tiled_m4n4_k16", 64, 10));
  EXPECT_TRUE(worth("tiled_m2n2_k16", 64, 10));
  for (const char* general : {"small_m1", "small_m8"}) EXPECT_TRUE(worth(general, 1, 1)) << general;
  EXPECT_TRUE(worth("small_m1", 32, 4096));
  EXPECT_FALSE(worth("small_m1", 33, 4096));  // 33 passes of 1 row: the tiles' product
  EXPECT_TRUE(worth("small_m8", 256, 256));
  EXPECT_FALSE(worth("small_m8", 257, 256));
  EXPECT_TRUE(worth("clblast", 4096, 4096));
  EXPECT_FALSE(worth("clblast", 64, 32));  // 82K multiply-adds: its launches cost more
  EXPECT_FALSE(worth("clblast", 512, 409));  // 8.37M, just under 8M = 8,388,608
  EXPECT_TRUE(worth("clblast", 512, 410));   // 8.40M
  // The row kernels' K-split forms need K of 113 or more for two slices of 4 x 16 (here K = 40).
  for (const char* split : {"small_m1_splitk", "small_m8_splitk"}) EXPECT_FALSE(worth(split, 1, 64)) << split;
  const auto with_k = [](const std::string& name, std::int64_t k) {
    return cl::gemmTacticWorthTiming(cl::GemmTactic{name}, Dims{1, k}, MatrixOperation::kNONE, Dims{k, 10},
                                     MatrixOperation::kNONE, Dims{1, 10});
  };
  EXPECT_FALSE(with_k("small_m8_splitk", 112));
  EXPECT_TRUE(with_k("small_m8_splitk", 113));
  EXPECT_TRUE(with_k("small_m8", 32));
  EXPECT_EQ(cl::smallestSplittableK(16), 113);
  // A batch of a shared b is more rows: (3, 8, 40) x (40, 64) is a 24 x 64 product, which a
  // 64 x 64 block covers with less than 4x padding (8 rows alone would not).
  const auto batched = [](const std::string& name) {
    return cl::gemmTacticWorthTiming(cl::GemmTactic{name}, Dims{3, 8, 40}, MatrixOperation::kNONE, Dims{40, 64},
                                     MatrixOperation::kNONE, Dims{3, 8, 64});
  };
  EXPECT_TRUE(batched("tiled_m4n4_k16"));
  EXPECT_FALSE(batched("tiled_m8n8_k8"));
  EXPECT_THROW(worth("no_such_tactic", 4, 4), InvalidArgument);
  // The tiles for small products only where the product has fewer than 256 blocks of 64 x 64.
  for (const char* small : {"mma_f16_32x32", "mma_f16_32x64", "mma_f16_32x32_k4", "mma_f16_64x64_k2",
                            "mma_f16_64x64_splitk", "mma_f16_32x32_k4_splitk"}) {
    EXPECT_TRUE(worth(small, 128, 768)) << small;     // BERT-base at batch 1: 24 blocks
    EXPECT_TRUE(worth(small, 4032, 256)) << small;    // 63 x 4 = 252 blocks
    EXPECT_FALSE(worth(small, 4096, 256)) << small;   // 64 x 4 = 256 blocks
    EXPECT_FALSE(worth(small, 4096, 768)) << small;   // batch 32: 768 blocks
  }
  EXPECT_TRUE(worth("mma_f16_64x64", 4096, 768));
}

// Fixed blocks that give a product fewer work-groups than one per 8 compute units leave a GPU
// mostly idle; row kernels, CLBlast and split-K tiles never count as idle.
TEST(GemmLarge, FixedBlocksTooFewForTheDeviceLeaveItIdle) {
  const auto idle = [](const std::string& name, Dims a, Dims b, Dims out, std::uint32_t units) {
    return cl::gemmTacticLeavesDeviceIdle(cl::GemmTactic{name}, a, MatrixOperation::kNONE, b, MatrixOperation::kNONE,
                                          out, units);
  };
  // The tutorial MLP's first product at batch 64 on an H100 (132 units): one 64 x 64 block.
  EXPECT_TRUE(idle("large_m64n64_k16_t8x8", Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 132));
  EXPECT_TRUE(idle("tiled_m2n2_k16", Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 132));  // 2 blocks of 32 x 32
  EXPECT_FALSE(idle("large_m64n64_k16_t8x8", Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 8));   // 1 x 8 is not < 8
  EXPECT_TRUE(idle("large_m64n64_k16_t8x8", Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 9));
  // 16 blocks x 8 = 128 < 132; 17 blocks (a batch of 17 shared-b products) fill it.
  EXPECT_TRUE(idle("large_m64n64_k16_t8x8", Dims{64, 40}, Dims{40, 1024}, Dims{64, 1024}, 132));
  EXPECT_FALSE(idle("large_m64n64_k16_t8x8", Dims{17, 64, 40}, Dims{40, 64}, Dims{17, 64, 64}, 132));
  EXPECT_FALSE(idle("large_m128n128_k8_t8x8", Dims{4096, 64}, Dims{64, 4096}, Dims{4096, 4096}, 132));
  for (const char* unfixed : {"clblast", "small_m1", "small_m8", "small_m1_splitk", "small_m8_splitk"}) {
    EXPECT_FALSE(idle(unfixed, Dims{1, 784}, Dims{784, 10}, Dims{1, 10}, 132)) << unfixed;
  }
  for (const char* small : {"mma_f16_32x32", "mma_f16_32x32_k4_splitk", "mma_f16_64x64_splitk"}) {
    EXPECT_FALSE(idle(small, Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 132)) << small;
  }
  EXPECT_TRUE(idle("mma_f16_64x64", Dims{64, 784}, Dims{784, 32}, Dims{64, 32}, 132));
  for (const char* made : {"small_m1", "small_m8_splitk", "mma_f16_32x32"}) {
    EXPECT_TRUE(cl::gemmTacticMadeForSmallProducts(cl::GemmTactic{made})) << made;
  }
  for (const char* general : {"clblast", "tiled_m4n4_k16", "large_m64n64_k16_t8x8", "mma_f16_64x64"}) {
    EXPECT_FALSE(cl::gemmTacticMadeForSmallProducts(cl::GemmTactic{general})) << general;
  }
}

// The builder's pruning: the idle blocks go where a kernel for small products stays, never all.
TEST(GemmLarge, IdleBlocksAreDroppedOnlyBesideAKernelForSmallProducts) {
  const auto names = [](const std::vector<cl::GemmTactic>& tactics) {
    std::vector<std::string> out;
    for (const cl::GemmTactic& tactic : tactics) out.push_back(tactic.name);
    return out;
  };
  const std::vector<cl::GemmTactic> offered{{"clblast"}, {"tiled_m2n2_k16"}, {"large_m64n64_k16_t8x8"}, {"small_m8"}};
  std::vector<cl::GemmTactic> tactics = offered;
  cl::dropTacticsLeavingDeviceIdle(tactics, Dims{64, 784}, MatrixOperation::kNONE, Dims{784, 32},
                                   MatrixOperation::kNONE, Dims{64, 32}, 132);
  EXPECT_EQ(names(tactics), (std::vector<std::string>{"clblast", "small_m8"}));
  tactics = offered;  // a device of few units: nothing is idle
  cl::dropTacticsLeavingDeviceIdle(tactics, Dims{64, 784}, MatrixOperation::kNONE, Dims{784, 32},
                                   MatrixOperation::kNONE, Dims{64, 32}, 2);
  EXPECT_EQ(names(tactics), names(offered));
  tactics = {{"clblast"}, {"tiled_m2n2_k16"}, {"large_m64n64_k16_t8x8"}};  // no kernel for small products
  cl::dropTacticsLeavingDeviceIdle(tactics, Dims{64, 784}, MatrixOperation::kNONE, Dims{784, 32},
                                   MatrixOperation::kNONE, Dims{64, 32}, 132);
  EXPECT_EQ(tactics.size(), 3u);
}

TEST(GemmLarge, EveryVariantOnAwkwardCasesInFloat) {
  std::uint32_t seed = 100;
  for (const std::string& variant : kLargeVariants) {
    for (const LargeCase& c : kCases) checkCase(variant, c, DataType::kFLOAT, 4, seed += 3);
  }
}

TEST(GemmLarge, EveryVariantOnAwkwardCasesInHalf) {
  std::uint32_t seed = 200;
  for (const std::string& variant : kLargeVariants) {
    for (const LargeCase& c : kCases) checkCase(variant, c, DataType::kHALF, 4, seed += 3);
  }
}

// Aligned operands take the 16-byte path, misaligned ones (offset 3 elements, or extents that
// are not multiples of 4) plain loads; both give the same results.
TEST(GemmLarge, VectorAccessOnlyWhereAligned) {
  const std::string variant = "large_m64n64_k16_t4x4";
  const LargeCase aligned{1, 68, 72, 44, false, false, false, true, true, 0};
  const LargeCase aligned_trans{2, 68, 72, 44, true, true, true, false, true, 0};
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const LargeCase& c : {aligned, aligned_trans}) {
      const std::string vector = checkCase(variant, c, type, 0, 300);
      EXPECT_NE(vector.find("-DVEC_A -DVEC_B -DVEC_OUT"), std::string::npos) << vector;
      const std::string plain = checkCase(variant, c, type, 3, 301);
      EXPECT_EQ(plain.find("-DVEC"), std::string::npos) << plain;
    }
  }
  // K not a multiple of 4: a (M x K) and b^T (N x K) lose the vector path, out (N % 4 == 0) keeps it.
  const std::string mixed = checkCase(variant, {1, 68, 72, 43, false, false, false, true, false, -1},
                                      DataType::kFLOAT, 4, 302);
  EXPECT_EQ(mixed.find("-DVEC_A"), std::string::npos) << mixed;
  EXPECT_EQ(mixed.find("-DVEC_B"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("-DVEC_OUT"), std::string::npos) << mixed;
  // a^T (K x M) with M = 67: a loads plainly, b (K x N, N = 72) with vectors.
  const std::string odd_m = checkCase(variant, {1, 67, 72, 44, false, false, true, false, false, -1},
                                      DataType::kFLOAT, 4, 303);
  EXPECT_EQ(odd_m.find("-DVEC_A"), std::string::npos) << odd_m;
  EXPECT_NE(odd_m.find("-DVEC_B"), std::string::npos) << odd_m;
}

}  // namespace
}  // namespace mlprt::test
