#include "backend/opencl/ops/attention/attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"
#include "backend/opencl/split_k.h"

namespace mlprt::cl {
namespace {

using namespace support;

constexpr const char* kLauncher = "attention";

// attention.cl's work-group: kItems items per query row (and keys per tile) times kRows rows.
constexpr std::int64_t kItems = 16;
constexpr std::int64_t kRows = 16;

void requireRank(const char* operand, std::size_t rank, const char* layout, const DeviceTensor& tensor) {
  if (tensor.shape.rank() != rank) {
    throw InvalidArgument(describe(kLauncher, operand) + " shape " + tensor.shape.toString() + " is not of rank " +
                          std::to_string(rank) + " " + layout);
  }
}

void requireHeadSize(const char* operand, const char* name, std::int64_t size) {
  if (size > kMaxAttentionHeadSize) {
    throw InvalidArgument(describe(kLauncher, operand) + " head size " + name + " = " + std::to_string(size) +
                          " exceeds the kernel's bound of " + std::to_string(kMaxAttentionHeadSize));
  }
}

// An operand as the kernel reads it: logical (batch, heads, rows, depth) and the element strides of
// those axes in its storage.
struct OperandView {
  std::int64_t batch = 0, heads = 0, rows = 0, depth = 0;
  std::int64_t batch_stride = 0, head_stride = 0, row_stride = 0, depth_stride = 1;
};

// A dense (B, H, S, D) operand, or with `transposed` (B, H, D, S).
OperandView denseView(const char* operand, const char* layout, const DeviceTensor& tensor, bool transposed = false) {
  requireRank(operand, 4, layout, tensor);
  const Dims& s = tensor.shape;
  OperandView view{s[0], s[1], transposed ? s[3] : s[2], transposed ? s[2] : s[3]};
  view.head_stride = s[2] * s[3];
  view.batch_stride = s[1] * view.head_stride;
  view.row_stride = transposed ? 1 : s[3];
  view.depth_stride = transposed ? s[3] : 1;
  return view;
}

// An operand with `heads` heads packed along its last axis: (B, S, heads x D).
OperandView packedView(const char* operand, const char* layout, const DeviceTensor& tensor, std::int64_t heads) {
  requireRank(operand, 3, layout, tensor);
  const Dims& s = tensor.shape;
  if (heads < 1 || s[2] % heads != 0) {
    throw InvalidArgument(describe(kLauncher, operand) + " shape " + tensor.shape.toString() + " does not pack " +
                          std::to_string(heads) + " heads along its last axis " + layout);
  }
  OperandView view{s[0], heads, s[1], s[2] / heads};
  view.head_stride = view.depth;
  view.row_stride = s[2];
  view.batch_stride = s[1] * s[2];
  return view;
}

// An operand inside merged q, k and v (B, S, (H + 2 Hk) x D): `heads` heads from head `first` on.
OperandView mergedView(const char* operand, const DeviceTensor& tensor, std::int64_t heads, std::int64_t all_heads) {
  requireRank(operand, 3, "(B, S, (H + 2 Hk) x D)", tensor);
  const Dims& s = tensor.shape;
  if (all_heads < 1 || s[2] % all_heads != 0) {
    throw InvalidArgument(describe(kLauncher, operand) + " shape " + tensor.shape.toString() +
                          " does not hold " + std::to_string(all_heads) + " merged heads along its last axis");
  }
  OperandView view{s[0], heads, s[1], s[2] / all_heads};
  view.head_stride = view.depth;
  view.row_stride = s[2];
  view.batch_stride = s[1] * s[2];
  return view;
}

// `tensor` from its element `elements` on (merged q, k and v: where k's and v's heads start).
DeviceTensor advanced(DeviceTensor tensor, std::int64_t elements) {
  tensor.range.offset += static_cast<std::size_t>(elements) * elementSize(tensor.type);
  return tensor;
}

OperandView viewOf(const AttentionParameters& parameters, std::uint32_t bit, const char* operand,
                   const char* dense_layout, const char* packed_layout, const DeviceTensor& tensor,
                   std::int64_t heads, bool transposed = false) {
  if (parameters.merged_qkv) {
    return mergedView(operand, tensor, (bit & kPackedQuery) ? parameters.heads : parameters.kv_heads,
                      parameters.heads + 2 * parameters.kv_heads);
  }
  if (parameters.packed & bit) return packedView(operand, packed_layout, tensor, heads);
  return denseView(operand, dense_layout, tensor, transposed);
}

// The tiles' width: max(D, Dv) rounded up to kItems times a power of two (at most the bound).
std::int64_t tileWidth(std::int64_t d, std::int64_t dv) {
  std::int64_t width = kItems;
  while (width < d || width < dv) width *= 2;
  return width;
}

std::atomic<bool> emulation{false};  // setAttentionMmaEmulation
std::atomic<std::int64_t> forced_key_slices{0};  // setAttentionKeySlices

// The split-keys tactic's slices: enough for two work-groups per compute unit, each slice whole tiles
// of keys (at least one), as few slices as that many tiles allow; 1 where the blocks fill the device.
struct KeySlices {
  std::int64_t slices = 1;
  std::int64_t chunk = 0;  // keys per slice, a multiple of kItems
};

KeySlices keySlices(std::int64_t groups, std::int64_t keys, std::uint32_t compute_units) {
  const std::int64_t tiles = std::max<std::int64_t>(1, (keys + kItems - 1) / kItems);
  const std::int64_t wanted = 2 * static_cast<std::int64_t>(std::max<std::uint32_t>(compute_units, 1));
  std::int64_t slices = forced_key_slices.load();
  if (slices <= 0) slices = groups >= wanted ? 1 : (wanted + groups - 1) / std::max<std::int64_t>(groups, 1);
  slices = std::clamp<std::int64_t>(slices, 1, tiles);
  const std::int64_t chunk_tiles = (tiles + slices - 1) / slices;
  return {(tiles + chunk_tiles - 1) / chunk_tiles, chunk_tiles * kItems};
}

// Bytes of the slices' rows: per slice and query row of every block, its maximum, sum and Dv outputs.
std::size_t keySliceBytes(const KeySlices& split, std::int64_t groups, std::int64_t dv) {
  if (split.slices <= 1) return 0;
  return static_cast<std::size_t>(split.slices * groups * kRows * (dv + 2)) * sizeof(float);
}

// A head size rounded up to the mma's K of 16 (at least 16).
std::int64_t mmaHeadWidth(std::int64_t size) { return std::max<std::int64_t>(16, (size + 15) / 16 * 16); }

// The widest key tile of either kernel (attention_mma.cl's BK): positions must stay in 32 bits past it.
constexpr std::int64_t kWidestKeyTile = 64;

// How one launch runs: the kernel's program, name and options, the query rows a work-group takes
// and its shape (the range is `local` with its first extent times the work-groups).
struct LaunchPlan {
  std::string family, kernel, options;
  std::int64_t rows_per_group = 0;
  std::vector<std::size_t> local;
};

// The warps of tensor-core tactic `tactic` (0 when it is not one).
int mmaWarps(const std::string& tactic) {
  const std::string prefix = kMmaAttentionPrefix;
  if (tactic.size() != prefix.size() + 1 || tactic.compare(0, prefix.size(), prefix) != 0) return 0;
  const char warps = tactic.back();
  return warps == '1' || warps == '2' || warps == '4' ? warps - '0' : 0;
}

LaunchPlan launchPlan(const KernelCache& cache, const std::string& tactic, const DeviceTensor& q, const DeviceTensor& k,
                      const DeviceTensor& v, const DeviceTensor& out, std::int64_t d, std::int64_t dv, bool wide) {
  if (tactic == kAttentionTactic || tactic == kSplitKeysAttentionTactic) {
    return {"attention", "attention",
            joinOptions({"-DHEAD=" + std::to_string(tileWidth(d, dv)), halfOption("Q", q.type), halfOption("K", k.type),
                         halfOption("V", v.type), halfOption("OUT", out.type), indexOption(wide)}),
            kRows, {static_cast<std::size_t>(kItems), static_cast<std::size_t>(kRows)}};
  }
  const int warps = mmaWarps(tactic);
  if (warps == 0) throw InvalidArgument(std::string(kLauncher) + ": unknown tactic '" + tactic + "'");
  if (q.type != DataType::kHALF || k.type != DataType::kHALF || v.type != DataType::kHALF) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' needs HALF q, k and v (given " +
                          dataTypeName(q.type) + ", " + dataTypeName(k.type) + ", " + dataTypeName(v.type) + ")");
  }
  if (d > kMaxMmaAttentionHeadSize || dv > kMaxMmaAttentionHeadSize) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic + "' holds head sizes up to " +
                          std::to_string(kMaxMmaAttentionHeadSize) + " (D = " + std::to_string(d) +
                          ", Dv = " + std::to_string(dv) + ")");
  }
  const bool emulate = emulation.load();
  if (!emulate && !tensorCoreHalfAvailable(*cache.context())) {
    throw InvalidArgument(std::string(kLauncher) + ": tactic '" + tactic +
                          "' needs tensor cores, and this device's f16 mma probe did not pass");
  }
  return {"attention_mma", "attention_mma",
          joinOptions({"-DWARPS=" + std::to_string(warps), "-DHEAD_K=" + std::to_string(mmaHeadWidth(d)),
                       "-DHEAD_V=" + std::to_string(mmaHeadWidth(dv)), halfOption("OUT", out.type), indexOption(wide),
                       emulate ? "-DMMA_EMULATE" : ""}),
          16 * warps, {static_cast<std::size_t>(32 * warps)}};
}

}  // namespace

