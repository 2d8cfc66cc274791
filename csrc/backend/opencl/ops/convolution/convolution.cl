// Convolutions, NCHW (a 1-D convolution is a 2-D one with H = KH = 1): a direct kernel and an
// implicit GEMM, each built for one element type and tile, every geometry a uniform argument.
//
// Direct convolution (-DOC_TILE). Each work-item
// computes OC_TILE output maps of one output pixel: every input value it loads serves OC_TILE
// kernel taps. A tile never crosses a group: dimension 1 of the range enumerates
// (group, tile of the group's maps). Geometry, bias and activation are uniform arguments, so one
// program per element type and tile serves every convolution.
//   -DOC_TILE=<n>   output maps per work-item
// in: IN macros; kernel: A macros (M x C/groups x KH x KW); bias: BIAS; out: OUT; residual: RES
// (common.cl; the host sets RES_HALF with OUT_HALF).

#ifdef OC_TILE
__kernel void convolution_direct(IN_PTR in, long in_offset, A_PTR weights, long weights_offset,
                                 BIAS_PTR bias, long bias_offset, OUT_PTR out, long out_offset,
                                 int C, int H, int W, int M, int OH, int OW, int KH, int KW,
                                 int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                                 int has_bias, int activation, float alpha, float beta, RES_PTR residual,
                                 long residual_offset, int has_residual) {
  const int pixel = get_global_id(0);
  if (pixel >= OH * OW) return;
  const int group_maps = M / groups;
  const int tiles_per_group = (group_maps + OC_TILE - 1) / OC_TILE;
  const int group = get_global_id(1) / tiles_per_group;
  const int first_map = group * group_maps + (get_global_id(1) % tiles_per_group) * OC_TILE;
  const int maps = min(OC_TILE, group * group_maps + group_maps - first_map);
  const int n = get_global_id(2);
  const int oy = pixel / OW, ox = pixel % OW;
  const int iy0 = oy * SH - PH, ix0 = ox * SW - PW;
  const int group_channels = C / groups;
  // Indices within one image's group of channels and within the kernel are 32-bit unless the host
  // asks for -DINDEX64 (64-bit arithmetic per tap, as the Resize's per element was: issue 16 run 25).
  IN_PTR image = in + in_offset + ((long)n * C + (long)group * group_channels) * H * W;
  A_PTR tile_weights = weights + weights_offset + (long)first_map * group_channels * KH * KW;
  const idx_t taps = (idx_t)group_channels * KH * KW;  // weights per output map
  // Past the group's last map, a tile re-reads that map (and discards the result): no branch.
  idx_t map_base[OC_TILE];
  float sum[OC_TILE];
  for (int t = 0; t < OC_TILE; ++t) {
    map_base[t] = (idx_t)min(t, maps - 1) * taps;
    sum[t] = 0.0f;
  }
  for (int c = 0; c < group_channels; ++c) {
    for (int ky = 0; ky < KH; ++ky) {
      const int iy = iy0 + ky * DH;
      if (iy < 0 || iy >= H) continue;
      const idx_t row = ((idx_t)c * H + iy) * W;
      const idx_t tap_row = ((idx_t)c * KH + ky) * KW;
      for (int kx = 0; kx < KW; ++kx) {
        const int ix = ix0 + kx * DW;
        if (ix < 0 || ix >= W) continue;
        const float x = LOAD_IN(image, row + ix);
        for (int t = 0; t < OC_TILE; ++t) sum[t] += x * LOAD_A(tile_weights, map_base[t] + tap_row + kx);
      }
    }
  }
  const long out_index = ((long)n * M + first_map) * OH * OW + pixel;
  for (int t = 0; t < maps; ++t) {
    float value = sum[t];
    if (has_bias) value += LOAD_BIAS(bias, bias_offset + first_map + t);
    value = with_residual(value, RESIDUAL_AT(has_residual, residual, residual_offset + out_index + (long)t * OH * OW),
                          has_residual, activation, alpha, beta);
    STORE_OUT(out, out_offset + out_index + (long)t * OH * OW, value);
  }
}
#endif

