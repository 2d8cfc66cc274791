// The fused attention kernel (backend/opencl/ops/attention) against a float64 reference that
// computes the whole softmax row then the product: awkward shapes (1s, primes, extents that are
// no multiple of the 16-row and 16-key tiles, Dv != D, multi-query and grouped-query heads),
// FLOAT, HALF and mixed storage, causal attention with Sq < Sk, Sq == Sk and Sq > Sk, masks
// broadcast along each axis, k stored transposed, scores far beyond exp's range (the online
// softmax's rescaling), rows that every score masks (NaN, or 0 when asked), and refusals that
// name the operand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/ops/attention/attention.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

constexpr double kInf = std::numeric_limits<double>::infinity();

// At `offset` bytes into a buffer of its own: 8 by default, so that the kernel may assume no more
// than an element's alignment; 16 where a test wants the 16-byte loads that aligned rows allow.
DeviceTensor deviceTensor(const Dims& shape, DataType type, const std::vector<double>& values,
                          std::size_t offset = 8) {
  auto buffer = allocate(std::max<std::size_t>(1, values.size()) * elementSize(type) + 16);
  upload(stream(), at(buffer, offset), encodeAs(values, type));
  return DeviceTensor{at(buffer, offset), shape, type};
}

std::vector<double> readBack(const DeviceTensor& tensor) {
  const auto count = static_cast<std::size_t>(tensor.shape.volume());
  return decodeAs<double>(download<unsigned char>(stream(), tensor.range, count * elementSize(tensor.type)),
                          tensor.type);
}

std::size_t volume(const Dims& shape) { return static_cast<std::size_t>(shape.volume()); }

// Random values in [-1, 1], |x| >= 1/64, as `type` stores them.
std::vector<double> randomStored(std::size_t count, std::uint32_t seed, DataType type) {
  const std::vector<float> floats = randomFloats(count, seed);
  return storedAs(std::vector<double>(floats.begin(), floats.end()), type);
}

// Random nonzero integers in [-30, 30]: exact in HALF, and their dot products exact in float, so
// that scores of thousands are computed exactly and only the softmax is under test.
std::vector<double> randomIntegers(std::size_t count, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int> value(1, 30);
  std::bernoulli_distribution negative(0.5);
  std::vector<double> data(count);
  for (double& x : data) x = negative(engine) ? -value(engine) : value(engine);
  return data;
}

// (B, H, Hk, Sq, Sk, D, Dv).
struct Shape {
  std::int64_t b, h, hk, sq, sk, d, dv;
  Dims q() const { return Dims{b, h, sq, d}; }
  Dims k() const { return Dims{b, hk, sk, d}; }
  Dims v() const { return Dims{b, hk, sk, dv}; }
  Dims out() const { return Dims{b, h, sq, dv}; }
  Dims scores() const { return Dims{b, h, sq, sk}; }
};

struct Types {
  DataType q, k, v, out, mask;
};

// (B, H, S, D) values as (B, S, H x D), the packed layout; `unpack` the other way.
std::vector<double> packHeads(const std::vector<double>& dense, const Dims& shape, bool unpack = false) {
  std::vector<double> result(dense.size());
  const std::int64_t b = shape[0], h = shape[1], s = shape[2], d = shape[3];
  for (std::int64_t n = 0; n < b; ++n)
    for (std::int64_t head = 0; head < h; ++head)
      for (std::int64_t i = 0; i < s; ++i)
        for (std::int64_t c = 0; c < d; ++c) {
          const auto at_dense = static_cast<std::size_t>(((n * h + head) * s + i) * d + c);
          const auto at_packed = static_cast<std::size_t>(((n * s + i) * h + head) * d + c);
          if (unpack) {
            result[at_dense] = dense[at_packed];
          } else {
            result[at_packed] = dense[at_dense];
          }
        }
  return result;
}

Dims packedShape(const Dims& shape) { return Dims{shape[0], shape[2], shape[1] * shape[3]}; }

Types uniform(DataType type) { return Types{type, type, type, type, type}; }

// A broadcast mask: random values in [-1, 1] with about one entry in five -inf (never at key 0,
// so that no row is masked whole unless a test makes it so).
std::vector<double> randomMask(const Dims& shape, std::uint32_t seed, DataType type) {
  std::vector<double> mask = randomStored(volume(shape), seed, type);
  std::mt19937 engine(seed + 1);
  std::bernoulli_distribution masked(0.2);
  for (std::size_t i = 0; i < mask.size(); ++i) {
    const bool first_key = shape[3] > 1 && i % static_cast<std::size_t>(shape[3]) == 0;
    if (masked(engine) && !first_key && shape[3] > 1) mask[i] = -kInf;
  }
  return mask;
}

// The reference: for each row, the full softmax of scale * q . k + mask (-inf where causal hides
// the key), then its product with v, in double; with zero_masked_rows, a row whose every score is
// -inf is 0 instead of NaN. Also each row's output scale, max over columns of sum_j p_j |v_j|,
// which bounds the row's values and sets its tolerance, and the number of rows whose every score
// is -inf.
struct Reference {
  std::vector<double> out;
  std::vector<double> row_scale;
  std::int64_t masked_rows = 0;
};

Reference referenceAttention(const Shape& s, const std::vector<double>& q, const std::vector<double>& k,
                             const std::vector<double>& v, const std::vector<double>* mask, const Dims& mask_shape,
                             const cl::AttentionParameters& parameters) {
  const auto scale = static_cast<double>(parameters.scale);
  Reference reference;
  reference.out.resize(volume(s.out()));
  reference.row_scale.resize(static_cast<std::size_t>(s.b * s.h * s.sq));
  const std::int64_t g = s.h / s.hk;
  std::vector<double> scores(static_cast<std::size_t>(s.sk));
  for (std::int64_t b = 0; b < s.b; ++b)
    for (std::int64_t h = 0; h < s.h; ++h)
      for (std::int64_t i = 0; i < s.sq; ++i) {
        const std::int64_t kv = b * s.hk + h / g;
        double maximum = -kInf;
        for (std::int64_t j = 0; j < s.sk; ++j) {
          double dot = 0;
          for (std::int64_t c = 0; c < s.d; ++c) {
            dot += q[static_cast<std::size_t>(((b * s.h + h) * s.sq + i) * s.d + c)] *
                   k[static_cast<std::size_t>((kv * s.sk + j) * s.d + c)];
          }
          double score = scale * dot;
          if (parameters.softcap > 0.0f) {
            const auto cap = static_cast<double>(parameters.softcap);
            score = cap * std::tanh(score / cap);
          }
          if (mask) {
            const std::int64_t period = parameters.mask_batch_period;
            const std::int64_t at[4] = {period > 0 ? b % period : b, h, i, j};
            std::int64_t index = 0;
            for (std::size_t axis = 0; axis < 4; ++axis) {
              index = index * mask_shape[axis] + (mask_shape[axis] == 1 ? 0 : at[axis]);
            }
            score += (*mask)[static_cast<std::size_t>(index)];
          }
          if (parameters.causal && j > i + (s.sk - s.sq)) score = -kInf;
          scores[static_cast<std::size_t>(j)] = score;
          maximum = std::max(maximum, score);
        }
        const bool masked = maximum == -kInf;
        reference.masked_rows += masked ? 1 : 0;
        double sum = 0;
        for (double& score : scores) sum += (score = std::exp(score - maximum));  // NaN when all are -inf
        if (masked && parameters.zero_masked_rows) {
          std::fill(scores.begin(), scores.end(), 0.0);
          sum = 1.0;
        }
        double row_scale = 0;
        for (std::int64_t c = 0; c < s.dv; ++c) {
          double value = 0, magnitude = 0;
          for (std::int64_t j = 0; j < s.sk; ++j) {
            const double x = v[static_cast<std::size_t>((kv * s.sk + j) * s.dv + c)];
            value += scores[static_cast<std::size_t>(j)] * x;
            magnitude += scores[static_cast<std::size_t>(j)] * std::fabs(x);
          }
          reference.out[static_cast<std::size_t>(((b * s.h + h) * s.sq + i) * s.dv + c)] = value / sum;
          row_scale = std::max(row_scale, magnitude / sum);
        }
        reference.row_scale[static_cast<std::size_t>((b * s.h + h) * s.sq + i)] = row_scale;
      }
  return reference;
}

