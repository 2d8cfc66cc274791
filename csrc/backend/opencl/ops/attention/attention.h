// Fused attention: softmax(scale * q k^T + mask) v in one launch, with an online softmax so that
// the Sq x Sk scores never reach device memory (FlashAttention's scheme). Multi-head, multi-query
// and grouped-query attention, causal (aligned at the end, as with a KV cache) and additive masks
// broadcast along any axis. Two kernels, chosen by tactic: attention.cl (kAttentionTactic, float
// arithmetic, any device and storage) and attention_mma.cl (half q, k, v on tensor cores through
// mma.sync, where the f16 probe passes; FlashAttention-2's layout).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"

namespace mlprt::cl {

// The largest head size D (q, k) and Dv (v, out) the kernel holds in its tiles.
inline constexpr std::int64_t kMaxAttentionHeadSize = 256;
// The tensor-core kernel's bound (its q fragments and output live in registers).
inline constexpr std::int64_t kMaxMmaAttentionHeadSize = 128;

// The kernel on CUDA cores (any storage, any device); the default tactic.
inline constexpr const char* kAttentionTactic = "attention";
// The same kernel with the keys in slices across work-groups where batch x heads x blocks of 16
// query rows would leave compute units idle (a batch-1 encoder), the slices weighed by a second
// pass (attention_combine); it needs attentionWorkspaceBytes of workspace.
inline constexpr const char* kSplitKeysAttentionTactic = "attention_split_keys";
// Tensor-core tactics are this prefix and the warps per work-group (16 query rows each): 1, 2 or 4.
inline constexpr const char* kMmaAttentionPrefix = "attention_mma_f16_w";

// Bits of AttentionParameters::packed: which operands are given with their heads packed along the
// last axis, (B, S, heads x D), as the projections write them, instead of (B, H, S, D).
inline constexpr std::uint32_t kPackedQuery = 1;
inline constexpr std::uint32_t kPackedKeys = 2;
inline constexpr std::uint32_t kPackedValues = 4;
inline constexpr std::uint32_t kPackedOutput = 8;

struct AttentionParameters {
  float scale = 1.0f;   // the scores are scale * (q . k)
  bool causal = false;  // query i sees keys j <= i + (Sk - Sq) (aligned at the end, as with a KV cache)
  bool keys_transposed = false;   // k is (B, Hk, D, Sk) instead of (B, Hk, Sk, D)
  bool zero_masked_rows = false;  // a row whose every score is -inf gives 0 instead of NaN (softmax, its NaN
                                  // set to 0, then the product); NaN and +inf scores still give NaN
  std::uint32_t packed = 0;       // kPacked* bits: operands in (B, S, heads x D) (the kernel reads them in place)
  std::int64_t heads = 0;         // H of packed q or out (their last axis is H x D or H x Dv)
  std::int64_t kv_heads = 0;      // Hk of packed k or v
  float softcap = 0.0f;           // > 0: scores become softcap * tanh(score / softcap), before the mask
  std::int64_t mask_batch_period = 0;  // > 0: the mask's batch extent P (B a multiple of P); batch entry b
                                       // reads mask entry b mod P (Swin's shifted windows: B = images x P)
  bool merged_qkv = false;  // q, k and v each (B, S, (H + 2 Hk) x D), a merged projection's output: q's
                            // heads read from q, then k's from k, then v's from v (packed bits 1, 2, 4)
  float mask_if_true = 0.0f;  // what a BOOL mask adds where it is true, and where false
  float mask_if_false = -std::numeric_limits<float>::infinity();
};

// out[b, h, i, :] = sum_j softmax_j(cap(scale * q[b, h, i, :] . k[b, h / g, j, :]) + mask[b, h, i, j]) v[b, h / g, j, :]
// with cap(s) = softcap * tanh(s / softcap) where parameters.softcap > 0, else s;
// q (B, H, Sq, D), k (B, Hk, Sk, D), v (B, Hk, Sk, Dv), out (B, H, Sq, Dv), g = H / Hk (H a multiple of Hk:
// grouped-query attention); mask nullptr, an additive FLOAT/HALF tensor, or a BOOL, INT32 or INT64 one
// that adds parameters.mask_if_true where nonzero and mask_if_false where 0, of rank 2 ((B or 1, Sk or 1),
// a key padding mask read as (B, 1, 1, Sk)) or of rank 4 with extents 1 or
// those of (B, H, Sq, Sk) (broadcast), or with parameters.mask_batch_period = P > 0, a batch extent of P that
// repeats along the batch (b reads entry b mod P; B a multiple of P); causal positions add -inf. q, k, v, out FLOAT or HALF (any mix; computed
// in float). A row whose every score is -inf gives NaN, exactly as softmax then a product would.
// With keys_transposed, k is (B, Hk, D, Sk) (a product's k^T as exporters spell it). An operand whose
// kPacked* bit is set is instead (B, S, heads x D): q (B, Sq, H x D), k (B, Sk, Hk x D), v (B, Sk, Hk x Dv),
// out (B, Sq, H x Dv), with H = parameters.heads and Hk = parameters.kv_heads (packed k is never transposed).
// D and Dv at most kMaxAttentionHeadSize (D may be 0: every score is then the mask's); Sk >= 1 unless out
// is empty.
//
// `tactic` picks the kernel: kAttentionTactic, or a tensor-core one (q, k and v HALF, D and Dv at most
// kMaxMmaAttentionHeadSize; probabilities rounded to half before their product with v, as FlashAttention
// does), which refuses to run where the device's f16 mma probe failed unless emulation is on.
//
// `workspace`: FLOAT scratch of at least attentionWorkspaceBytes(tactic, ...) bytes, which the split-keys
// tactic needs for its slices' rows (other tactics ignore it); its contents need no initial value.
// The mask types the kernel reads: FLOAT and HALF (added), BOOL, INT32 and INT64 (nonzero selects
// mask_if_true).
inline bool isAttentionMaskType(DataType type) {
  return type == DataType::kFLOAT || type == DataType::kHALF || type == DataType::kBOOL || type == DataType::kINT32 ||
         type == DataType::kINT64;
}

void attention(KernelCache& cache, Stream& stream, const std::string& tactic, const AttentionParameters& parameters,
               const DeviceTensor& q, const DeviceTensor& k, const DeviceTensor& v, const DeviceTensor* mask,
               const DeviceTensor& out, const DeviceTensor* workspace = nullptr);

// The workspace `tactic` needs on `context`'s device for an attention whose output has shape `out`
// ((B, H, Sq, Dv), or (B, Sq, H x Dv) with parameters' kPackedOutput bit) and `keys` keys: 0 but for
// the split-keys tactic where it splits.
std::size_t attentionWorkspaceBytes(const std::string& tactic, const Context& context,
                                    const AttentionParameters& parameters, const Dims& out, std::int64_t keys);

// Test hook: the split-keys tactic runs in this many slices (at most one per 16 keys) instead of as
// many as the device would get; 0 restores the device's choice. Process-wide.
void setAttentionKeySlices(std::int64_t slices);
// The same with kAttentionTactic.
void attention(KernelCache& cache, Stream& stream, const AttentionParameters& parameters, const DeviceTensor& q,
               const DeviceTensor& k, const DeviceTensor& v, const DeviceTensor* mask, const DeviceTensor& out);

// The tactics that can run attention whose q, k and v are all HALF (`half_operands`) or not, with head
// sizes d and dv, on `context`'s device: kAttentionTactic first, then the tensor-core ones where they
// apply, the f16 mma probe passed and the kernel passed attentionMmaVerified (or emulation is on).
std::vector<std::string> attentionTactics(const std::shared_ptr<Context>& context, bool half_operands, std::int64_t d,
                                          std::int64_t dv);

// Runs a tensor-core tactic once on a small attention (partial tiles, grouped heads, a half mask with
// -inf) and compares with the host's answer: "passed: ..." or "refused: <why>". The f16 mma probe
// vouches for the instruction only, not for the kernel's shuffles, conversions and layouts.
std::string attentionMmaSelfCheck(const std::shared_ptr<Context>& context);
// attentionMmaSelfCheck's verdict, run once per process and device (logged; a refusal as a warning).
bool attentionMmaVerified(const std::shared_ptr<Context>& context);

// Test hook: tensor-core tactics build their kernel with the mma and the warp shuffles in software
// (-DMMA_EMULATE) and are offered on every device, so that their logic is tested without tensor cores.
void setAttentionMmaEmulation(bool on);

}  // namespace mlprt::cl