// Depthwise convolution (-DDEPTHWISE): every group has one input channel (MobileNet's and
// EfficientNet's 3x3 and 5x5 layers; M / C output maps per channel). A work-group computes a
// DW_TILE x DW_TILE block of output pixels of one (image, map): it copies the input patch those
// pixels read, halo included (zeros in the padding), into local memory once, and each item then
// computes its pixel's KH x KW taps from there instead of from global memory. The patch is at most
// DW_PATCH x DW_PATCH (the host refuses geometries that need more: strides and dilations that
// spread 16 outputs' taps over more than 48 input rows or columns).
#ifdef DEPTHWISE
#define DW_TILE 16
#define DW_PATCH 48
__kernel __attribute__((reqd_work_group_size(DW_TILE, DW_TILE, 1)))
void convolution_depthwise(IN_PTR in, long in_offset, A_PTR weights, long weights_offset, BIAS_PTR bias,
                           long bias_offset, OUT_PTR out, long out_offset, int C, int H, int W, int M, int OH,
                           int OW, int KH, int KW, int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                           int has_bias, int activation, float alpha, float beta, RES_PTR residual,
                           long residual_offset, int has_residual) {
  __local float patch[DW_PATCH * DW_PATCH];
  (void)groups;  // == C: one channel per group
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int ox0 = get_group_id(0) * DW_TILE, oy0 = get_group_id(1) * DW_TILE;
  const int n = get_group_id(2) / M, map = get_group_id(2) % M;
  const int channel = map / (M / C);
  const int patch_h = (DW_TILE - 1) * SH + (KH - 1) * DH + 1, patch_w = (DW_TILE - 1) * SW + (KW - 1) * DW + 1;
  const int iy0 = oy0 * SH - PH, ix0 = ox0 * SW - PW;
  const long plane = in_offset + ((long)n * C + channel) * H * W;
  for (int i = ty * DW_TILE + tx; i < patch_h * patch_w; i += DW_TILE * DW_TILE) {
    const int iy = iy0 + i / patch_w, ix = ix0 + i % patch_w;
    patch[i] = iy >= 0 && iy < H && ix >= 0 && ix < W ? LOAD_IN(in, plane + (long)iy * W + ix) : 0.0f;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  const int oy = oy0 + ty, ox = ox0 + tx;
  if (oy >= OH || ox >= OW) return;
  const long taps = weights_offset + (long)map * KH * KW;
  float sum = 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int row = (ty * SH + ky * DH) * patch_w + tx * SW;
    for (int kx = 0; kx < KW; ++kx) sum = fma(patch[row + kx * DW], LOAD_A(weights, taps + ky * KW + kx), sum);
  }
  const long out_index = ((long)n * M + map) * OH * OW + (long)oy * OW + ox;
  if (has_bias) sum += LOAD_BIAS(bias, bias_offset + map);
  sum = with_residual(sum, RESIDUAL_AT(has_residual, residual, residual_offset + out_index), has_residual, activation,
                      alpha, beta);
  STORE_OUT(out, out_offset + out_index, sum);
}
#endif