struct Check {
  Check(const Shape& shape_in, const Types& types_in) : shape(shape_in), types(types_in) {}
  Shape shape;
  Types types;
  cl::AttentionParameters parameters;
  std::optional<Dims> mask;  // its shape
  bool large = false;        // integer inputs in [-30, 30] instead of [-1, 1]
  std::vector<std::int64_t> masked_rows;  // (b * H + h) * Sq + i: rows the mask hides whole
  std::int64_t masked_keys = 0;           // keys j < this the mask hides from every row (left padding)
  std::string tactic = cl::kAttentionTactic;
  std::size_t offset = 8;  // bytes into their buffers of q, k and v (16: rows of 8 halves are 16-byte aligned)
};

std::string describe(const Check& check) {
  const Shape& s = check.shape;
  const Types& t = check.types;
  const cl::AttentionParameters& p = check.parameters;
  std::string text = "q " + s.q().toString() + " " + dataTypeName(t.q) + ", k " + s.k().toString() + " " +
                     dataTypeName(t.k) + (p.keys_transposed ? " (stored transposed)" : "") + ", v " +
                     s.v().toString() + " " + dataTypeName(t.v) + ", out " + dataTypeName(t.out);
  if (check.mask) text += ", mask " + check.mask->toString() + " " + dataTypeName(t.mask);
  if (p.packed) text += ", packed bits " + std::to_string(p.packed);
  if (p.causal) text += ", causal";
  if (p.zero_masked_rows) text += ", masked rows zeroed";
  if (p.softcap > 0.0f) text += ", softcap " + std::to_string(p.softcap);
  if (p.mask_batch_period > 0) text += ", mask batch period " + std::to_string(p.mask_batch_period);
  if (p.merged_qkv) text += ", q, k and v merged";
  if (check.offset != 8) text += ", operands at byte " + std::to_string(check.offset);
  return text + ", scale " + std::to_string(p.scale) + ", tactic " + check.tactic;
}

// Runs the kernel and compares every element with the reference: NaN exactly where the reference
// has NaN, elsewhere within 1e-5 (FLOAT) or 1e-2 (HALF anywhere) of the row's output scale (so
// exactly 0 in a zeroed row). Returns how many rows every score masks, -1 after a mismatch.
std::int64_t checkAttention(const Check& check, std::uint32_t seed) {
  const Shape& s = check.shape;
  const Types& t = check.types;
  // A rank-2 mask (B, Sk) is a key padding mask: (B, 1, 1, Sk) to the reference.
  const Dims given_mask = check.mask.value_or(Dims{1, 1, 1, 1});
  const Dims mask_shape = given_mask.rank() == 2 ? Dims{given_mask[0], 1, 1, given_mask[1]} : given_mask;
  SCOPED_TRACE(describe(check));
  const auto values = [&](const Dims& shape, std::uint32_t salt, DataType type) {
    return check.large ? randomIntegers(volume(shape), seed + salt) : randomStored(volume(shape), seed + salt, type);
  };
  const std::vector<double> q = values(s.q(), 0, t.q), k = values(s.k(), 1, t.k), v = values(s.v(), 2, t.v);
  const bool boolean_mask =
      check.mask && (t.mask == DataType::kBOOL || t.mask == DataType::kINT32 || t.mask == DataType::kINT64);
  std::vector<double> mask = check.mask ? randomMask(mask_shape, seed + 3, boolean_mask ? DataType::kFLOAT : t.mask)
                                        : std::vector<double>();
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (static_cast<std::int64_t>(i) % mask_shape[3] < check.masked_keys) mask[i] = -kInf;
  }
  for (std::int64_t row : check.masked_rows) {  // a mask of the scores' shape hides these rows whole
    for (std::int64_t j = 0; j < s.sk; ++j) mask[static_cast<std::size_t>(row * s.sk + j)] = -kInf;
  }
  // A BOOL mask stores whether each entry attends (false where the additive one has -inf; an
  // integer one 0 there and other values elsewhere); the kernel adds mask_if_true or mask_if_false,
  // which the reference adds too.
  std::vector<double> mask_stored = mask;
  if (boolean_mask) {
    for (std::size_t i = 0; i < mask.size(); ++i) {
      const bool attends = mask[i] != -kInf;
      const double nonzero = t.mask == DataType::kBOOL ? 1.0 : static_cast<double>(1 + i % 3) * (i % 2 ? -1.0 : 1.0);
      mask_stored[i] = attends ? nonzero : 0.0;
      mask[i] = attends ? check.parameters.mask_if_true : check.parameters.mask_if_false;
    }
  }
  // k as stored: (B, Hk, D, Sk) when transposed.
  std::vector<double> k_stored = k;
  if (check.parameters.keys_transposed) {
    for (std::int64_t head = 0; head < s.b * s.hk; ++head)
      for (std::int64_t j = 0; j < s.sk; ++j)
        for (std::int64_t c = 0; c < s.d; ++c) {
          k_stored[static_cast<std::size_t>((head * s.d + c) * s.sk + j)] =
              k[static_cast<std::size_t>((head * s.sk + j) * s.d + c)];
        }
  }
  const Dims k_shape = check.parameters.keys_transposed ? Dims{s.b, s.hk, s.d, s.sk} : s.k();
  // An operand with its kPacked* bit set is stored (B, S, heads x D).
  const std::uint32_t packed = check.parameters.packed;
  const auto stored = [&](std::uint32_t bit, const Dims& shape, DataType type, const std::vector<double>& dense) {
    return (packed & bit) ? deviceTensor(packedShape(shape), type, packHeads(dense, shape), check.offset)
                          : deviceTensor(shape, type, dense, check.offset);
  };
  DeviceTensor dq = stored(cl::kPackedQuery, s.q(), t.q, q);
  DeviceTensor dk = (packed & cl::kPackedKeys) ? stored(cl::kPackedKeys, s.k(), t.k, k)
                                                : deviceTensor(k_shape, t.k, k_stored, check.offset);
  DeviceTensor dv = stored(cl::kPackedValues, s.v(), t.v, v);
  if (check.parameters.merged_qkv) {  // one (B, S, (H + 2 Hk) x D) tensor: q's heads, k's, v's (Sq = Sk, D = Dv)
    const std::vector<double> pq = packHeads(q, s.q()), pk = packHeads(k, s.k()), pv = packHeads(v, s.v());
    std::vector<double> merged;
    for (std::int64_t row = 0; row < s.b * s.sq; ++row) {
      for (const auto* part : {&pq, &pk, &pv}) {
        const std::int64_t width = static_cast<std::int64_t>(part->size()) / (s.b * s.sq);
        merged.insert(merged.end(), part->begin() + row * width, part->begin() + (row + 1) * width);
      }
    }
    dq = dk = dv = deviceTensor(Dims{s.b, s.sq, (s.h + 2 * s.hk) * s.d}, t.q, merged, check.offset);
  }
  const DeviceTensor dmask = deviceTensor(given_mask, t.mask, check.mask ? mask_stored : std::vector<double>{0.0});
  const bool packed_out = (packed & cl::kPackedOutput) != 0;
  const DeviceTensor out = deviceTensor(packed_out ? packedShape(s.out()) : s.out(), t.out,
                                        std::vector<double>(volume(s.out()), 7.0));
  // Scratch of non-zero values where the tactic needs it: its contents need no initial value.
  const std::size_t workspace_bytes =
      cl::attentionWorkspaceBytes(check.tactic, *context(), check.parameters, out.shape, s.sk);
  const DeviceTensor workspace = deviceTensor(Dims{static_cast<std::int64_t>(workspace_bytes / sizeof(float)) + 1},
                                              DataType::kFLOAT,
                                              std::vector<double>(workspace_bytes / sizeof(float) + 1, -3.0));
  cl::attention(cache(), stream(), check.tactic, check.parameters, dq, dk, dv, check.mask ? &dmask : nullptr, out,
                workspace_bytes > 0 ? &workspace : nullptr);
  const Reference reference =
      referenceAttention(s, q, k, v, check.mask ? &mask : nullptr, mask_shape, check.parameters);
  const std::vector<double> actual = packed_out ? packHeads(readBack(out), s.out(), true) : readBack(out);
  const bool half = t.q == DataType::kHALF || t.k == DataType::kHALF || t.v == DataType::kHALF ||
                    t.out == DataType::kHALF || (check.mask && t.mask == DataType::kHALF);
  const double tolerance = half ? 1e-2 : 1e-5;
  for (std::size_t row = 0; row < reference.row_scale.size(); ++row) {
    for (std::size_t c = 0; c < static_cast<std::size_t>(s.dv); ++c) {
      const std::size_t i = row * static_cast<std::size_t>(s.dv) + c;
      if (std::isnan(reference.out[i])) {
        EXPECT_TRUE(std::isnan(actual[i])) << "row " << row << " column " << c << ": " << actual[i];
        if (!std::isnan(actual[i])) return -1;
      } else {
        const double bound = tolerance * reference.row_scale[row];
        EXPECT_NEAR(actual[i], reference.out[i], bound) << "row " << row << " column " << c;
        if (!(std::fabs(actual[i] - reference.out[i]) <= bound)) return -1;
      }
    }
  }
  return reference.masked_rows;
}

