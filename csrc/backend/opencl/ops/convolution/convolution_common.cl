// Prepended (after common.cl) to the convolution families, convolution.cl, convolution_mma.cl and
// convolution_wgmma.cl: split K's bookkeeping, the same for the register tiles and the tensor-core
// tiles, and the staged epilogues' runs (without split K). The residual
// (the output's shape and type, added before the activation where the builder fused an Add) is
// common.cl's RES operand, -DRES_HALF with a half output.

// Split K: where the partial block (`block` floats) of work-group (x, y) of convolution group z and
// K slice `slice` lies in the workspace: blocks in the order of the range, each block's slices
// together.
inline long partial_block(int x, int y, int z, int slice, int groups_x, int groups_y, int splits, int block) {
  return ((((long)z * groups_y + y) * groups_x + x) * splits + slice) * block;
}

// Split K's second pass for one element of the output: element i, of map `map` and at `p` on the
// GEMM's pixel axis (which each tile family lays out its own way), is the sum of its slices in
// slice order, plus the bias of the map and the residual, activated. Blocks are block_m maps by
// block_n pixels, stored map by map, or (`pixel_major`) pixel by pixel, so that the neighbouring
// items of a channels-last output (neighbouring maps) read neighbouring partials; `groups_x` and
// `groups_y` are the main kernel's work-groups along pixels and maps.
inline void finish_sliced_element(OUT_PTR out, long out_offset, __global const float* partials,
                                  long partials_offset, BIAS_PTR bias, long bias_offset, RES_PTR residual,
                                  long residual_offset, long i, int map, int p, int M, int groups, int block_m,
                                  int block_n, int pixel_major, int groups_x, int groups_y, int splits, int has_bias,
                                  int has_residual, int activation, float alpha, float beta) {
  const int group_maps = M / groups, conv_group = map / group_maps, group_map = map - conv_group * group_maps;
  const int block = block_m * block_n;
  const int within = pixel_major ? (p % block_n) * block_m + group_map % block_m
                                 : (group_map % block_m) * block_n + p % block_n;
  __global const float* slice = partials + partials_offset +
                                partial_block(p / block_n, group_map / block_m, conv_group, 0, groups_x, groups_y,
                                              splits, block) +
                                within;
  float v = 0.0f;
  for (int s = 0; s < splits; ++s) v += slice[(long)s * block];
  if (has_bias) v += LOAD_BIAS(bias, bias_offset + map);
  STORE_OUT(out, out_offset + i,
            with_residual(v, RESIDUAL_AT(has_residual, residual, residual_offset + i), has_residual, activation, alpha, beta));
}

#ifndef SPLIT_K
// The staged epilogues (convolution_mma's, convolution_wgmma's) finish runs of EPI_VEC output values
// (16 bytes) per item: consecutive pixels of one map (NCHW), or consecutive maps of one pixel (HWC).
#ifdef OUT_HALF
#define EPI_VEC 8
#else
#define EPI_VEC 4
#endif

// out[first ..] = v with residual[first ..] and the activation (with_residual) for one whole,
// aligned run: one vector load of the residual and one vector store.
inline void store_run(OUT_PTR out, long out_offset, RES_PTR residual, long residual_offset, int has_residual,
                      int activation, float alpha, float beta, long first, float* v) {
  float r[EPI_VEC] = {0.0f};
#ifdef OUT_HALF
  if (has_residual) {
    const float8 run = vloada_half8(0, residual + residual_offset + first);
    r[0] = run.s0; r[1] = run.s1; r[2] = run.s2; r[3] = run.s3; r[4] = run.s4; r[5] = run.s5; r[6] = run.s6; r[7] = run.s7;
  }
  for (int x = 0; x < EPI_VEC; ++x) v[x] = with_residual(v[x], r[x], has_residual, activation, alpha, beta);
  vstorea_half8((float8)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]), 0, out + out_offset + first);
#else
  if (has_residual) {
    const float4 run = *(__global const float4*)(residual + residual_offset + first);
    r[0] = run.x; r[1] = run.y; r[2] = run.z; r[3] = run.w;
  }
  for (int x = 0; x < EPI_VEC; ++x) v[x] = with_residual(v[x], r[x], has_residual, activation, alpha, beta);
  *(__global float4*)(out + out_offset + first) = (float4)(v[0], v[1], v[2], v[3]);
#endif
}

// Finishes the EPI_VEC maps from `global_map` of output pixel p (`maps_left` of them exist in the
// group) from `values` (local): + bias, + residual, activation, stored at p x M + map of the HWC
// output. One vector load and store where the run is whole and aligned; else map by map.
inline void finish_maps(OUT_PTR out, long out_offset, BIAS_PTR bias, long bias_offset, int has_bias, RES_PTR residual,
                        long residual_offset, int has_residual, int activation, float alpha, float beta, int M, long p,
                        int global_map, int maps_left, __local const float* values) {
  const long first = p * M + global_map;
  float v[EPI_VEC];
#pragma unroll
  for (int x = 0; x < EPI_VEC; ++x) {
    v[x] = values[x] + (has_bias && x < maps_left ? LOAD_BIAS(bias, bias_offset + global_map + x) : 0.0f);
  }
  if (maps_left >= EPI_VEC && (out_offset + first) % EPI_VEC == 0 &&
      (!has_residual || (residual_offset + first) % EPI_VEC == 0)) {
    store_run(out, out_offset, residual, residual_offset, has_residual, activation, alpha, beta, first, v);
    return;
  }
  // A guard, not a break: PoCL's optimizer cannot unroll a loop that leaves early, and says so
  // on stderr ("loop not unrolled") for every convolution program.
#pragma unroll
  for (int x = 0; x < EPI_VEC; ++x) {
    if (x < maps_left) {
      STORE_OUT(out, out_offset + first + x,
                with_residual(v[x], RESIDUAL_AT(has_residual, residual, residual_offset + first + x), has_residual,
                              activation, alpha, beta));
    }
  }
}
#endif