// Depthwise convolution on channels-last tensors (-DDEPTHWISE_HWC, tactic "hwc_depthwise"): one
// item per output element, consecutive items along the maps, so that a warp reads and writes
// consecutive channels of one pixel (contiguous in HWC) and the taps' weights, one row of KH x KW
// per map (the same bytes in either layout: one channel per group), come from cache. Map m reads
// channel m / (M / C) (a channel multiplier M / C).
#ifdef DEPTHWISE_HWC
__kernel void convolution_depthwise_hwc(IN_PTR in, long in_offset, A_PTR weights, long weights_offset, BIAS_PTR bias,
                                        long bias_offset, OUT_PTR out, long out_offset, int C, int H, int W, int M,
                                        int OH, int OW, int KH, int KW, int SH, int SW, int DH, int DW, int PH, int PW,
                                        int groups, int has_bias, int activation, float alpha, float beta,
                                        RES_PTR residual, long residual_offset, int has_residual) {
  (void)groups;  // == C: one channel per group
  const int map = get_global_id(0), ox = get_global_id(1), row = get_global_id(2);  // row: n x OH + oy
  if (map >= M || ox >= OW) return;
  const int n = row / OH, oy = row - n * OH;
  const int iy0 = oy * SH - PH, ix0 = ox * SW - PW;
  const long image = in_offset + (long)n * H * W * C + map / (M / C);
  const long taps = weights_offset + (long)map * KH * KW;
  float sum = 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = iy0 + ky * DH;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = ix0 + kx * DW;
      if (ix < 0 || ix >= W) continue;
      sum = fma(LOAD_IN(in, image + ((long)iy * W + ix) * C), LOAD_A(weights, taps + ky * KW + kx), sum);
    }
  }
  const long out_index = ((long)row * OW + ox) * M + map;
  if (has_bias) sum += LOAD_BIAS(bias, bias_offset + map);
  sum = with_residual(sum, RESIDUAL_AT(has_residual, residual, residual_offset + out_index), has_residual, activation,
                      alpha, beta);
  STORE_OUT(out, out_offset + out_index, sum);
}
#endif

