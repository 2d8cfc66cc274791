// How matrixMultiply (gemm_kernels.cpp) reaches its implementations. Each family of GEMM
// kernels lives in its own file and lists its variants here; matrixMultiply checks the operands
// once, reduces them to a GemmShape and hands the call to the variant named by the tactic.
// Internal to the OpenCL backend.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "backend/opencl/kernel_support.h"
#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// The product as the kernels see it: batch x (M x K) x (K x N), row-major, operands' batch
// strides in elements (0: one matrix for the whole batch). a is M x K (K x M when a_trans), b
// is K x N (N x K when b_trans), out is M x N per batch entry, packed.
struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0, batch = 1;
  bool a_trans = false, b_trans = false;
  std::int64_t a_batch_stride = 0, b_batch_stride = 0;
};

// One call: checked operands (same storage type for a, b and out; bias, when present, has n
// elements) and their GemmShape. m, n and batch are > 0; k may be 0.
struct GemmCall {
  KernelCache& cache;
  Stream& stream;
  const GemmShape& shape;
  const DeviceTensor& a;
  const DeviceTensor& b;
  const GemmEpilogue& epilogue;
  const DeviceTensor& out;
  // Scratch for the tactics that split K across work-groups (gemmWorkspaceBytes); may be null
  // for the others.
  const DeviceTensor* workspace = nullptr;
  // Tests: the K slices a split tactic runs in (0: the tactic's own choice for the device).
  std::int64_t forced_splits = 0;

  // What the kernels' bias argument gets: the bias, or out as a stand-in when there is none
  // (the kernel does not read it then, but the argument needs a buffer of some type).
  const DeviceTensor& biasOrOut() const { return epilogue.bias ? *epilogue.bias : out; }
};

// Sets the kernel arguments every GEMM kernel starts with (GEMM_ARGUMENTS in kernels/gemm.cl)
// from `call`, in order; the returned setter continues with a kernel's own extra arguments.
support::Arguments setGemmArguments(Kernel& kernel, const GemmCall& call);

// Whether an operand can be read (or written) in vector loads of `elements` values: its element
// offset, its rows' contiguous extent and its batch stride are all multiples of `elements`, so
// every row start is aligned (buffers themselves are aligned far beyond 16 bytes).
inline bool vectorAccessible(const DeviceTensor& tensor, std::int64_t contiguous_extent, std::int64_t batch_stride,
                             std::int64_t elements) {
  return support::elementOffset(tensor) % elements == 0 && contiguous_extent % elements == 0 &&
         batch_stride % elements == 0;
}

// How many tiles of `tile` cover `extent` (work-groups along one axis).
inline std::size_t tilesCovering(std::int64_t extent, std::int64_t tile) {
  return static_cast<std::size_t>((extent + tile - 1) / tile);
}

// One named implementation.
struct GemmVariant {
  std::string name;
  // Offered as a tactic for operands stored as `type` on this device under `policy`.
  std::function<bool(const Context&, DataType, const GemmPolicy&)> offered;
  // Whether it can run this product (e.g. alignment rules); empty means every product. It may
  // look at n, k, the transposes and the batch, never at m: m is the batch axis of an MLP and
  // varies inside an optimization profile, so the builder checks fits at the profile's corners
  // only when n and k are the same at all of them.
  std::function<bool(const GemmShape&)> fits;
  std::function<void(const GemmCall&)> run;
  // The block of out one work-group computes (rows, columns); 0 for kernels without a fixed
  // block (CLBlast, the row kernels). The builder skips a variant whose block is far larger
  // than the product (gemmTacticWorthTiming).
  std::int64_t block_m = 0, block_n = 0;
  // Tiles made for products too small to fill the device (one-warp tiles, K split between warps):
  // the builder times them only on such products (gemmTacticWorthTiming).
  bool small_products_only = false;
  // The most workspace the variant's launches need on a device (tiles that split K across
  // work-groups); empty for variants that need none.
  std::function<std::size_t(const Context&)> workspace_bytes = nullptr;
  // Kernels made for a handful of rows (the row kernels): timed only on products of at most this
  // many rows per batch entry (0: any), where they can win (gemmTacticWorthTiming).
  std::int64_t max_rows = 0;
  // Timed only on products with at least this K (0: any): the row kernels' K-split forms, which
  // run one slice, the unsplit kernel's work, below smallestSplittableK (gemmTacticWorthTiming).
  std::int64_t min_k = 0;
  // Timed only on products of at least this many multiply-adds (0: any): CLBlast, whose launches
  // (padding and transposition helpers around its kernel) cost more than small products take.
  std::int64_t min_multiply_adds = 0;
  // Runs its products on tensor cores (mma.sync or wgmma, FP16 or TF32).
  bool tensor_cores = false;
  // True on a device where another offered family beat this one everywhere measured: there it
  // runs when named (matrixMultiply) but is no candidate (gemmTactics), so builds neither compile
  // nor time it. Empty: never.
  std::function<bool(const Context&)> superseded = nullptr;
};

