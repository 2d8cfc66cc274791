// Integer and BOOL tensors in the element-wise, select, unary and reduce kernels
// (backend/opencl/kernels.h), against exact 64-bit CPU references with the wrapping, truncating
// semantics ONNX Runtime has; and floating comparisons writing BOOL.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

DeviceTensor makeTensor(const Dims& shape, DataType type, const std::vector<std::int64_t>& values) {
  auto buffer = allocate(std::max<std::size_t>(1, values.size()) * elementSize(type) + 8);
  upload(stream(), at(buffer, 8), encodeAs(values, type));
  return DeviceTensor{at(buffer, 8), shape, type};
}

DeviceTensor makeOutput(const Dims& shape, DataType type) {
  return makeTensor(shape, type, std::vector<std::int64_t>(static_cast<std::size_t>(shape.volume()), 55));
}

std::vector<std::int64_t> read(const DeviceTensor& tensor) {
  const std::size_t bytes = static_cast<std::size_t>(tensor.shape.volume()) * elementSize(tensor.type);
  return decodeAs<std::int64_t>(download<unsigned char>(stream(), tensor.range, bytes), tensor.type);
}

// Wraps a 64-bit result into `type` the way a C conversion to the narrower type does.
std::int64_t wrapTo(DataType type, std::int64_t value) {
  switch (type) {
    case DataType::kINT8: return static_cast<std::int8_t>(value);
    case DataType::kUINT8: return static_cast<std::uint8_t>(value);
    case DataType::kINT32: return static_cast<std::int32_t>(value);
    case DataType::kBOOL: return value != 0;
    default: return value;
  }
}

std::int64_t wrappingAdd(std::int64_t x, std::int64_t y) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) + static_cast<std::uint64_t>(y));
}
std::int64_t wrappingMul(std::int64_t x, std::int64_t y) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) * static_cast<std::uint64_t>(y));
}

std::int64_t referenceDiv(std::int64_t x, std::int64_t y) {
  if (y == 0) return 0;
  if (y == -1) return static_cast<std::int64_t>(0ull - static_cast<std::uint64_t>(x));
  return x / y;
}

std::int64_t referencePow(std::int64_t x, std::int64_t y) {
  if (y < 0) return x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0);
  std::int64_t result = 1;
  for (std::int64_t i = 0; i < y; ++i) result = wrappingMul(result, x);
  return result;
}

