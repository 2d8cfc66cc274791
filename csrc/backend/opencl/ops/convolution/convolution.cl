// Direct convolution, NCHW (a 1-D convolution is a 2-D one with H = KH = 1). Each work-item
// computes OC_TILE output maps of one output pixel: every input value it loads serves OC_TILE
// kernel taps. A tile never crosses a group: dimension 1 of the range enumerates
// (group, tile of the group's maps). Geometry, bias and activation are uniform arguments, so one
// program per element type and tile serves every convolution.
//   -DOC_TILE=<n>   output maps per work-item
// in: IN macros; kernel: A macros (M x C/groups x KH x KW); bias: BIAS; out: OUT.
__kernel void convolution_direct(IN_PTR in, long in_offset, A_PTR weights, long weights_offset,
                                 BIAS_PTR bias, long bias_offset, OUT_PTR out, long out_offset,
                                 int C, int H, int W, int M, int OH, int OW, int KH, int KW,
                                 int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                                 int has_bias, int activation, float alpha, float beta) {
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
  const long in_base = in_offset + ((long)n * C + (long)group * group_channels) * H * W;
  const long taps = (long)group_channels * KH * KW;  // weights per output map
  // Past the group's last map, a tile re-reads that map (and discards the result): no branch.
  long map_base[OC_TILE];
  float sum[OC_TILE];
  for (int t = 0; t < OC_TILE; ++t) {
    map_base[t] = weights_offset + (long)(first_map + min(t, maps - 1)) * taps;
    sum[t] = 0.0f;
  }
  for (int c = 0; c < group_channels; ++c) {
    for (int ky = 0; ky < KH; ++ky) {
      const int iy = iy0 + ky * DH;
      if (iy < 0 || iy >= H) continue;
      const long row = in_base + ((long)c * H + iy) * W;
      const long tap_row = ((long)c * KH + ky) * KW;
      for (int kx = 0; kx < KW; ++kx) {
        const int ix = ix0 + kx * DW;
        if (ix < 0 || ix >= W) continue;
        const float x = LOAD_IN(in, row + ix);
        for (int t = 0; t < OC_TILE; ++t) sum[t] += x * LOAD_A(weights, map_base[t] + tap_row + kx);
      }
    }
  }
  const long out_base = out_offset + ((long)n * M + first_map) * OH * OW + pixel;
  for (int t = 0; t < maps; ++t) {
    float value = sum[t];
    if (has_bias) value += LOAD_BIAS(bias, bias_offset + first_map + t);
    if (activation >= 0) value = activate(activation, value, alpha, beta);
    STORE_OUT(out, out_base + (long)t * OH * OW, value);
  }
}
