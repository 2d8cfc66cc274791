// The OpenCL compute kernels (backend/opencl/kernels.h) against double-precision CPU references,
// in FLOAT and HALF storage, plus the host half conversions (core/half.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernels.h"
#include "core/error.h"
#include "core/half.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

// ---- Half conversions ------------------------------------------------------------------------

float floatFromBits(std::uint32_t bits) {
  float value = 0.0f;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

TEST(HalfConversion, EveryHalfRoundTripsExactly) {
  for (std::uint32_t bits = 0; bits < 65536; ++bits) {
    const auto half = static_cast<std::uint16_t>(bits);
    const float value = halfToFloat(half);
    const bool nan = (half & 0x7c00u) == 0x7c00u && (half & 0x3ffu) != 0;
    if (nan) {
      ASSERT_TRUE(std::isnan(value)) << bits;
      ASSERT_TRUE(std::isnan(halfToFloat(floatToHalf(value)))) << bits;
      continue;
    }
    ASSERT_EQ(floatToHalf(value), half) << "half bits " << bits;
  }
}

TEST(HalfConversion, KnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00u);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000u);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bffu);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000u);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000u);
  EXPECT_EQ(floatToHalf(INFINITY), 0x7c00u);
  EXPECT_EQ(floatToHalf(-INFINITY), 0xfc00u);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001u);  // smallest subnormal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400u);  // smallest normal
  EXPECT_FLOAT_EQ(halfToFloat(0x0001u), std::ldexp(1.0f, -24));
  EXPECT_FLOAT_EQ(halfToFloat(0x3555u), 0.333251953125f);
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

TEST(HalfConversion, RoundsToNearestTiesToEven) {
  // Between 1 and 1 + 2^-10 (the next half), 1 + 2^-11 is the tie: goes to the even 1.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00u);
  // Between 1 + 2^-10 (odd mantissa) and 1 + 2^-9, the tie goes up to the even one.
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02u);
  // Just above a tie rounds up, just below rounds down.
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3c01u);
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + 3 * std::ldexp(1.0f, -11), 0.0f)), 0x3c01u);
  // Subnormal ties: 2^-25 (half of the smallest subnormal) rounds to zero, 3 * 2^-25 to 2 * 2^-24.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000u);
  EXPECT_EQ(floatToHalf(std::ldexp(3.0f, -25)), 0x0002u);
  EXPECT_EQ(floatToHalf(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001u);
  // Rounding up out of the subnormals lands on the smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400u);
  // Overflow: 65520 is the tie between 65504 and 65536 (infinity) and goes to infinity.
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bffu);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00u);
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00u);
  EXPECT_EQ(floatToHalf(-1e10f), 0xfc00u);
  // Float subnormals are far below half's range.
  EXPECT_EQ(floatToHalf(floatFromBits(0x00000001u)), 0x0000u);
  EXPECT_EQ(floatToHalf(-floatFromBits(0x00000001u)), 0x8000u);
}

TEST(HalfConversion, MatchesNearestHalfForRandomFloats) {
  // Reference: the nearest of the two neighbouring halves, found through halfToFloat.
  std::mt19937 engine(7);
  std::uniform_int_distribution<std::uint32_t> bits(0, 0xffffffffu);
  for (int i = 0; i < 20000; ++i) {
    const float value = floatFromBits(bits(engine));
    if (std::isnan(value) || std::fabs(value) > 65504.0f) continue;
    const std::uint16_t half = floatToHalf(value);
    const double error = std::fabs(static_cast<double>(halfToFloat(half)) - value);
    const std::uint16_t up = static_cast<std::uint16_t>(half + 1);
    const std::uint16_t down = static_cast<std::uint16_t>(half - 1);
    for (std::uint16_t neighbour : {up, down}) {
      const float other = halfToFloat(neighbour);
      if (std::isnan(other) || std::isinf(other) || (neighbour & 0x7fffu) == 0x7fffu) continue;
      ASSERT_LE(error, std::fabs(static_cast<double>(other) - value)) << value;
    }
  }
}

// ---- Device tensors ------------------------------------------------------------------------

// Elements of padding before and after every tensor, so that offsets are exercised and writes
// outside the tensor show up.
constexpr std::size_t kPadding = 3;

// What storing `values` as `type` keeps of them (the inputs the device actually sees).
std::vector<double> stored(const std::vector<double>& values, DataType type) { return storedAs(values, type); }

std::vector<double> randomValues(std::size_t count, std::uint32_t seed, double scale = 1.0) {
  const std::vector<float> floats = randomFloats(count, seed);
  std::vector<double> values(floats.size());
  std::transform(floats.begin(), floats.end(), values.begin(),
                 [scale](float x) { return scale * x; });
  return values;
}

// A tensor in its own buffer, surrounded by random padding bytes.
DeviceTensor makeTensor(const Dims& shape, DataType type, const std::vector<double>& values,
                        std::size_t padding = kPadding) {
  const std::size_t size = elementSize(type);
  const std::size_t count = static_cast<std::size_t>(shape.volume());
  auto buffer = allocate((count + 2 * padding) * size);
  std::vector<unsigned char> bytes = randomBytes(buffer->size(), static_cast<std::uint32_t>(count));
  const std::vector<unsigned char> data = encodeAs(values, type);
  std::copy(data.begin(), data.end(), bytes.begin() + static_cast<std::ptrdiff_t>(padding * size));
  upload(stream(), at(buffer), bytes);
  return DeviceTensor{at(buffer, padding * size), shape, type};
}

// An output tensor, filled with random bytes.
DeviceTensor makeOutput(const Dims& shape, DataType type) {
  return makeTensor(shape, type, std::vector<double>(static_cast<std::size_t>(shape.volume()), 77.0));
}

std::vector<double> read(const DeviceTensor& tensor) {
  const std::size_t count = static_cast<std::size_t>(tensor.shape.volume());
  const std::size_t size = elementSize(tensor.type);
  return decodeAs<double>(download<unsigned char>(stream(), tensor.range, count * size), tensor.type);
}

// Relative tolerance of a storage type, with an absolute floor scaled by `magnitude` (the sum of
// absolute terms that made the value, 1 for element-wise results).
double tolerance(DataType type, double expected, double magnitude = 1.0) {
  const double relative = type == DataType::kHALF ? 1e-2 : 1e-5;
  return relative * std::fabs(expected) + relative * 0.1 * magnitude;
}

void expectClose(const std::vector<double>& actual, const std::vector<double>& expected,
                 DataType type, const std::string& what,
                 const std::vector<double>& magnitudes = {}) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  int failures = 0;
  for (std::size_t i = 0; i < actual.size() && failures < 5; ++i) {
    const double magnitude = magnitudes.empty() ? 1.0 : magnitudes[i];
    const double bound = tolerance(type, expected[i], magnitude);
    const bool same_special = (std::isnan(actual[i]) && std::isnan(expected[i])) ||
                              (std::isinf(actual[i]) && actual[i] == expected[i]);
    if (!same_special && !(std::fabs(actual[i] - expected[i]) <= bound)) {
      ADD_FAILURE() << what << ": element " << i << " is " << actual[i] << ", expected "
                    << expected[i] << " (tolerance " << bound << ")";
      ++failures;
    }
  }
}

// The output tensor's padding must be untouched (only the tensor itself is written).
void expectPaddingIntact(const DeviceTensor& tensor) {
  const std::size_t size = elementSize(tensor.type);
  const auto bytes = download<unsigned char>(stream(), at(tensor.range.buffer), tensor.range.buffer->size());
  const auto original = randomBytes(bytes.size(), static_cast<std::uint32_t>(tensor.shape.volume()));
  const std::size_t end = kPadding * size + static_cast<std::size_t>(tensor.shape.volume()) * size;
  for (std::size_t i = 0; i < kPadding * size; ++i) ASSERT_EQ(bytes[i], original[i]) << "before, byte " << i;
  for (std::size_t i = end; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], original[i]) << "after, byte " << i;
}

std::string shapeName(const Dims& shape, DataType type) {
  return shape.toString() + " " + dataTypeName(type);
}

// Row-major strides and index helpers for the references.
std::vector<std::int64_t> stridesOf(const Dims& shape) {
  std::vector<std::int64_t> strides(shape.rank(), 1);
  for (std::size_t axis = shape.rank(); axis-- > 1;) strides[axis - 1] = strides[axis] * shape[axis];
  return strides;
}

std::vector<std::int64_t> unravel(std::int64_t index, const Dims& shape) {
  std::vector<std::int64_t> coordinates(shape.rank());
  for (std::size_t axis = shape.rank(); axis-- > 0;) {
    coordinates[axis] = index % shape[axis];
    index /= shape[axis];
  }
  return coordinates;
}

// The element of `shape` that out coordinates broadcast to (NumPy rules).
std::int64_t broadcastIndex(const std::vector<std::int64_t>& out_coordinates, const Dims& shape) {
  const std::size_t lead = out_coordinates.size() - shape.rank();
  const auto strides = stridesOf(shape);
  std::int64_t index = 0;
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) {
    if (shape[axis] != 1) index += out_coordinates[lead + axis] * strides[axis];
  }
  return index;
}

const std::vector<DataType> kFloatingTypes = {DataType::kFLOAT, DataType::kHALF};

// ---- Element-wise --------------------------------------------------------------------------

