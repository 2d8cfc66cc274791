// The compute kernels of the runtime: one launcher per operation, each on device tensors of
// concrete shape. Floating tensors are stored as FLOAT or HALF; arithmetic is always in float
// (HALF storage goes through vload_half / vstore_half, which are core OpenCL, so it works on
// devices without cl_khr_fp16). Kernel sources live in kernels/*.cl, one file per family.
//
// Launchers enqueue on a stream without waiting and without events. Every launcher checks its
// operands (ranks, shapes, types, extents inside their buffers) and throws InvalidArgument naming
// the operand before anything is enqueued.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "backend/opencl/context.h"
#include "backend/opencl/memory.h"
#include "backend/opencl/program.h"
#include "backend/opencl/stream.h"
#include "core/data_type.h"
#include "core/dims.h"
#include "core/operations.h"

namespace mlprt::cl {

// A dense row-major tensor in device memory. range.offset is in bytes and a multiple of the
// element size. An execution context's input or output bound to pinned host memory has `host`
// set instead of `range`; only launchers that say so take such tensors (they read the memory
// through its address, see host_access.h), the others refuse them.
struct DeviceTensor {
  DeviceTensor() = default;
  DeviceTensor(DeviceRange range_in, Dims shape_in, DataType type_in)
      : range(std::move(range_in)), shape(std::move(shape_in)), type(type_in) {}

  DeviceRange range;
  Dims shape;  // concrete (no -1)
  DataType type = DataType::kFLOAT;
  HostRange host;

  bool inPinnedHostMemory() const noexcept { return host.buffer != nullptr; }
};

// The text of a kernel family ("elementwise", "gemm", ...), embedded at build time from
// kernels/<name>.cl. Throws InvalidArgument for an unknown name.
const std::string& kernelSource(const std::string& family);
// The names of every kernel family.
std::vector<std::string> kernelFamilies();

// Programs used by one launcher set, remembered as (family, build options) so that an engine can
// store their binaries.
struct ProgramKey {
  std::string family;
  std::string options;
  bool operator<(const ProgramKey& other) const {
    return std::tie(family, options) < std::tie(other.family, other.options);
  }
};

// The kernel objects of one execution context. Kernel arguments are per object, so one
// KernelCache must not be used from two threads at once; each execution context owns one.
class KernelCache {
 public:
  explicit KernelCache(std::shared_ptr<Context> context);
  const std::shared_ptr<Context>& context() const noexcept { return context_; }
  // The kernel `name` of `family` built with `options` (Program::build caches the program).
  Kernel& get(const std::string& family, const std::string& options, const std::string& name);
  // Every (family, options) built through this cache so far.
  std::vector<ProgramKey> programs() const;

