// Convolutions on tensor cores: the implicit GEMM of convolution.cl (per group, out (maps x
// pixels) = weights (maps x K) x columns (K x pixels), K = group channels x KH x KW, pixels =
// N x OH x OW, the column matrix gathered tile by tile from the NCHW input) with the tiles
// multiplied by mma.sync (kernels/mma.cl, prepended): f16 operands with float accumulation, or
// with -DTF32 float operands rounded to TF32. Offered where the tensor-core probe of
// gemm_mma.cpp passes (TF32 only when the builder allows it).
//
// The tiling is gemm_mma's (kernels/gemm_mma.cl): a work-group of WARPS_M x WARPS_N warps
// computes a BM x BN block, each warp (BM / WARPS_M) x (BN / WARPS_N) as m16 x n8 mma tiles;
// both tiles sit in local memory K-contiguous (16 words of K per row, padded to 20 so that the
// fragment reads hit distinct banks), double-buffered: the next tile's global loads are issued
// before the current tile's mma and stored after them.
//   weights: rows of K contiguous values; 16-byte loads with -DA_VEC (K and the offset aligned).
//   columns: each item gathers CHUNK consecutive pixels of one K position, so that the items of
//     a warp read runs of neighbouring input pixels (stride 1 convolutions read contiguous
//     memory), and scatters them into the K-contiguous tile.
// The epilogue adds the bias of the map, the residual (the output's shape, where the builder
// fused an Add) and applies the activation, storing NCHW.
//
// Split K (-DSPLIT_K): where a layer has too few blocks to fill the device (late layers at batch
// 1: 7 x 7 pixels, K up to 4608), the third range axis also splits K into `splits` slices. Each
// work-group stores its partial block plainly, as floats, in its own BM x BN piece of a
// workspace (`partials`); convolution_mma_finish then sums each output element's slices in
// slice order and applies bias, residual and activation. No atomics, no clearing pass: the sum
// is the same on every run, in float for HALF outputs too.
//
// Channels-last (-DHWC; TensorFormat.HWC): input, residual and output are stored (N, H, W, C) and
// the weights (M, KH, KW, C / groups), shapes still given as NCHW. K runs over (tap, channel) with
// channels fastest, so a column chunk is CHUNK consecutive channels of one input pixel at one tap:
// one 16-byte load where a group's channels and C are multiples of a chunk and the input aligned
// (-DHWC_VEC), else value by value. A column tile's row is then a pixel's run of K, stored as the
// weight tile is (no swizzle); the pixel axis is the output pixels as they lie (no padded rows);
// the epilogue stages the block transposed, so that each item finishes a run of consecutive maps
// of one pixel (contiguous in HWC).
//
// Build options: -DBM -DBN -DWARPS_M -DWARPS_N, -DKWORDS (32-bit words of K per tile: 16 or 32),
// -DTF32, -DA_VEC, -DPOINTWISE and -DPOINTWISE_VEC (1x1 convolutions, at column_chunk), -DHWC and
// -DHWC_VEC, -DSPLIT_K, -DMMA_EMULATE (tests), and the storage options of common.cl (IN, A for the
// weights, BIAS, OUT).

#define THREADS (32 * WARPS_M * WARPS_N)
#define WM (BM / WARPS_M)  // warp sub-tile
#define WN (BN / WARPS_N)
#define MT (WM / 16)  // mma tiles per warp
#define NT (WN / 8)
#ifndef KWORDS
#define KWORDS 16            // 32-bit words of K in a tile row
#endif
#define TS (KWORDS + 4)      // padded row stride in words
#define CHUNKS_PER_ROW (KWORDS / 4)
#define A_CHUNKS (BM * CHUNKS_PER_ROW / THREADS)  // 16-byte chunks each item moves per tile
#define B_CHUNKS (BN * CHUNKS_PER_ROW / THREADS)

#ifdef TF32
#define BK KWORDS  // K per tile
#define CHUNK 4    // elements per 16-byte chunk
#define RAW_T float
#define MMA MMA_TF32
#else
#define BK (2 * KWORDS)
#define CHUNK 8
#define RAW_T ushort
#define MMA MMA_F16
#endif
#define B_CHUNKS_PER_K (BN / CHUNK)
#define RAW_PTR __global const RAW_T*

#ifdef MMA_EMULATE
#undef MMA
#define MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
#endif