double referenceBinary(ElementWiseOperation op, double x, double y) {
  switch (op) {
    case ElementWiseOperation::kSUM: return x + y;
    case ElementWiseOperation::kPROD: return x * y;
    case ElementWiseOperation::kMAX: return std::max(x, y);
    case ElementWiseOperation::kMIN: return std::min(x, y);
    case ElementWiseOperation::kSUB: return x - y;
    case ElementWiseOperation::kDIV: return x / y;
    case ElementWiseOperation::kPOW: return std::pow(x, y);
    case ElementWiseOperation::kFLOOR_DIV: return std::floor(x / y);
    case ElementWiseOperation::kEQUAL: return x == y ? 1.0 : 0.0;
    case ElementWiseOperation::kGREATER: return x > y ? 1.0 : 0.0;
    case ElementWiseOperation::kLESS: return x < y ? 1.0 : 0.0;
    case ElementWiseOperation::kFMOD: return std::fmod(x, y);
    case ElementWiseOperation::kMOD: {
      const double r = std::fmod(x, y);
      return (r != 0.0 && ((r < 0.0) != (y < 0.0))) ? r + y : r;
    }
    case ElementWiseOperation::kAND:
    case ElementWiseOperation::kOR:
    case ElementWiseOperation::kXOR:
    case ElementWiseOperation::kBITWISE_AND:
    case ElementWiseOperation::kBITWISE_OR:
    case ElementWiseOperation::kBITWISE_XOR:
    case ElementWiseOperation::kSHIFT_LEFT:
    case ElementWiseOperation::kSHIFT_RIGHT: break;  // BOOL or integers only: tests/cpp/test_integer_kernels.cpp
  }
  return 0.0;
}

struct BroadcastCase {
  Dims a, b, out;
};

const std::vector<BroadcastCase> kBroadcastCases = {
    {{37}, {37}, {37}},
    {{4, 5}, {5}, {4, 5}},
    {{3, 1, 7}, {1, 13, 1}, {3, 13, 7}},
    {{1}, {2, 3, 4}, {2, 3, 4}},
    {{2, 1, 3, 1, 5}, {2, 7, 1, 1, 5}, {2, 7, 3, 1, 5}},
    {{1, 1}, {1, 1}, {1, 1}},
};

void checkElementWise(ElementWiseOperation op, const BroadcastCase& shapes, DataType a_type,
                      DataType b_type, DataType out_type, std::uint32_t seed) {
  std::vector<double> a_values = randomValues(static_cast<std::size_t>(shapes.a.volume()), seed);
  if (op == ElementWiseOperation::kPOW) {
    for (double& x : a_values) x = std::fabs(x) + 0.5;  // real powers need a positive base
  }
  const std::vector<double> b_values = randomValues(static_cast<std::size_t>(shapes.b.volume()), seed + 1);
  const DeviceTensor a = makeTensor(shapes.a, a_type, a_values);
  const DeviceTensor b = makeTensor(shapes.b, b_type, b_values);
  const DeviceTensor out = makeOutput(shapes.out, out_type);
  cl::elementWise(cache(), stream(), op, a, b, out);

  const auto a_stored = stored(a_values, a_type);
  const auto b_stored = stored(b_values, b_type);
  std::vector<double> expected(static_cast<std::size_t>(shapes.out.volume()));
  std::vector<double> magnitudes(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto coordinates = unravel(static_cast<std::int64_t>(i), shapes.out);
    const double x = a_stored[broadcastIndex(coordinates, shapes.a)];
    const double y = b_stored[broadcastIndex(coordinates, shapes.b)];
    expected[i] = referenceBinary(op, x, y);
    // DIV of values >= 1/64 in magnitude: its absolute error is relative to the quotient.
    magnitudes[i] = std::fabs(x) + std::fabs(y);
  }
  expectClose(read(out), expected, out_type,
              "elementWise op " + std::to_string(static_cast<int>(op)) + " a " +
                  shapeName(shapes.a, a_type) + " b " + shapeName(shapes.b, b_type),
              magnitudes);
  expectPaddingIntact(out);
}

const std::vector<ElementWiseOperation> kElementWiseOps = {
    ElementWiseOperation::kSUM, ElementWiseOperation::kPROD, ElementWiseOperation::kMAX,
    ElementWiseOperation::kMIN, ElementWiseOperation::kSUB,  ElementWiseOperation::kDIV,
    ElementWiseOperation::kPOW, ElementWiseOperation::kFLOOR_DIV, ElementWiseOperation::kMOD,
    ElementWiseOperation::kFMOD};

TEST(KernelsElementWise, EveryOperationWithBroadcastingInFloatAndHalf) {
  std::uint32_t seed = 100;
  for (ElementWiseOperation op : kElementWiseOps) {
    for (const BroadcastCase& shapes : kBroadcastCases) {
      for (DataType type : kFloatingTypes) checkElementWise(op, shapes, type, type, type, seed++);
    }
  }
}

TEST(KernelsElementWise, MixedStorageTypes) {
  checkElementWise(ElementWiseOperation::kSUM, kBroadcastCases[2], DataType::kHALF, DataType::kFLOAT,
                   DataType::kHALF, 1);
  checkElementWise(ElementWiseOperation::kPROD, kBroadcastCases[1], DataType::kFLOAT, DataType::kHALF,
                   DataType::kFLOAT, 2);
}

TEST(KernelsElementWise, RefusesBadOperands) {
  const DeviceTensor a = makeTensor({4, 5}, DataType::kFLOAT, randomValues(20, 1));
  const DeviceTensor b = makeTensor({3, 5}, DataType::kFLOAT, randomValues(15, 2));
  const DeviceTensor out = makeOutput({4, 5}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, a, b, out); },
      "elementWise: operand b shape (3, 5) does not broadcast to output (4, 5)"));
  DeviceTensor ints = a;
  ints.type = DataType::kINT32;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, ints, a, out); },
      "elementWise: operands a (INT32) and b (FLOAT) have different types"));
  DeviceTensor outside = out;
  outside.range.offset += 8 * sizeof(float);  // 20 floats from element 11 of a 26-element buffer
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, a, a, outside); },
      "elementWise: output"));
  DeviceTensor misaligned = a;
  misaligned.range.offset += 1;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, misaligned, a, out); },
      "elementWise: operand a: byte offset"));
}

TEST(KernelsElementWise, ZeroVolumeLaunchesNothing) {
  const DeviceTensor a = makeTensor({0, 5}, DataType::kFLOAT, {});
  const DeviceTensor out = makeTensor({0, 5}, DataType::kFLOAT, {});
  cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, a, a, out);
  stream().synchronize();
  expectPaddingIntact(out);
}

// ---- Activation and unary ------------------------------------------------------------------

struct ActivationCase {
  ActivationType type;
  float alpha, beta;
};

double referenceActivation(const ActivationCase& c, double x) {
  const double alpha = c.alpha, beta = c.beta;
  switch (c.type) {
    case ActivationType::kRELU: return std::max(x, 0.0);
    case ActivationType::kSIGMOID: return 1.0 / (1.0 + std::exp(-x));
    case ActivationType::kTANH: return std::tanh(x);
    case ActivationType::kLEAKY_RELU: return x >= 0 ? x : alpha * x;
    case ActivationType::kELU: return x >= 0 ? x : alpha * (std::exp(x) - 1.0);
    case ActivationType::kSELU: return beta * (x > 0 ? x : alpha * (std::exp(x) - 1.0));
    case ActivationType::kSOFTPLUS: return alpha * std::log1p(std::exp(beta * x));
    case ActivationType::kCLIP: return std::min(std::max(x, alpha), beta);
    case ActivationType::kHARD_SIGMOID: return std::max(0.0, std::min(1.0, alpha * x + beta));
    case ActivationType::kGELU_ERF: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case ActivationType::kGELU_TANH:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case ActivationType::kHARD_SWISH: return x * std::max(0.0, std::min(1.0, alpha * x + beta));
    case ActivationType::kSILU: return x / (1.0 + std::exp(-x));
  }
  return 0.0;
}

const std::vector<ActivationCase> kActivations = {
    {ActivationType::kRELU, 0, 0},          {ActivationType::kSIGMOID, 0, 0},
    {ActivationType::kTANH, 0, 0},          {ActivationType::kLEAKY_RELU, 0.1f, 0},
    {ActivationType::kELU, 1.3f, 0},        {ActivationType::kSELU, 1.6732632f, 1.0507010f},
    {ActivationType::kSOFTPLUS, 1.5f, 2.0f}, {ActivationType::kCLIP, -0.5f, 0.25f},
    {ActivationType::kHARD_SIGMOID, 0.2f, 0.5f}, {ActivationType::kGELU_ERF, 0, 0},
    {ActivationType::kGELU_TANH, 0, 0},     {ActivationType::kHARD_SWISH, 1.0f / 6, 0.5f},
    {ActivationType::kSILU, 0, 0},
};

TEST(KernelsActivation, EveryActivationInFloatAndHalf) {
  const std::vector<Dims> shapes = {{1}, {7, 13}, {2, 3, 37}};
  std::uint32_t seed = 200;
  for (const ActivationCase& c : kActivations) {
    for (const Dims& shape : shapes) {
      for (DataType type : kFloatingTypes) {
        // Scale 4 reaches the saturating parts of sigmoid, tanh, clip and hard sigmoid.
        const auto values = randomValues(static_cast<std::size_t>(shape.volume()), seed++, 4.0);
        const DeviceTensor in = makeTensor(shape, type, values);
        const DeviceTensor out = makeOutput(shape, type);
        cl::activation(cache(), stream(), c.type, c.alpha, c.beta, in, out);
        std::vector<double> expected;
        for (double x : stored(values, type)) expected.push_back(referenceActivation(c, x));
        expectClose(read(out), expected, type,
                    "activation " + std::to_string(static_cast<int>(c.type)) + " " + shapeName(shape, type));
        expectPaddingIntact(out);
      }
    }
  }
}