std::vector<std::string> attentionTactics(const std::shared_ptr<Context>& context, bool half_operands, std::int64_t d,
                                          std::int64_t dv) {
  std::vector<std::string> tactics{kAttentionTactic, kSplitKeysAttentionTactic};
  const bool fits = half_operands && d <= kMaxMmaAttentionHeadSize && dv <= kMaxMmaAttentionHeadSize;
  if (fits && (emulation.load() || (tensorCoreHalfAvailable(*context) && attentionMmaVerified(context)))) {
    for (int warps : {1, 2, 4}) tactics.push_back(kMmaAttentionPrefix + std::to_string(warps));
  }
  return tactics;
}

void setAttentionMmaEmulation(bool on) { emulation.store(on); }

void setAttentionKeySlices(std::int64_t slices) { forced_key_slices.store(std::max<std::int64_t>(slices, 0)); }

std::size_t attentionWorkspaceBytes(const std::string& tactic, const Context& context,
                                    const AttentionParameters& parameters, const Dims& out, std::int64_t keys) {
  if (tactic != kSplitKeysAttentionTactic) return 0;
  const bool packed = (parameters.packed & kPackedOutput) != 0;
  if (out.rank() != (packed ? 3U : 4U) || (packed && parameters.heads < 1)) {
    throw InvalidArgument(std::string(kLauncher) + ": out shape " + out.toString() + " is not " +
                          (packed ? "(B, Sq, H x Dv) with H given" : "(B, H, Sq, Dv)"));
  }
  const std::int64_t heads = packed ? parameters.heads : out[1];
  const std::int64_t sq = packed ? out[1] : out[2];
  const std::int64_t dv = packed ? out[2] / parameters.heads : out[3];
  const std::int64_t groups = out[0] * heads * ((sq + kRows - 1) / kRows);
  return keySliceBytes(keySlices(groups, keys, context.device().compute_units), groups, dv);
}