// Profiling variants (bench/conv_profile.cpp only; results are meaningless): -DPROFILE_NO_MMA
// (one add keeps the fragments live), -DPROFILE_NO_GATHER (the column tile gets a pattern
// instead of the input's values), -DPROFILE_NO_EPILOGUE (nothing stored unless a sum says so).
#ifdef PROFILE_NO_MMA
#undef MMA
#define MMA(d, a, b) ((d)[0] += as_float((a)[0] ^ (b)[0]))
#endif

// One stored value as the tiles hold it: a 16-bit pattern, or a TF32 pattern.
inline uint raw_value(RAW_PTR p, long at) {
#ifdef TF32
  return to_tf32(p[at]);
#else
  return (uint)p[at];
#endif
}

// CHUNK stored values from p[at] on (16-byte aligned) as the tiles hold them: one 16-byte load.
inline uint4 vector_chunk(RAW_PTR p, long at) {
#ifdef TF32
  const float4 v = *(__global const float4*)(p + at);
  return (uint4)(to_tf32(v.x), to_tf32(v.y), to_tf32(v.z), to_tf32(v.w));
#else
  return *(__global const uint4*)(p + at);
#endif
}

// Weights k .. k + CHUNK - 1 of map row r (rows of K values from `offset`), zero outside the
// rows and from k_end (K, or the end of this work-group's slice of K) on.
inline uint4 weight_chunk(RAW_PTR w, long offset, int rows, int K, int k_end, int r, int k) {
#ifdef A_VEC
  if (r >= rows || k >= k_end) return (uint4)(0u);
  return vector_chunk(w, offset + (long)r * K + k);
#else
  uint value[CHUNK];
  for (int i = 0; i < CHUNK; ++i) value[i] = r < rows && k + i < k_end ? raw_value(w, offset + (long)r * K + k + i) : 0u;
#ifdef TF32
  return (uint4)(value[0], value[1], value[2], value[3]);
#else
  return (uint4)(value[0] | (value[1] << 16), value[2] | (value[3] << 16), value[4] | (value[5] << 16),
                 value[6] | (value[7] << 16));
#endif
#endif
}

// The convolution's geometry, as the gather needs it.
struct Geometry {
  int C, H, W, OH, OW, KH, KW, SH, SW, DH, DW, PH, PW, taps, K;
  int CG;      // channels per group
  int OWP;     // the row pitch of the GEMM's pixel axis: OW, or OW rounded up to CHUNK (below)
  int pixels;  // N x OH x OWP: the extent of the GEMM's pixel axis
};

// The GEMM's pixel axis. A 1x1 convolution of stride 1 enumerates the output pixels as they lie
// (its chunks read contiguous input even across rows). Every other convolution gives each output
// row OW rounded up to CHUNK slots (OWP), so that a chunk never straddles two rows: its values
// come from one input row per tap, without per-pixel index arithmetic. The padding slots read
// zeros and store nothing; they cost up to CHUNK - 1 columns of work per row (rows of 7: 8 slots).
inline int row_pitch(int OW) {
#if defined(POINTWISE) || defined(HWC)
  return OW;
#else
  return (OW + CHUNK - 1) / CHUNK * CHUNK;
#endif
}

// Where pixel p of the GEMM's pixel axis lies in the NCHW output of M maps, for map `map`; -1
// for a padding slot.
inline long output_index(const struct Geometry* g, int M, int map, int p) {
  const int n = p / (g->OH * g->OWP), rest = p - n * (g->OH * g->OWP);
  const int oy = rest / g->OWP, ox = rest - oy * g->OWP;
  if (ox >= g->OW || p >= g->pixels) return -1;
  return (((long)n * M + map) * g->OH + oy) * g->OW + ox;
}

#if !defined(SPLIT_K) && !defined(HWC)
// The NCHW staged epilogue: bands of EPI_ROWS maps x BN pixels of floats, rows EPI_S apart (8
// words of padding: the items of a warp store 8 rows x 8 words), within the a_tile array.
#define EPI_S (BN + 8)
#define EPI_ROWS_FIT ((2 * BM * TS) / EPI_S / 16 * 16)
#define EPI_ROWS (EPI_ROWS_FIT < BM ? EPI_ROWS_FIT : BM)