const std::vector<Shape> kShapes = {
    {1, 1, 1, 1, 1, 1, 1},       // one query, one key, D = Dv = 1
    {3, 4, 1, 7, 13, 7, 5},      // B = 3, multi-query (Hk = 1), Sq != Sk, Dv != D
    {2, 4, 2, 19, 37, 64, 64},   // grouped-query (Hk = 2), 2 row blocks x 3 key tiles, none full
    {1, 4, 4, 1, 23, 64, 48},    // decoding: Sq = 1 against 23 keys, Hk = H
    {1, 2, 2, 17, 1, 16, 48},    // a single key, Dv = 3 x D
};

TEST(AttentionKernels, MatchesTheReferenceOnAwkwardShapesInFloatAndHalf) {
  std::uint32_t seed = 100;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const Shape& shape : kShapes) {
      Check check{shape, uniform(type)};
      check.parameters.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.d)));
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
  }
}

TEST(AttentionKernels, HeadSizeAtTheBoundAndMixedStorage) {
  // D and Dv up to 256, the tiles' full width.
  for (const Shape& shape : {Shape{1, 2, 1, 3, 18, 256, 256}, Shape{1, 1, 1, 20, 17, 256, 199}}) {
    Check bound{shape, uniform(DataType::kFLOAT)};
    bound.parameters.scale = 0.0625f;
    EXPECT_EQ(checkAttention(bound, 300), 0);
  }
  // Every operand of its own storage type: HALF q, v and mask, FLOAT k and out.
  Check mixed{{2, 2, 1, 9, 20, 7, 5}, Types{DataType::kHALF, DataType::kFLOAT, DataType::kHALF, DataType::kFLOAT,
                                            DataType::kHALF}};
  mixed.mask = Dims{2, 1, 1, 20};
  mixed.parameters.scale = 0.5f;
  EXPECT_EQ(checkAttention(mixed, 310), 0);
}

// Query i sees keys j <= i + Sk - Sq: with Sq < Sk (a KV cache) every row sees Sk - Sq keys or
// more (with Sq > Sk the first Sq - Sk rows see none: RowsThatEveryScoreMasksAreNaNOrZero).
TEST(AttentionKernels, CausalIsAlignedAtTheEnd) {
  std::uint32_t seed = 400;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const Shape& shape :
         {Shape{2, 3, 3, 5, 21, 7, 7}, Shape{1, 2, 1, 19, 41, 7, 5}, Shape{1, 4, 2, 23, 23, 7, 7}}) {
      Check check{shape, uniform(type)};
      check.parameters = {0.375f, true};
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
  }
}

TEST(AttentionKernels, MasksBroadcastAlongEachAxis) {
  const Shape shape{3, 4, 2, 17, 19, 7, 7};
  const std::int64_t b = shape.b, h = shape.h, sq = shape.sq, sk = shape.sk;
  std::uint32_t seed = 500;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const Dims& mask : {Dims{1, 1, 1, sk}, Dims{b, 1, 1, sk}, Dims{b, 1, sq, sk}, Dims{b, h, sq, sk},
                             Dims{1, h, sq, 1}, Dims{1, 1, 1, 1}}) {
      Check check{shape, uniform(type)};
      check.mask = mask;
      check.parameters.scale = 0.375f;
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
    // Left padding: whole leading tiles of keys masked, so a row's running maximum stays -inf for
    // two tiles before its first score.
    Check left{Shape{b, h, shape.hk, sq, 37, 7, 7}, uniform(type)};
    left.mask = Dims{b, 1, 1, 37};
    left.masked_keys = 33;
    EXPECT_EQ(checkAttention(left, seed += 10), 0);
    // A padding mask and causal together.
    Check both{shape, uniform(type)};
    both.mask = Dims{b, 1, 1, sk};
    both.parameters = {0.375f, true};
    EXPECT_EQ(checkAttention(both, seed += 10), 0);
  }
}

