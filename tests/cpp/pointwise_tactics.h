// The "hwc_gemm:" convolution tactics the tests run, shared by the kernel and engine tests.
#pragma once

#include <string>
#include <vector>

#include "backend/opencl/ops/convolution/convolution.h"
#include "test_util.h"

namespace mlprt::test {

// For `type`: the first and the last general GEMM tactic of the device but CLBlast, as
// "hwc_gemm:" tactics. How a pointwise convolution becomes a product does not depend on the GEMM
// tactic (those have tests of their own, transposed operands included), and each further tactic
// is a program to compile: all of them took a minute of PoCL's compiler in CI.
inline std::vector<std::string> pointwiseGemmTacticsToTest(DataType type) {
  std::vector<std::string> general;
  for (const std::string& tactic : cl::channelsLastConvolutionTactics(*context(), type, {}, true)) {
    const std::string gemm = cl::channelsLastGemmTactic(tactic);
    if (!gemm.empty() && gemm != "clblast" && cl::gemmTacticIsGeneral(cl::GemmTactic{gemm})) general.push_back(tactic);
  }
  if (general.size() > 2) general = {general.front(), general.back()};
  return general;
}

}  // namespace mlprt::test
