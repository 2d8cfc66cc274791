// DataType and Dims (csrc/core).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "core/data_type.h"
#include "core/dims.h"
#include "core/error.h"
#include "test_util.h"

using mlprt::DataType;
using mlprt::Dims;
using mlprt::InvalidArgument;

TEST(DataType, SizesAndNamesFollowTensorRT) {
  EXPECT_EQ(mlprt::elementSize(DataType::kFLOAT), 4u);
  EXPECT_EQ(mlprt::elementSize(DataType::kHALF), 2u);
  EXPECT_EQ(mlprt::elementSize(DataType::kINT8), 1u);
  EXPECT_EQ(mlprt::elementSize(DataType::kINT32), 4u);
  EXPECT_EQ(mlprt::elementSize(DataType::kBOOL), 1u);
  EXPECT_EQ(mlprt::elementSize(DataType::kUINT8), 1u);
  EXPECT_EQ(mlprt::elementSize(DataType::kINT64), 8u);
  EXPECT_STREQ(mlprt::dataTypeName(DataType::kHALF), "HALF");
  EXPECT_EQ(static_cast<int>(DataType::kINT64), 8);  // TensorRT's numbering
}

TEST(DataType, ValuesFromFilesAreChecked) {
  EXPECT_TRUE(mlprt::isDataType(0));
  EXPECT_TRUE(mlprt::isDataType(8));
  EXPECT_FALSE(mlprt::isDataType(6));
  EXPECT_FALSE(mlprt::isDataType(-1));
  EXPECT_TRUE(mlprt::test::throwsWith<InvalidArgument>(
      [] { mlprt::elementSize(static_cast<DataType>(77)); }, "unknown data type 77"));
}

TEST(Dims, VolumeRankAndText) {
  const Dims shape{3, 5, 7};
  EXPECT_EQ(shape.rank(), 3u);
  EXPECT_EQ(shape[1], 5);
  EXPECT_EQ(shape.volume(), 105);
  EXPECT_EQ(shape.toString(), "(3, 5, 7)");
  EXPECT_FALSE(shape.isDynamic());
  EXPECT_EQ(Dims{}.volume(), 1);  // a scalar
  EXPECT_EQ((Dims{4, 0, 2}).volume(), 0);
  EXPECT_EQ((Dims{1, 784}), (Dims{1, 784}));
  EXPECT_NE((Dims{1, 784}), (Dims{784, 1}));
}

TEST(Dims, DynamicExtentsHaveNoVolume) {
  const Dims shape{-1, 784};
  EXPECT_TRUE(shape.isDynamic());
  EXPECT_EQ(shape.toString(), "(-1, 784)");
  EXPECT_TRUE(mlprt::test::throwsWith<InvalidArgument>([&] { shape.volume(); }, "(-1, 784) is dynamic"));
}

TEST(Dims, BadShapesAreRefusedByName) {
  EXPECT_TRUE(mlprt::test::throwsWith<InvalidArgument>([] { Dims{2, -3}; }, "(2, -3) has a negative dimension"));
  EXPECT_TRUE(mlprt::test::throwsWith<InvalidArgument>(
      [] { Dims(std::vector<std::int64_t>(9, 1)); }, "rank 9"));
  const Dims huge{std::int64_t{1} << 40, std::int64_t{1} << 40};
  EXPECT_TRUE(mlprt::test::throwsWith<InvalidArgument>([&] { huge.volume(); }, "63 bits"));
}