void attention(KernelCache& cache, Stream& stream, const AttentionParameters& parameters, const DeviceTensor& q,
               const DeviceTensor& k, const DeviceTensor& v, const DeviceTensor* mask, const DeviceTensor& out) {
  attention(cache, stream, kAttentionTactic, parameters, q, k, v, mask, out);
}

void attention(KernelCache& cache, Stream& stream, const std::string& tactic, const AttentionParameters& parameters,
               const DeviceTensor& q, const DeviceTensor& k, const DeviceTensor& v, const DeviceTensor* mask,
               const DeviceTensor& out, const DeviceTensor* workspace) {
  requireFloating(kLauncher, "q", q);
  requireFloating(kLauncher, "k", k);
  requireFloating(kLauncher, "v", v);
  requireFloating(kLauncher, "out", out);
  if (mask && !isAttentionMaskType(mask->type)) {
    throw InvalidArgument(std::string(kLauncher) + ": mask has type " + dataTypeName(mask->type) +
                          "; expected FLOAT or HALF (added) or BOOL, INT32 or INT64 (selecting the two mask values)");
  }
  if (!std::isfinite(parameters.softcap)) {
    throw InvalidArgument(std::string(kLauncher) + ": softcap " + std::to_string(parameters.softcap) +
                          " is not finite (0 or less: no softcap)");
  }
  const bool transposed = parameters.keys_transposed;
  if (transposed && (parameters.packed & kPackedKeys)) {
    throw InvalidArgument(std::string(kLauncher) + ": packed keys (B, Sk, Hk x D) cannot also be transposed");
  }
  if (parameters.merged_qkv && ((parameters.packed & 7U) != 7U || transposed)) {
    throw InvalidArgument(std::string(kLauncher) + ": merged q, k and v need the packed bits of all three and keys "
                          "that are not transposed");
  }
  const OperandView qv = viewOf(parameters, kPackedQuery, "q", "(B, H, Sq, D)", "(B, Sq, H x D)", q, parameters.heads);
  const OperandView kv = viewOf(parameters, kPackedKeys, "k", transposed ? "(B, Hk, D, Sk)" : "(B, Hk, Sk, D)",
                                "(B, Sk, Hk x D)", k, parameters.kv_heads, transposed);
  const OperandView vv = viewOf(parameters, kPackedValues, "v", "(B, Hk, Sk, Dv)", "(B, Sk, Hk x Dv)", v,
                                parameters.kv_heads);
  const std::int64_t batch = qv.batch, heads = qv.heads, sq = qv.rows, d = qv.depth;
  const std::int64_t kv_heads = kv.heads, sk = kv.rows, dv = vv.depth;
  if (kv.batch != batch || kv.depth != d) {
    throw InvalidArgument(describe(kLauncher, "k") + " shape " + k.shape.toString() + " does not match q shape " +
                          q.shape.toString() + ": expected batch " + std::to_string(batch) + " and head size " +
                          std::to_string(d));
  }
  if (vv.batch != batch || vv.heads != kv_heads || vv.rows != sk) {
    throw InvalidArgument(describe(kLauncher, "v") + " shape " + v.shape.toString() + " does not match k shape " +
                          k.shape.toString() + ": expected batch " + std::to_string(batch) + ", " +
                          std::to_string(kv_heads) + " heads and " + std::to_string(sk) + " keys");
  }
  const bool packed_out = (parameters.packed & kPackedOutput) != 0;
  const Dims expected_out = packed_out ? Dims{batch, sq, heads * dv} : Dims{batch, heads, sq, dv};
  if (out.shape != expected_out) {
    throw InvalidArgument(describe(kLauncher, "out") + " shape " + out.shape.toString() + " is not " +
                          (packed_out ? "(B, Sq, H x Dv) = " : "(B, H, Sq, Dv) = ") + expected_out.toString());
  }
  const OperandView ov = packed_out ? packedView("out", "(B, Sq, H x Dv)", out, heads)
                                    : denseView("out", "(B, H, Sq, Dv)", out);
  if (kv_heads == 0 ? heads != 0 : heads % kv_heads != 0) {
    throw InvalidArgument(describe(kLauncher, "k") + " has " + std::to_string(kv_heads) +
                          " heads, which do not divide q's " + std::to_string(heads) + " heads");
  }
  requireHeadSize("q", "D", d);
  requireHeadSize("v", "Dv", dv);
  const Dims scores{batch, heads, sq, sk};
  const std::int64_t period = parameters.mask_batch_period;
  if (period < 0 || (period > 0 && !mask)) {
    throw InvalidArgument(std::string(kLauncher) + ": a mask batch period of " + std::to_string(period) +
                          " needs a mask and must be positive (0: none)");
  }
  // A rank-2 mask (B, Sk) is a key padding mask: (B, 1, 1, Sk).
  const Dims mask4 = !mask ? Dims{} : mask->shape.rank() == 2 ? Dims{mask->shape[0], 1, 1, mask->shape[1]} : mask->shape;
  if (mask) {
    bool broadcasts = mask4.rank() == 4;
    for (std::size_t axis = 0; broadcasts && axis < 4; ++axis) {
      broadcasts = mask4[axis] == 1 || mask4[axis] == scores[axis] || (axis == 0 && period > 0);
    }
    if (!broadcasts) {
      throw InvalidArgument(describe(kLauncher, "mask") + " shape " + mask->shape.toString() +
                            " does not broadcast to the scores (B, H, Sq, Sk) = " + scores.toString() +
                            ": it needs rank 4 and each extent 1 or the scores' (or rank 2: (B, Sk))");
    }
    if (period > 0 && (mask->shape[0] != period || batch % period != 0)) {
      throw InvalidArgument(describe(kLauncher, "mask") + " shape " + mask->shape.toString() + " repeats every " +
                            std::to_string(period) + " batch entries: its batch extent must be " +
                            std::to_string(period) + " and divide the scores' batch " + std::to_string(batch));
    }
  }
  const std::int64_t q_volume = checkPlacement(cache, kLauncher, "q", q);
  const std::int64_t k_volume = checkPlacement(cache, kLauncher, "k", k);
  const std::int64_t v_volume = checkPlacement(cache, kLauncher, "v", v);
  const std::int64_t out_volume = checkPlacement(cache, kLauncher, "out", out);
  const std::int64_t mask_volume = mask ? checkPlacement(cache, kLauncher, "mask", *mask) : 0;
  if (out_volume == 0) return;
  if (sk == 0) {
    throw InvalidArgument(describe(kLauncher, "k") + " shape " + k.shape.toString() +
                          " has no keys (Sk = 0): the softmax of an empty row is undefined");
  }
  const bool wide = needsWideIndex({q_volume, k_volume, v_volume, out_volume, mask_volume});
  LaunchPlan plan = launchPlan(cache, tactic, q, k, v, out, d, dv, wide);
  const std::int64_t row_blocks = (sq + plan.rows_per_group - 1) / plan.rows_per_group;
  const std::int64_t groups = batch * heads * row_blocks;
  const KeySlices split = tactic == kSplitKeysAttentionTactic
                              ? keySlices(groups, sk, cache.context()->device().compute_units)
                              : KeySlices{};
  if (split.slices > 1) plan.options = joinOptions({plan.options, "-DSPLIT_KEYS"});
  const std::size_t slice_bytes = keySliceBytes(split, groups, dv);
  const DeviceTensor* partials =
      slice_bytes > 0 ? &checkSplitWorkspace(cache, kLauncher, tactic, "attention", workspace, slice_bytes, split.slices)
                      : nullptr;
  const auto items = static_cast<std::int64_t>(
      std::accumulate(plan.local.begin(), plan.local.end(), std::size_t{1}, std::multiplies<std::size_t>()));
  if (groups > std::numeric_limits<std::int32_t>::max() / items ||
      sq > std::numeric_limits<std::int32_t>::max() - plan.rows_per_group ||
      sk > std::numeric_limits<std::int32_t>::max() - kWidestKeyTile) {
    throw InvalidArgument(std::string(kLauncher) + ": q " + q.shape.toString() + " and k " + k.shape.toString() +
                          " make more work-groups or positions than the kernel counts in 32 bits");
  }

  // The mask's strides in elements along (B, H, Sq, Sk), 0 along a broadcast axis.
  std::int64_t strides[4] = {0, 0, 0, 0};
  if (mask) {
    std::int64_t stride = 1;
    for (int axis = 3; axis >= 0; --axis) {
      const std::int64_t extent = mask4[static_cast<std::size_t>(axis)];
      strides[axis] = extent == 1 ? 0 : stride;
      stride *= extent;
    }
  }
  Kernel& kernel = cache.get(plan.family, plan.options, plan.kernel);
  Arguments arguments(kernel, wide);
  if (parameters.merged_qkv) {  // k's heads follow q's along the last axis, v's follow k's
    arguments.tensor(q).tensor(advanced(k, heads * d)).tensor(advanced(v, (heads + kv_heads) * d));
  } else {
    arguments.tensor(q).tensor(k).tensor(v);
  }
  arguments.tensor(mask ? *mask : q);
  // attention.cl's MASK_* codes: the mask's storage is an argument, not an option.
  const cl_int mask_kind = !mask                                 ? 0
                           : mask->type == DataType::kHALF  ? 2
                           : mask->type == DataType::kBOOL  ? 3
                           : mask->type == DataType::kINT32 ? 4
                           : mask->type == DataType::kINT64 ? 5
                                                            : 1;
  arguments.value<cl_int>(mask_kind)
      .value<cl_float>(parameters.mask_if_true)
      .value<cl_float>(parameters.mask_if_false)
      .tensor(out);
  arguments.value<cl_int>(static_cast<cl_int>(heads))
      .value<cl_int>(static_cast<cl_int>(heads / kv_heads))
      .value<cl_int>(static_cast<cl_int>(row_blocks))
      .value<cl_int>(static_cast<cl_int>(sq))
      .value<cl_int>(static_cast<cl_int>(sk))
      .value<cl_int>(static_cast<cl_int>(d))
      .value<cl_int>(static_cast<cl_int>(dv))
      .value<cl_float>(parameters.scale)
      .value<cl_float>(parameters.softcap)
      .value<cl_int>(parameters.causal ? 1 : 0)
      .value<cl_int>(transposed ? 1 : 0)
      .value<cl_int>(parameters.zero_masked_rows ? 1 : 0)
      .value<cl_int>(static_cast<cl_int>(std::max<std::int64_t>(mask ? mask->shape[0] : 1, 1)));
  for (std::int64_t stride : strides) arguments.index(stride);
  arguments.index(qv.batch_stride).index(qv.head_stride).index(qv.row_stride);
  arguments.index(kv.batch_stride).index(kv.head_stride).index(kv.row_stride).index(kv.depth_stride);
  arguments.index(vv.batch_stride).index(vv.head_stride).index(vv.row_stride);
  arguments.index(ov.batch_stride).index(ov.head_stride).index(ov.row_stride);
  std::vector<std::size_t> global = plan.local;
  global.front() *= static_cast<std::size_t>(groups);
  if (!partials) {
    kernel.launch(stream, global, plan.local);
    return;
  }
  arguments.value<cl_int>(static_cast<cl_int>(split.chunk)).tensor(*partials);
  global.push_back(static_cast<std::size_t>(split.slices));
  std::vector<std::size_t> local = plan.local;
  local.push_back(1);
  kernel.launch(stream, global, local);
  Kernel& combine = cache.get(plan.family, plan.options, "attention_combine");
  Arguments(combine, wide)
      .tensor(*partials).tensor(out)
      .value<cl_int>(static_cast<cl_int>(heads))
      .value<cl_int>(static_cast<cl_int>(row_blocks))
      .value<cl_int>(static_cast<cl_int>(groups))
      .value<cl_int>(static_cast<cl_int>(sq))
      .value<cl_int>(static_cast<cl_int>(dv))
      .value<cl_int>(static_cast<cl_int>(split.slices))
      .value<cl_int>(parameters.zero_masked_rows ? 1 : 0)
      .index(ov.batch_stride).index(ov.head_stride).index(ov.row_stride);
  combine.launch(stream, {roundUp(dv, static_cast<std::size_t>(kItems)),
                          static_cast<std::size_t>(groups * kRows)},
                 {static_cast<std::size_t>(kItems), static_cast<std::size_t>(kRows)});
}

}  // namespace mlprt::cl
