// Single-precision GEMM through CLBlast, against a double-precision CPU reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "backend/opencl/gemm.h"
#include "core/error.h"
#include "test_util.h"

namespace mlprt::test {
namespace {

using cl::Transpose;

// A batch of row-major matrices as stored in a device buffer: `offset` elements of padding
// first, rows of `ld` elements (ld >= cols) and `stride` elements from one matrix to the next.
// Every element, padding included, is random, so reads or writes out of place show up.
struct StoredMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::size_t ld = 0;
  std::size_t stride = 0;
  std::size_t offset = 0;
  std::size_t batch = 1;
  std::vector<float> data;

  StoredMatrix(std::size_t rows_, std::size_t cols_, std::size_t batch_, std::size_t padding,
               std::uint32_t seed)
      : rows(rows_), cols(cols_), ld(cols_ + padding), stride(rows_ * ld + 2 * padding),
        offset(padding), batch(batch_),
        data(randomFloats(offset + batch_ * stride + padding + 1, seed)) {}

  float at(std::size_t b, std::size_t row, std::size_t col) const {
    return data[offset + b * stride + row * ld + col];
  }
};

// One matrix of the batch, transposed if asked, as a dense row-major matrix of doubles.
std::vector<double> dense(const StoredMatrix& matrix, std::size_t batch, bool transpose) {
  std::vector<double> out(matrix.rows * matrix.cols);
  for (std::size_t row = 0; row < matrix.rows; ++row) {
    for (std::size_t col = 0; col < matrix.cols; ++col) {
      const double value = matrix.at(batch, row, col);
      if (transpose) {
        out[col * matrix.rows + row] = value;
      } else {
        out[row * matrix.cols + col] = value;
      }
    }
  }
  return out;
}

// A matrix uploaded to the device; its operand addresses the first matrix at a byte offset.
struct DeviceMatrix {
  std::shared_ptr<cl::DeviceBuffer> buffer;
  cl::MatrixOperand operand;
};

DeviceMatrix toDevice(cl::Stream& stream, const StoredMatrix& matrix) {
  DeviceMatrix device{allocate(matrix.data.size() * sizeof(float)), {}};
  upload(stream, at(device.buffer), matrix.data);
  device.operand = {at(device.buffer, matrix.offset * sizeof(float)), matrix.ld, matrix.stride};
  return device;
}

struct Shape {
  std::size_t m;
  std::size_t n;
  std::size_t k;
};

struct GemmCase {
  Shape shape;
  Transpose transpose_a;
  Transpose transpose_b;
  float alpha;
  float beta;
  std::size_t batch;
  std::size_t padding;  // extra elements: row padding (ld - cols), leading offset, stride gap
};

std::ostream& operator<<(std::ostream& out, const GemmCase& c) {
  return out << "m=" << c.shape.m << " n=" << c.shape.n << " k=" << c.shape.k
             << " ta=" << (c.transpose_a == Transpose::kYes) << " tb=" << (c.transpose_b == Transpose::kYes)
             << " alpha=" << c.alpha << " beta=" << c.beta << " batch=" << c.batch
             << " padding=" << c.padding;
}

// Runs the case on the device and compares the whole C buffer with the reference: the m x n
// results to 1e-5 of the largest reference value, every other element bit for bit.
void checkGemm(const GemmCase& c) {
  SCOPED_TRACE(::testing::PrintToString(c));
  const auto [m, n, k] = c.shape;
  const bool ta = c.transpose_a == Transpose::kYes;
  const bool tb = c.transpose_b == Transpose::kYes;
  const StoredMatrix a(ta ? k : m, ta ? m : k, c.batch, c.padding, 1);
  const StoredMatrix b(tb ? n : k, tb ? k : n, c.batch, c.padding, 2);
  const StoredMatrix c_in(m, n, c.batch, c.padding, 3);

  double largest = 0.0;
  std::vector<double> reference(c.batch * m * n);
  for (std::size_t batch = 0; batch < c.batch; ++batch) {
    const std::vector<double> op_a = dense(a, batch, ta);    // m x k
    const std::vector<double> op_b_t = dense(b, batch, !tb);  // n x k
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        double sum = 0.0;
        for (std::size_t p = 0; p < k; ++p) sum += op_a[i * k + p] * op_b_t[j * k + p];
        const double value = c.alpha * sum + c.beta * static_cast<double>(c_in.at(batch, i, j));
        reference[(batch * m + i) * n + j] = value;
        largest = std::max(largest, std::fabs(value));
      }
    }
  }

  const auto stream = cl::Stream::create(context());
  const DeviceMatrix a_device = toDevice(*stream, a);
  const DeviceMatrix b_device = toDevice(*stream, b);
  const DeviceMatrix c_device = toDevice(*stream, c_in);
  cl::GemmProblem problem;
  problem.transpose_a = c.transpose_a;
  problem.transpose_b = c.transpose_b;
  problem.m = m;
  problem.n = n;
  problem.k = k;
  problem.alpha = c.alpha;
  problem.beta = c.beta;
  problem.batch = c.batch;
  cl::gemm(*stream, problem, a_device.operand, b_device.operand, c_device.operand);
  const std::vector<float> out = download<float>(*stream, at(c_device.buffer), c_in.data.size());

  // Results: norm-relative error.
  double worst = 0.0;
  for (std::size_t batch = 0; batch < c.batch; ++batch) {
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t index = c_in.offset + batch * c_in.stride + i * c_in.ld + j;
        worst = std::max(worst, std::fabs(out[index] - reference[(batch * m + i) * n + j]));
      }
    }
  }
  if (k == 0 && c.beta == 0.0f) {
    EXPECT_EQ(worst, 0.0) << "k = 0 and beta = 0 must write exact zeros";
  } else if (!reference.empty()) {
    ASSERT_GT(largest, 0.0);
    EXPECT_LE(worst / largest, 1e-5) << "max |out - ref| = " << worst << ", max |ref| = " << largest;
  }

  // Everything outside the results (offset, row padding, batch gaps, tail) is untouched.
  std::size_t changed = 0;
  std::vector<bool> is_result(c_in.data.size(), false);
  for (std::size_t batch = 0; batch < c.batch; ++batch) {
    for (std::size_t i = 0; i < m; ++i) {
      for (std::size_t j = 0; j < n; ++j) is_result[c_in.offset + batch * c_in.stride + i * c_in.ld + j] = true;
    }
  }
  for (std::size_t index = 0; index < out.size(); ++index) {
    if (!is_result[index] && out[index] != c_in.data[index]) ++changed;
  }
  EXPECT_EQ(changed, 0u) << "elements outside the m x n results were written";
}