std::int64_t referenceBinary(ElementWiseOperation op, std::int64_t x, std::int64_t y) {
  switch (op) {
    case ElementWiseOperation::kSUM: return wrappingAdd(x, y);
    case ElementWiseOperation::kPROD: return wrappingMul(x, y);
    case ElementWiseOperation::kMAX: return std::max(x, y);
    case ElementWiseOperation::kMIN: return std::min(x, y);
    case ElementWiseOperation::kSUB: return wrappingAdd(x, -y);
    case ElementWiseOperation::kDIV: return referenceDiv(x, y);
    case ElementWiseOperation::kPOW: return referencePow(x, y);
    case ElementWiseOperation::kFLOOR_DIV: {
      const std::int64_t q = referenceDiv(x, y);
      return (y != 0 && y != -1 && x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
    }
    case ElementWiseOperation::kAND: return x && y;
    case ElementWiseOperation::kOR: return x || y;
    case ElementWiseOperation::kXOR: return (x != 0) != (y != 0);
    case ElementWiseOperation::kEQUAL: return x == y;
    case ElementWiseOperation::kGREATER: return x > y;
    case ElementWiseOperation::kLESS: return x < y;
    case ElementWiseOperation::kMOD: return wrappingAdd(x, -wrappingMul(referenceBinary(ElementWiseOperation::kFLOOR_DIV, x, y), y));
    case ElementWiseOperation::kFMOD: return wrappingAdd(x, -wrappingMul(referenceDiv(x, y), y));
    case ElementWiseOperation::kBITWISE_AND: return x & y;
    case ElementWiseOperation::kBITWISE_OR: return x | y;
    case ElementWiseOperation::kBITWISE_XOR: return x ^ y;
    case ElementWiseOperation::kSHIFT_LEFT:
    case ElementWiseOperation::kSHIFT_RIGHT: break;  // depend on the type's width: referenceShift
  }
  return 0;
}

// A shift of a `type` value as ONNX's reference shifts: counts outside [0, width) shift every bit
// out; right shifts of signed types are arithmetic.
std::int64_t referenceShift(ElementWiseOperation op, DataType type, std::int64_t x, std::int64_t y) {
  const auto width = static_cast<std::int64_t>(elementSize(type) * 8);
  if (y < 0 || y >= width) return op == ElementWiseOperation::kSHIFT_LEFT ? 0 : (x < 0 ? -1 : 0);
  if (op == ElementWiseOperation::kSHIFT_RIGHT) return x >> y;
  return wrapTo(type, static_cast<std::int64_t>(static_cast<std::uint64_t>(x) << y));
}

// Random values of `type`, zeros and extremes included.
std::vector<std::int64_t> randomIntegers(std::size_t count, DataType type, std::uint32_t seed) {
  std::mt19937 engine(seed);
  std::int64_t low = -100, high = 100;
  if (type == DataType::kUINT8) low = 0, high = 255;
  if (type == DataType::kINT8) low = -128, high = 127;
  if (type == DataType::kBOOL) low = 0, high = 1;
  if (type == DataType::kINT64) low = -3'000'000'000LL, high = 3'000'000'000LL;
  std::uniform_int_distribution<std::int64_t> pick(low, high);
  std::vector<std::int64_t> values(count);
  for (auto& v : values) v = pick(engine);
  if (count > 3 && type != DataType::kBOOL) values[1] = 0, values[2] = low, values[3] = high;
  return values;
}

const std::vector<DataType> kIntegerTypes = {DataType::kINT8, DataType::kUINT8, DataType::kINT32,
                                             DataType::kINT64};

// Runs `op` on a (3, 1, 7) and b (1, 5, 7) of `type` and checks every element of (3, 5, 7).
void checkBinary(ElementWiseOperation op, DataType type, DataType out_type, std::uint32_t seed) {
  const Dims a_shape{3, 1, 7}, b_shape{1, 5, 7}, out_shape{3, 5, 7};
  std::vector<std::int64_t> a = randomIntegers(21, type, seed), b = randomIntegers(35, type, seed + 1);
  if (op == ElementWiseOperation::kPOW) {
    for (auto& v : b) v = std::abs(v) % 5 - (type == DataType::kUINT8 ? 0 : 1);  // small, -1 where signed
  }
  const DeviceTensor ta = makeTensor(a_shape, type, a), tb = makeTensor(b_shape, type, b);
  const DeviceTensor out = makeOutput(out_shape, out_type);
  cl::elementWise(cache(), stream(), op, ta, tb, out);
  const std::vector<std::int64_t> actual = read(out);
  for (std::int64_t i = 0; i < 3; ++i) {
    for (std::int64_t j = 0; j < 5; ++j) {
      for (std::int64_t k = 0; k < 7; ++k) {
        const std::int64_t x = a[i * 7 + k], y = b[j * 7 + k];
        const std::int64_t expected = wrapTo(out_type, referenceBinary(op, x, y));
        ASSERT_EQ(actual[(i * 5 + j) * 7 + k], expected)
            << "op " << static_cast<int>(op) << " " << dataTypeName(type) << ": " << x << ", " << y;
      }
    }
  }
}

TEST(IntegerKernels, ArithmeticWrapsAndTruncatesInEveryIntegerType) {
  const std::vector<ElementWiseOperation> ops = {
      ElementWiseOperation::kSUM, ElementWiseOperation::kPROD, ElementWiseOperation::kMAX,
      ElementWiseOperation::kMIN, ElementWiseOperation::kSUB,  ElementWiseOperation::kDIV,
      ElementWiseOperation::kPOW, ElementWiseOperation::kFLOOR_DIV, ElementWiseOperation::kMOD,
      ElementWiseOperation::kFMOD};
  std::uint32_t seed = 10;
  for (DataType type : kIntegerTypes) {
    for (ElementWiseOperation op : ops) checkBinary(op, type, type, seed += 2);
  }
}

TEST(IntegerKernels, BitwiseOperationsInEveryIntegerType) {
  std::uint32_t seed = 300;
  for (DataType type : kIntegerTypes) {
    for (ElementWiseOperation op : {ElementWiseOperation::kBITWISE_AND, ElementWiseOperation::kBITWISE_OR,
                                    ElementWiseOperation::kBITWISE_XOR}) {
      checkBinary(op, type, type, seed += 2);
    }
  }
}

TEST(IntegerKernels, ShiftsByEveryCountIncludingNegativeAndTheWidthOrMore) {
  std::uint32_t seed = 400;
  for (DataType type : kIntegerTypes) {
    const auto width = static_cast<std::int64_t>(elementSize(type) * 8);
    std::vector<std::int64_t> x = randomIntegers(static_cast<std::size_t>(width + 5), type, seed += 2);
    std::vector<std::int64_t> counts;
    for (std::int64_t c = -2; c < width + 3; ++c) counts.push_back(type == DataType::kUINT8 && c < 0 ? 0 : c);
    const DeviceTensor a = makeTensor({static_cast<std::int64_t>(x.size())}, type, x);
    const DeviceTensor b = makeTensor({static_cast<std::int64_t>(counts.size())}, type, counts);
    const DeviceTensor out = makeOutput({static_cast<std::int64_t>(x.size())}, type);
    for (ElementWiseOperation op : {ElementWiseOperation::kSHIFT_LEFT, ElementWiseOperation::kSHIFT_RIGHT}) {
      cl::elementWise(cache(), stream(), op, a, b, out);
      const std::vector<std::int64_t> actual = read(out);
      for (std::size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(actual[i], referenceShift(op, type, x[i], counts[i]))
            << "op " << static_cast<int>(op) << " " << dataTypeName(type) << ": " << x[i] << ", " << counts[i];
      }
    }
  }
}

TEST(IntegerKernels, BitwiseOperationsRefuseFloatsAndBool) {
  const DeviceTensor flag = makeTensor({2}, DataType::kBOOL, {0, 1});
  const DeviceTensor flags_out = makeOutput({2}, DataType::kBOOL);
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] {
    cl::elementWise(cache(), stream(), ElementWiseOperation::kBITWISE_AND, flag, flag, flags_out);
  }, "bitwise operations and shifts need integers"));
  auto buffer = allocate(16);
  const DeviceTensor x{at(buffer), Dims{2}, DataType::kFLOAT};
  EXPECT_TRUE(throwsWith<InvalidArgument>([&] {
    cl::elementWise(cache(), stream(), ElementWiseOperation::kSHIFT_LEFT, x, x, x);
  }, "bitwise operations and shifts need integers"));
}