TEST(KernelsActivation, SoftplusIsStableForLargeInputs) {
  const std::vector<double> values = {-200.0, -30.0, 30.0, 200.0};
  const DeviceTensor in = makeTensor({4}, DataType::kFLOAT, values);
  const DeviceTensor out = makeOutput({4}, DataType::kFLOAT);
  cl::activation(cache(), stream(), ActivationType::kSOFTPLUS, 1.0f, 1.0f, in, out);
  const auto result = read(out);
  EXPECT_NEAR(result[0], 0.0, 1e-30);
  EXPECT_NEAR(result[1], std::exp(-30.0), 1e-18);
  EXPECT_NEAR(result[2], 30.0, 1e-5);
  EXPECT_NEAR(result[3], 200.0, 1e-4);
}

TEST(KernelsActivation, MixedStorageAndErrors) {
  const auto values = randomValues(13, 5);
  const DeviceTensor in = makeTensor({13}, DataType::kHALF, values);
  const DeviceTensor out = makeOutput({13}, DataType::kFLOAT);
  cl::activation(cache(), stream(), ActivationType::kTANH, 0, 0, in, out);
  std::vector<double> expected;
  for (double x : stored(values, DataType::kHALF)) expected.push_back(std::tanh(x));
  expectClose(read(out), expected, DataType::kFLOAT, "tanh HALF -> FLOAT");

  const DeviceTensor wrong = makeOutput({12}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::activation(cache(), stream(), ActivationType::kRELU, 0, 0, in, wrong); },
      "activation: output shape (12) differs from input shape (13)"));
}

double referenceUnary(UnaryOperation op, double x) {
  switch (op) {
    case UnaryOperation::kEXP: return std::exp(x);
    case UnaryOperation::kLOG: return std::log(x);
    case UnaryOperation::kSQRT: return std::sqrt(x);
    case UnaryOperation::kRECIP: return 1.0 / x;
    case UnaryOperation::kABS: return std::fabs(x);
    case UnaryOperation::kNEG: return -x;
    case UnaryOperation::kERF: return std::erf(x);
    case UnaryOperation::kFLOOR: return std::floor(x);
    case UnaryOperation::kCEIL: return std::ceil(x);
    case UnaryOperation::kROUND: return std::nearbyint(x);  // halves to even (the default mode)
    case UnaryOperation::kSIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x;  // -0 -> +0, as ONNX Runtime
    case UnaryOperation::kSIN: return std::sin(x);
    case UnaryOperation::kCOS: return std::cos(x);
    case UnaryOperation::kTAN: return std::tan(x);
    case UnaryOperation::kASIN: return std::asin(x);
    case UnaryOperation::kACOS: return std::acos(x);
    case UnaryOperation::kATAN: return std::atan(x);
    case UnaryOperation::kSINH: return std::sinh(x);
    case UnaryOperation::kCOSH: return std::cosh(x);
    case UnaryOperation::kASINH: return std::asinh(x);
    case UnaryOperation::kACOSH: return std::acosh(x);
    case UnaryOperation::kATANH: return std::atanh(x);
    case UnaryOperation::kISNAN: return std::isnan(x) ? 1.0 : 0.0;
    case UnaryOperation::kISINF: return std::isinf(x) ? 1.0 : 0.0;
    case UnaryOperation::kNOT: break;  // BOOL only: tests/cpp/test_integer_kernels.cpp
  }
  return 0.0;
}

// Random values (|x| < 2) moved into the operation's domain.
void intoDomain(UnaryOperation op, std::vector<double>& values) {
  for (double& x : values) {
    switch (op) {
      case UnaryOperation::kLOG: case UnaryOperation::kSQRT: x = std::fabs(x); break;
      case UnaryOperation::kASIN: case UnaryOperation::kACOS: case UnaryOperation::kATANH: x *= 0.49; break;
      case UnaryOperation::kACOSH: x = 1.0 + std::fabs(x); break;
      case UnaryOperation::kTAN: x *= 0.7; break;  // away from the poles at +-pi/2
      default: break;
    }
  }
}

TEST(KernelsUnary, EveryOperationInFloatAndHalf) {
  using U = UnaryOperation;
  const std::vector<UnaryOperation> ops = {U::kEXP,  U::kLOG,   U::kSQRT, U::kRECIP, U::kABS,  U::kNEG,
                                           U::kERF,  U::kFLOOR, U::kCEIL, U::kROUND, U::kSIGN, U::kSIN,
                                           U::kCOS,  U::kTAN,   U::kASIN, U::kACOS,  U::kATAN, U::kSINH,
                                           U::kCOSH, U::kASINH, U::kACOSH, U::kATANH};
  std::uint32_t seed = 300;
  for (UnaryOperation op : ops) {
    for (const Dims& shape : {Dims{1}, Dims{5, 37}}) {
      for (DataType type : kFloatingTypes) {
        auto values = randomValues(static_cast<std::size_t>(shape.volume()), seed++, 2.0);
        intoDomain(op, values);
        const DeviceTensor in = makeTensor(shape, type, values);
        const DeviceTensor out = makeOutput(shape, type);
        cl::unary(cache(), stream(), op, in, out);
        std::vector<double> expected;
        for (double x : stored(values, type)) expected.push_back(referenceUnary(op, x));
        expectClose(read(out), expected, type,
                    "unary " + std::to_string(static_cast<int>(op)) + " " + shapeName(shape, type));
        expectPaddingIntact(out);
      }
    }
  }
}

// Where the random values never go: halves (ROUND to even), signed zeros, NaN and infinities.
TEST(KernelsUnary, RoundingSignAndTestsOfSpecialValues) {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> values = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.0, 0.0, nan, inf, -inf, 7.25, -7.75};
  const Dims shape{static_cast<std::int64_t>(values.size())};
  for (DataType type : kFloatingTypes) {
    const DeviceTensor in = makeTensor(shape, type, values);
    for (UnaryOperation op : {UnaryOperation::kROUND, UnaryOperation::kFLOOR, UnaryOperation::kCEIL, UnaryOperation::kSIGN}) {
      const DeviceTensor out = makeOutput(shape, type);
      cl::unary(cache(), stream(), op, in, out);
      const std::vector<double> actual = read(out);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double expected = referenceUnary(op, values[i]);
        if (std::isnan(expected)) {
          EXPECT_TRUE(std::isnan(actual[i])) << "op " << static_cast<int>(op) << " element " << i;
        } else {
          EXPECT_EQ(actual[i], expected) << "op " << static_cast<int>(op) << " element " << i;
          EXPECT_EQ(std::signbit(actual[i]), std::signbit(expected)) << "op " << static_cast<int>(op) << " element " << i;
        }
      }
    }
    for (UnaryOperation op : {UnaryOperation::kISNAN, UnaryOperation::kISINF}) {
      const DeviceTensor out = makeOutput(shape, DataType::kBOOL);
      cl::unary(cache(), stream(), op, in, out);
      std::vector<double> expected;
      for (double x : values) expected.push_back(referenceUnary(op, x));
      EXPECT_EQ(read(out), expected) << "op " << static_cast<int>(op) << " " << dataTypeName(type);
      expectPaddingIntact(out);
    }
  }
  const DeviceTensor in = makeTensor(shape, DataType::kFLOAT, values);
  const DeviceTensor not_bool = makeOutput(shape, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::unary(cache(), stream(), UnaryOperation::kISNAN, in, not_bool); },
                                          "ISNAN and ISINF give BOOL"));
}

// ---- Copies, transposes, casts, concatenation ------------------------------------------------

// in transposed by `permutation` (out axis i is in axis permutation[i]).
std::vector<double> referenceTranspose(const std::vector<double>& in, const Dims& in_shape,
                                       const std::vector<int>& permutation, Dims& out_shape) {
  std::vector<std::int64_t> out_extents;
  for (int axis : permutation) out_extents.push_back(in_shape[axis]);
  out_shape = Dims(out_extents);
  const auto in_strides = stridesOf(in_shape);
  std::vector<double> out(in.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto coordinates = unravel(static_cast<std::int64_t>(i), out_shape);
    std::int64_t source = 0;
    for (std::size_t axis = 0; axis < permutation.size(); ++axis) {
      source += coordinates[axis] * in_strides[permutation[axis]];
    }
    out[i] = in[source];
  }
  return out;
}

TEST(KernelsCopy, TransposesRank3And4InFloatHalfAndInt) {
  struct Case {
    Dims shape;
    std::vector<int> permutation;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5}, {0, 2, 1}}, {{7, 1, 13}, {2, 0, 1}}, {{4, 5, 6}, {2, 1, 0}},
      {{2, 3, 5, 7}, {0, 2, 1, 3}}, {{2, 3, 5, 7}, {3, 2, 1, 0}}, {{3, 4, 1, 5}, {1, 3, 0, 2}},
      {{37, 13}, {1, 0}}, {{2, 3, 4}, {0, 1, 2}},
  };
  std::uint32_t seed = 400;
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32}) {
      auto values = randomValues(static_cast<std::size_t>(c.shape.volume()), seed++, 100.0);
      values = stored(values, type);
      const DeviceTensor in = makeTensor(c.shape, type, values);
      Dims out_shape;
      const auto expected = referenceTranspose(values, c.shape, c.permutation, out_shape);
      const DeviceTensor out = makeOutput(out_shape, type);
      cl::copyTransposed(cache(), stream(), in, c.permutation, out);
      EXPECT_EQ(read(out), expected) << shapeName(c.shape, type);
      expectPaddingIntact(out);
    }
  }
}