// --- The shapes, each in all four transpose combinations, plain and with every extra. ---

class GemmShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(GemmShapes, MatchesReferenceInAllTransposeCombinations) {
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      checkGemm({GetParam(), ta, tb, 1.0f, 0.0f, 1, 0});
    }
  }
}

TEST_P(GemmShapes, AlphaBetaOffsetsAndPaddedLeadingDimensions) {
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      checkGemm({GetParam(), ta, tb, 0.75f, -0.5f, 1, 5});
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemmShapes,
                         ::testing::Values(Shape{1, 1, 1}, Shape{1, 7, 13}, Shape{13, 1, 7},
                                           Shape{37, 41, 43}, Shape{64, 784, 32},
                                           Shape{128, 257, 129}),
                         [](const ::testing::TestParamInfo<Shape>& tested) {
                           const Shape& s = tested.param;
                           return "m" + std::to_string(s.m) + "_n" + std::to_string(s.n) + "_k" +
                                  std::to_string(s.k);
                         });

TEST(Gemm, StridedBatched) {
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      checkGemm({{19, 23, 29}, ta, tb, 0.75f, -0.5f, 3, 3});
    }
  }
  checkGemm({{64, 48, 40}, Transpose::kNo, Transpose::kNo, 1.0f, 0.0f, 3, 0});
}

TEST(Gemm, LargeEnoughForTheIndirectKernel) {
  // CLBlast switches from its direct kernel to the tiled one (with padding and transposition
  // kernels around it) for large products; on PoCL the switch lies between 768^3 and 1000^3.
  checkGemm({{1000, 1030, 1010}, Transpose::kNo, Transpose::kYes, 0.75f, -0.5f, 1, 1});
}

TEST(Gemm, EmptyOutputIsANoOp) {
  checkGemm({{0, 5, 3}, Transpose::kNo, Transpose::kNo, 1.0f, 0.5f, 1, 2});
  checkGemm({{5, 0, 3}, Transpose::kYes, Transpose::kNo, 1.0f, 0.5f, 1, 2});
}

// BLAS semantics: with k = 0, op(A) * op(B) is a zero matrix and C becomes beta * C
// (CLBlast rejects k = 0, so the core scales C itself).
TEST(Gemm, EmptyInnerDimensionScalesC) {
  checkGemm({{4, 6, 0}, Transpose::kNo, Transpose::kNo, 1.0f, -0.5f, 1, 1});
  checkGemm({{3, 5, 0}, Transpose::kNo, Transpose::kYes, 1.0f, 0.0f, 2, 3});
}