// Scores up to 30 x 30 x 7 = 6300 at scale 1: exp overflows float past 88, so only subtracting
// the running maximum (and rescaling when it grows, tile after tile) gives finite results.
// A BOOL mask adds mask_if_true where it is true and mask_if_false where false (transformers'
// where(mask, 0, lowest) read in place), INT32 and INT64 ones where nonzero and zero, of rank 4
// broadcast along each axis like the additive ones or of rank 2 (B, Sk) as a key padding mask; the
// lowest float as the false value leaves rows it hides whole with uniform weights, as it would
// added.
TEST(AttentionKernels, BooleanMasksAddTheirTwoValues) {
  const Shape shape{3, 4, 2, 17, 19, 7, 7};
  std::uint32_t seed = 550;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    const Types types{type, type, type, type, DataType::kBOOL};
    for (const Dims& mask : {Dims{1, 1, 1, shape.sk}, Dims{shape.b, 1, shape.sq, shape.sk}, Dims{1, 1, 1, 1}}) {
      Check check{shape, types};
      check.mask = mask;
      check.parameters.scale = 0.375f;
      check.parameters.mask_if_true = 0.25f;
      check.parameters.mask_if_false = -3.0f;
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
    // Integer masks (nonzero attends: -3 to 3 here) and a rank-2 key padding mask (B, Sk).
    for (DataType integer : {DataType::kINT32, DataType::kINT64}) {
      for (const Dims& mask : {Dims{shape.b, 1, shape.sq, shape.sk}, Dims{shape.b, shape.sk}, Dims{1, shape.sk}}) {
        Check check{shape, Types{type, type, type, type, integer}};
        check.mask = mask;
        check.parameters.scale = 0.375f;
        check.parameters.mask_if_true = 0.5f;
        EXPECT_EQ(checkAttention(check, seed += 10), 0);
      }
    }
    Check padding{shape, types};
    padding.mask = Dims{shape.b, shape.sk};
    padding.masked_keys = 3;
    EXPECT_EQ(checkAttention(padding, seed += 10), 0);
    Check lowest{shape, types};
    lowest.mask = Dims{shape.b, 1, shape.sq, shape.sk};
    lowest.masked_rows = {2, 40};  // rows of batch entry 0, (b x H + h) x Sq + i with h = 0
    lowest.parameters.mask_if_false = std::numeric_limits<float>::lowest();
    EXPECT_EQ(checkAttention(lowest, seed += 10), 0);
  }
}

TEST(AttentionKernels, LargeScoresStayStable) {
  std::uint32_t seed = 600;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    Check check{{2, 2, 1, 17, 50, 7, 7}, uniform(type)};
    check.large = true;
    EXPECT_EQ(checkAttention(check, seed += 10), 0);
  }
}

// k stored (B, Hk, D, Sk), as a product's k^T: grouped heads, two key tiles, D no multiple of 16.
// softcap * tanh(score / softcap) before the mask (Gemma 2, ONNX Attention's softcap): scores of up
// to 30 x 30 x 7 squashed into (-softcap, softcap), with a mask and causality, FLOAT and HALF; a
// softcap that is not finite is refused.
TEST(AttentionKernels, SoftcapSquashesTheScoresBeforeTheMask) {
  std::uint32_t seed = 620;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    Check check{{2, 2, 1, 17, 50, 7, 7}, uniform(type)};
    check.large = true;
    check.parameters.softcap = 5.0f;
    check.mask = Dims{2, 1, 1, 50};
    check.parameters.causal = true;
    EXPECT_EQ(checkAttention(check, seed += 10), 0);
    Check small{{1, 3, 3, 9, 13, 16, 8}, uniform(type)};
    small.parameters.scale = 0.25f;
    small.parameters.softcap = 0.5f;
    EXPECT_EQ(checkAttention(small, seed += 10), 0);
  }
  const auto tensor = [](const Dims& shape) {
    return deviceTensor(shape, DataType::kFLOAT, std::vector<double>(volume(shape), 0.5));
  };
  const DeviceTensor q = tensor({1, 1, 2, 4}), k = tensor({1, 1, 3, 4}), out = tensor({1, 1, 2, 4});
  cl::AttentionParameters infinite;
  infinite.softcap = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::attention(cache(), stream(), infinite, q, k, k, nullptr, out); },
                                          "attention: softcap inf is not finite"));
}

TEST(AttentionKernels, KeysStoredTransposed) {
  std::uint32_t seed = 650;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    Check check{{2, 4, 2, 19, 29, 7, 5}, uniform(type)};
    check.parameters.scale = 0.375f;
    check.parameters.keys_transposed = true;
    EXPECT_EQ(checkAttention(check, seed += 10), 0);
  }
}

// Heads packed along the last axis, (B, S, heads x D), as the projections write them: each operand
// alone and all four together, with grouped heads, a mask and causality, in FLOAT and HALF.
TEST(AttentionKernels, OperandsWithPackedHeadsAreReadAndWrittenInPlace) {
  std::uint32_t seed = 900;
  const Shape shape{2, 6, 3, 19, 23, 9, 7};
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (std::uint32_t bits : {cl::kPackedQuery, cl::kPackedKeys, cl::kPackedValues, cl::kPackedOutput, 15U}) {
      Check check{shape, uniform(type)};
      check.parameters.scale = 0.3f;
      check.parameters.packed = bits;
      check.parameters.heads = shape.h;
      check.parameters.kv_heads = shape.hk;
      check.mask = Dims{2, 1, 1, 23};
      check.parameters.causal = bits == 15U;
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
  }
  // BERT's shape: one row block short, keys past one tile.
  Check bert{{3, 4, 4, 37, 37, 64, 64}, uniform(DataType::kHALF)};
  bert.parameters = {0.125f, false, false, false, 15U, 4, 4};
  bert.mask = Dims{3, 1, 1, 37};
  bert.masked_keys = 3;  // left padding
  EXPECT_EQ(checkAttention(bert, 990), 0);
}

TEST(AttentionKernels, RefusesPackedOperandsThatDoNotFit) {
  const auto tensor = [](const Dims& shape) {
    return deviceTensor(shape, DataType::kFLOAT, std::vector<double>(volume(shape), 0.5));
  };
  const DeviceTensor q = tensor({2, 3, 32}), k = tensor({2, 5, 16}), v = tensor({2, 5, 12}), out = tensor({2, 3, 24});
  cl::AttentionParameters p;
  p.packed = 15U;
  p.heads = 4;
  p.kv_heads = 2;
  const auto refuses = [&](const cl::AttentionParameters& parameters, const DeviceTensor& q_in,
                           const DeviceTensor& out_in, const std::string& message) {
    return throwsWith<InvalidArgument>(
        [&] { cl::attention(cache(), stream(), parameters, q_in, k, v, nullptr, out_in); }, message);
  };
  EXPECT_TRUE(refuses(p, tensor({2, 4, 3, 8}), out, "attention: q shape (2, 4, 3, 8) is not of rank 3 (B, Sq, H x D)"));
  cl::AttentionParameters odd = p;
  odd.heads = 5;
  EXPECT_TRUE(refuses(odd, q, out, "attention: q shape (2, 3, 32) does not pack 5 heads along its last axis"));
  EXPECT_TRUE(refuses(p, q, tensor({2, 3, 20}), "attention: out shape (2, 3, 20) is not (B, Sq, H x Dv) = (2, 3, 24)"));
  cl::AttentionParameters transposed = p;
  transposed.keys_transposed = true;
  EXPECT_TRUE(refuses(transposed, q, out, "attention: packed keys (B, Sk, Hk x D) cannot also be transposed"));
}