// What a C cast from `from` storage to `to` gives for a value stored as `from`.
double referenceCast(double value, DataType to) {
  switch (to) {
    case DataType::kFLOAT: return static_cast<float>(value);
    case DataType::kHALF: return halfToFloat(floatToHalf(static_cast<float>(value)));
    case DataType::kINT32: return static_cast<std::int32_t>(value);
    case DataType::kINT64: return static_cast<double>(static_cast<std::int64_t>(value));
    case DataType::kINT8: return static_cast<std::int8_t>(static_cast<std::int64_t>(value));
    case DataType::kUINT8: return static_cast<std::uint8_t>(static_cast<std::int64_t>(value));
    case DataType::kBOOL: return value != 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

struct TransposeCase {
  Dims shape;
  std::vector<int> permutation;
  DataType from, to;
};

// Runs copyTransposed on each case, random values (seeds from `seed`), against the reference.
void checkTransposes(const std::vector<TransposeCase>& cases, std::uint32_t seed) {
  for (const TransposeCase& c : cases) {
    const auto values = stored(randomValues(static_cast<std::size_t>(c.shape.volume()), seed++, 100.0), c.from);
    const DeviceTensor in = makeTensor(c.shape, c.from, values);
    Dims out_shape;
    std::vector<double> expected = referenceTranspose(values, c.shape, c.permutation, out_shape);
    for (double& value : expected) value = referenceCast(value, c.to);
    const DeviceTensor out = makeOutput(out_shape, c.to);
    cl::copyTransposed(cache(), stream(), in, c.permutation, out);
    EXPECT_EQ(read(out), expected) << shapeName(c.shape, c.from) << " to " << dataTypeName(c.to);
    expectPaddingIntact(out);
  }
}

// The channels-last reformats (NCHW <-> NHWC, with the FP16 boundary's cast) and plain matrix
// transposes run copy_transpose's 32 x 32 tiles where both sides reach half a tile: primes, exactly
// one tile and one past it, so that every edge of a tile and of the batch is crossed; and the
// strided copy below that (one element, 3 channels).
TEST(KernelsCopy, TransposesMatricesThroughTilesAtTheirEdges) {
  checkTransposes({
      {{1, 1}, {1, 0}, DataType::kFLOAT, DataType::kFLOAT},
      {{32, 32}, {1, 0}, DataType::kHALF, DataType::kHALF},
      {{33, 65}, {1, 0}, DataType::kFLOAT, DataType::kFLOAT},
      {{2, 33, 5, 7}, {0, 2, 3, 1}, DataType::kHALF, DataType::kHALF},
      {{2, 5, 7, 33}, {0, 3, 1, 2}, DataType::kHALF, DataType::kHALF},
      {{1, 3, 41, 37}, {0, 2, 3, 1}, DataType::kFLOAT, DataType::kHALF},
      {{3, 16, 9, 64}, {0, 2, 3, 1}, DataType::kHALF, DataType::kFLOAT},
      {{3, 9, 64, 16}, {0, 3, 1, 2}, DataType::kFLOAT, DataType::kFLOAT},
      {{2, 3, 31}, {0, 2, 1}, DataType::kHALF, DataType::kHALF},
      {{1, 24, 17, 19}, {0, 2, 3, 1}, DataType::kFLOAT, DataType::kHALF},
      {{5, 16, 16}, {0, 2, 1}, DataType::kHALF, DataType::kHALF},
  }, 470);
}

// As many matrices as NVIDIA's grid takes in z (65535), and one more: the tiles beyond it run the
// strided copy. (A test of its own: its 16 M values are most of the time of the transposes under
// AddressSanitizer, which skips it; scripts/sanitize.sh.)
TEST(KernelsCopy, TransposesAsManyMatricesAsTheGridTakesAndOneMore) {
  checkTransposes({
      {{65535, 16, 16}, {0, 2, 1}, DataType::kHALF, DataType::kHALF},
      {{65536, 16, 16}, {0, 2, 1}, DataType::kHALF, DataType::kHALF},
  }, 481);
}

TEST(KernelsCopy, CastsBetweenTypesAsC) {
  const std::vector<DataType> types = {DataType::kFLOAT, DataType::kHALF, DataType::kINT32,
                                       DataType::kINT64, DataType::kINT8, DataType::kUINT8,
                                       DataType::kBOOL};
  // Every type to and from FLOAT and HALF, plus integer pairs that narrow, widen and wrap.
  std::vector<std::pair<DataType, DataType>> pairs;
  for (DataType type : types) {
    pairs.push_back({DataType::kFLOAT, type});
    if (type != DataType::kFLOAT) pairs.push_back({type, DataType::kFLOAT});
  }
  pairs.push_back({DataType::kHALF, DataType::kINT32});
  pairs.push_back({DataType::kINT32, DataType::kHALF});
  pairs.push_back({DataType::kINT64, DataType::kINT32});
  pairs.push_back({DataType::kUINT8, DataType::kINT8});
  pairs.push_back({DataType::kINT32, DataType::kBOOL});
  pairs.push_back({DataType::kBOOL, DataType::kINT64});

  std::uint32_t seed = 500;
  const Dims shape{3, 37};
  for (const auto& [from, to] : pairs) {
    // Values in (0, 200) with fractions (0.25 -> integer 0 but bool true), kept in range of
    // every destination so that C defines the cast; signed sources get negatives too.
    std::vector<double> values = randomValues(static_cast<std::size_t>(shape.volume()), seed++, 200.0);
    const bool unsigned_target = to == DataType::kUINT8;
    for (double& v : values) {
      v = std::fabs(v);
      if (to == DataType::kINT8 || from == DataType::kINT8) v = std::fmod(v, 127.0);
      if (!unsigned_target && from != DataType::kUINT8 && from != DataType::kBOOL && v > 150) v = -v + 140;
    }
    values[0] = 0.25;
    values = stored(values, from);
    const DeviceTensor in = makeTensor(shape, from, values);
    const DeviceTensor out = makeOutput(shape, to);
    cl::copyTransposed(cache(), stream(), in, {}, out);
    std::vector<double> expected;
    for (double v : values) expected.push_back(referenceCast(v, to));
    EXPECT_EQ(read(out), expected) << dataTypeName(from) << " -> " << dataTypeName(to);
    expectPaddingIntact(out);
  }
  // Non-zero bools that are not 1 read as true.
  const DeviceTensor bytes = makeTensor({3}, DataType::kUINT8, {2, 255, 1});
  DeviceTensor as_bool = bytes;
  as_bool.type = DataType::kBOOL;
  const DeviceTensor out = makeOutput({3}, DataType::kINT32);
  cl::copyTransposed(cache(), stream(), as_bool, {}, out);
  EXPECT_EQ(read(out), (std::vector<double>{1, 1, 1}));
}

TEST(KernelsCopy, ReshapeAndErrors) {
  const auto values = randomValues(30, 9);
  const DeviceTensor in = makeTensor({5, 6}, DataType::kFLOAT, values);
  const DeviceTensor out = makeOutput({2, 15}, DataType::kFLOAT);
  cl::copyTransposed(cache(), stream(), in, {}, out);
  EXPECT_EQ(read(out), stored(values, DataType::kFLOAT));

  const DeviceTensor small = makeOutput({29}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyTransposed(cache(), stream(), in, {}, small); }, "differ in volume"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyTransposed(cache(), stream(), in, {0, 0}, out); }, "not a permutation"));
  const DeviceTensor wrong = makeOutput({5, 6}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::copyTransposed(cache(), stream(), in, {1, 0}, wrong); },
      "copyTransposed: output shape (5, 6) is not the permuted input shape (6, 5)"));
}

TEST(KernelsConcatenate, SeveralAxesAndTypes) {
  struct Case {
    std::vector<Dims> inputs;
    int axis;
    Dims out;
  };
  const std::vector<Case> cases = {
      {{{2, 3}, {5, 3}}, 0, {7, 3}},
      {{{2, 3, 4}, {2, 1, 4}, {2, 7, 4}}, 1, {2, 11, 4}},
      {{{3, 5}, {3, 13}, {3, 1}}, -1, {3, 19}},
      {{{1, 2, 2, 3}, {1, 2, 2, 0}, {1, 2, 2, 2}}, 3, {1, 2, 2, 5}},
      // Four inputs per launch: seven (one empty) in two, nine in three, YOLO's head (three rows
      // of pixels per channel) in one.
      {{{2, 3}, {2, 0}, {2, 4}, {2, 1}, {2, 5}, {2, 2}, {2, 3}}, 1, {2, 18}},
      {{{1, 3}, {2, 3}, {1, 3}, {3, 3}, {1, 3}, {1, 3}, {2, 3}, {1, 3}, {1, 3}}, 0, {13, 3}},
      {{{1, 7, 61}, {1, 7, 17}, {1, 7, 5}}, 2, {1, 7, 83}},
  };
  std::uint32_t seed = 600;
  for (const Case& c : cases) {
    for (DataType type : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32}) {
      std::vector<DeviceTensor> inputs;
      std::vector<std::vector<double>> values;
      for (const Dims& shape : c.inputs) {
        values.push_back(stored(randomValues(static_cast<std::size_t>(shape.volume()), seed++, 100.0), type));
        inputs.push_back(makeTensor(shape, type, values.back()));
      }
      const DeviceTensor out = makeOutput(c.out, type);
      cl::concatenate(cache(), stream(), inputs, c.axis, out);

      const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.out.rank()) : c.axis;
      std::vector<double> expected(static_cast<std::size_t>(c.out.volume()));
      for (std::size_t i = 0; i < expected.size(); ++i) {
        auto coordinates = unravel(static_cast<std::int64_t>(i), c.out);
        std::size_t input = 0;
        while (coordinates[axis] >= c.inputs[input][axis]) coordinates[axis] -= c.inputs[input++][axis];
        const auto strides = stridesOf(c.inputs[input]);
        std::int64_t index = 0;
        for (std::size_t d = 0; d < coordinates.size(); ++d) index += coordinates[d] * strides[d];
        expected[i] = values[input][index];
      }
      EXPECT_EQ(read(out), expected) << shapeName(c.out, type) << " axis " << c.axis;
      expectPaddingIntact(out);
    }
  }
}