// Finishes EPI_VEC pixels p .. of one map from `values` (local): + shift, + residual,
// activation, stored. One vector load and store where the run is one contiguous, aligned piece of
// the NCHW output (and of the residual); else pixel by pixel, skipping padding slots.
inline void finish_run(OUT_PTR out, long out_offset, RES_PTR residual, long residual_offset, int has_residual,
                       int activation, float alpha, float beta, const struct Geometry* g, int M, int map, int p,
                       __local const float* values, float shift) {
  const long first = output_index(g, M, map, p);
  const long last = output_index(g, M, map, p + EPI_VEC - 1);
  float v[EPI_VEC];
  for (int x = 0; x < EPI_VEC; ++x) v[x] = values[x] + shift;
  if (first >= 0 && last == first + EPI_VEC - 1 && (out_offset + first) % EPI_VEC == 0 &&
      (!has_residual || (residual_offset + first) % EPI_VEC == 0)) {
    store_run(out, out_offset, residual, residual_offset, has_residual, activation, alpha, beta, first, v);
    return;
  }
  for (int x = 0; x < EPI_VEC; ++x) {
    const long at = output_index(g, M, map, p + x);
    if (at < 0) continue;
    STORE_OUT(out, out_offset + at,
              with_residual(v[x], RESIDUAL_AT(has_residual, residual, residual_offset + at), has_residual, activation,
                            alpha, beta));
  }
}
#endif

#if !defined(SPLIT_K) && defined(HWC)
// The channels-last staged epilogue: bands of EPI_COLS pixels x BM maps of floats, each pixel's
// maps EPI_T apart (4 words of padding put the pixel pairs a warp stores 8 banks apart), within
// the a_tile array.
#define EPI_T (BM + 4)
#define EPI_COLS_FIT ((2 * BM * TS) / EPI_T / 8 * 8)
#define EPI_COLS (EPI_COLS_FIT < BN ? EPI_COLS_FIT : BN)
#endif

// Packs CHUNK raw values into a 16-byte chunk.
inline uint4 packed(const uint* value) {
#ifdef TF32
  return (uint4)(value[0], value[1], value[2], value[3]);
#else
  return (uint4)(value[0] | (value[1] << 16), value[2] | (value[3] << 16), value[4] | (value[5] << 16),
                 value[6] | (value[7] << 16));
#endif
}

// The gather's index arithmetic is split in two, so that no division runs per chunk: the chunk
// of pixels a work-item gathers is the same in every K tile (THREADS is a multiple of
// B_CHUNKS_PER_K), so where it lies (ChunkOrigin) is computed once; the K positions it gathers
// advance by BK per tile, carried from tap to tap and channel to channel (KPosition,
// k_advance) instead of divided out of k. (Four divisions per chunk of eight values cost as much
// as the values' loads.)
struct ChunkOrigin {
  long image;    // the group's first channel in the chunk's image
  int n, rest;   // POINTWISE: the first pixel's image and place in the plane
  int iy0, ix0;  // the window's corner for the chunk's first pixel
  int ox;        // the chunk's first output column (padded rows)
  int valid;     // 0: the chunk is past the last pixel
};
struct KPosition {
  int c, ky, kx;  // channel within the group and tap
};

inline struct ChunkOrigin chunk_origin(const struct Geometry* g, long base, int p) {
  struct ChunkOrigin o;
  o.valid = p < g->pixels;
#ifdef POINTWISE
  const int plane = g->OH * g->OW;
  o.n = p / plane;
  o.rest = p - o.n * plane;
  o.image = base + (long)o.n * g->C * plane;
  o.iy0 = o.ix0 = o.ox = 0;
#else
  const int row_pixels = g->OH * g->OWP;
  const int n = p / row_pixels, rest = p - n * row_pixels;
  const int oy = rest / g->OWP;
  o.n = n;
  o.rest = rest;
  o.ox = rest - oy * g->OWP;
  o.iy0 = oy * g->SH - g->PH;
  o.ix0 = o.ox * g->SW - g->PW;
  o.image = base + (long)n * g->C * g->H * g->W;
#endif
  return o;
}

inline struct KPosition k_position(const struct Geometry* g, int k) {
  struct KPosition at;
  at.c = k / g->taps;
  const int tap = k - at.c * g->taps;
  at.ky = tap / g->KW;
  at.kx = tap - at.ky * g->KW;
  return at;
}

// The K position `step` (k_position of BK) further on: each part carries at most once, since
// both parts of a tap are below their extents.
inline struct KPosition k_advance(const struct Geometry* g, struct KPosition at, struct KPosition step) {
  at.c += step.c;
  at.ky += step.ky;
  at.kx += step.kx;
  if (at.kx >= g->KW) {
    at.kx -= g->KW;
    ++at.ky;
  }
  if (at.ky >= g->KH) {
    at.ky -= g->KH;
    ++at.c;
  }
  return at;
}

