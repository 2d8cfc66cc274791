// Channels-last convolutions on Hopper's warpgroup products (tactics "hwc_wgmma_f16_*"): the
// implicit GEMM out (pixels x maps) = columns (pixels x K) x weights (maps x K)^T, K = (tap,
// channel) with channels fastest, on the tiles, ring and instructions of kernels/wgmma.cl
// (prepended with -DWGMMA -DB_VECT; gemm_wgmma's pipeline). Tensors as TensorFormat.HWC stores
// them: input, residual and output (N, H, W, C), weights (M, KH, KW, C), HALF; one group.
//
// Rows of the product are output pixels, so a tile's line is one pixel's 64 values of K, which
// with C a multiple of 8 is 8 chunks of 8 consecutive channels, each of one tap: one cp.async of
// 16 bytes from the input pixel the tap reads, or 16 zero bytes where the tap falls in the padding
// (or past K, or past the last pixel). The weights are an N x K operand, copied as gemm_wgmma
// copies one. The product's row-major output is the HWC output itself: the epilogue (staged
// through local memory, below) adds the bias of the map and the residual (where the builder fused
// an Add), applies the activation and stores runs of 8 maps of a pixel.
//
// Build options: those of kernels/wgmma.cl (-DBN, -DGROUPS, -DSTAGES, -DMMA_EMULATE),
// -DFIXED_ACTIVATION (as gemm_mma.cl's), and the storage options of common.cl (IN, A for the
// weights, BIAS, OUT, RES).

#define RAW_PTR __global const ushort*
#define A_COPIES (A_TILE / THREADS)  // a's chunks per item and tile: rows tid / 8 + q THREADS / 8
#define ROWS_PER_PASS (THREADS / 8)

// Where the window of output pixel p lies: its image's first element (relative to the input's),
// the window's corner, and whether p exists.
struct PixelOrigin {
  long image;
  int iy0, ix0;
  int valid;
};

inline struct PixelOrigin pixel_origin(int p, int pixels, int OH, int OW, int H, int W, int C, int SH, int SW,
                                       int PH, int PW) {
  struct PixelOrigin o;
  const int plane = OH * OW;
  const int n = p / plane, rest = p - n * plane, oy = rest / OW, ox = rest - oy * OW;
  o.valid = p < pixels;
  o.iy0 = oy * SH - PH;
  o.ix0 = ox * SW - PW;
  o.image = (long)n * H * W * C;
  return o;
}

// The staged epilogue: the block's sums go through local memory (the ring, free after the K
// loop) as BM rows of BN floats, STAGE_PITCH apart (8 floats of padding: the pairs a half-warp
// stores fall on distinct banks), and each item then finishes runs of EPI_VEC consecutive maps of
// one pixel with convolution_common.cl's finish_maps: contiguous in the HWC output, so one 16-byte
// residual load and one 16-byte store where the run is whole and aligned (convolution_mma's staged
// HWC epilogue measured 546 -> 161 us on a ResNet-50 layer with a residual, bench/RESULTS.md CNN
// run 10).
#define STAGE_PITCH (BN + 8)
#define STAGE_PAIR(row, col, x0, x1) \
  *(__local float2*)(stage + ((row) - m0) * STAGE_PITCH + (col) - n0) = (float2)((x0), (x1))

// Tile t's column chunks: this item's chunk of the line (K from 8 (8 t + line_chunk)) for each of
// its rows; the tap and channel are the same for all of them.
#define LOAD_A_TILE(t, stage)                                                                            \
  {                                                                                                      \
    const int k_ = ((t) * 8 + line_chunk) * 8;                                                           \
    const int tap_ = k_ / C, channel_ = k_ - tap_ * C, ky_ = tap_ / KW, kx_ = tap_ - ky_ * KW;           \
    UNROLL for (int q = 0; q < A_COPIES; ++q) {                                                          \
      const int iy = origin[q].iy0 + ky_ * DH, ix = origin[q].ix0 + kx_ * DW;                            \
      const bool inside = k_ < K && origin[q].valid && iy >= 0 && iy < H && ix >= 0 && ix < W;           \
      TILE_COPY((stage) * A_TILE + k_major_slot(first_row + q * ROWS_PER_PASS, line_chunk),              \
                in_raw + (inside ? origin[q].image + ((long)iy * W + ix) * C + channel_ : 0), inside);   \
    }                                                                                                    \
  }
// The weights' tile: rows of K, as gemm_wgmma's b N x K.
#define LOAD_B_TILE(t, stage)                                                                            \
  UNROLL for (int e = tid; e < B_TILE; e += THREADS) {                                                   \
    const int r = e / 8, c = e % 8, map = n0 + r, chunk = (t) * 8 + c;                                   \
    const bool inside = map < M && chunk < k_chunks;                                                     \
    TILE_COPY(B_BASE + (stage) * B_TILE + k_major_slot(r, c),                                            \
              weights_raw + (inside ? (long)map * K + chunk * 8 : 0), inside);                           \
  }

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void convolution_wgmma(IN_PTR in, long in_offset, A_PTR weights, long weights_offset, BIAS_PTR bias,
                       long bias_offset, OUT_PTR out, long out_offset, int C, int H, int W, int M, int OH,
                       int OW, int KH, int KW, int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                       int has_bias, int activation, float alpha, float beta, RES_PTR residual,
                       long residual_offset, int has_residual, int N) {
  (void)groups;  // one group (the launcher checks)
  WGMMA_RING
  const int tid = get_local_id(0), group = tid / 128, item = tid % 128;
  const int m0 = get_group_id(1) * BM, n0 = get_group_id(0) * BN;  // pixels, maps
  const int pixels = N * OH * OW, K = KH * KW * C, k_chunks = K / 8, tiles_k = (K + BK - 1) / BK;
  RAW_PTR in_raw = (RAW_PTR)in + in_offset;
  RAW_PTR weights_raw = (RAW_PTR)weights + weights_offset;
  const int first_row = tid / 8, line_chunk = tid % 8;
  struct PixelOrigin origin[A_COPIES];
  UNROLL for (int q = 0; q < A_COPIES; ++q) {
    origin[q] = pixel_origin(m0 + first_row + q * ROWS_PER_PASS, pixels, OH, OW, H, W, C, SH, SW, PH, PW);
  }
  float acc[ACCUMULATORS];
  UNROLL for (int i = 0; i < ACCUMULATORS; ++i) acc[i] = 0.0f;

  WGMMA_K_LOOP(tiles_k)

  barrier(CLK_LOCAL_MEM_FENCE);  // every warpgroup is done with the ring
  __local float* stage = (__local float*)tiles;
  WGMMA_FOR_EACH_PAIR(m0, n0, m0 + BM, n0 + BN, STAGE_PAIR)
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int run = tid; run < BM * (BN / EPI_VEC); run += THREADS) {
    const int row = run / (BN / EPI_VEC), column = (run % (BN / EPI_VEC)) * EPI_VEC;
    const int p = m0 + row, map = n0 + column;
    if (p >= pixels || map >= M) continue;
    finish_maps(out, out_offset, bias, bias_offset, has_bias, residual, residual_offset, has_residual, activation,
                alpha, beta, M, p, map, M - map, stage + row * STAGE_PITCH + column);
  }
}