TEST(KernelsConcatenate, RefusesMismatchedInputs) {
  const DeviceTensor a = makeTensor({2, 3}, DataType::kFLOAT, randomValues(6, 1));
  const DeviceTensor b = makeTensor({4, 3}, DataType::kFLOAT, randomValues(12, 2));
  const DeviceTensor out = makeOutput({2, 6}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::concatenate(cache(), stream(), {a, b}, 1, out); },
      "concatenate: input 1 shape (4, 3) does not match output (2, 6)"));
  const DeviceTensor half = makeTensor({2, 3}, DataType::kHALF, randomValues(6, 3));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::concatenate(cache(), stream(), {a, half}, 1, out); }, "concatenate: input 1 has type HALF"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::concatenate(cache(), stream(), {a, a}, 2, out); }, "axis 2 is out of range"));
  const DeviceTensor longer = makeOutput({2, 7}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::concatenate(cache(), stream(), {a, a}, 1, longer); }, "add up to 6"));
}

// ---- Softmax -------------------------------------------------------------------------------

TEST(KernelsSoftmax, RowsAndColumnsLogAndNotInFloatAndHalf) {
  struct Case {
    Dims shape;
    int axis;
  };
  const std::vector<Case> cases = {{{3, 37}, 1},  {{1}, 0},       {{2, 300}, -1},
                                   {{2, 13, 5}, 1}, {{7, 3, 2}, 0}, {{4, 1, 3}, 1}};
  std::uint32_t seed = 700;
  for (const Case& c : cases) {
    for (DataType type : kFloatingTypes) {
      for (bool log : {false, true}) {
        // Inputs up to +-100: exp(100) overflows float, so only a stable softmax passes.
        const auto values = stored(randomValues(static_cast<std::size_t>(c.shape.volume()), seed++, 100.0), type);
        const DeviceTensor in = makeTensor(c.shape, type, values);
        const DeviceTensor out = makeOutput(c.shape, type);
        cl::softmax(cache(), stream(), c.axis, log, in, out);

        const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.shape.rank()) : c.axis;
        const auto strides = stridesOf(c.shape);
        std::vector<double> expected(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
          const auto coordinates = unravel(static_cast<std::int64_t>(i), c.shape);
          const std::int64_t first = static_cast<std::int64_t>(i) - coordinates[axis] * strides[axis];
          double maximum = -INFINITY, sum = 0;
          for (std::int64_t j = 0; j < c.shape[axis]; ++j) maximum = std::max(maximum, values[first + j * strides[axis]]);
          for (std::int64_t j = 0; j < c.shape[axis]; ++j) sum += std::exp(values[first + j * strides[axis]] - maximum);
          expected[i] = log ? values[i] - maximum - std::log(sum) : std::exp(values[i] - maximum) / sum;
        }
        // Log-softmax values reach -200; their error is relative to the inputs' scale.
        expectClose(read(out), expected, type,
                    std::string(log ? "log" : "") + "softmax " + shapeName(c.shape, type) +
                        " axis " + std::to_string(c.axis),
                    std::vector<double>(values.size(), log ? 100.0 : 1.0));
        expectPaddingIntact(out);
      }
    }
  }
}

TEST(KernelsSoftmax, RefusesBadAxis) {
  const DeviceTensor in = makeTensor({2, 3}, DataType::kFLOAT, randomValues(6, 1));
  const DeviceTensor out = makeOutput({2, 3}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] { cl::softmax(cache(), stream(), 2, false, in, out); },
                                          "softmax: axis 2 is out of range for rank 2"));
}

// ---- Reduce --------------------------------------------------------------------------------

TEST(KernelsReduce, EveryOperationOverSeveralAxisSetsInFloatAndHalf) {
  struct Case {
    Dims shape;
    std::uint32_t axes;
  };
  const std::vector<Case> cases = {
      {{3, 300}, 0b10},      // long rows: a work-group per output
      {{300, 5}, 0b01},      // kept axis innermost: an item per output
      {{2, 7, 13}, 0b101},   // outer and inner axes together
      {{4, 37}, 0b11},       // everything to one value
      {{2, 3, 5, 7}, 0b0110},
      {{5, 3}, 0},           // nothing reduced: a copy
      {{1}, 0b1},
  };
  const std::vector<ReduceOperation> ops = {ReduceOperation::kSUM, ReduceOperation::kPROD,
                                            ReduceOperation::kMAX, ReduceOperation::kMIN,
                                            ReduceOperation::kAVG};
  std::uint32_t seed = 800;
  for (const Case& c : cases) {
    std::vector<std::int64_t> out_extents;
    for (std::size_t axis = 0; axis < c.shape.rank(); ++axis) {
      out_extents.push_back((c.axes >> axis) & 1u ? 1 : c.shape[axis]);  // keep_dimensions form
    }
    const Dims out_shape(out_extents);
    for (ReduceOperation op : ops) {
      for (DataType type : kFloatingTypes) {
        auto values = randomValues(static_cast<std::size_t>(c.shape.volume()), seed++);
        // Products of hundreds of factors: keep them near 1 so the result stays representable.
        if (op == ReduceOperation::kPROD) for (double& v : values) v = v > 0 ? 1.0 + v / 100 : -1.0 + v / 100;
        values = stored(values, type);
        const DeviceTensor in = makeTensor(c.shape, type, values);
        const DeviceTensor out = makeOutput(out_shape, type);
        cl::reduce(cache(), stream(), op, c.axes, in, out);

        std::vector<double> expected(static_cast<std::size_t>(out_shape.volume()));
        std::vector<double> magnitudes(expected.size(), 0.0);
        std::vector<std::int64_t> counts(expected.size(), 0);
        const double identity = op == ReduceOperation::kPROD ? 1.0
                                : op == ReduceOperation::kMAX ? -INFINITY
                                : op == ReduceOperation::kMIN ? INFINITY : 0.0;
        std::fill(expected.begin(), expected.end(), identity);
        for (std::size_t i = 0; i < values.size(); ++i) {
          auto coordinates = unravel(static_cast<std::int64_t>(i), c.shape);
          for (std::size_t axis = 0; axis < coordinates.size(); ++axis) {
            if ((c.axes >> axis) & 1u) coordinates[axis] = 0;
          }
          const auto strides = stridesOf(out_shape);
          std::int64_t o = 0;
          for (std::size_t axis = 0; axis < coordinates.size(); ++axis) o += coordinates[axis] * strides[axis];
          double& e = expected[o];
          const double v = values[i];
          if (op == ReduceOperation::kPROD) e *= v;
          else if (op == ReduceOperation::kMAX) e = std::max(e, v);
          else if (op == ReduceOperation::kMIN) e = std::min(e, v);
          else e += v;
          magnitudes[o] += std::fabs(v);
          ++counts[o];
        }
        for (std::size_t o = 0; o < expected.size(); ++o) {
          if (op == ReduceOperation::kAVG) {
            expected[o] /= static_cast<double>(counts[o]);
            magnitudes[o] /= static_cast<double>(counts[o]);
          }
          if (op == ReduceOperation::kPROD || op == ReduceOperation::kMAX || op == ReduceOperation::kMIN) {
            magnitudes[o] = std::fabs(expected[o]) * 10;
          }
        }
        expectClose(read(out), expected, type,
                    "reduce op " + std::to_string(static_cast<int>(op)) + " " +
                        shapeName(c.shape, type) + " axes " + std::to_string(c.axes),
                    magnitudes);
        expectPaddingIntact(out);
      }
    }
  }
}

TEST(KernelsReduce, RefusesWrongOutput) {
  const DeviceTensor in = makeTensor({4, 5}, DataType::kFLOAT, randomValues(20, 1));
  const DeviceTensor out = makeOutput({5}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::reduce(cache(), stream(), ReduceOperation::kSUM, 0b10, in, out); },
      "reduce: output shape (5) has volume 5; reducing input (4, 5) gives 4"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::reduce(cache(), stream(), ReduceOperation::kSUM, 0b100, in, out); },
      "names axes beyond rank 2"));
}

// ---- Normalization -------------------------------------------------------------------------

