#include "backend/opencl/gemm.h"

#include <clblast.h>

#include <string>

#include "backend/opencl/copy.h"
#include "core/error.h"

namespace mlprt::cl {
namespace {

constexpr std::size_t kElement = sizeof(float);

clblast::Transpose toClblast(Transpose transpose) {
  return transpose == Transpose::kYes ? clblast::Transpose::kYes : clblast::Transpose::kNo;
}

// Checks that a stored rows x cols matrix (batch of them) fits in its buffer and that its
// leading dimension and offset are usable; returns the offset in elements.
std::size_t checkOperand(const Stream& stream, const MatrixOperand& operand, std::size_t rows,
                         std::size_t cols, std::size_t batch, const char* name) {
  const std::string role = std::string("GEMM operand ") + name;
  requireSameContext(*stream.context(), *operand.range.buffer->context(), role);
  if (operand.range.offset % kElement != 0) {
    throw InvalidArgument(role + ": byte offset " + std::to_string(operand.range.offset) +
                          " is not a multiple of 4");
  }
  if (operand.ld < (cols == 0 ? 1 : cols)) {
    throw InvalidArgument(role + ": leading dimension " + std::to_string(operand.ld) +
                          " is smaller than its " + std::to_string(cols) + " columns");
  }
  std::size_t elements = 0;
  if (rows != 0 && cols != 0 && batch != 0) {
    elements = (batch - 1) * operand.stride + (rows - 1) * operand.ld + cols;
  }
  requireInside(operand.range, elements * kElement, role);
  return operand.range.offset / kElement;
}

// With k == 0 the product is empty and C = beta * C; CLBlast rejects k == 0, so scale each row
// of C here. beta == 0 writes zeros (BLAS semantics: C's old values, even NaN, are not read).
void scaleRows(Stream& stream, const GemmProblem& problem, const MatrixOperand& c) {
  if (problem.beta == 1.0f) return;
  cl_command_queue queue = stream.queue();
  const float zero = 0.0f;
  for (std::size_t matrix = 0; matrix < problem.batch; ++matrix) {
    for (std::size_t row = 0; row < problem.m; ++row) {
      const std::size_t offset = c.range.offset / kElement + matrix * c.stride + row * c.ld;
      if (problem.beta == 0.0f) {
        fillDevice(stream, {c.range.buffer, offset * kElement}, &zero, sizeof(zero),
                   problem.n * kElement, CopyMode::kAsync);
      } else {
        const clblast::StatusCode status = clblast::Scal<float>(
            problem.n, problem.beta, c.range.buffer->mem(), offset, 1, &queue, nullptr);
        if (status != clblast::StatusCode::kSuccess) {
          throw OpenCLError("GEMM with k=0: CLBlast scaling of C failed with status " +
                                std::to_string(static_cast<int>(status)),
                            static_cast<int>(status));
        }
      }
    }
  }
  stream.trackUntracked();
}

void checkStatus(clblast::StatusCode status, const GemmProblem& problem) {
  if (status == clblast::StatusCode::kSuccess) return;
  throw OpenCLError("CLBlast GEMM (m=" + std::to_string(problem.m) + ", n=" +
                        std::to_string(problem.n) + ", k=" + std::to_string(problem.k) + ", batch=" +
                        std::to_string(problem.batch) + ") failed with status " +
                        std::to_string(static_cast<int>(status)),
                    static_cast<int>(status));
}

}  // namespace

void gemm(Stream& stream, const GemmProblem& problem, const MatrixOperand& a, const MatrixOperand& b,
          const MatrixOperand& c) {
  const bool ta = problem.transpose_a == Transpose::kYes;
  const bool tb = problem.transpose_b == Transpose::kYes;
  const std::size_t a_offset = checkOperand(stream, a, ta ? problem.k : problem.m,
                                            ta ? problem.m : problem.k, problem.batch, "A");
  const std::size_t b_offset = checkOperand(stream, b, tb ? problem.n : problem.k,
                                            tb ? problem.k : problem.n, problem.batch, "B");
  const std::size_t c_offset = checkOperand(stream, c, problem.m, problem.n, problem.batch, "C");
  if (problem.m == 0 || problem.n == 0 || problem.batch == 0) return;
  if (problem.k == 0) {
    scaleRows(stream, problem, c);
    return;
  }

  cl_command_queue queue = stream.queue();
  clblast::StatusCode status;
  if (problem.batch == 1) {
    status = clblast::Gemm<float>(clblast::Layout::kRowMajor, toClblast(problem.transpose_a),
                                  toClblast(problem.transpose_b), problem.m, problem.n, problem.k,
                                  problem.alpha, a.range.buffer->mem(), a_offset, a.ld,
                                  b.range.buffer->mem(), b_offset, b.ld, problem.beta,
                                  c.range.buffer->mem(), c_offset, c.ld, &queue, nullptr);
  } else {
    status = clblast::GemmStridedBatched<float>(
        clblast::Layout::kRowMajor, toClblast(problem.transpose_a), toClblast(problem.transpose_b),
        problem.m, problem.n, problem.k, problem.alpha, a.range.buffer->mem(), a_offset, a.ld,
        a.stride, b.range.buffer->mem(), b_offset, b.ld, b.stride, problem.beta,
        c.range.buffer->mem(), c_offset, c.ld, c.stride, problem.batch, &queue, nullptr);
  }
  checkStatus(status, problem);
  stream.trackUntracked();
}

}  // namespace mlprt::cl