// NaN (as softmax then a product gives), or 0 with zero_masked_rows; the other rows are unchanged.
TEST(AttentionKernels, RowsThatEveryScoreMasksAreNaNOrZero) {
  const Shape shape{2, 2, 2, 5, 20, 7, 7};
  for (bool zero : {false, true}) {
    Check check{shape, uniform(DataType::kFLOAT)};
    check.mask = shape.scores();
    check.masked_rows = {0, 7, 19};
    check.parameters.zero_masked_rows = zero;
    EXPECT_EQ(checkAttention(check, 700), 3);
    Check causal{{1, 2, 2, 20, 3, 7, 7}, uniform(DataType::kHALF)};
    causal.parameters = {0.375f, true, false, zero};
    EXPECT_EQ(checkAttention(causal, 710), 2 * 17);
  }
}

TEST(AttentionKernels, RefusesOperandsThatDoNotFit) {
  const auto tensor = [](const Dims& shape, DataType type = DataType::kFLOAT) {
    return deviceTensor(shape, type, std::vector<double>(volume(shape), 0.5));
  };
  const DeviceTensor q = tensor({2, 4, 3, 8}), k = tensor({2, 2, 5, 8}), v = tensor({2, 2, 5, 6});
  const DeviceTensor out = tensor({2, 4, 3, 6});
  const cl::AttentionParameters p;
  const auto refuses = [&](const DeviceTensor& q_in, const DeviceTensor& k_in, const DeviceTensor& v_in,
                           const DeviceTensor* mask, const DeviceTensor& out_in, const std::string& message) {
    return throwsWith<InvalidArgument>([&] { cl::attention(cache(), stream(), p, q_in, k_in, v_in, mask, out_in); },
                                       message);
  };
  EXPECT_TRUE(refuses(tensor({2, 4, 3, 8}, DataType::kINT32), k, v, nullptr, out,
                      "attention: q has type INT32; expected FLOAT or HALF"));
  EXPECT_TRUE(refuses(q, k, v, nullptr, tensor({2, 4, 3, 6}, DataType::kINT64),
                      "attention: out has type INT64; expected FLOAT or HALF"));
  const DeviceTensor byte_mask = tensor({1, 1, 1, 5}, DataType::kUINT8);
  EXPECT_TRUE(refuses(q, k, v, &byte_mask, out,
                      "attention: mask has type UINT8; expected FLOAT or HALF (added) or BOOL, INT32 or INT64 "
                      "(selecting the two mask values)"));
  const DeviceTensor three_axes = tensor({2, 1, 5});
  EXPECT_TRUE(refuses(q, k, v, &three_axes, out, "(or rank 2: (B, Sk))"));
  const DeviceTensor wrong_keys = tensor({2, 4});
  EXPECT_TRUE(refuses(q, k, v, &wrong_keys, out, "attention: mask shape (2, 4) does not broadcast to the scores"));
  EXPECT_TRUE(refuses(tensor({4, 3, 8}), k, v, nullptr, out,
                      "attention: q shape (4, 3, 8) is not of rank 4 (B, H, Sq, D)"));
  EXPECT_TRUE(refuses(q, tensor({2, 2, 5, 7}), v, nullptr, out,
                      "attention: k shape (2, 2, 5, 7) does not match q shape (2, 4, 3, 8): expected batch 2 and head size 8"));
  cl::AttentionParameters transposed;
  transposed.keys_transposed = true;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::attention(cache(), stream(), transposed, q, k, v, nullptr, out); },
      "attention: k shape (2, 2, 5, 8) does not match q shape (2, 4, 3, 8): expected batch 2 and head size 8"));
  EXPECT_TRUE(refuses(q, k, tensor({2, 2, 4, 6}), nullptr, out,
                      "attention: v shape (2, 2, 4, 6) does not match k shape (2, 2, 5, 8): expected batch 2, 2 heads and 5 keys"));
  EXPECT_TRUE(refuses(q, k, v, nullptr, tensor({2, 4, 3, 8}),
                      "attention: out shape (2, 4, 3, 8) is not (B, H, Sq, Dv) = (2, 4, 3, 6)"));
  EXPECT_TRUE(refuses(q, tensor({2, 3, 5, 8}), tensor({2, 3, 5, 6}), nullptr, out,
                      "attention: k has 3 heads, which do not divide q's 4 heads"));
  EXPECT_TRUE(refuses(tensor({1, 1, 2, 257}), tensor({1, 1, 3, 257}), tensor({1, 1, 3, 4}), nullptr,
                      tensor({1, 1, 2, 4}), "attention: q head size D = 257 exceeds the kernel's bound of 256"));
  EXPECT_TRUE(refuses(tensor({1, 1, 2, 4}), tensor({1, 1, 3, 4}), tensor({1, 1, 3, 300}), nullptr,
                      tensor({1, 1, 2, 300}), "attention: v head size Dv = 300 exceeds the kernel's bound of 256"));
  for (const Dims& shape : {Dims{2, 4, 3, 4}, Dims{1, 2, 1, 5}, Dims{3, 5}}) {
    const DeviceTensor mask = tensor(shape);
    EXPECT_TRUE(refuses(q, k, v, &mask, out,
                        "attention: mask shape " + shape.toString() +
                            " does not broadcast to the scores (B, H, Sq, Sk) = (2, 4, 3, 5)"));
  }
  EXPECT_TRUE(refuses(tensor({1, 1, 2, 4}), tensor({1, 1, 0, 4}), tensor({1, 1, 0, 3}), nullptr,
                      tensor({1, 1, 2, 3}), "attention: k shape (1, 1, 0, 4) has no keys (Sk = 0)"));
  // A q whose extents overrun its buffer is refused before anything is enqueued.
  DeviceTensor short_q = q;
  short_q.shape = Dims{2, 4, 3, 9};
  EXPECT_TRUE(refuses(short_q, tensor({2, 2, 5, 9}), v, nullptr, out,
                      "attention: q: 864 bytes at offset 8 overrun the device allocation"));
}

// Swin's shifted windows: a mask of P batch entries that repeats along a batch of images x P windows.
TEST(AttentionKernels, MasksRepeatAlongTheBatch) {
  std::uint32_t seed = 700;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const auto& [shape, mask] : {std::pair{Shape{6, 2, 2, 4, 4, 8, 8}, Dims{3, 2, 4, 4}},
                                      std::pair{Shape{10, 3, 1, 17, 17, 5, 7}, Dims{5, 1, 17, 17}},
                                      std::pair{Shape{4, 2, 2, 9, 9, 3, 3}, Dims{4, 2, 1, 9}},
                                      std::pair{Shape{7, 1, 1, 3, 5, 4, 4}, Dims{1, 1, 3, 5}}}) {
      Check check{shape, uniform(type)};
      check.mask = mask;
      check.parameters.scale = 0.5f;
      check.parameters.mask_batch_period = mask[0];
      EXPECT_EQ(checkAttention(check, seed += 10), 0);
    }
  }
}