// CLBlast and the portable kernels of gemm.cl (gemm_kernels.cpp).
std::vector<GemmVariant> portableGemmVariants();
// How many items of small_m1_g1024's groups of 1024 share a column's K range of a K x N b whose
// `column_vectors` (N / columns per item) and `row_blocks` (rows x batch) give its work-groups:
// 128 (8 column vectors per group), or 256 where that leaves fewer groups than half the compute
// units (a batch-1 layer of 1024 columns: 32 groups, 18.9 us, against 64 groups, 12.0 us, on the
// H100's 132 units; 4096 columns: 128 groups, 7.5 us, against 9.8; gemv_probe, issue 16 run 38).
int wideRowKernelKSplit(std::int64_t column_vectors, std::int64_t row_blocks, std::uint32_t compute_units);
// Large register-tiled kernels with vector loads for big products (gemm_large.cpp).
std::vector<GemmVariant> largeTileGemmVariants();
// Tensor-core kernels through inline PTX mma, offered where a probe passes (gemm_mma.cpp).
std::vector<GemmVariant> tensorCoreGemmVariants();

// What the tensor-core probes found on a device, as one line: the mma.sync and cp.async probe's
// report, then the wgmma probe's (each logged at VERBOSE when it runs; the wgmma one runs here
// if no FP16 build has asked for it yet). With `fresh`, probes again instead of answering from
// the per-device cache. For tests and error messages.
std::string tensorCoreProbeReport(const Context& context, bool fresh);
// Whether the probe found exact f16 mma products on this device (cached per device): what the
// HALF tensor-core kernels, GEMM and fused MLP alike, are offered on.
bool tensorCoreHalfAvailable(const Context& context);
// Whether the wgmma probe passed on this device (Hopper's warpgroup products; runs the probe on
// first use, cached per device): what the "wgmma" tactics of GEMMs and convolutions need.
bool tensorCoreWgmmaAvailable(const Context& context);
// Whether it found exact TF32 mma products (FLOAT tensor-core kernels, where TF32 is allowed).
bool tensorCoreTf32Available(const Context& context);
// Runs tensor-core variant `tactic` without asking the probe; with `emulate`, builds the kernel
// with the mma in software (-DMMA_EMULATE), so that its logic can be tested on any device.
// A split-K variant takes call.workspace (and call.forced_splits) as matrixMultiply would give them.
void runTensorCoreGemm(const std::string& tactic, const GemmCall& call, bool emulate);
// Test hook: the plain f16 tensor-core variants (not the async ones) are offered on every device and
// run with the mma in software, so that engines using them (and their workspace) run anywhere.
void setGemmMmaEmulation(bool on);

// The value the kernels take for "no activation" or the activation's code.
inline int activationCode(const GemmEpilogue& epilogue) {
  return epilogue.has_activation ? static_cast<int>(epilogue.activation) : -1;
}

}  // namespace mlprt::cl
