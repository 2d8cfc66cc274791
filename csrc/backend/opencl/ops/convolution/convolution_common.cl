// Prepended (after common.cl) to both convolution families, convolution.cl and convolution_mma.cl:
// split K's bookkeeping, the same for the register tiles and the tensor-core tiles. The residual
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
  if (has_residual) v += LOAD_RES(residual, residual_offset + i);
  STORE_OUT(out, out_offset + i, activation < 0 ? v : activate(activation, v, alpha, beta));
}