// What every tactic is checked on beyond plain, padded and causal runs, on a (2, 4, 2, 21, 77, 9, 16)
// attention and its relatives: a full mask stored as `full_mask_type`, keys stored transposed, packed
// heads, q, k and v from one merged projection of `merged_sequence` rows, a mask that repeats every 3
// batch entries, scores far beyond exp's range with and without softcap, rows every score masks (NaN
// or zero). `seed` advances by 10 per run.
void checkEveryFeature(const std::string& tactic, const Types& types, DataType full_mask_type,
                       std::int64_t merged_sequence, std::uint32_t& seed) {
  const Shape shape{2, 4, 2, 21, 77, 9, 16};
  Check full_mask{shape, Types{types.q, types.k, types.v, types.out, full_mask_type}};
  full_mask.tactic = tactic;
  full_mask.mask = shape.scores();
  full_mask.parameters.scale = 0.3f;
  EXPECT_EQ(checkAttention(full_mask, seed += 10), 0);
  Check transposed{shape, types};
  transposed.tactic = tactic;
  transposed.parameters.keys_transposed = true;
  transposed.mask = Dims{1, 4, 21, 1};
  EXPECT_EQ(checkAttention(transposed, seed += 10), 0);
  Check packed{shape, types};
  packed.tactic = tactic;
  packed.parameters = {0.25f, true, false, false, 15U, 4, 2};
  EXPECT_EQ(checkAttention(packed, seed += 10), 0);
  Check merged{Shape{2, 4, 2, merged_sequence, merged_sequence, 9, 9}, types};
  merged.tactic = tactic;
  merged.parameters = {0.25f, false, false, false, 15U, 4, 2};
  merged.parameters.merged_qkv = true;
  EXPECT_EQ(checkAttention(merged, seed += 10), 0);
  Check windows{Shape{6, 4, 2, 21, 77, 9, 16}, types};
  windows.tactic = tactic;
  windows.mask = Dims{3, 4, 21, 77};
  windows.parameters.mask_batch_period = 3;
  EXPECT_EQ(checkAttention(windows, seed += 10), 0);
  Check large{{2, 2, 1, 17, 70, 7, 7}, types};
  large.tactic = tactic;
  large.large = true;
  EXPECT_EQ(checkAttention(large, seed += 10), 0);
  large.parameters.softcap = 5.0f;
  EXPECT_EQ(checkAttention(large, seed += 10), 0);
  for (bool zero : {false, true}) {
    Check rows{shape, types};
    rows.tactic = tactic;
    rows.mask = shape.scores();
    rows.masked_rows = {0, 30, 100};
    rows.parameters.zero_masked_rows = zero;
    EXPECT_EQ(checkAttention(rows, seed += 10), 3);
  }
  // BOOL masks: a padding mask past the first tile of keys, and one of the scores' shape hiding
  // rows whole, each with values other than 0 and -inf where it attends.
  Check padding{shape, Types{types.q, types.k, types.v, types.out, DataType::kBOOL}};
  padding.tactic = tactic;
  padding.mask = Dims{shape.b, 1, 1, shape.sk};
  padding.masked_keys = 66;
  padding.parameters.mask_if_true = 0.75f;
  EXPECT_EQ(checkAttention(padding, seed += 10), 0);
  Check key_padding = padding;  // INT64, rank 2: transformers' attention_mask read in place
  key_padding.types.mask = DataType::kINT64;
  key_padding.mask = Dims{shape.b, shape.sk};
  EXPECT_EQ(checkAttention(key_padding, seed += 10), 0);
  Check hidden_rows = padding;
  hidden_rows.mask = shape.scores();
  hidden_rows.masked_keys = 0;
  hidden_rows.masked_rows = {1, 50};
  hidden_rows.parameters.mask_if_true = -0.5f;
  hidden_rows.parameters.zero_masked_rows = true;
  EXPECT_EQ(checkAttention(hidden_rows, seed += 10), 2);
  // where(mask, 0, lowest float): rows it hides whole weigh their keys uniformly, as ONNX Runtime
  // computes them (the tensor-core kernel's log2(e) scaling once took lowest to -inf there: NaN).
  Check lowest = hidden_rows;
  lowest.parameters.mask_if_true = 0.0f;
  lowest.parameters.mask_if_false = std::numeric_limits<float>::lowest();
  lowest.parameters.zero_masked_rows = false;
  EXPECT_EQ(checkAttention(lowest, seed += 10), 0);
}

// ---- The split-keys tactic (attention.cl with -DSPLIT_KEYS, then attention_combine) ---------------

// Forces the split-keys tactic's slice count for a scope (0: the device's choice).
class ScopedKeySlices {
 public:
  explicit ScopedKeySlices(std::int64_t slices) { cl::setAttentionKeySlices(slices); }
  ~ScopedKeySlices() { cl::setAttentionKeySlices(0); }
  ScopedKeySlices(const ScopedKeySlices&) = delete;
  ScopedKeySlices& operator=(const ScopedKeySlices&) = delete;
};

// The keys in 2, 3 and 5 slices (of whole tiles of 16 keys; fewer where there are fewer tiles)
// against the double reference, with everything the one-pass kernel has: partial tiles, grouped
// heads, masks broadcast or full, left padding that hides whole slices, causal with Sq < Sk (slices
// no row sees), transposed, packed and merged operands, a repeating mask, scores far beyond exp's
// range, softcap, rows every score masks (NaN or zero), FLOAT and HALF.
TEST(AttentionKernels, SplitKeysTacticMatchesTheReferenceInEverySliceCount) {
  std::uint32_t seed = 3000;
  for (std::int64_t slices : {2, 3, 5}) {
    const ScopedKeySlices forced(slices);
    for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
      const Types types = uniform(type);
      for (const Shape& shape : {Shape{1, 1, 1, 1, 1, 1, 1}, Shape{3, 4, 1, 7, 13, 7, 5},
                                 Shape{2, 4, 2, 19, 37, 64, 64}, Shape{1, 4, 4, 1, 23, 64, 48},
                                 Shape{1, 2, 2, 33, 150, 16, 13}}) {
        Check plain{shape, types};
        plain.tactic = cl::kSplitKeysAttentionTactic;
        plain.parameters.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.d)));
        EXPECT_EQ(checkAttention(plain, seed += 10), 0);
        Check padded = plain;  // the first 66 keys hidden from every row: whole slices see nothing
        padded.mask = Dims{shape.b, 1, 1, shape.sk};
        padded.masked_keys = shape.sk > 70 ? 66 : 0;
        EXPECT_EQ(checkAttention(padded, seed += 10), 0);
        Check causal = plain;
        causal.parameters.causal = true;
        EXPECT_EQ(checkAttention(causal, seed += 10), 0);
      }
      checkEveryFeature(cl::kSplitKeysAttentionTactic, types, type, 40, seed);  // 40 keys: 3 tiles to split
    }
  }
}

