// Single-precision GEMM through CLBlast: C = alpha * op(A) * op(B) + beta * C, row-major.
// Offsets and leading dimensions count elements, as in BLAS. Every operand's extent is checked
// against its buffer before anything is enqueued.
#pragma once

#include <cstddef>

#include "backend/opencl/memory.h"
#include "backend/opencl/stream.h"

namespace mlprt::cl {

enum class Transpose { kNo, kYes };

struct MatrixOperand {
  DeviceRange range;   // offset in bytes into the buffer, as everywhere in the OpenCL layer
  std::size_t ld = 0;  // leading dimension in elements (row stride of the stored matrix)
  std::size_t stride = 0;  // elements between consecutive matrices of a batch
};

struct GemmProblem {
  Transpose transpose_a = Transpose::kNo;
  Transpose transpose_b = Transpose::kNo;
  std::size_t m = 0;
  std::size_t n = 0;
  std::size_t k = 0;
  float alpha = 1.0f;
  float beta = 0.0f;
  std::size_t batch = 1;
};

// Enqueues the (strided batched, when problem.batch > 1) product on `stream`.
void gemm(Stream& stream, const GemmProblem& problem, const MatrixOperand& a, const MatrixOperand& b,
          const MatrixOperand& c);

}  // namespace mlprt::cl