// Layer norms over the last axis up to 1024 wide with per-column scale and bias take the kernel of
// one row per 32 items (normalization_rows); the others, and 1025 wide, the general one. Each
// case also with a residual of x's shape added before normalizing; cases of both kernels (marked)
// also with two, the second repeated over the leading axis (BERT's position embeddings), and with
// those three operands passed in another order (the kernel takes the one of the output's shape as
// x). Every option set is a program PoCL compiles, so the two-residual forms run where they cover
// a kernel and a layout, not everywhere. The row cases whose rows are multiples of 8 run again with
// tactic rows_vec8 (8 consecutive values per load; 264 wide: a partial second chunk per item).
TEST(KernelsNormalization, LayerInstanceAndBatchStyleInFloatAndHalf) {
  struct Case {
    Dims shape;
    std::uint32_t axes;
    Dims scale;  // the bias has the same shape
    bool two_residuals = false;
  };
  const std::vector<Case> cases = {
      {{4, 37}, 0b10, {37}, true},            // layer norm
      {{2, 3, 5, 7}, 0b1100, {1, 3, 1, 1}, true},  // instance norm, per-channel scale
      {{13, 3}, 0b01, {3}},                   // batch-norm style: over the batch
      {{2, 300}, 0b10, {1}},                  // long rows, scalar scale
      {{3, 2, 5}, 0b110, {2, 5}},             // over two axes, scale over both
      {{9, 1}, 0b10, {1}},                    // rows of one value
      {{3, 32}, 0b10, {32}},                  // one value per item
      {{11, 33}, 0b10, {1, 33}},              // one past a warp
      {{2, 9, 768}, 0b100, {768}, true},      // BERT-base rows, a partial group of 8 rows
      {{2, 1024}, 0b10, {1024}},              // the rows kernel's widest
      {{2, 1025}, 0b10, {1025}, true},        // the general kernel again
      {{7, 264}, 0b10, {264}, true},          // 8-wide chunks: 33 of them, two per item for some
      {{1, 8}, 0b10, {8}},                    // one chunk
  };
  enum class Residuals { kNone, kOne, kTwo, kTwoReordered };
  const float epsilon = 1e-3f;
  std::uint32_t seed = 900;
  for (const std::string tactic : {"", cl::kNormalizationRowsVec8}) for (const Case& c : cases) {
    const std::int64_t columns = c.shape[c.shape.rank() - 1];
    const bool rows = c.axes == (1u << (c.shape.rank() - 1)) && c.scale.volume() == columns && columns <= 1024;
    if (!tactic.empty() && !(rows && columns % 8 == 0)) continue;
    for (DataType type : kFloatingTypes) {
      for (Residuals mode : {Residuals::kNone, Residuals::kOne, Residuals::kTwo, Residuals::kTwoReordered}) {
        if (!c.two_residuals && (mode == Residuals::kTwo || mode == Residuals::kTwoReordered)) continue;
        std::vector<std::int64_t> repeated_extents = c.shape.extents();
        repeated_extents[0] = 1;
        const Dims repeated_shape(repeated_extents);  // x's shape with axis 0 broadcast
        const auto x_values = stored(randomValues(static_cast<std::size_t>(c.shape.volume()), seed++, 3.0), type);
        const auto residual_values = stored(randomValues(x_values.size(), seed++, 2.0), type);
        const auto repeated_values =
            stored(randomValues(static_cast<std::size_t>(repeated_shape.volume()), seed++, 2.0), type);
        std::vector<double> values = x_values;
        for (std::size_t i = 0; i < values.size(); ++i) {
          if (mode != Residuals::kNone) values[i] += residual_values[i];
          if (mode == Residuals::kTwo || mode == Residuals::kTwoReordered) {
            values[i] += repeated_values[i % repeated_values.size()];
          }
        }
        const auto scale_values = stored(randomValues(static_cast<std::size_t>(c.scale.volume()), seed++), type);
        const auto bias_values = stored(randomValues(static_cast<std::size_t>(c.scale.volume()), seed++), type);
        const DeviceTensor x = makeTensor(c.shape, type, x_values);
        const DeviceTensor residual = makeTensor(c.shape, type, residual_values);
        const DeviceTensor repeated = makeTensor(repeated_shape, type, repeated_values);
        const DeviceTensor scale = makeTensor(c.scale, type, scale_values);
        const DeviceTensor bias = makeTensor(c.scale, type, bias_values);
        const DeviceTensor out = makeOutput(c.shape, type);
        switch (mode) {
          case Residuals::kNone: cl::normalization(cache(), stream(), c.axes, epsilon, x, scale, bias, out, {}, tactic); break;
          case Residuals::kOne:
            cl::normalization(cache(), stream(), c.axes, epsilon, x, scale, bias, out, {&residual}, tactic);
            break;
          case Residuals::kTwo:
            cl::normalization(cache(), stream(), c.axes, epsilon, x, scale, bias, out, {&residual, &repeated}, tactic);
            break;
          case Residuals::kTwoReordered:
            cl::normalization(cache(), stream(), c.axes, epsilon, repeated, scale, bias, out, {&residual, &x}, tactic);
            break;
        }
        const std::string residual_names[] = {"", " with a residual", " with two residuals, one repeated",
                                              " with two residuals, reordered"};

        // Group elements by their kept coordinates.
        const auto group_of = [&](std::size_t i) {
          auto coordinates = unravel(static_cast<std::int64_t>(i), c.shape);
          std::int64_t key = 0;
          for (std::size_t axis = 0; axis < coordinates.size(); ++axis) {
            key = key * c.shape[axis] + (((c.axes >> axis) & 1u) ? 0 : coordinates[axis]);
          }
          return key;
        };
        std::map<std::int64_t, std::vector<double>> groups;
        for (std::size_t i = 0; i < values.size(); ++i) groups[group_of(i)].push_back(values[i]);
        std::map<std::int64_t, std::pair<double, double>> moments;
        for (const auto& [key, members] : groups) {
          const double mean = std::accumulate(members.begin(), members.end(), 0.0) / members.size();
          double variance = 0;
          for (double v : members) variance += (v - mean) * (v - mean);
          moments[key] = {mean, variance / members.size()};
        }
        std::vector<double> expected(values.size()), magnitudes(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
          const auto [mean, variance] = moments[group_of(i)];
          const auto coordinates = unravel(static_cast<std::int64_t>(i), c.shape);
          const double s = scale_values[broadcastIndex(coordinates, c.scale)];
          const double b = bias_values[broadcastIndex(coordinates, c.scale)];
          const double normalized = (values[i] - mean) / std::sqrt(variance + epsilon);
          expected[i] = normalized * s + b;
          magnitudes[i] = std::fabs(normalized * s) + std::fabs(b) + 1.0;
        }
        expectClose(read(out), expected, type,
                    "normalization " + shapeName(c.shape, type) + " axes " + std::to_string(c.axes) +
                        residual_names[static_cast<int>(mode)] + (tactic.empty() ? "" : " tactic " + tactic),
                    magnitudes);
        expectPaddingIntact(out);
      }
    }
  }
}

// Which tactics a normalization can run with (the builder times the two where both apply), and the
// rows_vec8 tactic refused by name where rows or a residual's period are not multiples of 8.
TEST(KernelsNormalization, TacticsFollowTheShapes) {
  using Tactics = std::vector<std::string>;
  const Tactics both = {cl::kNormalizationRows, cl::kNormalizationRowsVec8};
  EXPECT_EQ(cl::normalizationTactics(0b100, Dims{2, 9, 768}, Dims{768}, Dims{768}, {Dims{2, 9, 768}, Dims{1, 9, 768}}), both);
  EXPECT_EQ(cl::normalizationTactics(0b10, Dims{4, 37}, Dims{37}, Dims{37}, {Dims{4, 37}}), Tactics{cl::kNormalizationRows});
  EXPECT_EQ(cl::normalizationTactics(0b10, Dims{4, 16}, Dims{16}, Dims{16}, {Dims{4, 16}, Dims{1, 4}}),
            Tactics{cl::kNormalizationRows});  // a residual repeating every 4 values
  EXPECT_EQ(cl::normalizationTactics(0b10, Dims{2, 2048}, Dims{2048}, Dims{2048}, {Dims{2, 2048}}), Tactics{});
  EXPECT_EQ(cl::normalizationTactics(0b11, Dims{4, 16}, Dims{16}, Dims{16}, {Dims{4, 16}}), Tactics{});
  const DeviceTensor in = makeTensor({3, 12}, DataType::kFLOAT, randomValues(36, 1));
  const DeviceTensor scale = makeTensor({12}, DataType::kFLOAT, randomValues(12, 2));
  const DeviceTensor out = makeOutput({3, 12}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::normalization(cache(), stream(), 0b10, 1e-5f, in, scale, scale, out, {}, cl::kNormalizationRowsVec8); },
      "normalization: tactic rows_vec8 needs rows and residual periods that are multiples of 8, got input (3, 12)"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::normalization(cache(), stream(), 0b10, 1e-5f, in, scale, scale, out, {}, "rows_vec16"); },
      "normalization: unknown tactic 'rows_vec16'"));
}

TEST(KernelsNormalization, RefusesScaleThatDoesNotBroadcast) {
  const DeviceTensor in = makeTensor({4, 5}, DataType::kFLOAT, randomValues(20, 1));
  const DeviceTensor scale = makeTensor({4}, DataType::kFLOAT, randomValues(4, 2));
  const DeviceTensor bias = makeTensor({5}, DataType::kFLOAT, randomValues(5, 3));
  const DeviceTensor out = makeOutput({4, 5}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::normalization(cache(), stream(), 0b10, 1e-5f, in, scale, bias, out); },
      "normalization: scale shape (4) does not broadcast to output (4, 5)"));
  const DeviceTensor short_residual = makeTensor({4, 4}, DataType::kFLOAT, randomValues(16, 4));
  const DeviceTensor good_scale = makeTensor({5}, DataType::kFLOAT, randomValues(5, 5));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::normalization(cache(), stream(), 0b10, 1e-5f, in, good_scale, bias, out, {&short_residual}); },
      "normalization: residual"));
  // Broadcast along an axis after a whole one: not a repetition of rows.
  const DeviceTensor column_residual = makeTensor({4, 1}, DataType::kFLOAT, randomValues(4, 6));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::normalization(cache(), stream(), 0b10, 1e-5f, in, good_scale, bias, out, {&column_residual}); },
      "normalization: residual (4, 1) neither has the input's shape (4, 5) nor repeats over its leading axes"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::normalization(cache(), stream(), 0b10, 1e-5f, in, good_scale, bias, out, {&good_scale, &bias, &in});
      },
      "normalization: 3 residuals, at most 2"));
}

// ---- Matrix multiplication -----------------------------------------------------------------

struct GemmCase {
  Dims a, b, out;
  bool a_trans, b_trans;
  bool bias;
  bool has_activation;
  ActivationCase activation;
};

