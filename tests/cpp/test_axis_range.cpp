// Axis ranges (backend/opencl/ops/axis_range): 0, 1, ..., n - 1 for one axis's extent, in every
// type they come in, at lengths past one work-group, with a shape only (the input is never read).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "backend/opencl/ops/axis_range/axis_range.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::DeviceTensor;

DeviceTensor output(std::int64_t count, DataType type) {
  const std::vector<double> filler(static_cast<std::size_t>(count), 77.0);
  auto buffer = allocate(std::max<std::size_t>(1, filler.size()) * elementSize(type) + 8);
  upload(stream(), at(buffer, 8), encodeAs(filler, type));
  return DeviceTensor{at(buffer, 8), Dims{count}, type};
}

std::vector<double> read(const DeviceTensor& tensor) {
  const auto bytes = static_cast<std::size_t>(tensor.shape.volume()) * elementSize(tensor.type);
  return decodeAs<double>(download<unsigned char>(stream(), tensor.range, bytes), tensor.type);
}

TEST(AxisRange, CountsAlongTheAxisInEveryType) {
  const Dims shape{3, 1031, 7};  // axis 1: past a work-group of 256 and prime
  for (DataType type : {DataType::kFLOAT, DataType::kHALF, DataType::kINT32, DataType::kINT64}) {
    for (int axis : {0, 1, 2, -1}) {
      const std::int64_t count = shape[static_cast<std::size_t>(axis < 0 ? axis + 3 : axis)];
      const DeviceTensor out = output(count, type);
      cl::axisRange(cache(), stream(), shape, axis, out);
      const std::vector<double> values = read(out);
      for (std::int64_t i = 0; i < count; ++i) {
        ASSERT_EQ(values[static_cast<std::size_t>(i)], static_cast<double>(i))
            << dataTypeName(type) << " axis " << axis << " element " << i;
      }
    }
  }
}

TEST(AxisRange, AnEmptyAxisWritesNothing) {
  const DeviceTensor out = output(0, DataType::kINT64);
  cl::axisRange(cache(), stream(), Dims{4, 0}, 1, out);
  SUCCEED();
}

TEST(AxisRange, RefusesWhatDoesNotFit) {
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::axisRange(cache(), stream(), Dims{2, 5}, 1, output(5, DataType::kBOOL)); },
      "axis_range: output has type BOOL; expected FLOAT, HALF, INT32 or INT64"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::axisRange(cache(), stream(), Dims{2, 5}, 1, output(4, DataType::kINT32)); },
      "axis_range: output shape (4) is not (5), the extent of axis 1 of (2, 5)"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::axisRange(cache(), stream(), Dims{2, 5}, 2, output(5, DataType::kINT32)); }, "axis 2"));
}

}  // namespace
}  // namespace mlprt::test