// Column-matrix values at K position k (channel and tap `at`) for the CHUNK pixels from `o`
// (batch included): the input values their taps read, zero in the padding, past the last pixel
// and from k_end on.
#ifdef POINTWISE
// A 1x1 convolution of stride 1 without padding: K is the channel, and the column matrix is the
// input itself, each image's channels as rows of `plane` pixels. -DPOINTWISE_VEC: planes and
// the input's offset are multiples of CHUNK, so a chunk never crosses an image and is aligned.
inline uint4 column_chunk(RAW_PTR in, const struct Geometry* g, const struct ChunkOrigin* o, int k_end, int k,
                          struct KPosition at) {
  const int plane = g->OH * g->OW;
#ifdef POINTWISE_VEC
  if (k >= k_end || !o->valid) return (uint4)(0u);
  return vector_chunk(in, o->image + (long)k * plane + o->rest);
#else
  uint value[CHUNK];
  for (int i = 0; i < CHUNK; ++i) value[i] = 0u;
  if (k < k_end) {
    const int first = o->n * plane + o->rest;  // the chunk's first pixel
    long image = o->image;
    int rest = o->rest;
    for (int i = 0; i < CHUNK; ++i) {
      if (first + i < g->pixels) value[i] = raw_value(in, image + (long)k * plane + rest);
      if (++rest == plane) {  // the chunk crosses into the next image
        rest = 0;
        image += (long)g->C * plane;
      }
    }
  }
  return packed(value);
#endif
}
#else
// The chunk is CHUNK slots of one output row (padded rows: see row_pitch).
inline uint4 column_chunk(RAW_PTR in, const struct Geometry* g, const struct ChunkOrigin* o, int k_end, int k,
                          struct KPosition at) {
  uint value[CHUNK];
  for (int i = 0; i < CHUNK; ++i) value[i] = 0u;
  if (k >= k_end || !o->valid) return packed(value);
  const int iy = o->iy0 + at.ky * g->DH, ix = o->ix0 + at.kx * g->DW;
  if (iy < 0 || iy >= g->H) return packed(value);
  const long row = o->image + ((long)at.c * g->H + iy) * g->W;
  if (ix >= 0 && ix + (CHUNK - 1) * g->SW < g->W && o->ox + CHUNK <= g->OW) {
    for (int i = 0; i < CHUNK; ++i) value[i] = raw_value(in, row + ix + i * g->SW);
  } else {  // the row's ends: horizontal padding, or the slots past OW
    for (int i = 0; i < CHUNK; ++i) {
      const int x = ix + i * g->SW;
      if (x >= 0 && x < g->W && o->ox + i < g->OW) value[i] = raw_value(in, row + x);
    }
  }
  return packed(value);
}
#endif

// Split K's partial blocks: pixel by pixel for channels-last outputs (finish_sliced_element).
#ifdef HWC
#define PIXEL_MAJOR 1
#else
#define PIXEL_MAJOR 0
#endif

#ifdef HWC
// The channels-last gather (see the top). Each item gathers the same K chunk of each tile for
// B_CHUNKS pixels: where each pixel's window lies is computed once (PixelOrigin), and the chunk's
// channel and tap are carried from tile to tile (TapChannel, tap_channel_advance) instead of
// divided out of k.
struct PixelOrigin {
  long image;    // the group's first channel in the pixel's image
  int iy0, ix0;  // the window's corner
  int valid;     // 0: past the last pixel
};
struct TapChannel {
  int c, ky, kx;  // K = (ky x KW + kx) x channels per group + c
};

inline struct PixelOrigin pixel_origin(const struct Geometry* g, long base, int p) {
  struct PixelOrigin o;
  const int plane = g->OH * g->OW;
  const int n = p / plane, rest = p - n * plane, oy = rest / g->OW, ox = rest - oy * g->OW;
  o.valid = p < g->pixels;
  o.iy0 = oy * g->SH - g->PH;
  o.ix0 = ox * g->SW - g->PW;
  o.image = base + (long)n * g->H * g->W * g->C;
  return o;
}

inline struct TapChannel tap_channel(const struct Geometry* g, int k) {
  struct TapChannel at;
  const int tap = k / g->CG;
  at.c = k - tap * g->CG;
  at.ky = tap / g->KW;
  at.kx = tap - at.ky * g->KW;
  return at;
}