TEST(IntegerKernels, ComparisonsOfIntegersWriteBool) {
  std::uint32_t seed = 100;
  for (DataType type : {DataType::kINT32, DataType::kINT64, DataType::kUINT8}) {
    for (ElementWiseOperation op :
         {ElementWiseOperation::kEQUAL, ElementWiseOperation::kGREATER, ElementWiseOperation::kLESS}) {
      checkBinary(op, type, DataType::kBOOL, seed += 2);
    }
  }
}

TEST(IntegerKernels, LogicAndEqualityOfBool) {
  std::uint32_t seed = 200;
  for (ElementWiseOperation op : {ElementWiseOperation::kAND, ElementWiseOperation::kOR, ElementWiseOperation::kXOR,
                                  ElementWiseOperation::kEQUAL}) {
    checkBinary(op, DataType::kBOOL, DataType::kBOOL, seed += 2);
  }
}

TEST(IntegerKernels, DivisionEdgeCasesDoNotTrap) {
  const std::int64_t min64 = std::numeric_limits<std::int64_t>::min();
  const std::vector<std::int64_t> x = {7, -7, 7, -7, 5, min64, -9};
  const std::vector<std::int64_t> y = {2, 2, -2, -2, 0, -1, 3};
  const DeviceTensor a = makeTensor({7}, DataType::kINT64, x), b = makeTensor({7}, DataType::kINT64, y);
  const DeviceTensor out = makeOutput({7}, DataType::kINT64);
  cl::elementWise(cache(), stream(), ElementWiseOperation::kDIV, a, b, out);
  EXPECT_EQ(read(out), (std::vector<std::int64_t>{3, -3, -3, 3, 0, min64, -3}));
  cl::elementWise(cache(), stream(), ElementWiseOperation::kFLOOR_DIV, a, b, out);
  EXPECT_EQ(read(out), (std::vector<std::int64_t>{3, -4, -4, 3, 0, min64, -3}));
  cl::elementWise(cache(), stream(), ElementWiseOperation::kMOD, a, b, out);  // the divisor's sign
  EXPECT_EQ(read(out), (std::vector<std::int64_t>{1, 1, -1, -1, 5, 0, 0}));
  cl::elementWise(cache(), stream(), ElementWiseOperation::kFMOD, a, b, out);  // the dividend's sign
  EXPECT_EQ(read(out), (std::vector<std::int64_t>{1, -1, 1, -1, 5, 0, 0}));
}