// The slices the device's choice makes: none where the blocks of query rows fill it (no workspace),
// else whole tiles of keys; a split launch refuses a missing or short workspace, naming both.
TEST(AttentionKernels, SplitKeysTacticSplitsOnlyWhereBlocksLeaveTheDeviceIdle) {
  cl::AttentionParameters parameters;
  const std::uint32_t units = context()->device().compute_units;
  // As many blocks of 16 query rows as two per compute unit: no slices.
  const Dims full{1, static_cast<std::int64_t>(2 * units), 16, 8};
  EXPECT_EQ(cl::attentionWorkspaceBytes(cl::kSplitKeysAttentionTactic, *context(), parameters, full, 4096), 0u);
  EXPECT_EQ(cl::attentionWorkspaceBytes(cl::kAttentionTactic, *context(), parameters, Dims{1, 1, 1, 8}, 4096), 0u);
  // One block: as many slices as two per compute unit, at most one per 16 keys.
  const Dims one{1, 1, 5, 8};
  const std::int64_t wanted = std::min<std::int64_t>(2 * units, 4096 / 16);
  const std::size_t row = (8 + 2) * sizeof(float) * 16;
  const std::size_t bytes = cl::attentionWorkspaceBytes(cl::kSplitKeysAttentionTactic, *context(), parameters, one, 4096);
  if (wanted > 1) {
    EXPECT_GE(bytes, row * 2);
    EXPECT_LE(bytes, row * static_cast<std::size_t>(wanted));
  } else {
    EXPECT_EQ(bytes, 0u);
  }
  EXPECT_EQ(cl::attentionWorkspaceBytes(cl::kSplitKeysAttentionTactic, *context(), parameters, one, 16), 0u);
  const ScopedKeySlices forced(4);
  EXPECT_EQ(cl::attentionWorkspaceBytes(cl::kSplitKeysAttentionTactic, *context(), parameters, one, 64), row * 4);
  EXPECT_EQ(cl::attentionWorkspaceBytes(cl::kSplitKeysAttentionTactic, *context(), parameters, one, 40), row * 3);
  const DeviceTensor q = deviceTensor(Dims{1, 1, 5, 8}, DataType::kFLOAT, randomStored(40, 1, DataType::kFLOAT));
  const DeviceTensor k = deviceTensor(Dims{1, 1, 64, 8}, DataType::kFLOAT, randomStored(512, 2, DataType::kFLOAT));
  const DeviceTensor out = deviceTensor(one, DataType::kFLOAT, std::vector<double>(40, 0.0));
  const DeviceTensor short_workspace = deviceTensor(Dims{10}, DataType::kFLOAT, std::vector<double>(10, 0.0));
  const std::string what = "attention: tactic 'attention_split_keys' runs this attention in 4 slices of K and needs " +
                           std::to_string(row * 4) + " bytes of workspace";
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::attention(cache(), stream(), cl::kSplitKeysAttentionTactic, parameters, q, k, k, nullptr, out); },
      what + "; none was given"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::attention(cache(), stream(), cl::kSplitKeysAttentionTactic, parameters, q, k, k, nullptr, out,
                      &short_workspace);
      },
      what + "; the workspace given is (10) FLOAT"));
}

// q, k and v read from one merged projection (B, S, (H + 2 Hk) x D), grouped heads included, with
// the output packed or dense, a mask and causal.
TEST(AttentionKernels, MergedQueriesKeysAndValuesAreReadInPlace) {
  std::uint32_t seed = 800;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const Shape& shape : {Shape{2, 4, 2, 13, 13, 8, 8}, Shape{1, 3, 3, 1, 1, 5, 5}, Shape{3, 2, 1, 21, 21, 16, 16}}) {
      for (std::uint32_t packed : {15U, 7U}) {
        Check check{shape, uniform(type)};
        check.parameters = {0.3f, packed == 7U, false, false, packed, shape.h, shape.hk};
        check.parameters.merged_qkv = true;
        check.mask = Dims{shape.b, 1, 1, shape.sk};
        EXPECT_EQ(checkAttention(check, seed += 10), 0);
      }
    }
  }
  // Refused: merged operands need all three packed bits.
  Check unpacked{Shape{1, 2, 2, 3, 3, 4, 4}, uniform(DataType::kFLOAT)};
  unpacked.parameters = {0.5f, false, false, false, 13U, 2, 2};
  unpacked.parameters.merged_qkv = true;
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { checkAttention(unpacked, 1); },
                                          "attention: merged q, k and v need the packed bits of all three"));
}

TEST(AttentionKernels, RefusesMaskPeriodsThatDoNotFit) {
  const auto tensor = [](const Dims& shape) {
    return deviceTensor(shape, DataType::kFLOAT, std::vector<double>(volume(shape), 0.5));
  };
  const DeviceTensor q = tensor({6, 2, 4, 8}), k = tensor({6, 2, 4, 8}), v = tensor({6, 2, 4, 8});
  const DeviceTensor out = tensor({6, 2, 4, 8});
  const auto run = [&](std::int64_t period, const DeviceTensor* mask) {
    return [&, period, mask] {
      cl::AttentionParameters parameters;
      parameters.mask_batch_period = period;
      cl::attention(cache(), stream(), parameters, q, k, v, mask, out);
    };
  };
  const DeviceTensor four = tensor({4, 2, 4, 4}), three = tensor({3, 2, 4, 4});
  EXPECT_TRUE(throwsWith<InvalidArgument>(run(4, &four), "attention: mask shape (4, 2, 4, 4) repeats every 4 batch "
                                                         "entries: its batch extent must be 4 and divide the scores' batch 6"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(run(2, &three), "its batch extent must be 2"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(run(3, nullptr), "a mask batch period of 3 needs a mask"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(run(-1, &three), "must be positive"));
  EXPECT_NO_THROW(run(3, &three)());
}

// ---- Tensor-core tactics (attention_mma.cl) -------------------------------------------------------

// Where the f16 mma probe passes, the tactics run the real instructions; elsewhere their kernel is
// built with the mma and the shuffles in software, by the PTX fragment layouts.
bool attentionEmulated() { return !cl::tensorCoreHalfAvailable(*context()); }

std::string mmaTactic(int warps) { return cl::kMmaAttentionPrefix + std::to_string(warps); }

// Half q, k and v against the double reference, on every feature the kernel has: key tiles of 64
// (one partial, several, left padding across whole tiles), row blocks of 16 x warps with rows past
// Sq, D and Dv below, at and between multiples of 16, grouped heads, both mask types broadcast or
// full, causal with Sq < Sk, k stored transposed, packed heads, FLOAT and HALF output, scores far
// beyond exp's range, rows every score masks. Emulated on CPUs, where every (warps, D, Dv, output
// type) is a compile of minutes: there, only 16-wide heads, one warp count per output type.
TEST(AttentionKernels, TensorCoreTacticsMatchTheReference) {
  const bool emulated = attentionEmulated();
  const ScopedHook mode(cl::setAttentionMmaEmulation, emulated);
  const bool full = !emulated || isNvidiaDevice();
  std::vector<std::pair<std::string, DataType>> runs{{mmaTactic(1), DataType::kHALF}, {mmaTactic(4), DataType::kFLOAT}};
  if (full) runs.insert(runs.end(), {{mmaTactic(2), DataType::kHALF}, {mmaTactic(4), DataType::kHALF}});
  std::vector<Shape> shapes{{1, 1, 1, 1, 1, 1, 1}, {3, 4, 1, 7, 13, 7, 5}, {2, 3, 3, 70, 131, 16, 13}};
  if (full) shapes.insert(shapes.end(), {{2, 4, 2, 19, 37, 64, 64}, {1, 2, 2, 33, 150, 128, 96}, {2, 4, 4, 128, 128, 64, 64}});
  std::uint32_t seed = 2000;
  for (const auto& [tactic, out_type] : runs) {
    const Types types{DataType::kHALF, DataType::kHALF, DataType::kHALF, out_type, DataType::kFLOAT};
    for (const Shape& shape : shapes) {
      Check plain{shape, types};
      plain.tactic = tactic;
      plain.parameters.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.d)));
      EXPECT_EQ(checkAttention(plain, seed += 10), 0);
      Check padded = plain;  // left padding past the first tile of keys where there are two
      padded.mask = Dims{shape.b, 1, 1, shape.sk};
      padded.masked_keys = shape.sk > 70 ? 66 : 0;
      EXPECT_EQ(checkAttention(padded, seed += 10), 0);
      Check causal = plain;
      causal.mask = Dims{shape.b, 1, 1, shape.sk};
      causal.parameters.causal = true;
      EXPECT_EQ(checkAttention(causal, seed += 10), 0);
    }
    checkEveryFeature(tactic, types, DataType::kHALF, 21, seed);
  }
}