 private:
  std::shared_ptr<Context> context_;
  std::map<std::tuple<std::string, std::string, std::string>, std::unique_ptr<Kernel>> kernels_;
};

// out = a (op) b with NumPy broadcasting of a and b to out.shape. Floating operands (FLOAT or
// HALF, any mix, computed in float) or integer / BOOL operands of one type (computed in 64-bit
// integers; DIV truncates, division by zero gives 0). Comparisons and logic write BOOL.
void elementWise(KernelCache& cache, Stream& stream, ElementWiseOperation op, const DeviceTensor& a,
                 const DeviceTensor& b, const DeviceTensor& out);
// out = condition ? a : b with NumPy broadcasting of all three; condition BOOL, a, b and out of
// one type (any).
void select(KernelCache& cache, Stream& stream, const DeviceTensor& condition, const DeviceTensor& a,
            const DeviceTensor& b, const DeviceTensor& out);
// out = activation(in), alpha and beta as in core/operations.h. Shapes equal.
void activation(KernelCache& cache, Stream& stream, ActivationType type, float alpha, float beta,
                const DeviceTensor& in, const DeviceTensor& out);
// Floating inputs for every operation; ABS and NEG also of integers, NOT of BOOL.
void unary(KernelCache& cache, Stream& stream, UnaryOperation op, const DeviceTensor& in,
           const DeviceTensor& out);
// out = transpose(in, permutation) converted to out.type (any types among FLOAT, HALF, INT32,
// INT8, UINT8, BOOL, INT64; conversions as C casts, float to bool is != 0). An empty
// permutation is the identity: a plain copy / cast / reshape (volumes must match).
void copyTransposed(KernelCache& cache, Stream& stream, const DeviceTensor& in,
                    const std::vector<int>& permutation, const DeviceTensor& out);
// Concatenates `inputs` along `axis` into out (all of out.type).
void concatenate(KernelCache& cache, Stream& stream, const std::vector<DeviceTensor>& inputs, int axis,
                 const DeviceTensor& out);
// Softmax (or LogSoftmax) along `axis`; numerically stable (subtracts the maximum).
void softmax(KernelCache& cache, Stream& stream, int axis, bool log, const DeviceTensor& in,
             const DeviceTensor& out);
// Reduces the axes whose bit is set in `axes`; out.shape is in.shape with those axes set to 1
// (keep_dimensions) or removed: the kernel only relies on out's volume.
void reduce(KernelCache& cache, Stream& stream, ReduceOperation op, std::uint32_t axes,
            const DeviceTensor& in, const DeviceTensor& out);
// At most this many residuals are added to x before a normalization.
constexpr std::size_t kMaxNormalizationResiduals = 2;
// (x - mean) / sqrt(var + epsilon) * scale + bias, mean and (biased) variance over the axes in
// `axes`; x = in, or in plus each of `residuals` (a transformer's residual Adds, summed in float;
// each of in's shape, or of in's trailing axes, repeated over the leading ones); scale and bias
// broadcast to in.shape. Operands of the sum come in any order: the one of out's shape is x.
// Where the rows kernels apply (the last axis only, up to 1024 wide, scale and bias per column),
// `tactic` picks one: kNormalizationRows (a value per item per load; the default, also for "") or
// kNormalizationRowsVec8 (8 consecutive values per load: rows and residual periods multiples of 8).
void normalization(KernelCache& cache, Stream& stream, std::uint32_t axes, float epsilon,
                   const DeviceTensor& in, const DeviceTensor& scale, const DeviceTensor& bias,
                   const DeviceTensor& out, const std::vector<const DeviceTensor*>& residuals = {},
                   const std::string& tactic = "");
inline constexpr const char* kNormalizationRows = "rows";
inline constexpr const char* kNormalizationRowsVec8 = "rows_vec8";
// The tactics a normalization with output shape `out` can run with (`summed`: x and the residuals,
// in any order): both rows tactics, "rows" alone, or none (the general kernel; nothing to time).
std::vector<std::string> normalizationTactics(std::uint32_t axes, const Dims& out, const Dims& scale, const Dims& bias,
                                              const std::vector<Dims>& summed);

// ---- Matrix multiplication --------------------------------------------------------------

// What a GEMM kernel applies to each output element after the product: + bias[column], then an
// activation.
struct GemmEpilogue {
  const DeviceTensor* bias = nullptr;  // volume == number of output columns, or null
  bool has_activation = false;
  ActivationType activation = ActivationType::kRELU;
  float alpha = 0.0f;
  float beta = 0.0f;
  // Convolutions with a residual: added after the activation (x + silu(conv), YOLO's bottleneck)
  // instead of before it (relu(conv + x), ResNet's block).
  bool residual_after_activation = false;
};

// A convolution kernel's has_residual argument (common.cl's with_residual): 0 without a
// residual, 1 added before the activation, 2 after it.
inline int residualMode(const GemmEpilogue& epilogue, const DeviceTensor* residual) {
  return residual == nullptr ? 0 : epilogue.residual_after_activation ? 2 : 1;
}

// One implementation of a matrix multiplication with its parameters. `name` identifies it in
// engines and timing caches ("clblast", "tiled_m4n4_k16", ...).
struct GemmTactic {
  std::string name;
};

// What the caller allows beyond exact FP32 / FP16-storage arithmetic.
struct GemmPolicy {
  // FLOAT products may run on TF32 tensor cores (10-bit mantissa inputs, float accumulation).
  bool allow_tf32 = false;
  // FLOAT products may run through CLBlast (the builder's tactic sources CUBLAS / CUBLAS_LT).
  bool allow_clblast = true;
};

// The tactics that can run a product of operands stored as `type` (FLOAT or HALF) on the device
// of `context` under `policy`: CLBlast only for FLOAT, the portable kernels for both, the
// tensor-core kernels where the device passes their probe, less those another family supersedes
// there (the cp.async tiles where wgmma runs); matrixMultiply still runs those when named.
std::vector<GemmTactic> gemmTactics(const Context& context, DataType type, const GemmPolicy& policy = {});

// gemmTactics with the superseded tactics kept, and whether one is superseded: deciding that may
// run a probe (wgmma's, which compiles its kernel: 1.0-1.4 s on an H100), so the builder asks only
// for the candidates a product's shapes leave (the tutorial MLP's FP16 build ran it for async
// tiles that its 64 rows then ruled out; issue 16 run 34).
std::vector<GemmTactic> gemmTacticsWithSuperseded(const Context& context, DataType type, const GemmPolicy& policy = {});
bool gemmTacticSuperseded(const GemmTactic& tactic, const Context& context);

// Whether `tactic` can run a product of these shapes. Some kernels demand aligned N or K (never
// a particular M, the batch axis); gemmTacticIsGeneral is true for those that run any product.
// Throws InvalidArgument for an unknown tactic or shapes that do not make a product.
bool gemmTacticFits(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                    MatrixOperation op1, const Dims& out);
bool gemmTacticIsGeneral(const GemmTactic& tactic);

// False when the block of the output that one work-group of `tactic` computes is four times the
// product or more along M or N: at least three quarters of that kernel's arithmetic is padding,
// and a tactic with a smaller block (which every device is offered) does the same product with
// less. Also false for the tiles made for small products (one-warp tiles, K split between warps)
// on a product of 256 or more 64 x 64 blocks, where bigger tiles win, and for the row kernels
// (`small_m1`, `small_m8`) on products of more than 32 passes of their rows, and for their K-split
// forms on products of K under 113, which they would run in one slice, and for CLBlast on products
// of fewer than 8M multiply-adds. The builder neither
// compiles nor times such tactics (unless nothing else would be left).
bool gemmTacticWorthTiming(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                           MatrixOperation op1, const Dims& out);
// True for the kernels made for small products: the row kernels and the tiles for products of few
// blocks (one-warp tiles, K split between warps or work-groups).
bool gemmTacticMadeForSmallProducts(const GemmTactic& tactic);
// True when `tactic` computes fixed blocks of the output, one per work-group with K unsplit, and the
// product has fewer blocks than one per 8 of the device's `compute_units`: most of a GPU stays idle
// while each work-group walks all of K. The builder does not compile or time such a tactic where
// a kernel made for small products is a candidate (dropTacticsLeavingDeviceIdle; the tutorial MLP at batch 64 on an H100: 1 or 2
// blocks of 64 x 64 for 132 units; their compiles were 4.7 of the cold build's 8 s, issue 16).
// Tactics without a fixed block (CLBlast, the row kernels) and split-K tiles are never idle here.
bool gemmTacticLeavesDeviceIdle(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                                MatrixOperation op1, const Dims& out, std::uint32_t compute_units);
// True for the tactics that run their products on tensor cores (mma.sync or wgmma tiles).
bool gemmTacticUsesTensorCores(const GemmTactic& tactic);
// Removes from `tactics` those that leave the device idle on this product, when one made for
// small products is among them (else none: something must be able to run it).
void dropTacticsLeavingDeviceIdle(std::vector<GemmTactic>& tactics, const Dims& a, MatrixOperation op0, const Dims& b,
                                  MatrixOperation op1, const Dims& out, std::uint32_t compute_units);

// out = epilogue(op0(a) x op1(b)) for rank >= 2 operands; the last two axes are the matrices and
// the leading (batch) axes of a and b broadcast to out's (each operand's batch is either out's
// or a single matrix). a, b and out share one storage type. Throws InvalidArgument for an
// unknown tactic name or one that cannot run these operands (e.g. "clblast" on HALF). Tactics that
// split K across work-groups ("*_splitk") keep partial sums in `workspace` (FLOAT, at least
// gemmWorkspaceBytes(tactic) bytes, at an even element) when they split; without one they refuse.
void matrixMultiply(KernelCache& cache, Stream& stream, const GemmTactic& tactic,
                    const DeviceTensor& a, MatrixOperation op0, const DeviceTensor& b,
                    MatrixOperation op1, const GemmEpilogue& epilogue, const DeviceTensor& out,
                    const DeviceTensor* workspace = nullptr);

// The most workspace `tactic` needs for any product on `context`'s device: 0 for tactics that
// never split K across work-groups.
std::size_t gemmWorkspaceBytes(const GemmTactic& tactic, const Context& context);

// ---- Fused MLP --------------------------------------------------------------------------------

// One dense layer of fusedMlp: weights K x N row-major, bias N or null.
struct MlpStageOperands {
  const DeviceTensor* weights = nullptr;
  const DeviceTensor* bias = nullptr;
  bool has_activation = false;
  ActivationType activation = ActivationType::kRELU;
  float alpha = 0.0f;
  float beta = 0.0f;
};

// Stages a fused MLP may have, and the kernel's rows-per-work-group choices ("fused_mlp_r<R>").
constexpr std::size_t kMaxMlpStages = 8;
const std::vector<int>& fusedMlpRowChoices();

// Whether a chain of layers with these widths (in, hidden..., out) fits the fused kernel on this
// device with `rows_per_group` rows per work-group (local memory, stage count, at most 2^21
// weights in all).
bool fusedMlpFits(const Context& context, const std::vector<std::int64_t>& widths, int rows_per_group);

// out = stage_S(... stage_0(in)) in one launch; in holds rows x K0 values (any shape of that
// volume), out is (rows, N_last). Weights and biases must share one buffer and one storage type.
void fusedMlp(KernelCache& cache, Stream& stream, int rows_per_group, const DeviceTensor& in,
              const std::vector<MlpStageOperands>& stages, const DeviceTensor& out);

}  // namespace mlprt::cl