TEST(IntegerKernels, FloatingComparisonsWriteBoolAndNanComparesFalse) {
  const std::vector<double> x = {1.5, -2.0, NAN, 3.0, 0.0}, y = {1.5, 2.0, 1.0, -3.0, -0.0};
  for (DataType type : {DataType::kFLOAT, DataType::kHALF}) {
    auto buffer_a = allocate(5 * elementSize(type)), buffer_b = allocate(5 * elementSize(type));
    upload(stream(), at(buffer_a), encodeAs(x, type));
    upload(stream(), at(buffer_b), encodeAs(y, type));
    const DeviceTensor a{at(buffer_a), Dims{5}, type}, b{at(buffer_b), Dims{5}, type};
    const DeviceTensor out = makeOutput({5}, DataType::kBOOL);
    cl::elementWise(cache(), stream(), ElementWiseOperation::kEQUAL, a, b, out);
    EXPECT_EQ(read(out), (std::vector<std::int64_t>{1, 0, 0, 0, 1})) << dataTypeName(type);
    cl::elementWise(cache(), stream(), ElementWiseOperation::kGREATER, a, b, out);
    EXPECT_EQ(read(out), (std::vector<std::int64_t>{0, 0, 0, 1, 0})) << dataTypeName(type);
    cl::elementWise(cache(), stream(), ElementWiseOperation::kLESS, a, b, out);
    EXPECT_EQ(read(out), (std::vector<std::int64_t>{0, 1, 0, 0, 0})) << dataTypeName(type);
  }
}

TEST(IntegerKernels, WrongTypesAreRefusedByName) {
  const DeviceTensor i32 = makeTensor({2}, DataType::kINT32, {1, 2});
  const DeviceTensor i64 = makeTensor({2}, DataType::kINT64, {1, 2});
  const DeviceTensor flag = makeTensor({2}, DataType::kBOOL, {1, 0});
  const DeviceTensor f32 = makeTensor({2}, DataType::kFLOAT, {1, 2});
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kSUM, i32, i64, i32); },
      "elementWise: operands a (INT32) and b (INT64) have different types"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kAND, i32, i32, flag); },
      "AND, OR and XOR need BOOL"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::elementWise(cache(), stream(), ElementWiseOperation::kLESS, i32, i32, i32); },
      "elementWise: output has type INT32; expected BOOL"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::select(cache(), stream(), i32, f32, f32, f32); }, "select: condition has type INT32"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::unary(cache(), stream(), UnaryOperation::kEXP, i32, i32); }, "this operation needs FLOAT or HALF"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::reduce(cache(), stream(), ReduceOperation::kSUM, 1u, flag, flag); }, "reduce: input has type BOOL"));
}