// --- Argument checks. ---

class GemmErrors : public ::testing::Test {
 protected:
  std::shared_ptr<cl::Stream> stream_ = cl::Stream::create(context());

  cl::GemmProblem problem(std::size_t m, std::size_t n, std::size_t k) const {
    cl::GemmProblem p;
    p.m = m;
    p.n = n;
    p.k = k;
    return p;
  }

  // An operand over a buffer of `elements` floats, at `offset` bytes, with leading dimension ld.
  cl::MatrixOperand operand(std::size_t elements, std::size_t ld, std::size_t offset = 0,
                            std::size_t stride = 0) {
    auto buffer = allocate(elements * sizeof(float));
    upload(*stream_, at(buffer), randomFloats(elements, 51));
    buffers_.push_back(buffer);
    return {at(buffer, offset), ld, stride};
  }

  std::vector<std::shared_ptr<cl::DeviceBuffer>> buffers_;
};

TEST_F(GemmErrors, OperandTooSmallForItsExtent) {
  const auto p = problem(4, 6, 5);  // A 4x5, B 5x6, C 4x6
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(19, 5), operand(30, 6), operand(24, 6)); }, "operand A"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(20, 5), operand(29, 6), operand(24, 6)); }, "operand B"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(20, 5), operand(30, 6), operand(23, 6)); }, "operand C"));
  // A byte offset shifts the extent past the end.
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(20, 5, 4), operand(30, 6), operand(24, 6)); },
      "overrun"));
  // The padding of the last row is not needed: (rows - 1) * ld + cols elements suffice.
  EXPECT_NO_THROW(cl::gemm(*stream_, p, operand(3 * 8 + 5, 8), operand(30, 6), operand(24, 6)));
  stream_->synchronize();
}

TEST_F(GemmErrors, TransposedOperandsAreCheckedAsStored) {
  auto p = problem(3, 4, 5);
  p.transpose_a = Transpose::kYes;  // A stored 5x3
  p.transpose_b = Transpose::kYes;  // B stored 4x5
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(15, 5), operand(20, 5), operand(12, 4)); },
      "operand A"));  // ld 5 is fine for 3 columns, but 5 rows of ld 5 need 23 elements
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(15, 3), operand(20, 4), operand(12, 4)); },
      "operand B: leading dimension 4"));
  EXPECT_NO_THROW(cl::gemm(*stream_, p, operand(15, 3), operand(20, 5), operand(12, 4)));
  stream_->synchronize();
}

TEST_F(GemmErrors, LeadingDimensionSmallerThanColumns) {
  const auto p = problem(4, 6, 5);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(64, 4), operand(64, 6), operand(64, 6)); },
      "operand A: leading dimension 4 is smaller than its 5 columns"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(64, 5), operand(64, 5), operand(64, 6)); },
      "operand B: leading dimension"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(64, 5), operand(64, 6), operand(64, 0)); },
      "operand C: leading dimension"));
}

TEST_F(GemmErrors, OffsetNotAMultipleOfFour) {
  const auto p = problem(2, 2, 2);
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(8, 2, 2), operand(8, 2), operand(8, 2)); },
      "operand A: byte offset 2 is not a multiple of 4"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(8, 2), operand(8, 2, 1), operand(8, 2)); }, "operand B"));
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, operand(8, 2), operand(8, 2), operand(8, 2, 6)); }, "operand C"));
}

TEST_F(GemmErrors, BatchStrideMustFitTheBuffer) {
  auto p = problem(2, 3, 4);
  p.batch = 3;
  // C: 2 more matrices 10 elements apart after the first 2x3 -> 2 * 10 + 6 = 26 elements.
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] {
        cl::gemm(*stream_, p, operand(24, 4, 0, 8), operand(36, 3, 0, 12), operand(25, 3, 0, 10));
      },
      "operand C"));
  EXPECT_NO_THROW(
      cl::gemm(*stream_, p, operand(24, 4, 0, 8), operand(36, 3, 0, 12), operand(26, 3, 0, 10)));
  stream_->synchronize();
}

TEST_F(GemmErrors, FreedOperandThrows) {
  const auto p = problem(2, 2, 2);
  const cl::MatrixOperand a = operand(4, 2);
  a.range.buffer->free();
  EXPECT_TRUE(throwsWith<InvalidArgument>(
      [&] { cl::gemm(*stream_, p, a, operand(4, 2), operand(4, 2)); }, "freed"));
}

}  // namespace
}  // namespace mlprt::test
