// matrixMultiply: operand checks, the tactic registry, and the portable variants (CLBlast and
// the kernels of kernels/gemm.cl). Other kernel families add variants through gemm_launch.h.
#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <numeric>

#include "backend/opencl/split_k.h"
#include "backend/opencl/gemm.h"
#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "core/error.h"

namespace mlprt::cl {

using namespace support;

namespace {

constexpr const char* kClblast = "clblast";
// CLBlast is timed on products of at least this many multiply-adds: on an H100 it took 42 and
// 24 us where the row kernels took 19 and 9 (the tutorial MLP at batch 64: 1.6M and 20K), and
// lost to them at 34M (the wide MLP at batch 8), while its own compile costs a cold build about
// 1.5 s (issue 16 run 8); from 38M (batch 9) up it won.
constexpr std::int64_t kClblastMinMultiplyAdds = std::int64_t{8} << 20;

// ---- Shapes ----------------------------------------------------------------------------------

Extents batchExtents(const Dims& shape) {
  Extents batch(shape.extents().begin(), shape.extents().end() - 2);
  // Leading 1s do not change a batch: (1, 3) and (3) are the same batch.
  const auto first = std::find_if(batch.begin(), batch.end(), [](std::int64_t e) { return e != 1; });
  return Extents(first, batch.end());
}

std::int64_t product(const Extents& extents) {
  return std::accumulate(extents.begin(), extents.end(), std::int64_t{1}, std::multiplies<>());
}

// The batch stride of an operand: its matrix size when it has out's batch, 0 when it is one
// matrix; anything else is refused.
std::int64_t operandBatchStride(const std::string& name, const Dims& operand, const Dims& out,
                                std::int64_t matrix_size) {
  const Extents batch = batchExtents(operand);
  if (product(batch) == 1) return 0;
  if (batch != batchExtents(out)) {
    throw InvalidArgument(describe("matrixMultiply", name) + " shape " + operand.toString() +
                          " has a batch that is neither the output's " + out.toString() +
                          " nor a single matrix");
  }
  return matrix_size;
}

// The GemmShape of a product of these shapes; throws naming the operand that does not fit.
GemmShape shapeOf(const Dims& a, MatrixOperation op0, const Dims& b, MatrixOperation op1, const Dims& out) {
  constexpr const char* kName = "matrixMultiply";
  const std::pair<const char*, const Dims*> operands[] = {{"operand a", &a}, {"operand b", &b}, {"output", &out}};
  for (const auto& [name, shape] : operands) {
    if (shape->rank() < 2) {
      throw InvalidArgument(describe(kName, name) + " shape " + shape->toString() + " has rank below 2");
    }
  }
  GemmShape shape;
  shape.a_trans = op0 == MatrixOperation::kTRANSPOSE;
  shape.b_trans = op1 == MatrixOperation::kTRANSPOSE;
  const std::size_t ar = a.rank(), br = b.rank(), outr = out.rank();
  shape.m = shape.a_trans ? a[ar - 1] : a[ar - 2];
  shape.k = shape.a_trans ? a[ar - 2] : a[ar - 1];
  const std::int64_t b_k = shape.b_trans ? b[br - 1] : b[br - 2];
  shape.n = shape.b_trans ? b[br - 2] : b[br - 1];
  if (b_k != shape.k) {
    throw InvalidArgument(std::string(kName) + ": operand b shape " + b.toString() + " has K = " +
                          std::to_string(b_k) + " but operand a shape " + a.toString() + " has K = " +
                          std::to_string(shape.k));
  }
  if (out[outr - 2] != shape.m || out[outr - 1] != shape.n) {
    throw InvalidArgument(std::string(kName) + ": output shape " + out.toString() + " does not end in (" +
                          std::to_string(shape.m) + ", " + std::to_string(shape.n) + ")");
  }
  shape.batch = product(batchExtents(out));
  shape.a_batch_stride = operandBatchStride("operand a", a, out, shape.m * shape.k);
  shape.b_batch_stride = operandBatchStride("operand b", b, out, shape.k * shape.n);
  const std::int64_t limit = std::numeric_limits<std::int32_t>::max();
  if (shape.m > limit || shape.n > limit || shape.k > limit) {
    throw InvalidArgument(std::string(kName) + ": matrix extents beyond 2^31 are not supported");
  }
  // With one b for the whole batch and a stored row-major, the batch of a is simply more rows.
  if (shape.batch > 1 && shape.b_batch_stride == 0 && !shape.a_trans && shape.a_batch_stride != 0) {
    shape.m *= shape.batch;
    shape.batch = 1;
    shape.a_batch_stride = 0;
  }
  return shape;
}

GemmShape checkGemm(const KernelCache& cache, const DeviceTensor& a, MatrixOperation op0,
                    const DeviceTensor& b, MatrixOperation op1, const GemmEpilogue& epilogue,
                    const DeviceTensor& out) {
  constexpr const char* kName = "matrixMultiply";
  const std::pair<const char*, const DeviceTensor*> operands[] = {{"operand a", &a},
                                                                  {"operand b", &b},
                                                                  {"output", &out}};
  for (const auto& [name, tensor] : operands) {
    requireFloating(kName, name, *tensor);
    if (tensor->shape.rank() < 2) {
      throw InvalidArgument(describe(kName, name) + " shape " + tensor->shape.toString() +
                            " has rank below 2");
    }
    checkPlacement(cache, kName, name, *tensor);
  }
  if (a.type != out.type || b.type != out.type) {
    throw InvalidArgument(std::string(kName) + ": operand a (" + dataTypeName(a.type) +
                          "), operand b (" + dataTypeName(b.type) + ") and output (" +
                          dataTypeName(out.type) + ") must share one storage type");
  }
  const GemmShape shape = shapeOf(a.shape, op0, b.shape, op1, out.shape);
  if (epilogue.bias) {
    requireFloating(kName, "bias", *epilogue.bias);
    if (checkPlacement(cache, kName, "bias", *epilogue.bias) != shape.n) {
      throw InvalidArgument(std::string(kName) + ": bias shape " + epilogue.bias->shape.toString() +
                            " does not have the output's " + std::to_string(shape.n) + " columns");
    }
  }
  return shape;
}

// ---- CLBlast ---------------------------------------------------------------------------------

// bias + activation in place over c, after a product computed by CLBlast.
void launchEpilogue(KernelCache& cache, Stream& stream, const GemmEpilogue& epilogue,
                    const DeviceTensor& out, std::int64_t volume, std::int64_t n) {
  const DeviceTensor& bias = epilogue.bias ? *epilogue.bias : out;
  const std::string options =
      joinOptions({"-DEPILOGUE_ONLY", halfOption("OUT", out.type), halfOption("BIAS", bias.type)});
  Kernel& kernel = cache.get("gemm", options, "gemm_epilogue");
  Arguments(kernel, true)
      .tensor(out).tensor(bias)
      .value<cl_long>(volume)
      .value<cl_int>(static_cast<cl_int>(n))
      .value<cl_int>(epilogue.bias ? 1 : 0)
      .value<cl_int>(activationCode(epilogue))
      .value<cl_float>(epilogue.alpha).value<cl_float>(epilogue.beta);
  launchLinear(kernel, stream, volume);
}

void runClblast(const GemmCall& call) {
  const GemmShape& shape = call.shape;
  GemmProblem problem;
  problem.transpose_a = shape.a_trans ? Transpose::kYes : Transpose::kNo;
  problem.transpose_b = shape.b_trans ? Transpose::kYes : Transpose::kNo;
  problem.m = static_cast<std::size_t>(shape.m);
  problem.n = static_cast<std::size_t>(shape.n);
  problem.k = static_cast<std::size_t>(shape.k);
  problem.batch = static_cast<std::size_t>(shape.batch);
  const auto operand = [](const DeviceTensor& tensor, std::int64_t ld, std::int64_t stride) {
    // BLAS wants ld >= 1 even for empty matrices (K = 0).
    return MatrixOperand{tensor.range, static_cast<std::size_t>(std::max<std::int64_t>(ld, 1)),
                         static_cast<std::size_t>(stride)};
  };
  gemm(call.stream, problem, operand(call.a, shape.a_trans ? shape.m : shape.k, shape.a_batch_stride),
       operand(call.b, shape.b_trans ? shape.k : shape.n, shape.b_batch_stride),
       operand(call.out, shape.n, shape.m * shape.n));
  if (call.epilogue.bias || call.epilogue.has_activation) {
    launchEpilogue(call.cache, call.stream, call.epilogue, call.out, shape.batch * shape.m * shape.n, shape.n);
  }
}

// ---- Portable kernels (kernels/gemm.cl) --------------------------------------------------------

// Tiled variants: a 16 x 16 work-group, each item computing a wpt_m x wpt_n register block,
// tile_k the depth of the local-memory tiles; the larger the block, the more reuse and the fewer
// (bigger) work-groups. Small variants: `rows` rows per pass with K split over the group, for
// batch-1..8 layers.
enum class PortableKernel { kTiled, kSmall };

struct PortableTactic {
  const char* name;
  PortableKernel kernel;
  int wpt_m, wpt_n, tile_k;  // tiled
  int rows;                  // small
  bool split_groups = false;  // small: K also split across work-groups where they are few
  int threads = 256;  // small: items per work-group (SMALL_THREADS)
};

// small_m1_g1024: one row, work-groups of 1024 items, 128 (or 256: wideRowKernelKSplit) of them
// along K for each 8 (4) column vectors of a K x N b: the wide MLP's FP32 layers at batch 1 read
// their weights in 7.5, 26.1 and 12.0 us against 14.7, 28.8 and 13.7 for groups of 256 with K
// split across groups and a second kernel (bench/gemv_probe.cpp, issue 16 run 38, H100): no
// second kernel, no workspace.
constexpr std::array<PortableTactic, 8> kPortableTactics{{
    {"tiled_m2n2_k16", PortableKernel::kTiled, 2, 2, 16, 0},
    {"tiled_m4n4_k16", PortableKernel::kTiled, 4, 4, 16, 0},
    {"tiled_m8n8_k8", PortableKernel::kTiled, 8, 8, 8, 0},
    {"small_m1", PortableKernel::kSmall, 0, 0, 0, 1},
    {"small_m8", PortableKernel::kSmall, 0, 0, 0, 8},
    {"small_m1_splitk", PortableKernel::kSmall, 0, 0, 0, 1, true},
    {"small_m8_splitk", PortableKernel::kSmall, 0, 0, 0, 8, true},
    {"small_m1_g1024", PortableKernel::kSmall, 0, 0, 0, 1, false, 1024},
}};
constexpr std::size_t kTiledGroup = 16;     // GROUP_M = GROUP_N in gemm.cl
constexpr std::size_t kSmallThreads = 256;  // SMALL_THREADS in gemm.cl unless a tactic sets it
// Work-groups of 1024 items pay off only where b is large enough to stream: timed on products of
// at least this many multiply-adds (the wide MLP's layers have 4M and 16M per row; the tutorial
// MLP's 784 x 32 at batch 64 has 1.6M), of at most kWideGroupPasses rows.
constexpr std::int64_t kWideGroupMinMultiplyAdds = std::int64_t{1} << 21;
constexpr std::int64_t kWideGroupPasses = 4;
// The row kernels are timed on products of up to this many passes of their rows.
constexpr std::int64_t kSmallKernelPasses = 32;
// Their K-split variants aim for this many work-groups per compute unit (groups of 256 items that
// stream weights: bound by memory, they want many in flight), each slice at least 4 x 16 of K.
constexpr std::int64_t kSmallSplitGroupsPerUnit = 8;
constexpr std::int64_t kSmallSplitKStep = 16;
constexpr std::size_t kFinishGroup = 64;

// Columns each item of a row kernel covers: 8 (one 16-byte load of a K x N half b's row,
// -DSMALL_VEC8) where N and b's offset and batch stride allow aligned loads of 8 and the kernel
// has at most kSmallVec8Rows rows (its local partial sums are 32 bytes per item and row); 4 (a
// 16-byte load of float b, 8 bytes of half, -DSMALL_VEC4) where they allow aligned loads of 4;
// else 1.
constexpr std::int64_t kSmallVec8Rows = 4;

// Whether vectors of `width` values along b's contiguous axis (of `extent` values) stay aligned:
// the extent, b's offset and its batch stride are multiples of the width.
bool bAlignedFor(const GemmCall& call, std::int64_t extent, std::int64_t width) {
  return extent % width == 0 && call.shape.b_batch_stride % width == 0 &&
         static_cast<std::int64_t>(elementOffset(call.b)) % width == 0;
}

std::int64_t smallItemColumns(const GemmCall& call, std::int64_t rows) {
  const GemmShape& shape = call.shape;
  const auto aligned = [&](std::int64_t width) { return !shape.b_trans && bAlignedFor(call, shape.n, width); };
  if (call.b.type == DataType::kHALF && rows <= kSmallVec8Rows && aligned(8)) return 8;
  return aligned(4) ? 4 : 1;
}

// Values of K each item of a row kernel reads per load where b is N x K (FP16 engines keep
// PyTorch's Linear weights so): 16 bytes of b's row (8 half values, -DSMALL_KVEC=8; 4 float), or 8
// bytes of half where K allows only 4; 1 (one value per load) where a is transposed or K, b's offset
// or batch stride are not multiples of the width.
std::int64_t smallKVector(const GemmCall& call) {
  const GemmShape& shape = call.shape;
  if (!shape.b_trans || shape.a_trans) return 1;
  if (call.b.type == DataType::kHALF && bAlignedFor(call, shape.k, 8)) return 8;
  return bAlignedFor(call, shape.k, 4) ? 4 : 1;
}

// The rows x columns of outputs one work-group of a row kernel covers, at most.
std::int64_t smallBlockElements(const PortableTactic& tactic) {
  // split 8 along K, 8 columns per item: the most columns a group covers
  return tactic.rows * static_cast<std::int64_t>(tactic.threads) / 8 * 8;
}

void runPortable(const PortableTactic& tactic, const GemmCall& call) {
  const GemmShape& shape = call.shape;
  const DeviceTensor& bias = call.biasOrOut();
  const bool tiled = tactic.kernel == PortableKernel::kTiled;
  const std::int64_t item_columns = tiled ? 1 : smallItemColumns(call, tactic.rows);
  const std::int64_t k_vector = tiled ? 1 : smallKVector(call);
  const std::string variant =
      tiled ? "-DWPT_M=" + std::to_string(tactic.wpt_m) + " -DWPT_N=" + std::to_string(tactic.wpt_n) +
                  " -DTILE_K=" + std::to_string(tactic.tile_k)
            : "-DSMALL_ROWS=" + std::to_string(tactic.rows) + (tactic.split_groups ? " -DSMALL_SPLIT" : "") +
                  (tactic.threads != static_cast<int>(kSmallThreads)
                       ? " -DSMALL_THREADS=" + std::to_string(tactic.threads) : "") +
                  (item_columns == 8 ? " -DSMALL_VEC8" : item_columns == 4 ? " -DSMALL_VEC4" : "") +
                  (k_vector > 1 ? " -DSMALL_KVEC=" + std::to_string(k_vector) : "");
  const std::string options =
      joinOptions({variant, halfOption("A", call.a.type), halfOption("B", call.b.type),
                   halfOption("OUT", call.out.type), halfOption("BIAS", bias.type)});
  Kernel& kernel = call.cache.get("gemm", options, tiled ? "gemm_tiled" : "gemm_small");
  Arguments arguments(kernel, true);
  arguments.tensor(call.a).value<cl_long>(shape.a_batch_stride)
      .tensor(call.b).value<cl_long>(shape.b_batch_stride)
      .tensor(bias).tensor(call.out)
      .value<cl_int>(static_cast<cl_int>(shape.m))
      .value<cl_int>(static_cast<cl_int>(shape.n))
      .value<cl_int>(static_cast<cl_int>(shape.k))
      .value<cl_int>(shape.a_trans ? 1 : 0)
      .value<cl_int>(shape.b_trans ? 1 : 0)
      .value<cl_int>(call.epilogue.bias ? 1 : 0)
      .value<cl_int>(activationCode(call.epilogue))
      .value<cl_float>(call.epilogue.alpha).value<cl_float>(call.epilogue.beta);
  const auto batch = static_cast<std::size_t>(shape.batch);
  if (tiled) {
    const std::int64_t tile_m = static_cast<std::int64_t>(kTiledGroup) * tactic.wpt_m;
    const std::int64_t tile_n = static_cast<std::int64_t>(kTiledGroup) * tactic.wpt_n;
    kernel.launch(call.stream,
                  {tilesCovering(shape.n, tile_n) * kTiledGroup, tilesCovering(shape.m, tile_m) * kTiledGroup, batch},
                  {kTiledGroup, kTiledGroup, 1});
  } else {
    // Items of a column split K: 32 along contiguous K when b is N x K, else 8 with 32 columns
    // side by side along contiguous N in a group of 256 (wideRowKernelKSplit in one of 1024).
    const auto threads = static_cast<std::size_t>(tactic.threads);
    const std::int64_t row_blocks = static_cast<std::int64_t>(tilesCovering(shape.m, tactic.rows)) * shape.batch;
    const cl_int split = shape.b_trans ? 32
                         : threads == kSmallThreads
                             ? 8
                             : wideRowKernelKSplit((shape.n + item_columns - 1) / item_columns, row_blocks,
                                                   call.cache.context()->device().compute_units);
    arguments.value(split);
    const std::int64_t columns = static_cast<std::int64_t>(threads) / split * item_columns;
    const std::size_t groups_n = tilesCovering(shape.n, columns), groups_m = tilesCovering(shape.m, tactic.rows);
    if (!tactic.split_groups) {
      kernel.launch(call.stream, {groups_n * threads, groups_m, batch}, {threads, 1, 1});
      return;
    }
    const auto blocks = static_cast<std::int64_t>(groups_n * groups_m * batch);
    const std::int64_t slices =
        call.forced_splits > 0 ? call.forced_splits
                               : splitKSlices(blocks, (shape.k + kSmallSplitKStep - 1) / kSmallSplitKStep,
                                              call.cache.context()->device().compute_units, kSmallSplitGroupsPerUnit);
    // Slices of whole K vectors where items read them (the last slice may be shorter or empty).
    const auto chunk = static_cast<std::int64_t>(
        roundUp((shape.k + slices - 1) / slices, static_cast<std::size_t>(k_vector)));
    const std::int64_t count = shape.batch * shape.m * shape.n;
    const DeviceTensor* partials = nullptr;
    if (slices > 1) {
      partials = &checkSplitWorkspace(call.cache, "matrixMultiply", tactic.name, "product", call.workspace,
                                      static_cast<std::size_t>(slices * count) * sizeof(float), slices);
    }
    // In one slice the kernel writes the output itself through its epilogue (`partials` unused).
    arguments.value<cl_int>(static_cast<cl_int>(slices)).value<cl_int>(static_cast<cl_int>(chunk));
    arguments.tensor(partials ? *partials : call.out);
    kernel.launch(call.stream, {groups_n * threads, groups_m, batch * static_cast<std::size_t>(slices)},
                  {threads, 1, 1});
    if (!partials) return;
    Kernel& finish = call.cache.get("gemm", options, "gemm_small_finish");
    Arguments(finish, true)
        .tensor(call.out).tensor(*partials).tensor(bias)
        .value<cl_long>(count).value<cl_int>(static_cast<cl_int>(shape.n)).value<cl_int>(static_cast<cl_int>(slices))
        .value<cl_int>(call.epilogue.bias ? 1 : 0).value<cl_int>(activationCode(call.epilogue))
        .value<cl_float>(call.epilogue.alpha).value<cl_float>(call.epilogue.beta);
    finish.launch(call.stream, {roundUp(count, kFinishGroup)}, {kFinishGroup});
  }
}

}  // namespace

int wideRowKernelKSplit(std::int64_t column_vectors, std::int64_t row_blocks, std::uint32_t compute_units) {
  constexpr std::int64_t kWideThreads = 1024;
  const std::int64_t groups = (column_vectors + kWideThreads / 128 - 1) / (kWideThreads / 128) * row_blocks;
  return 2 * groups < static_cast<std::int64_t>(compute_units) ? 256 : 128;
}

namespace {

// Every variant of every family, in the order tactics are offered.
const std::vector<GemmVariant>& allVariants() {
  static const std::vector<GemmVariant> variants = [] {
    std::vector<GemmVariant> all;
    for (auto family : {portableGemmVariants, largeTileGemmVariants, tensorCoreGemmVariants}) {
      for (GemmVariant& variant : family()) all.push_back(std::move(variant));
    }
    return all;
  }();
  return variants;
}

const GemmVariant& findVariant(const std::string& name) {
  for (const GemmVariant& variant : allVariants()) {
    if (variant.name == name) return variant;
  }
  throw InvalidArgument("matrixMultiply: unknown GEMM tactic '" + name + "'");
}

}  // namespace

Arguments setGemmArguments(Kernel& kernel, const GemmCall& call) {
  const GemmShape& shape = call.shape;
  Arguments arguments(kernel, true);
  arguments      .tensor(call.a).value<cl_long>(shape.a_batch_stride)
      .tensor(call.b).value<cl_long>(shape.b_batch_stride)
      .tensor(call.biasOrOut()).tensor(call.out)
      .value<cl_int>(static_cast<cl_int>(shape.m))
      .value<cl_int>(static_cast<cl_int>(shape.n))
      .value<cl_int>(static_cast<cl_int>(shape.k))
      .value<cl_int>(shape.a_trans ? 1 : 0)
      .value<cl_int>(shape.b_trans ? 1 : 0)
      .value<cl_int>(call.epilogue.bias ? 1 : 0)
      .value<cl_int>(activationCode(call.epilogue))
      .value<cl_float>(call.epilogue.alpha).value<cl_float>(call.epilogue.beta);
  return arguments;
}

std::vector<GemmVariant> portableGemmVariants() {
  std::vector<GemmVariant> variants;
  variants.push_back({kClblast,
                      [](const Context&, DataType type, const GemmPolicy& policy) {
                        return type == DataType::kFLOAT && policy.allow_clblast;
                      },
                      {}, runClblast});
  variants.back().min_multiply_adds = kClblastMinMultiplyAdds;
  for (const PortableTactic& tactic : kPortableTactics) {
    const bool tiled = tactic.kernel == PortableKernel::kTiled;
    const auto threads = static_cast<std::size_t>(tactic.threads);
    GemmVariant variant{tactic.name,
                        [threads](const Context& context, DataType type, const GemmPolicy&) {
                          return isFloating(type) && context.device().max_work_group >= threads;
                        },
                        {}, [&tactic](const GemmCall& call) { runPortable(tactic, call); },
                        tiled ? static_cast<std::int64_t>(kTiledGroup) * tactic.wpt_m : 0,
                        tiled ? static_cast<std::int64_t>(kTiledGroup) * tactic.wpt_n : 0};
    // Each row kernel reads b once per pass of `rows` rows: far behind the tiles past a few passes
    // (small_m1 took 194 ms where the 8x8 tile took 11 ms for 4096 rows of 256 x 256 on PoCL).
    if (!tiled) variant.max_rows = kSmallKernelPasses * tactic.rows;
    if (threads != kSmallThreads) {
      variant.max_rows = kWideGroupPasses * tactic.rows;
      variant.min_multiply_adds = kWideGroupMinMultiplyAdds;
    }
    if (tactic.split_groups) {
      // Split only where the columns give few work-groups: products of few tiles.
      variant.small_products_only = true;
      variant.min_k = smallestSplittableK(kSmallSplitKStep);
      const std::int64_t block = smallBlockElements(tactic);
      variant.workspace_bytes = [block](const Context& context) {
        return splitKWorkspaceBound(static_cast<std::size_t>(block), context.device().compute_units,
                                    kSmallSplitGroupsPerUnit);
      };
    }
    variants.push_back(std::move(variant));
  }
  return variants;
}

std::vector<GemmTactic> gemmTacticsWithSuperseded(const Context& context, DataType type, const GemmPolicy& policy) {
  std::vector<GemmTactic> tactics;
  if (!isFloating(type)) return tactics;
  for (const GemmVariant& variant : allVariants()) {
    if (variant.offered(context, type, policy)) tactics.push_back({variant.name});
  }
  return tactics;
}

bool gemmTacticSuperseded(const GemmTactic& tactic, const Context& context) {
  const GemmVariant& variant = findVariant(tactic.name);
  return variant.superseded && variant.superseded(context);
}

std::vector<GemmTactic> gemmTactics(const Context& context, DataType type, const GemmPolicy& policy) {
  std::vector<GemmTactic> tactics = gemmTacticsWithSuperseded(context, type, policy);
  tactics.erase(std::remove_if(tactics.begin(), tactics.end(),
                               [&](const GemmTactic& tactic) { return gemmTacticSuperseded(tactic, context); }),
                tactics.end());
  return tactics;
}

bool gemmTacticFits(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                    MatrixOperation op1, const Dims& out) {
  const GemmVariant& variant = findVariant(tactic.name);
  return !variant.fits || variant.fits(shapeOf(a, op0, b, op1, out));
}

bool gemmTacticIsGeneral(const GemmTactic& tactic) { return !findVariant(tactic.name).fits; }

bool gemmTacticUsesTensorCores(const GemmTactic& tactic) { return findVariant(tactic.name).tensor_cores; }

namespace {

// Fewer 64 x 64 blocks of output than kSmallProductTiles: a product that big tiles leave most
// multiprocessors idle on (4096 x 256 is 256 of them, where the 128 x 64 tiles win on an H200;
// 128 x 768 at batch 1 is 24, where tiles of 32 x 32 with K split between 4 warps do).
constexpr std::int64_t kSmallProductTiles = 256;

bool fewTiles(const GemmShape& shape) {
  const std::int64_t tiles = ((shape.m + 63) / 64) * ((shape.n + 63) / 64) * std::max<std::int64_t>(shape.batch, 1);
  return tiles < kSmallProductTiles;
}

}  // namespace

bool gemmTacticWorthTiming(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                           MatrixOperation op1, const Dims& out) {
  const GemmVariant& variant = findVariant(tactic.name);
  const GemmShape shape = shapeOf(a, op0, b, op1, out);
  if (variant.small_products_only && !fewTiles(shape)) return false;
  if (variant.max_rows > 0 && shape.m > variant.max_rows) return false;
  if (shape.k < variant.min_k) return false;
  if (shape.m * shape.n * shape.k * std::max<std::int64_t>(shape.batch, 1) < variant.min_multiply_adds) return false;
  return !blockMostlyPadding(variant.block_m, shape.m) && !blockMostlyPadding(variant.block_n, shape.n);
}

bool gemmTacticMadeForSmallProducts(const GemmTactic& tactic) {
  const GemmVariant& variant = findVariant(tactic.name);
  return variant.small_products_only || variant.max_rows > 0;
}

bool gemmTacticLeavesDeviceIdle(const GemmTactic& tactic, const Dims& a, MatrixOperation op0, const Dims& b,
                                MatrixOperation op1, const Dims& out, std::uint32_t compute_units) {
  const GemmVariant& variant = findVariant(tactic.name);
  if (variant.block_m == 0 || variant.block_n == 0 || variant.small_products_only || variant.workspace_bytes) {
    return false;
  }
  const GemmShape shape = shapeOf(a, op0, b, op1, out);
  const auto blocks = static_cast<std::int64_t>(tilesCovering(shape.m, variant.block_m) *
                                                tilesCovering(shape.n, variant.block_n)) *
                      std::max<std::int64_t>(shape.batch, 1);
  return fewWorkGroupsForDevice(blocks, compute_units);
}

void dropTacticsLeavingDeviceIdle(std::vector<GemmTactic>& tactics, const Dims& a, MatrixOperation op0, const Dims& b,
                                  MatrixOperation op1, const Dims& out, std::uint32_t compute_units) {
  if (std::none_of(tactics.begin(), tactics.end(), gemmTacticMadeForSmallProducts)) return;
  tactics.erase(std::remove_if(tactics.begin(), tactics.end(),
                               [&](const GemmTactic& tactic) {
                                 return gemmTacticLeavesDeviceIdle(tactic, a, op0, b, op1, out, compute_units);
                               }),
                tactics.end());
}

std::size_t gemmWorkspaceBytes(const GemmTactic& tactic, const Context& context) {
  const GemmVariant& variant = findVariant(tactic.name);
  return variant.workspace_bytes ? variant.workspace_bytes(context) : 0;
}

void matrixMultiply(KernelCache& cache, Stream& stream, const GemmTactic& tactic,
                    const DeviceTensor& a, MatrixOperation op0, const DeviceTensor& b,
                    MatrixOperation op1, const GemmEpilogue& epilogue, const DeviceTensor& out,
                    const DeviceTensor* workspace) {
  const GemmVariant& variant = findVariant(tactic.name);
  const GemmShape shape = checkGemm(cache, a, op0, b, op1, epilogue, out);
  if (!variant.offered(*cache.context(), out.type, GemmPolicy{true})) {
    throw InvalidArgument("matrixMultiply: tactic '" + tactic.name + "' cannot run " + dataTypeName(out.type) +
                          " operands on " + cache.context()->device().name);
  }
  if (variant.fits && !variant.fits(shape)) {
    throw InvalidArgument("matrixMultiply: tactic '" + tactic.name + "' cannot run a product of " +
                          a.shape.toString() + " and " + b.shape.toString());
  }
  if (shape.m == 0 || shape.n == 0 || shape.batch == 0) return;
  variant.run(GemmCall{cache, stream, shape, a, b, epilogue, out, workspace});
}

}  // namespace mlprt::cl