const std::vector<GemmCase> kGemmCases = {
    // GEMV-like: one row, prime N and K.
    {{1, 13}, {13, 37}, {1, 37}, false, false, false, false, {}},
    {{1, 13}, {37, 13}, {1, 37}, false, true, true, true, {ActivationType::kRELU, 0, 0}},
    // Small batches of rows, transposed a, fused bias and activation.
    {{37, 7}, {37, 13}, {7, 13}, true, false, true, true, {ActivationType::kGELU_TANH, 0, 0}},
    {{5, 29}, {70, 29}, {5, 70}, false, true, true, false, {}},
    // Sizes that cross the 32, 64 and 128 tiles unevenly.
    {{67, 65}, {65, 129}, {67, 129}, false, false, true, true, {ActivationType::kSIGMOID, 0, 0}},
    {{65, 67}, {129, 65}, {67, 129}, true, true, false, false, {}},
    // Batch of a folded into rows (b is one matrix).
    {{3, 5, 7}, {7, 11}, {3, 5, 11}, false, false, true, true, {ActivationType::kLEAKY_RELU, 0.1f, 0}},
    // One (transposed) a for a whole batch of b: a's batch stride is 0.
    {{7, 5}, {2, 3, 7, 6}, {2, 3, 5, 6}, true, false, false, false, {}},
    // Batched both, leading 1 in a's batch.
    {{1, 2, 9, 4}, {2, 9, 6}, {2, 4, 6}, true, false, true, false, {}},
    // K = 0: the product is zero and only the epilogue remains.
    {{2, 0}, {0, 3}, {2, 3}, false, false, true, true, {ActivationType::kTANH, 0, 0}},
    // Deep K on few columns: the row kernels' _splitk variants split K across work-groups here
    // (1 row: 2 groups of 32 columns, K in 8 slices of 125 on a 2-unit CPU; 3 rows of b^T: 9 groups
    // of 8 columns, 2 slices).
    {{1, 1000}, {1000, 37}, {1, 37}, false, false, true, true, {ActivationType::kRELU, 0, 0}},
    {{3, 777}, {70, 777}, {3, 70}, false, true, true, false, {}},
    // Columns in fours of a K x N b: the row kernels load 4 neighbouring columns at once (-DSMALL_VEC4),
    // here split across work-groups too; and a batch of b matrices, 5 rows, bias and activation.
    {{1, 1000}, {1000, 40}, {1, 40}, false, false, true, true, {ActivationType::kRELU, 0, 0}},
    {{2, 5, 31}, {2, 31, 12}, {2, 5, 12}, false, false, true, true, {ActivationType::kSIGMOID, 0, 0}},
};

// `b_padding`: elements before b in its buffer (kPadding: b unaligned; a multiple of 4: aligned loads).
void checkGemm(const std::string& tactic, const GemmCase& c, DataType type, std::uint32_t seed,
               std::size_t b_padding = kPadding) {
  const auto a_values = stored(randomValues(static_cast<std::size_t>(c.a.volume()), seed), type);
  const auto b_values = stored(randomValues(static_cast<std::size_t>(c.b.volume()), seed + 1), type);
  const std::int64_t m = c.out[c.out.rank() - 2], n = c.out[c.out.rank() - 1];
  const std::int64_t k = c.a_trans ? c.a[c.a.rank() - 2] : c.a[c.a.rank() - 1];
  const auto bias_values = stored(randomValues(static_cast<std::size_t>(n), seed + 2), type);
  const DeviceTensor a = makeTensor(c.a, type, a_values);
  const DeviceTensor b = makeTensor(c.b, type, b_values, b_padding);
  const DeviceTensor bias = makeTensor({n}, type, bias_values);
  const DeviceTensor out = makeOutput(c.out, type);
  cl::GemmEpilogue epilogue;
  epilogue.bias = c.bias ? &bias : nullptr;
  epilogue.has_activation = c.has_activation;
  epilogue.activation = c.activation.type;
  epilogue.alpha = c.activation.alpha;
  epilogue.beta = c.activation.beta;
  // The workspace a split-K tactic takes, as an execution context gives it.
  const std::size_t workspace_bytes = cl::gemmWorkspaceBytes(cl::GemmTactic{tactic}, *context());
  const DeviceTensor workspace{at(allocate(std::max<std::size_t>(workspace_bytes, 4))),
                               Dims{static_cast<std::int64_t>(std::max<std::size_t>(workspace_bytes, 4) / 4)},
                               DataType::kFLOAT};
  cl::matrixMultiply(cache(), stream(), cl::GemmTactic{tactic}, a,
                     c.a_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, b,
                     c.b_trans ? MatrixOperation::kTRANSPOSE : MatrixOperation::kNONE, epilogue, out,
                     workspace_bytes > 0 ? &workspace : nullptr);

  const std::int64_t batch = c.out.volume() / (m * n);
  const std::int64_t a_matrices = c.a.volume() / std::max<std::int64_t>(m * k, 1);
  const std::int64_t b_matrices = c.b.volume() / std::max<std::int64_t>(k * n, 1);
  const GemmReference reference =
      referenceGemm(a_values, b_values, c.bias ? &bias_values : nullptr, batch, m, n, k, c.a_trans, c.b_trans,
                    a_matrices == 1 ? 0 : m * k, b_matrices == 1 ? 0 : k * n);
  std::vector<double> expected = reference.sums, magnitudes = reference.magnitudes;
  for (std::size_t o = 0; o < expected.size(); ++o) {
    if (c.has_activation) expected[o] = referenceActivation(c.activation, expected[o]);
    magnitudes[o] += 1.0;
  }
  expectClose(read(out), expected, type,
              "GEMM " + tactic + " a " + shapeName(c.a, type) + (c.a_trans ? "^T" : "") + " b " +
                  c.b.toString() + (c.b_trans ? "^T" : ""),
              magnitudes);
  expectPaddingIntact(out);
}

// The row kernels' aligned path (-DSMALL_VEC4): b K x N with N, its offset and batch stride multiples
// of 4 (weights as the builder stores them), in FLOAT and HALF; the cases above hold b unaligned.
TEST(KernelsGemm, RowKernelsLoadFourColumnsOfAlignedWeights) {
  std::uint32_t seed = 4000;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const char* tactic : {"small_m1", "small_m8", "small_m1_splitk", "small_m8_splitk", "small_m1_g1024"}) {
      for (const GemmCase& c : {kGemmCases[kGemmCases.size() - 2], kGemmCases.back()}) {
        checkGemm(tactic, c, type, seed += 10, 4);
      }
    }
  }
}

TEST(KernelsGemm, RowKernelsLoadEightColumnsOfAlignedHalfWeights) {
  // Half b at a 16-byte aligned offset, N and the batch stride multiples of 8: the one-row kernels
  // read 8 neighbouring columns at once (-DSMALL_VEC8), the 8-row ones 4 (their local partial sums
  // would not fit with 8); N = 12 falls back to 4 columns.
  const std::vector<GemmCase> cases = {
      {{1, 1000}, {1000, 40}, {1, 40}, false, false, true, true, {ActivationType::kRELU, 0, 0}},
      {{2, 5, 31}, {2, 31, 16}, {2, 5, 16}, false, false, true, true, {ActivationType::kSIGMOID, 0, 0}},
      {{3, 77}, {77, 12}, {3, 12}, false, false, true, false, {}},
  };
  std::uint32_t seed = 4500;
  for (const char* tactic : {"small_m1", "small_m8", "small_m1_splitk"}) {
    for (const GemmCase& c : cases) checkGemm(tactic, c, DataType::kHALF, seed += 10, 8);
  }
}

// b N x K (PyTorch's Linear weights, as FP16 engines keep them), K, b's offset and batch stride
// multiples of the width: the row kernels read b's rows along K, 8 half or 4 float values per load
// (-DSMALL_KVEC), a's rows as many; the split-K variants cut K in whole vectors. K = 1000 splits
// across work-groups; K = 12 in half reads 4 values; a transposed a reads one value at a time.
TEST(KernelsGemm, RowKernelsReadNByKWeightsAlongKInVectors) {
  const std::vector<GemmCase> cases = {
      {{1, 1000}, {37, 1000}, {1, 37}, false, true, true, true, {ActivationType::kRELU, 0, 0}},
      {{3, 776}, {70, 776}, {3, 70}, false, true, true, false, {}},
      {{2, 5, 32}, {2, 13, 32}, {2, 5, 13}, false, true, true, true, {ActivationType::kSIGMOID, 0, 0}},
      {{1, 8}, {5, 8}, {1, 5}, false, true, false, false, {}},
      {{7, 12}, {11, 12}, {7, 11}, false, true, true, false, {}},
      {{24, 3}, {9, 24}, {3, 9}, true, true, true, false, {}},
  };
  std::uint32_t seed = 4700;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    // One row unsplit, eight rows split, one row in groups of 1024: each program is a compile
    // (PoCL: about a second).
    for (const char* tactic : {"small_m1", "small_m8_splitk", "small_m1_g1024"}) {
      for (const GemmCase& c : cases) checkGemm(tactic, c, type, seed += 10, 8);
    }
  }
}