TEST(IntegerKernels, SelectBroadcastsEveryElementSize) {
  const Dims c_shape{4, 1}, a_shape{1, 6}, b_shape{4, 6};
  const std::vector<std::int64_t> condition = {1, 0, 0, 1};
  for (DataType type : {DataType::kINT8, DataType::kHALF, DataType::kINT32, DataType::kINT64}) {
    std::vector<std::int64_t> a = randomIntegers(6, DataType::kINT8, 300), b = randomIntegers(24, DataType::kINT8, 301);
    const DeviceTensor tc = makeTensor(c_shape, DataType::kBOOL, condition);
    const DeviceTensor ta = makeTensor(a_shape, type, a), tb = makeTensor(b_shape, type, b);
    const DeviceTensor out = makeOutput({4, 6}, type);
    cl::select(cache(), stream(), tc, ta, tb, out);
    const auto actual = read(out);
    for (std::int64_t i = 0; i < 4; ++i) {
      for (std::int64_t j = 0; j < 6; ++j) {
        ASSERT_EQ(actual[i * 6 + j], condition[i] ? a[j] : b[i * 6 + j]) << dataTypeName(type) << " " << i << "," << j;
      }
    }
  }
}

TEST(IntegerKernels, AbsNegSignAndNot) {
  const std::vector<std::int64_t> values = {5, -3, 0, -128, 127, 1, -1};
  for (DataType type : {DataType::kINT8, DataType::kINT32, DataType::kINT64}) {
    const DeviceTensor in = makeTensor({7}, type, values), out = makeOutput({7}, type);
    cl::unary(cache(), stream(), UnaryOperation::kABS, in, out);
    std::vector<std::int64_t> expected;
    for (auto v : values) expected.push_back(wrapTo(type, v < 0 ? -v : v));
    EXPECT_EQ(read(out), expected) << "ABS " << dataTypeName(type);
    cl::unary(cache(), stream(), UnaryOperation::kNEG, in, out);
    expected.clear();
    for (auto v : values) expected.push_back(wrapTo(type, -v));
    EXPECT_EQ(read(out), expected) << "NEG " << dataTypeName(type);
    cl::unary(cache(), stream(), UnaryOperation::kSIGN, in, out);
    expected.clear();
    for (auto v : values) expected.push_back(v > 0 ? 1 : v < 0 ? -1 : 0);
    EXPECT_EQ(read(out), expected) << "SIGN " << dataTypeName(type);
  }
  const DeviceTensor flags = makeTensor({3}, DataType::kBOOL, {1, 0, 1}), out = makeOutput({3}, DataType::kBOOL);
  cl::unary(cache(), stream(), UnaryOperation::kNOT, flags, out);
  EXPECT_EQ(read(out), (std::vector<std::int64_t>{0, 1, 0}));
}

TEST(IntegerKernels, ReductionsAreExactIn64Bits) {
  const Dims shape{3, 67, 2};  // reduce axis 1 (67 terms) and axes {0, 2}
  for (DataType type : {DataType::kINT32, DataType::kINT64, DataType::kUINT8}) {
    const std::vector<std::int64_t> values = randomIntegers(3 * 67 * 2, type, 400);
    const DeviceTensor in = makeTensor(shape, type, values);
    for (ReduceOperation op : {ReduceOperation::kSUM, ReduceOperation::kPROD, ReduceOperation::kMAX,
                               ReduceOperation::kMIN, ReduceOperation::kAVG}) {
      const DeviceTensor out = makeOutput({3, 1, 2}, type);
      cl::reduce(cache(), stream(), op, 1u << 1, in, out);
      const auto actual = read(out);
      for (std::int64_t i = 0; i < 3; ++i) {
        for (std::int64_t k = 0; k < 2; ++k) {
          std::int64_t acc = op == ReduceOperation::kPROD ? 1
                             : op == ReduceOperation::kMAX ? std::numeric_limits<std::int64_t>::min()
                             : op == ReduceOperation::kMIN ? std::numeric_limits<std::int64_t>::max() : 0;
          for (std::int64_t j = 0; j < 67; ++j) {
            const std::int64_t v = values[(i * 67 + j) * 2 + k];
            if (op == ReduceOperation::kPROD) acc = wrappingMul(acc, v);
            else if (op == ReduceOperation::kMAX) acc = std::max(acc, v);
            else if (op == ReduceOperation::kMIN) acc = std::min(acc, v);
            else acc = wrappingAdd(acc, v);
          }
          if (op == ReduceOperation::kAVG) acc /= 67;
          ASSERT_EQ(actual[i * 2 + k], wrapTo(type, acc)) << dataTypeName(type) << " op " << static_cast<int>(op);
        }
      }
    }
  }
}

}  // namespace
}  // namespace mlprt::test
