// The wgmma placeholder expansion (backend/opencl/ptx_patch.h), on PTX text: no device needed.
#include <gtest/gtest.h>

#include <string>

#include "backend/opencl/ptx_patch.h"
#include "core/error.h"
#include "test_util.h"

using namespace mlprt;
using mlprt::test::throwsWith;

namespace {

// A placeholder for m64n<n>k16 as NVIDIA's compiler would leave it: accumulators %f<first...>,
// descriptors %rd7 and %rd8, the scale register %r9.
std::string placeholder(int n, int k_steps, int first = 1) {
  std::string text = "\t// MLPRT_WGMMA m64n" + std::to_string(n) + "k16 f32.f16.f16 " + std::to_string(k_steps) + " 16 32 0 1";
  for (int i = 0; i < n / 2; ++i) text += " %f" + std::to_string(first + i);
  return text + " %rd7 %rd8 %r9\n";
}

std::string ptxAround(const std::string& body, const std::string& target = "sm_90") {
  return "//\n.version 8.5\n.target " + target + "\n.address_size 64\n.entry k()\n{\n\t// begin inline asm\n" + body +
         "\t// end inline asm\n\tret;\n}\n";
}

int count(const std::string& text, const std::string& what) {
  int found = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++found;
  return found;
}

}  // namespace

TEST(PtxPatch, ExpandsEachStepOfKWithItsDescriptorsAndRaisesTheTarget) {
  const std::string patched = cl::patchPtx(ptxAround(placeholder(16, 3)));
  EXPECT_NE(patched.find(".target sm_90a\n"), std::string::npos) << patched;
  EXPECT_EQ(patched.find("MLPRT_WGMMA"), std::string::npos);
  EXPECT_EQ(count(patched, "wgmma.fence.sync.aligned;"), 1);
  EXPECT_EQ(count(patched, "wgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16 {%f1,%f2,%f3,%f4,%f5,%f6,%f7,%f8}, "), 3);
  EXPECT_EQ(count(patched, "wgmma.commit_group.sync.aligned;"), 1);
  EXPECT_NE(patched.find("setp.ne.b32 mlprt_wg_p, %r9, 0;"), std::string::npos);
  EXPECT_NE(patched.find("{%f1,%f2,%f3,%f4,%f5,%f6,%f7,%f8}, %rd7, %rd8, mlprt_wg_p, 1, 1, 0, 1;"), std::string::npos);
  // Step 2 of K: a descriptor 2 x 16 further, b 2 x 32.
  EXPECT_NE(patched.find("add.s64 mlprt_wg_a, %rd7, 32;"), std::string::npos) << patched;
  EXPECT_NE(patched.find("add.s64 mlprt_wg_b, %rd8, 64;"), std::string::npos);
  EXPECT_EQ(count(patched, "mlprt_wg_a, mlprt_wg_b, mlprt_wg_p, 1, 1, 0, 1;"), 2);
  // The rest of the text is kept as it was.
  EXPECT_NE(patched.find(".entry k()\n{\n\t// begin inline asm\n\t{"), std::string::npos);
  EXPECT_NE(patched.find("}\n\t// end inline asm\n\tret;\n}\n"), std::string::npos);
}

TEST(PtxPatch, ExpandsEveryPlaceholderAndTheWaits) {
  const std::string body = placeholder(128, 4) + "\t// MLPRT_WGWAIT 0 %f1 %f2\n" + placeholder(8, 1, 200) +
                           "\t// MLPRT_WGWAIT 1 %f200\n";
  const std::string patched = cl::patchPtx(ptxAround(body));
  EXPECT_EQ(count(patched, "wgmma.fence.sync.aligned;"), 2);
  EXPECT_EQ(count(patched, "wgmma.mma_async.sync.aligned.m64n128k16"), 4);
  EXPECT_EQ(count(patched, "wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%f200,%f201,%f202,%f203}, %rd7, %rd8"), 1);
  EXPECT_EQ(count(patched, "wgmma.wait_group.sync.aligned 0;"), 1);
  EXPECT_EQ(count(patched, "wgmma.wait_group.sync.aligned 1;"), 1);
  EXPECT_EQ(count(patched, ",%f64}"), 4);  // the 64 accumulators of m64n128k16, in every step
  EXPECT_EQ(count(patched, "%f65"), 0);
}

TEST(PtxPatch, TextWithoutPlaceholdersIsUnchanged) {
  const std::string ptx = ptxAround("\tmov.u32 %r1, %laneid;\n");
  EXPECT_EQ(cl::patchPtx(ptx), ptx);
  EXPECT_FALSE(cl::hasPtxPlaceholders("__kernel void k() {}"));
  EXPECT_TRUE(cl::hasPtxPlaceholders("asm volatile(\"// MLPRT_WGMMA m64n64k16 ...\");"));
}

TEST(PtxPatch, MalformedPlaceholdersAndOtherTargetsAreNamed) {
  const auto fails = [](const std::string& ptx, const std::string& words) {
    return throwsWith<BuildError>([&] { cl::patchPtx(ptx); }, words);
  };
  std::string missing = placeholder(16, 2);
  missing.erase(missing.find(" %f8"), 4);  // one accumulator short
  EXPECT_TRUE(fails(ptxAround(missing), "10 operands where m64n16k16 takes 8 accumulators and 3 more"));
  EXPECT_TRUE(fails(ptxAround(missing), "wgmma placeholder '// MLPRT_WGMMA m64n16k16"));
  std::string shape = placeholder(16, 2);
  shape.replace(shape.find("m64n16k16"), 9, "m32n16k16");
  EXPECT_TRUE(fails(ptxAround(shape), "shape is not m64n<N>k16"));
  std::string types = placeholder(16, 2);
  types.replace(types.find("f32.f16.f16"), 11, "f16.f16.f16");
  EXPECT_TRUE(fails(ptxAround(types), "types other than f32.f16.f16"));
  std::string steps = placeholder(16, 2);
  steps.replace(steps.find(" 2 16 32"), 8, " 0 16 32");
  EXPECT_TRUE(fails(ptxAround(steps), "k_steps is not 1 to 16"));
  EXPECT_TRUE(fails(ptxAround("\t// MLPRT_WGWAIT %f1\n"), "expected a group count 0 to 7"));
  EXPECT_TRUE(fails(ptxAround(placeholder(16, 1), "sm_80"), "wgmma needs sm_90 (Hopper); the PTX targets sm_80"));
  EXPECT_NE(cl::patchPtx(ptxAround(placeholder(16, 1), "sm_90a")).find(".target sm_90a\n"), std::string::npos);
}