// small_m1_g1024 (work-groups of 1024 items, 128 along K of a K x N b) is timed only where b is
// big enough to stream and the rows few: the wide MLP's batch-1 layers, not the tutorial MLP's.
// Its K x N path with 4 columns per item against the reference at a K of 128 parts' worth and
// more (every part reads rows, the local tree adds 128 parts down to 8), and at K = 3 (most parts
// read nothing).
TEST(KernelsGemm, WideGroupRowKernelIsTimedOnLargeProductsOfFewRows) {
  const cl::GemmTactic wide{"small_m1_g1024"};
  const auto none = MatrixOperation::kNONE;
  EXPECT_TRUE(cl::gemmTacticWorthTiming(wide, Dims{1, 1024}, none, Dims{1024, 4096}, none, Dims{1, 4096}));
  EXPECT_TRUE(cl::gemmTacticWorthTiming(wide, Dims{4, 4096}, none, Dims{4096, 1024}, none, Dims{4, 1024}));
  EXPECT_FALSE(cl::gemmTacticWorthTiming(wide, Dims{5, 4096}, none, Dims{4096, 1024}, none, Dims{5, 1024}));
  EXPECT_FALSE(cl::gemmTacticWorthTiming(wide, Dims{64, 784}, none, Dims{784, 32}, none, Dims{64, 32}));
  EXPECT_FALSE(cl::gemmTacticWorthTiming(wide, Dims{1, 512}, none, Dims{512, 512}, none, Dims{1, 512}));
  // 128 items along K for each 8 column vectors; 256 for each 4 where 8 give fewer groups than
  // half the units (the H100's 132: a batch-1 layer of 1024 columns, not one of 4096).
  EXPECT_EQ(cl::wideRowKernelKSplit(1024, 1, 132), 128);
  EXPECT_EQ(cl::wideRowKernelKSplit(256, 1, 132), 256);
  EXPECT_EQ(cl::wideRowKernelKSplit(256, 4, 132), 128);
  EXPECT_EQ(cl::wideRowKernelKSplit(1, 1, 2), 128);
  EXPECT_EQ(cl::wideRowKernelKSplit(1, 1, 3), 256);
  const std::vector<GemmCase> cases = {
      {{1, 1031}, {1031, 44}, {1, 44}, false, false, true, true, {ActivationType::kRELU, 0, 0}},
      {{3, 3}, {3, 36}, {3, 36}, false, false, true, false, {}},
      {{2, 2, 257}, {2, 257, 8}, {2, 2, 8}, false, false, false, true, {ActivationType::kSIGMOID, 0, 0}},
  };
  std::uint32_t seed = 4900;
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    for (const GemmCase& c : cases) checkGemm(wide.name, c, type, seed += 10, 8);
  }
}

TEST(KernelsGemm, TacticsListClblastForFloatOnly) {
  const auto names = [](const std::vector<cl::GemmTactic>& tactics) {
    std::set<std::string> result;
    for (const auto& tactic : tactics) result.insert(tactic.name);
    return result;
  };
  const auto floats = names(cl::gemmTactics(*context(), DataType::kFLOAT));
  const auto halves = names(cl::gemmTactics(*context(), DataType::kHALF));
  EXPECT_TRUE(floats.count("clblast"));
  EXPECT_FALSE(halves.count("clblast"));
  EXPECT_TRUE(halves.count("tiled_m4n4_k16"));
  EXPECT_TRUE(halves.count("small_m8"));
  // Tensor-core variants (gemm_mma.cpp, "mma_" names) are offered for HALF where their probe
  // passes, and for FLOAT only when TF32 is allowed (not here); the other families offer both.
  const auto is_mma = [](const std::string& name) { return name.rfind("mma_", 0) == 0; };
  EXPECT_EQ(std::count_if(floats.begin(), floats.end(), is_mma), 0);
  const auto half_mma = static_cast<std::size_t>(std::count_if(halves.begin(), halves.end(), is_mma));
  EXPECT_EQ(floats.size(), halves.size() - half_mma + 1);
  EXPECT_TRUE(cl::gemmTactics(*context(), DataType::kINT32).empty());
}

TEST(KernelsGemm, EveryFloatTacticOnEveryCase) {
  std::uint32_t seed = 1000;
  for (const auto& tactic : cl::gemmTactics(*context(), DataType::kFLOAT)) {
    for (const GemmCase& c : kGemmCases) checkGemm(tactic.name, c, DataType::kFLOAT, seed += 3);
  }
}

TEST(KernelsGemm, EveryHalfTacticOnEveryCase) {
  std::uint32_t seed = 2000;
  for (const auto& tactic : cl::gemmTactics(*context(), DataType::kHALF)) {
    for (const GemmCase& c : kGemmCases) checkGemm(tactic.name, c, DataType::kHALF, seed += 3);
  }
}

TEST(KernelsGemm, RefusesBadOperandsAndTactics) {
  const DeviceTensor a = makeTensor({4, 5}, DataType::kFLOAT, randomValues(20, 1));
  const DeviceTensor b = makeTensor({6, 3}, DataType::kFLOAT, randomValues(18, 2));
  const DeviceTensor b_ok = makeTensor({5, 3}, DataType::kFLOAT, randomValues(15, 3));
  const DeviceTensor out = makeOutput({4, 3}, DataType::kFLOAT);
  const auto none = MatrixOperation::kNONE;
  const cl::GemmTactic tiled{"tiled_m4n4_k16"};
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, a, none, b, none, {}, out); },
      "matrixMultiply: operand b shape (6, 3) has K = 6 but operand a shape (4, 5) has K = 5"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), cl::GemmTactic{"fastest"}, a, none, b_ok, none, {}, out); },
      "unknown GEMM tactic 'fastest'"));
  const DeviceTensor ha = makeTensor({4, 5}, DataType::kHALF, randomValues(20, 1));
  const DeviceTensor hb = makeTensor({5, 3}, DataType::kHALF, randomValues(15, 3));
  const DeviceTensor hout = makeOutput({4, 3}, DataType::kHALF);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), cl::GemmTactic{"clblast"}, ha, none, hb, none, {}, hout); },
      "tactic 'clblast' cannot run HALF operands"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, ha, none, b_ok, none, {}, hout); },
      "must share one storage type"));
  const DeviceTensor bias = makeTensor({4}, DataType::kFLOAT, randomValues(4, 4));
  cl::GemmEpilogue epilogue;
  epilogue.bias = &bias;
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, a, none, b_ok, none, epilogue, out); },
      "matrixMultiply: bias shape (4) does not have the output's 3 columns"));
  DeviceTensor outside = out;
  outside.shape = Dims{5, 3};
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, a, none, b_ok, none, {}, outside); },
      "matrixMultiply: output"));
  const DeviceTensor wrong_out = makeOutput({4, 4}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, a, none, b_ok, none, {}, wrong_out); },
      "output shape (4, 4) does not end in (4, 3)"));
  const DeviceTensor batched_a = makeTensor({2, 4, 5}, DataType::kFLOAT, randomValues(40, 5));
  const DeviceTensor batched_out = makeOutput({3, 4, 3}, DataType::kFLOAT);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::matrixMultiply(cache(), stream(), tiled, batched_a, none, b_ok, none, {}, batched_out); },
      "matrixMultiply: operand a shape (2, 4, 5) has a batch that is neither the output's"));
}

// ---- Sources and the cache -------------------------------------------------------------------

TEST(KernelsCache, FamiliesSourcesAndPrograms) {
  const auto families = cl::kernelFamilies();
  for (const char* family : {"elementwise", "activation", "copy", "softmax", "reduce", "normalization", "gemm"}) {
    EXPECT_NE(std::find(families.begin(), families.end(), family), families.end()) << family;
  }
  for (const char* prelude : {"common", "mma", "convolution_common", "attention_common"}) {  // prepended, not families
    EXPECT_EQ(std::find(families.begin(), families.end(), prelude), families.end()) << prelude;
  }
  EXPECT_NE(cl::kernelSource("convolution").find("finish_sliced_element"), std::string::npos);
  EXPECT_NE(cl::kernelSource("convolution_mma").find("finish_sliced_element"), std::string::npos);
  for (const char* attention : {"attention", "attention_mma"}) {
    EXPECT_NE(cl::kernelSource(attention).find("inline float load_mask"), std::string::npos) << attention;
  }
  EXPECT_EQ(cl::kernelSource("gemm").find("finish_sliced_element"), std::string::npos);
  EXPECT_NE(cl::kernelSource("gemm").find("gemm_tiled"), std::string::npos);
  EXPECT_TRUE(throwsWith<InvalidArgument>([] { cl::kernelSource("nope"); }, "unknown kernel family 'nope'"));

  cl::KernelCache fresh(context());
  EXPECT_TRUE(fresh.programs().empty());
  const DeviceTensor in = makeTensor({5}, DataType::kHALF, randomValues(5, 1));
  const DeviceTensor out = makeOutput({5}, DataType::kFLOAT);
  cl::unary(fresh, stream(), UnaryOperation::kNEG, in, out);
  cl::activation(fresh, stream(), ActivationType::kRELU, 0, 0, in, out);
  const auto programs = fresh.programs();
  ASSERT_EQ(programs.size(), 1u);  // unary and activation share one program
  EXPECT_EQ(programs[0].family, "activation");
  EXPECT_EQ(programs[0].options, "-DIN_HALF");
  cl::Kernel& again = fresh.get("activation", "-DIN_HALF", "unary");
  EXPECT_EQ(&again, &fresh.get("activation", "-DIN_HALF", "unary"));
}

// Tensors of 2^31 elements and more switch index arithmetic to 64 bits (-DINDEX64). They are too
// large to run here, so at least every family must compile that way.
TEST(KernelsCache, WideIndexVariantsCompile) {
  cl::KernelCache wide(context());
  EXPECT_NO_THROW(wide.get("elementwise", "-DINDEX64", "elementwise"));
  EXPECT_NO_THROW(wide.get("activation", "-DIN_HALF -DINDEX64", "unary"));
  EXPECT_NO_THROW(wide.get("copy", "-DSRC_HALF -DDST_INT64 -DINDEX64", "copy_strided"));
  EXPECT_NO_THROW(wide.get("softmax", "-DINDEX64", "softmax_rows"));
  EXPECT_NO_THROW(wide.get("reduce", "-DINDEX64", "reduce_group"));
  EXPECT_NO_THROW(wide.get("normalization", "-DINDEX64", "normalization"));
}

}  // namespace
}  // namespace mlprt::test