// The K position `step` (tap_channel of BK) further on: each part carries at most once. Past the
// last tap, ky grows beyond KH; k_end stops those reads.
inline struct TapChannel tap_channel_advance(const struct Geometry* g, struct TapChannel at, struct TapChannel step) {
  at.c += step.c;
  at.kx += step.kx;
  at.ky += step.ky;
  if (at.c >= g->CG) {
    at.c -= g->CG;
    ++at.kx;
  }
  if (at.kx >= g->KW) {
    at.kx -= g->KW;
    ++at.ky;
  }
  return at;
}

// Column-matrix values k .. k + CHUNK - 1 (from channel and tap `at`) of one pixel: the input's
// channels at that tap, zero in the padding, past the last pixel and from k_end on.
inline uint4 hwc_column_chunk(RAW_PTR in, const struct Geometry* g, const struct PixelOrigin* o, int k_end, int k,
                              struct TapChannel at) {
#ifdef HWC_VEC
  // The chunk's channels lie in one tap (channels per group are a multiple of CHUNK), aligned.
  if (k >= k_end || !o->valid) return (uint4)(0u);
  const int iy = o->iy0 + at.ky * g->DH, ix = o->ix0 + at.kx * g->DW;
  if (iy < 0 || iy >= g->H || ix < 0 || ix >= g->W) return (uint4)(0u);
  return vector_chunk(in, o->image + ((long)iy * g->W + ix) * g->C + at.c);
#else
  uint value[CHUNK];
#pragma unroll
  for (int i = 0; i < CHUNK; ++i) {
    value[i] = 0u;
    const int iy = o->iy0 + at.ky * g->DH, ix = o->ix0 + at.kx * g->DW;
    if (o->valid && k + i < k_end && iy >= 0 && iy < g->H && ix >= 0 && ix < g->W) {
      value[i] = raw_value(in, o->image + ((long)iy * g->W + ix) * g->C + at.c);
    }
    if (++at.c == g->CG) {  // the chunk crosses into the next tap
      at.c = 0;
      if (++at.kx == g->KW) {
        at.kx = 0;
        ++at.ky;
      }
    }
  }
  return packed(value);
#endif
}
#endif