// Implicit GEMM (-DTM, -DTN). Per group: out (maps x pixels) = weights (maps x K) x columns
// (K x pixels), K = group channels x KH x KW, pixels = N x OH x OW. The column matrix is never
// stored: each work-group gathers its BK x BN tile of it from the input (zero in the padding).
// 16 x 16 items compute a BM x BN block (BM = 16 TM maps, BN = 16 TN pixels); item (ty, tx)
// owns maps ty + 16 i and pixels tx + 16 j, so a warp's stores run along contiguous pixels.
// -DSPLIT_K: the third range axis also splits K into `splits` slices of whole tiles; each
// work-group stores its partial block as floats in its own IG_BM x IG_BN piece of `partials`, and
// convolution_igemm_finish sums the slices and applies the epilogue.
// -DHWC: input, residual and output are stored channels-last (N, H, W, C; 1-D: N, W, C) though
// the geometry is the same; K runs over (tap, channel) with channels fastest, so a K tile is
// consecutive addresses of each input pixel, and the gather's consecutive items read consecutive
// channels. The weights are channels-last too, (M, KH, KW, C / groups): rows of K in that order.
#ifdef TM
#define IG_BM (16 * TM)
#define IG_BN (16 * TN)
#define IG_BK 16
__kernel __attribute__((reqd_work_group_size(16, 16, 1)))
void convolution_igemm(IN_PTR in, long in_offset, A_PTR weights, long weights_offset, BIAS_PTR bias,
                       long bias_offset, OUT_PTR out, long out_offset, int C, int H, int W, int M, int OH,
                       int OW, int KH, int KW, int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                       int has_bias, int activation, float alpha, float beta, RES_PTR residual,
                       long residual_offset, int has_residual, int N
#ifdef SPLIT_K
                       , int splits, __global float* partials, long partials_offset
#endif
) {
  __local float a_tile[IG_BK][IG_BM + 1];
  __local float b_tile[IG_BK][IG_BN + 1];
  const int tx = get_local_id(0), ty = get_local_id(1);
  const int lid = ty * 16 + tx;
#ifdef SPLIT_K
  const int group = get_group_id(2) / splits, slice = get_group_id(2) % splits;
#else
  const int group = get_group_id(2);
#endif
  const int group_maps = M / groups, group_channels = C / groups;
  const int map0 = get_group_id(1) * IG_BM;  // within the group
  const int pixel0 = get_group_id(0) * IG_BN;
  const int taps = KH * KW, K = group_channels * taps;
#ifdef SPLIT_K
  const int tiles_per_slice = ((K + IG_BK - 1) / IG_BK + splits - 1) / splits;
  const int k_begin = min(K, slice * tiles_per_slice * IG_BK), k_end = min(K, k_begin + tiles_per_slice * IG_BK);
#else
  const int k_begin = 0, k_end = K;
#endif
  const int plane = OH * OW, pixels = N * plane;
  const long group_weights = weights_offset + (long)group * group_maps * K;
  // The gather's index arithmetic is split in two, so that no division runs per element: the
  // pixel a work-item gathers for is the same in every tile (256 items cover whole rows of
  // IG_BN pixels), so its image and window corner are computed once; each K tile's channel and
  // tap offsets are computed once per tile by IG_BK items into local memory. (Eight divisions per
  // gathered element cost more than the tile's FMAs did.)
#if 256 % IG_BN != 0
#error "the gather assumes that 256 work-items cover whole rows of IG_BN pixels"
#endif
  __local long k_offset[IG_BK];  // channel and tap, as an offset from the window's corner
  __local int k_dy[IG_BK], k_dx[IG_BK];
#ifdef HWC
  // Item lid gathers K position lid % IG_BK of the pixels lid / IG_BK + 16 r (r < TN).
  const int gather_kk = lid % IG_BK, gather_row = lid / IG_BK;
  int iy0[TN], ix0[TN];
  long corner[TN];  // the group's first channel at (iy0, ix0) in the pixel's image
  for (int r = 0; r < TN; ++r) {
    const int gather_pixel = pixel0 + gather_row + 16 * r;
    if (gather_pixel < pixels) {
      const int n = gather_pixel / plane, rest = gather_pixel % plane;
      iy0[r] = rest / OW * SH - PH;
      ix0[r] = rest % OW * SW - PW;
      corner[r] = in_offset + (((long)n * H + iy0[r]) * W + ix0[r]) * C + (long)group * group_channels;
    } else {
      iy0[r] = -0x20000000;  // out of every row: a pixel past the end gathers zeros
      ix0[r] = 0;
      corner[r] = 0;
    }
  }
#else
  const int gather_p = lid % IG_BN, gather_pixel = pixel0 + gather_p;
  int iy0 = 0, ix0 = 0;
  long corner = 0;  // the element at (iy0, ix0) of channel 0 of the group in the pixel's image
  if (gather_pixel < pixels) {
    const int n = gather_pixel / plane, rest = gather_pixel % plane;
    iy0 = rest / OW * SH - PH;
    ix0 = rest % OW * SW - PW;
    corner = in_offset + ((long)n * C + (long)group * group_channels) * H * W + (long)iy0 * W + ix0;
  } else {
    iy0 = -0x20000000;  // out of every row: a pixel past the end gathers zeros
  }
#endif
  float acc[TM][TN];
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
  for (int k0 = k_begin; k0 < k_end; k0 += IG_BK) {
    if (lid < IG_BK) {
      const int k = k0 + lid;
#ifdef HWC
      const int tap = k / group_channels, c = k % group_channels, ky = tap / KW, kx = tap % KW;
      k_offset[lid] = ((long)ky * DH * W + (long)kx * DW) * C + c;
#else
      const int c = k / taps, tap = k % taps, ky = tap / KW, kx = tap % KW;
      k_offset[lid] = ((long)c * H + (long)ky * DH) * W + (long)kx * DW;
#endif
      k_dy[lid] = k < k_end ? ky * DH : -0x20000000;  // past the slice: zeros
      k_dx[lid] = kx * DW;
    }
    for (int e = lid; e < IG_BM * IG_BK; e += 256) {
      const int m = e / IG_BK, kk = e % IG_BK;  // consecutive items read consecutive taps
      const int map = map0 + m, k = k0 + kk;
      a_tile[kk][m] = map < group_maps && k < k_end ? LOAD_A(weights, group_weights + (long)map * K + k) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#ifdef HWC
    for (int r = 0; r < TN; ++r) {  // consecutive items, consecutive channels
      const int iy = iy0[r] + k_dy[gather_kk], ix = ix0[r] + k_dx[gather_kk];
      b_tile[gather_kk][gather_row + 16 * r] =
          iy >= 0 && iy < H && ix >= 0 && ix < W ? LOAD_IN(in, corner[r] + k_offset[gather_kk]) : 0.0f;
    }
#else
    for (int kk = lid / IG_BN; kk < IG_BK; kk += 256 / IG_BN) {  // consecutive items, consecutive pixels
      const int iy = iy0 + k_dy[kk], ix = ix0 + k_dx[kk];
      b_tile[kk][gather_p] =
          iy >= 0 && iy < H && ix >= 0 && ix < W ? LOAD_IN(in, corner + k_offset[kk]) : 0.0f;
    }
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int kk = 0; kk < IG_BK; ++kk) {
      float a[TM], b[TN];
      for (int i = 0; i < TM; ++i) a[i] = a_tile[kk][ty + 16 * i];
      for (int j = 0; j < TN; ++j) b[j] = b_tile[kk][tx + 16 * j];
      for (int i = 0; i < TM; ++i)
        for (int j = 0; j < TN; ++j) acc[i][j] = fma(a[i], b[j], acc[i][j]);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#ifdef SPLIT_K
  __global float* block = partials + partials_offset +
                          partial_block(get_group_id(0), get_group_id(1), group, slice, get_num_groups(0),
                                        get_num_groups(1), splits, IG_BM * IG_BN);
  for (int i = 0; i < TM; ++i)
    for (int j = 0; j < TN; ++j) block[(ty + 16 * i) * IG_BN + tx + 16 * j] = acc[i][j];
#else
  for (int i = 0; i < TM; ++i) {
    const int map = map0 + ty + 16 * i;
    if (map >= group_maps) continue;
    const int global_map = group * group_maps + map;
    const float shift = has_bias ? LOAD_BIAS(bias, bias_offset + global_map) : 0.0f;
    for (int j = 0; j < TN; ++j) {
      const int pixel = pixel0 + tx + 16 * j;
      if (pixel >= pixels) continue;
#ifdef HWC
      const long index = (long)pixel * M + global_map;
#else
      const long index = ((long)(pixel / plane) * M + global_map) * plane + pixel % plane;
#endif
      float value = acc[i][j] + shift;
      value = with_residual(value, RESIDUAL_AT(has_residual, residual, residual_offset + index), has_residual, activation,
                           alpha, beta);
      STORE_OUT(out, out_offset + index, value);
    }
  }
#endif
}

#ifdef SPLIT_K
// out = activation(sum of the slices + bias[map] + residual), one item per element of the NCHW
// output (`count` elements of N x M maps of OH x OW; -DHWC: of N x OH x OW pixels of M maps);
// `groups_x` and `groups_y`: the main kernel's work-groups along pixels and maps.
__kernel void convolution_igemm_finish(OUT_PTR out, long out_offset, __global const float* partials,
                                       long partials_offset, BIAS_PTR bias, long bias_offset, RES_PTR residual,
                                       long residual_offset, int M, int groups, int OH, int OW, int groups_x,
                                       int groups_y, int splits, long count, int has_bias, int has_residual,
                                       int activation, float alpha, float beta) {
  const long i = get_global_id(0);
  if (i >= count) return;
#ifdef HWC
  const int map = (int)(i % M), p = (int)(i / M);  // the pixel axis is the output's own order
  (void)OH;
  (void)OW;
#else
  const long plane = (long)OH * OW;
  const long planes = i / plane;
  const int map = (int)(planes % M), n = (int)(planes / M);
  const int p = (int)(n * plane + i % plane);  // on the GEMM's pixel axis
#endif
  finish_sliced_element(out, out_offset, partials, partials_offset, bias, bias_offset, residual, residual_offset, i,
                        map, p, M, groups, IG_BM, IG_BN, 0, groups_x, groups_y, splits, has_bias, has_residual,
                        activation, alpha, beta);
}
#endif
#endif
