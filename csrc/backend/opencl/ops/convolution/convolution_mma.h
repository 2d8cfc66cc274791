// The tensor-core convolution tactics (convolution_mma.cl beside this file): which exist, which
// a device is offered, and how one is built and launched. Internal to ops/convolution; the
// launcher in convolution.cpp sets the arguments, which the kernel shares with the implicit GEMM.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "backend/opencl/kernels.h"
#include "backend/opencl/split_k.h"

namespace mlprt::cl {

// "mma_<f16|tf32>_<BM>x<BN>[_splitk]": BM output maps by BN output pixels per work-group of
// WARPS_M x WARPS_N warps, K in tiles of KWORDS 32-bit words; "_splitk" also splits K across
// work-groups where the blocks alone would not fill the device. "hwc_" + a tile's name: the same
// tile on channels-last tensors (kChannelsLastMmaPrefix).
struct MmaConvolutionTile {
  const char* name;
  bool tf32;  // FLOAT operands on TF32 mma; else HALF operands on f16 mma
  int bm, bn, warps_m, warps_n, kwords;
  bool split_k;
  std::size_t threads() const { return static_cast<std::size_t>(32 * warps_m * warps_n); }
  std::int64_t tileK() const { return tf32 ? kwords : 2 * kwords; }
};

inline constexpr const char* kChannelsLastMmaPrefix = "hwc_";

// Every tile, offered or not.
const std::vector<MmaConvolutionTile>& mmaConvolutionTiles();
// The tile named `tactic` ("hwc_" + the name too: `channels_last`, when given, says which), or
// null when it is no tensor-core tactic.
const MmaConvolutionTile* findMmaConvolutionTile(const std::string& tactic, bool* channels_last = nullptr);
// Whether `tile` runs operands stored as `type` on this device under `policy` (the tensor-core
// probe passed for its instruction; TF32 only where allowed).
bool mmaConvolutionTileOffered(const MmaConvolutionTile& tile, const Context& context, DataType type,
                               const GemmPolicy& policy);
// What of a convolution's operands decides how its kernel is built.
struct MmaConvolutionOperands {
  std::int64_t k = 0;               // group channels x taps
  std::int64_t weights_offset = 0;  // in elements
  bool pointwise = false;           // 1x1, stride 1, no padding: the input is the column matrix
  std::int64_t plane = 0;           // output pixels per image
  std::int64_t input_offset = 0;    // in elements
  bool channels_last = false;       // HWC tensors, (M, KH, KW, C / groups) weights
  std::int64_t channels = 0;        // C: channels-last pixels are C apart
  std::int64_t group_channels = 0;  // C / groups
};

// Build options of the kernel for `tile`: -DA_VEC when the weights take 16-byte loads (K and
// their offset multiples of a chunk); -DPOINTWISE, and -DPOINTWISE_VEC when the input's planes
// and offset are multiples of a chunk too (LINEAR only); -DHWC, and -DHWC_VEC when channels,
// channels per group and the input's offset are multiples of a chunk; -DSPLIT_K when it runs in
// more than one slice of K; -DMMA_EMULATE for tests.
std::string mmaConvolutionOptions(const MmaConvolutionTile& tile, const MmaConvolutionOperands& operands, bool split,
                                  bool emulate);
// Pixels per output row on the kernel's pixel axis: OW for pointwise and channels-last
// convolutions, else OW rounded up to a chunk (8 halves or 4 floats), so that no chunk straddles
// two rows (row_pitch in convolution_mma.cl). `unpadded`: pointwise or channels-last.
std::int64_t mmaConvolutionRowPitch(const MmaConvolutionTile& tile, bool unpadded, std::int64_t ow);


// "hwc_wgmma_f16_128x<BN>": channels-last HALF convolutions of one group on Hopper's warpgroup
// products (convolution_wgmma.cl): 128 output pixels (two warpgroups) by BN maps per work-group,
// K (taps x channels) in tiles of 64 through a ring of `stages`. Needs channels a multiple of 8 and
// 16-byte aligned input and weights. Offered where the wgmma probe passes.
struct WgmmaConvolutionTile {
  const char* name;
  int bn, stages;
  static constexpr int kPixels = 128;  // BM: rows of the product, two warpgroups of 64
  static constexpr std::size_t kThreads = 256;
};
// Every wgmma tile, offered or not.
const std::vector<WgmmaConvolutionTile>& wgmmaConvolutionTiles();
// The tile named `tactic` (with its "hwc_" prefix), or null.
const WgmmaConvolutionTile* findWgmmaConvolutionTile(const std::string& tactic);
// Whether the wgmma tiles run operands stored as `type` on this device: HALF, where the wgmma
// probe passed and so did wgmmaConvolutionVerified.
bool wgmmaConvolutionOffered(const Context& context, DataType type);
// Runs hwc_wgmma_f16_128x64 once on a small convolution of small integers (two pixel blocks, a
// partial K tile, padding, bias, residual, ReLU; every sum exact) and compares with the host:
// "passed: ..." or "refused: <why>". With `emulate`, its instructions in software.
// (convolution_wgmma_check.cpp)
std::string wgmmaConvolutionSelfCheck(const std::shared_ptr<Context>& context, bool emulate);
// wgmmaConvolutionSelfCheck's verdict on the device, run once per process and device (logged; a
// refusal as a warning). The wgmma probe vouches for the instructions and the GEMM's tiles, not for
// this kernel's gather and epilogue.
bool wgmmaConvolutionVerified(const Context& context);
// Build options of the kernel for `tile` (kernels/wgmma.cl's and -DFIXED_ACTIVATION).
std::string wgmmaConvolutionOptions(const WgmmaConvolutionTile& tile, int activation_code, bool emulate);

// Slices of K a split-K tile runs a convolution in: enough for two work-groups per compute
// unit, each slice at least four tiles of K; 1 for other tiles and for layers whose blocks fill
// the device already.
std::int64_t mmaConvolutionSplits(const MmaConvolutionTile& tile, std::int64_t blocks, std::int64_t k,
                                  std::uint32_t compute_units);
// Bytes of workspace a run in `splits` slices of `blocks` blocks needs: a float partial block per
// work-group. 0 for one slice.
std::size_t mmaConvolutionWorkspaceBytes(const MmaConvolutionTile& tile, std::int64_t blocks, std::int64_t splits);
// The most workspace `tile` needs for any convolution on a device of `compute_units`: slices are
// only added while blocks x slices stays under twice the work-groups wanted (see
// mmaConvolutionSplits), so the bound does not depend on the layer's shape. 0 for unsplit tiles.
std::size_t mmaConvolutionWorkspaceBound(const MmaConvolutionTile& tile, std::uint32_t compute_units);

}  // namespace mlprt::cl
