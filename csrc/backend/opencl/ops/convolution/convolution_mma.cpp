#include "backend/opencl/ops/convolution/convolution_mma.h"

#include "backend/opencl/gemm_launch.h"
#include "backend/opencl/kernel_support.h"

#include <algorithm>

namespace mlprt::cl {

// 128 x 128 (8 warps) for large layers; 64 x 64 (4 warps) and 32 x 32 (1 warp) for the small
// planes of late layers at batch 1, where larger blocks would leave multiprocessors idle, with
// K tiles twice as deep (fewer trips through the loop, whose global-load latency bounds a
// lone work-group), and split K on top. Local memory: 2 buffers x (BM + BN) rows x (KWORDS + 4)
// words, within the 48 KiB of a work-group. The kernel needs BM and BN multiples of 16 per warp,
// and KWORDS / 4 x BM and x BN multiples of the threads.
const std::vector<MmaConvolutionTile>& mmaConvolutionTiles() {
  static const std::vector<MmaConvolutionTile> tiles = {
      {"mma_f16_128x128", false, 128, 128, 2, 4, 16, false},
      {"mma_f16_64x64", false, 64, 64, 2, 2, 32, false},
      {"mma_f16_32x32", false, 32, 32, 1, 1, 32, false},
      {"mma_f16_64x64_splitk", false, 64, 64, 2, 2, 32, true},
      {"mma_f16_32x32_splitk", false, 32, 32, 1, 1, 32, true},
      {"mma_tf32_128x128", true, 128, 128, 2, 4, 16, false},
      {"mma_tf32_64x64", true, 64, 64, 2, 2, 32, false},
      {"mma_tf32_32x32", true, 32, 32, 1, 1, 32, false},
      {"mma_tf32_64x64_splitk", true, 64, 64, 2, 2, 32, true},
      {"mma_tf32_32x32_splitk", true, 32, 32, 1, 1, 32, true},
  };
  return tiles;
}

const MmaConvolutionTile* findMmaConvolutionTile(const std::string& tactic, bool* channels_last) {
  const std::string prefix = kChannelsLastMmaPrefix;
  const bool hwc = tactic.compare(0, prefix.size(), prefix) == 0;
  const std::string name = hwc ? tactic.substr(prefix.size()) : tactic;
  for (const MmaConvolutionTile& tile : mmaConvolutionTiles()) {
    if (name != tile.name) continue;
    if (channels_last) *channels_last = hwc;
    return &tile;
  }
  return nullptr;
}

bool mmaConvolutionTileOffered(const MmaConvolutionTile& tile, const Context& context, DataType type,
                               const GemmPolicy& policy) {
  if (tile.tf32) return type == DataType::kFLOAT && policy.allow_tf32 && tensorCoreTf32Available(context);
  return type == DataType::kHALF && tensorCoreHalfAvailable(context);
}

std::string mmaConvolutionOptions(const MmaConvolutionTile& tile, const MmaConvolutionOperands& operands, bool split,
                                  bool emulate) {
  const std::int64_t chunk = tile.tf32 ? 4 : 8;  // elements per 16-byte load
  const bool a_vec = operands.k % chunk == 0 && operands.weights_offset % chunk == 0;
  const bool pointwise = operands.pointwise && !operands.channels_last;
  const bool pointwise_vec = pointwise && operands.plane % chunk == 0 && operands.input_offset % chunk == 0;
  const bool hwc_vec = operands.channels_last && operands.channels % chunk == 0 &&
                       operands.group_channels % chunk == 0 && operands.input_offset % chunk == 0;
  return support::joinOptions({"-DBM=" + std::to_string(tile.bm) + " -DBN=" + std::to_string(tile.bn) +
                                   " -DWARPS_M=" + std::to_string(tile.warps_m) +
                                   " -DWARPS_N=" + std::to_string(tile.warps_n) +
                                   " -DKWORDS=" + std::to_string(tile.kwords),
                               tile.tf32 ? "-DTF32" : "", a_vec ? "-DA_VEC" : "",
                               pointwise ? "-DPOINTWISE" : "", pointwise_vec ? "-DPOINTWISE_VEC" : "",
                               operands.channels_last ? "-DHWC" : "", hwc_vec ? "-DHWC_VEC" : "",
                               split ? "-DSPLIT_K" : "", emulate ? "-DMMA_EMULATE" : ""});
}

std::int64_t mmaConvolutionRowPitch(const MmaConvolutionTile& tile, bool unpadded, std::int64_t ow) {
  const std::int64_t chunk = tile.tf32 ? 4 : 8;
  return unpadded ? ow : (ow + chunk - 1) / chunk * chunk;
}

// 128 pixels by 64, 128 or 256 maps: the GEMM's wgmma tiles (gemm_mma.cpp) with a narrower one
// for layers of 64 maps (ResNet's first stage). Three tiles of K = 64 in the ring: 72, 96 and
// 144 KiB of local memory (the probe runs 144).
const std::vector<WgmmaConvolutionTile>& wgmmaConvolutionTiles() {
  static const std::vector<WgmmaConvolutionTile> tiles = {
      {"hwc_wgmma_f16_128x64", 64, 3},
      {"hwc_wgmma_f16_128x128", 128, 3},
      {"hwc_wgmma_f16_128x256", 256, 3},
  };
  return tiles;
}

const WgmmaConvolutionTile* findWgmmaConvolutionTile(const std::string& tactic) {
  for (const WgmmaConvolutionTile& tile : wgmmaConvolutionTiles()) {
    if (tactic == tile.name) return &tile;
  }
  return nullptr;
}

bool wgmmaConvolutionOffered(const Context& context, DataType type) {
  return type == DataType::kHALF && tensorCoreWgmmaAvailable(context) && wgmmaConvolutionVerified(context);
}

std::string wgmmaConvolutionOptions(const WgmmaConvolutionTile& tile, int activation_code, bool emulate) {
  return support::joinOptions({"-DWGMMA -DB_VECT -DGROUPS=2 -DBN=" + std::to_string(tile.bn) +
                                   " -DSTAGES=" + std::to_string(tile.stages) +
                                   " -DFIXED_ACTIVATION=" + std::to_string(activation_code),
                               emulate ? "-DMMA_EMULATE" : ""});
}

std::int64_t mmaConvolutionSplits(const MmaConvolutionTile& tile, std::int64_t blocks, std::int64_t k,
                                  std::uint32_t compute_units) {
  if (!tile.split_k) return 1;
  return splitKSlices(blocks, (k + tile.tileK() - 1) / tile.tileK(), compute_units);
}

std::size_t mmaConvolutionWorkspaceBytes(const MmaConvolutionTile& tile, std::int64_t blocks, std::int64_t splits) {
  if (splits <= 1) return 0;
  return static_cast<std::size_t>(blocks * splits) * static_cast<std::size_t>(tile.bm * tile.bn) * sizeof(float);
}

std::size_t mmaConvolutionWorkspaceBound(const MmaConvolutionTile& tile, std::uint32_t compute_units) {
  if (!tile.split_k) return 0;
  return splitKWorkspaceBound(static_cast<std::size_t>(tile.bm * tile.bn), compute_units);
}

}  // namespace mlprt::cl