#ifdef SPLIT_K
// out = activation(sum of the slices + bias[map] + residual), one item per element of the output
// (`count` elements of N x M maps of OH x OW; -DHWC: of N x OH x OW pixels of M maps): the
// epilogue the slices left out. `groups_x` and `groups_y`: the main kernel's work-groups along
// pixels and maps.
__kernel void convolution_mma_finish(OUT_PTR out, long out_offset, __global const float* partials, long partials_offset,
                                     BIAS_PTR bias, long bias_offset, RES_PTR residual, long residual_offset, int M,
                                     int groups, int OH, int OW, int groups_x, int groups_y, int splits, long count,
                                     int has_bias, int has_residual, int activation, float alpha, float beta) {
  const long i = get_global_id(0);
  if (i >= count) return;
#ifdef HWC
  const int map = (int)(i % M), p = (int)(i / M);  // the pixel axis is the output's own order
  (void)OH;
  (void)OW;
#else
  const int ox = (int)(i % OW);
  const long rows = i / OW;
  const int oy = (int)(rows % OH);
  const long planes = rows / OH;
  const int map = (int)(planes % M), n = (int)(planes / M);
  const int p = (n * OH + oy) * row_pitch(OW) + ox;  // on the GEMM's pixel axis
#endif
  finish_sliced_element(out, out_offset, partials, partials_offset, bias, bias_offset, residual, residual_offset, i,
                        map, p, M, groups, BM, BN, PIXEL_MAJOR, groups_x, groups_y, splits, has_bias, has_residual,
                        activation, alpha, beta);
}
#endif

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void convolution_mma(IN_PTR in, long in_offset, A_PTR weights, long weights_offset, BIAS_PTR bias,
                     long bias_offset, OUT_PTR out, long out_offset, int C, int H, int W, int M, int OH,
                     int OW, int KH, int KW, int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                     int has_bias, int activation, float alpha, float beta, RES_PTR residual,
                     long residual_offset, int has_residual, int N
#ifdef SPLIT_K
                     , int splits, __global float* partials, long partials_offset
#endif
) {
  __local uint a_tile[2][BM * TS] __attribute__((aligned(16)));
  __local uint b_tile[2][BN * TS] __attribute__((aligned(16)));
#ifdef MMA_EMULATE
  __local uint emulate_a[WARPS_M * WARPS_N * 128], emulate_b[WARPS_M * WARPS_N * 128];
#endif
  const int tid = get_local_id(0);
  const int lane = tid & 31, warp = tid >> 5;
  const int group = lane >> 2, member = lane & 3;
  const int warp_m = (warp / WARPS_N) * WM;
  const int warp_n = (warp % WARPS_N) * WN;
  const int map0 = get_group_id(1) * BM;  // within the convolution group
  const int pixel0 = get_group_id(0) * BN;
#ifdef SPLIT_K
  const int conv_group = get_group_id(2) / splits, slice = get_group_id(2) % splits;
#else
  const int conv_group = get_group_id(2);
#endif
  const int group_maps = M / groups, group_channels = C / groups;
  struct Geometry g;
  g.C = C; g.H = H; g.W = W; g.OH = OH; g.OW = OW; g.KH = KH; g.KW = KW;
  g.SH = SH; g.SW = SW; g.DH = DH; g.DW = DW; g.PH = PH; g.PW = PW;
  g.taps = KH * KW;
  g.CG = group_channels;
  g.K = group_channels * g.taps;
  g.OWP = row_pitch(OW);
  g.pixels = N * OH * g.OWP;
  const int K = g.K;
  // This work-group's K range: all of it, or slice `slice` of whole tiles.
#ifdef SPLIT_K
  const int tiles_per_slice = ((K + BK - 1) / BK + splits - 1) / splits;
  const int k_begin = min(K, slice * tiles_per_slice * BK), k_end = min(K, k_begin + tiles_per_slice * BK);
#else
  const int k_begin = 0, k_end = K;
#endif
#ifdef HWC
  const long in_base = in_offset + (long)conv_group * group_channels;
#else
  const long in_base = in_offset + (long)conv_group * group_channels * H * W;
#endif
  const long weights_base = weights_offset + (long)conv_group * group_maps * K;
  RAW_PTR in_raw = (RAW_PTR)in;
  RAW_PTR weights_raw = (RAW_PTR)weights;

  float acc[MT][NT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  uint4 a_next[A_CHUNKS], b_next[B_CHUNKS];
#ifdef HWC
  // This item's pixels, and its chunk's K position in the first tile (see PixelOrigin).
  struct PixelOrigin origin[B_CHUNKS];
  for (int q = 0; q < B_CHUNKS; ++q) origin[q] = pixel_origin(&g, in_base, pixel0 + (tid + q * THREADS) / CHUNKS_PER_ROW);
  const int k_item = (tid % CHUNKS_PER_ROW) * CHUNK;  // the same in every q: THREADS is a multiple of CHUNKS_PER_ROW
  const struct TapChannel k_step = tap_channel(&g, BK);
  struct TapChannel k_at = tap_channel(&g, k_begin + k_item);
#define LOAD_B_TILE(k0)                                                                         \
  for (int q = 0; q < B_CHUNKS; ++q) b_next[q] = hwc_column_chunk(in_raw, &g, &origin[q], k_end, (k0) + k_item, k_at); \
  k_at = tap_channel_advance(&g, k_at, k_step);
#else
  // This item's chunk of pixels and its K positions in the first tile (see ChunkOrigin).
#if THREADS % B_CHUNKS_PER_K != 0
#error "the gather assumes that an item's chunk of pixels is the same for every q"
#endif
  const struct ChunkOrigin origin = chunk_origin(&g, in_base, pixel0 + (tid % B_CHUNKS_PER_K) * CHUNK);
  const struct KPosition k_step = k_position(&g, BK);
  struct KPosition k_at[B_CHUNKS];
  for (int q = 0; q < B_CHUNKS; ++q) k_at[q] = k_position(&g, k_begin + (tid + q * THREADS) / B_CHUNKS_PER_K);
#ifdef PROFILE_NO_GATHER
#define GATHER(in, g, o, k_end, k, at) ((uint4)((uint)(k), (uint)((o)->ox), (uint)(k) ^ (uint)((o)->rest), 0x3c00u))
#else
#define GATHER column_chunk
#endif
#define LOAD_B_TILE(k0)                                                                         \
  for (int q = 0; q < B_CHUNKS; ++q) {                                                          \
    const int e = tid + q * THREADS;                                                            \
    b_next[q] = GATHER(in_raw, &g, &origin, k_end, (k0) + e / B_CHUNKS_PER_K, k_at[q]);        \
    k_at[q] = k_advance(&g, k_at[q], k_step);                                                   \
  }
#endif

// Global -> registers for the tile starting at k0.
#define LOAD_TILES(k0)                                                                          \
  for (int q = 0; q < A_CHUNKS; ++q) {                                                          \
    const int e = tid + q * THREADS;                                                            \
    a_next[q] = weight_chunk(weights_raw, weights_base, group_maps, K, k_end, map0 + e / CHUNKS_PER_ROW, \
                             (k0) + (e % CHUNKS_PER_ROW) * CHUNK);                              \
  }                                                                                             \
  LOAD_B_TILE(k0)

// Registers -> local tiles `buffer`. A column chunk is one K position of CHUNK consecutive rows
// of the column tile. Word w of row r of that tile sits at column w ^ B_SWIZZLE(r): the items of
// a warp store the same K position into rows CHUNK apart, which the padding alone puts in one
// bank (8 rows x 20 words = 5 x 32); the XOR spreads them over 8 banks, and the fragment reads
// (8 consecutive rows, one swizzle per 8 rows) stay conflict-free.
// -DHWC: a column chunk is CHUNK consecutive K of one row, stored as the weight chunks are.
#ifdef HWC
#define B_SWIZZLE(r) 0
#define STORE_B_CHUNK(buffer, e, v) \
  *(__local uint4*)(&b_tile[buffer][((e) / CHUNKS_PER_ROW) * TS + ((e) % CHUNKS_PER_ROW) * 4]) = (v);
#else
#define B_SWIZZLE(r) (((r) >> 3) & 7)
#endif
#if defined(HWC)
#elif defined(TF32)
#define STORE_B_CHUNK(buffer, e, v)                                                       \
  {                                                                                       \
    const int row_ = ((e) % B_CHUNKS_PER_K) * CHUNK, word_ = (e) / B_CHUNKS_PER_K;        \
    __local uint* at = &b_tile[buffer][row_ * TS + (word_ ^ B_SWIZZLE(row_))];            \
    at[0] = (v).x; at[TS] = (v).y; at[2 * TS] = (v).z; at[3 * TS] = (v).w;                \
  }
#else
#define STORE_B_CHUNK(buffer, e, v)                                                       \
  {                                                                                       \
    const int row_ = ((e) % B_CHUNKS_PER_K) * CHUNK, k_ = (e) / B_CHUNKS_PER_K;           \
    __local ushort* at = (__local ushort*)&b_tile[buffer][row_ * TS] +                    \
                         2 * ((k_ >> 1) ^ B_SWIZZLE(row_)) + (k_ & 1);                    \
    at[0] = (ushort)(v).x; at[2 * TS] = (ushort)((v).x >> 16);                            \
    at[4 * TS] = (ushort)(v).y; at[6 * TS] = (ushort)((v).y >> 16);                       \
    at[8 * TS] = (ushort)(v).z; at[10 * TS] = (ushort)((v).z >> 16);                      \
    at[12 * TS] = (ushort)(v).w; at[14 * TS] = (ushort)((v).w >> 16);                     \
  }
#endif
#define STORE_TILES(buffer)                                                                     \
  for (int q = 0; q < A_CHUNKS; ++q) {                                                          \
    const int e = tid + q * THREADS;                                                            \
    *(__local uint4*)(&a_tile[buffer][(e / CHUNKS_PER_ROW) * TS + (e % CHUNKS_PER_ROW) * 4]) = a_next[q]; \
  }                                                                                             \
  for (int q = 0; q < B_CHUNKS; ++q) {                                                          \
    const int e = tid + q * THREADS;                                                            \
    STORE_B_CHUNK(buffer, e, b_next[q])                                                         \
  }

  const int tiles = (k_end - k_begin + BK - 1) / BK;
  LOAD_TILES(k_begin)
  STORE_TILES(0)
  barrier(CLK_LOCAL_MEM_FENCE);

  for (int t = 0; t < tiles; ++t) {
    const int current = t & 1;
    const bool more = t + 1 < tiles;
    if (more) {
      LOAD_TILES(k_begin + (t + 1) * BK)
    }
    __local const uint* as = a_tile[current];
    __local const uint* bs = b_tile[current];
#pragma unroll
    for (int step = 0; step < KWORDS / 8; ++step) {  // mma K steps of 8 words (16 halves / 8 TF32)
      uint fa[MT][4], fb[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int at = (warp_m + i * 16 + group) * TS + step * 8 + member;
        fa[i][0] = as[at];
        fa[i][1] = as[at + 8 * TS];
        fa[i][2] = as[at + 4];
        fa[i][3] = as[at + 8 * TS + 4];
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int row = warp_n + j * 8 + group, swizzle = B_SWIZZLE(row);
        fb[j][0] = bs[row * TS + ((step * 8 + member) ^ swizzle)];
        fb[j][1] = bs[row * TS + ((step * 8 + member + 4) ^ swizzle)];
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) MMA(acc[i][j], fa[i], fb[j]);
    }
    if (more) {
      STORE_TILES(current ^ 1)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#ifdef PROFILE_NO_EPILOGUE
  float sum = 0.0f;
  for (int i = 0; i < MT; ++i)
    for (int j = 0; j < NT; ++j) sum += acc[i][j][0] + acc[i][j][1] + acc[i][j][2] + acc[i][j][3];
  if (sum == 1234.5f) STORE_OUT(out, out_offset + tid, sum);
  return;
#endif
  // Epilogue. Split K: the partial block goes to the workspace as it lies in the accumulators
  // (pairs of neighbouring pixels as one 8-byte store), for convolution_mma_finish. Otherwise the
  // block goes through local memory in bands of EPI_ROWS maps (the tiles' space, free after the
  // last barrier), so that each item then finishes EPI_VEC consecutive pixels of one map: one
  // 16-byte load of the residual and one 16-byte store where the run is contiguous and aligned in
  // NCHW, instead of scattered 4-byte pieces of eight maps per warp.
#ifdef SPLIT_K
  __global float* block = partials + partials_offset +
                          partial_block(get_group_id(0), get_group_id(1), conv_group, slice, get_num_groups(0),
                                        get_num_groups(1), splits, BM * BN);
#pragma unroll
  for (int i = 0; i < MT; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = warp_m + i * 16 + group + h * 8;
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int column = warp_n + j * 8 + member * 2;
#if PIXEL_MAJOR
        block[column * BM + row] = acc[i][j][2 * h];  // channels-last: the finishing pass reads maps in a row
        block[(column + 1) * BM + row] = acc[i][j][2 * h + 1];
#else
        vstore2((float2)(acc[i][j][2 * h], acc[i][j][2 * h + 1]), 0, block + row * BN + column);
#endif
      }
    }
  }
#elif defined(HWC)
  __local float* band = (__local float*)&a_tile[0][0];
  for (int c0 = 0; c0 < BN; c0 += EPI_COLS) {
#pragma unroll
    for (int j = 0; j < NT; ++j) {
      const int column = warp_n + j * 8 + member * 2 - c0;  // the pair's first pixel in the band
      if (column < 0 || column >= EPI_COLS) continue;
#pragma unroll
      for (int i = 0; i < MT; ++i) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int row = warp_m + i * 16 + group + h * 8;
          band[column * EPI_T + row] = acc[i][j][2 * h];
          band[(column + 1) * EPI_T + row] = acc[i][j][2 * h + 1];
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int run = tid; run < EPI_COLS * (BM / EPI_VEC); run += THREADS) {
      const int column = run / (BM / EPI_VEC), row = (run % (BM / EPI_VEC)) * EPI_VEC;
      const int p = pixel0 + c0 + column, map = map0 + row;
      if (p >= g.pixels || map >= group_maps) continue;
      finish_maps(out, out_offset, bias, bias_offset, has_bias, residual, residual_offset, has_residual, activation,
                  alpha, beta, M, p, conv_group * group_maps + map, group_maps - map, band + column * EPI_T + row);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#else
  __local float* band = (__local float*)&a_tile[0][0];
  for (int r0 = 0; r0 < BM; r0 += EPI_ROWS) {
#pragma unroll
    for (int i = 0; i < MT; ++i) {
      const int row = warp_m + i * 16 - r0;  // the mma tile's first row in the band
      if (row < 0 || row >= EPI_ROWS) continue;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
#pragma unroll
        for (int j = 0; j < NT; ++j) {
          __local float* at = band + (row + group + h * 8) * EPI_S + warp_n + j * 8 + member * 2;
          at[0] = acc[i][j][2 * h];
          at[1] = acc[i][j][2 * h + 1];
        }
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int run = tid; run < EPI_ROWS * (BN / EPI_VEC); run += THREADS) {
      const int row = run / (BN / EPI_VEC), column = (run % (BN / EPI_VEC)) * EPI_VEC;
      const int map = map0 + r0 + row;
      if (map >= group_maps) continue;
      const int global_map = conv_group * group_maps + map;
      const float shift = has_bias ? LOAD_BIAS(bias, bias_offset + global_map) : 0.0f;
      finish_run(out, out_offset, residual, residual_offset, has_residual, activation, alpha, beta, &g, M,
                 global_map, pixel0 + column, band + row * EPI_S + column, shift);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#endif
}