// Rows of a multiple of 8 halves at 16-byte aligned addresses take the 16-byte chunk loads (a
// partial last tile of keys, D below the padded head width, packed and merged operands whose
// head offsets keep the alignment; one round of chunks per tile, the next tile fetched ahead, at
// heads of 16 on one warp, several rounds at 32); a row pitch that breaks it (D = 12) takes the
// pairwise path.
TEST(AttentionKernels, TensorCoreTacticsLoadAlignedRowsInChunks) {
  const bool emulated = attentionEmulated();
  const ScopedHook mode(cl::setAttentionMmaEmulation, emulated);
  const std::vector<std::string> tactics =
      !emulated || isNvidiaDevice() ? std::vector<std::string>{mmaTactic(1), mmaTactic(2), mmaTactic(4)}
                                    : std::vector<std::string>{mmaTactic(1)};
  std::vector<Shape> shapes{{2, 3, 3, 70, 131, 16, 16}, {1, 2, 1, 9, 67, 24, 32}, {2, 2, 2, 5, 20, 12, 16}, {2, 4, 2, 24, 24, 16, 16}};
  if (!emulated) shapes.insert(shapes.end(), {{2, 4, 2, 19, 37, 64, 64}, {1, 2, 2, 33, 150, 128, 96}, {2, 4, 4, 128, 128, 40, 64}});
  std::uint32_t seed = 3000;
  for (const std::string& tactic : tactics) {
    const Types types{DataType::kHALF, DataType::kHALF, DataType::kHALF, DataType::kHALF, DataType::kFLOAT};
    for (const Shape& shape : shapes) {
      Check plain{shape, types};
      plain.tactic = tactic;
      plain.offset = 16;
      plain.parameters.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(shape.d)));
      plain.mask = Dims{shape.b, 1, 1, shape.sk};
      plain.masked_keys = shape.sk > 70 ? 66 : 0;
      EXPECT_EQ(checkAttention(plain, seed += 10), 0) << describe(plain);
      Check packed = plain;  // (B, S, heads x D): head offsets of D halves
      packed.parameters.packed = cl::kPackedQuery | cl::kPackedKeys | cl::kPackedValues;
      packed.parameters.heads = shape.h;
      packed.parameters.kv_heads = shape.hk;
      EXPECT_EQ(checkAttention(packed, seed += 10), 0) << describe(packed);
      if (shape.sq == shape.sk && shape.d == shape.dv) {
        Check merged = plain;
        merged.parameters.merged_qkv = true;
        merged.parameters.packed = 15U;
        merged.parameters.heads = shape.h;
        merged.parameters.kv_heads = shape.hk;
        EXPECT_EQ(checkAttention(merged, seed += 10), 0) << describe(merged);
      }
    }
  }
}

TEST(AttentionKernels, TacticsOfferTensorCoresOnlyWhereTheyApply) {
  const std::string all = mmaTactic(1) + " " + mmaTactic(2) + " " + mmaTactic(4);
  const auto names = [](bool half, std::int64_t d, std::int64_t dv) {
    std::string text;
    for (const std::string& tactic : cl::attentionTactics(context(), half, d, dv)) text += (text.empty() ? "" : " ") + tactic;
    return text;
  };
  {
    const ScopedHook emulation(cl::setAttentionMmaEmulation);
    EXPECT_EQ(names(true, 64, 64), std::string("attention attention_split_keys ") + all);
    EXPECT_EQ(names(true, 128, 1), std::string("attention attention_split_keys ") + all);
    EXPECT_EQ(names(true, 129, 64), "attention attention_split_keys");
    EXPECT_EQ(names(true, 64, 200), "attention attention_split_keys");
    EXPECT_EQ(names(false, 64, 64), "attention attention_split_keys");
  }
  EXPECT_EQ(names(true, 64, 64), cl::tensorCoreHalfAvailable(*context())
                                     ? std::string("attention attention_split_keys ") + all
                                     : "attention attention_split_keys");
}

// The check that the builder runs once per device before it offers the tensor-core tactics: with the
// real instructions where the probe passes (and then it must pass), emulated elsewhere. Off tensor
// cores and without emulation, the kernel refuses and the check reports it rather than throwing.
TEST(AttentionKernels, SelfCheckPassesWhereTheKernelRuns) {
  const bool real = cl::tensorCoreHalfAvailable(*context());
  {
    const ScopedHook mode(cl::setAttentionMmaEmulation, attentionEmulated());
    const std::string report = cl::attentionMmaSelfCheck(context());
    EXPECT_EQ(report.rfind("passed: largest error ", 0), 0u) << report;
  }
  EXPECT_EQ(cl::attentionMmaVerified(context()), real);
  if (!real) {
    const std::string report = cl::attentionMmaSelfCheck(context());
    EXPECT_EQ(report.rfind("refused: the kernel failed: attention: tactic 'attention_mma_f16_w2' needs tensor cores", 0), 0u)
        << report;
  }
}

TEST(AttentionKernels, TensorCoreTacticsRefuseWhatTheyCannotRun) {
  const auto tensor = [](const Dims& shape, DataType type) {
    return deviceTensor(shape, type, std::vector<double>(volume(shape), 0.5));
  };
  const DeviceTensor q = tensor({1, 2, 3, 8}, DataType::kHALF), k = tensor({1, 2, 5, 8}, DataType::kHALF);
  const DeviceTensor v = tensor({1, 2, 5, 8}, DataType::kHALF), out = tensor({1, 2, 3, 8}, DataType::kHALF);
  const cl::AttentionParameters p;
  const auto refuses = [&](const std::string& tactic, const DeviceTensor& q_in, const DeviceTensor& k_in,
                           const DeviceTensor& v_in, const DeviceTensor& out_in, const std::string& message) {
    return throwsWith<InvalidArgument>(
        [&] { cl::attention(cache(), stream(), tactic, p, q_in, k_in, v_in, nullptr, out_in); }, message);
  };
  EXPECT_TRUE(refuses("attention_mma_f16_w3", q, k, v, out, "attention: unknown tactic 'attention_mma_f16_w3'"));
  if (!cl::tensorCoreHalfAvailable(*context())) {
    EXPECT_TRUE(refuses(mmaTactic(4), q, k, v, out,
                        "attention: tactic 'attention_mma_f16_w4' needs tensor cores, and this device's f16 mma "
                        "probe did not pass"));
  }
  const ScopedHook emulation(cl::setAttentionMmaEmulation);  // past the probe, to the operands' checks
  EXPECT_TRUE(refuses(mmaTactic(2), q, tensor({1, 2, 5, 8}, DataType::kFLOAT), v, out,
                      "attention: tactic 'attention_mma_f16_w2' needs HALF q, k and v (given HALF, FLOAT, HALF)"));
  EXPECT_TRUE(refuses(mmaTactic(1), tensor({1, 2, 3, 136}, DataType::kHALF), tensor({1, 2, 5, 136}, DataType::kHALF), v,
                      out, "attention: tactic 'attention_mma_f16_w1' holds head sizes up to 128 (D = 136, Dv = 8)"));
}

}  // namespace
}  // namespace mlprt::test
