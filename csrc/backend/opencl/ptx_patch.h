// Hopper's warpgroup instructions (wgmma) from OpenCL C. NVIDIA's OpenCL compiler writes PTX for
// `.target sm_90`, where ptxas refuses wgmma; the driver does accept PTX for `sm_90a` through
// clCreateProgramWithBinary (../shared/device/README.md). So a kernel states each wgmma step as a
// placeholder comment inside inline asm, whose operands the compiler replaces by the registers it
// chose; the PTX it returns is then patched: placeholders become instructions, the target becomes
// sm_90a, and the program is built again from that text (Program::build does this for sources that
// carry placeholders).
//
// Placeholders, as they appear in the PTX (operands after substitution):
//   // MLPRT_WGMMA <shape> <types> <k_steps> <a_step> <b_step> <trans_a> <trans_b> <accumulators...> <a_desc> <b_desc> <scale_d>
//     wgmma.fence, then k_steps wgmma.mma_async (step i reads descriptors a_desc + i a_step and
//     b_desc + i b_step: the 16-byte units the descriptor's address advances by per step of K),
//     then wgmma.commit_group. shape is m64n<N>k16, types f32.f16.f16 (N / 2 f32 accumulators per
//     item); scale_d is a register, nonzero to accumulate.
//   // MLPRT_WGWAIT <groups> <accumulators...>
//     wgmma.wait_group <groups>; names the accumulators so that the compiler reads none of them
//     before it.
#pragma once

#include <string>

namespace mlprt::cl {

// Whether OpenCL C `source` carries wgmma placeholders (and so needs patchPtx after compiling).
bool hasPtxPlaceholders(const std::string& source);

// `ptx` with every placeholder expanded and its target raised from sm_90 to sm_90a. Throws
// BuildError naming the placeholder that is malformed, or the target when it is not sm_90.
std::string patchPtx(const std::string& ptx);

}  // namespace mlprt::cl
