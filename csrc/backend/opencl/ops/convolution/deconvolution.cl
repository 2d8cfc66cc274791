// Transposed convolution, NCHW (1-D as 2-D with H = KH = 1), gathered per output element: output
// pixel (oy, ox) receives input pixel (iy, ix) through tap (ky, kx) when
// iy * SH + ky * DH == oy + PH (PH: what is cropped in front), and likewise along x. Each
// work-item computes OC_TILE output maps of one output pixel; a tile never crosses a group.
//   -DOC_TILE=<n>   output maps per work-item
// in: IN macros; kernel: A macros (C x M/groups x KH x KW); bias: BIAS; out: OUT.
__kernel void deconvolution_direct(IN_PTR in, long in_offset, A_PTR weights, long weights_offset,
                                   BIAS_PTR bias, long bias_offset, OUT_PTR out, long out_offset,
                                   int C, int H, int W, int M, int OH, int OW, int KH, int KW,
                                   int SH, int SW, int DH, int DW, int PH, int PW, int groups,
                                   int has_bias, int activation, float alpha, float beta) {
  const int pixel = get_global_id(0);
  if (pixel >= OH * OW) return;
  const int group_maps = M / groups;
  const int tiles_per_group = (group_maps + OC_TILE - 1) / OC_TILE;
  const int group = get_global_id(1) / tiles_per_group;
  const int first_local = (get_global_id(1) % tiles_per_group) * OC_TILE;  // within the group
  const int maps = min(OC_TILE, group_maps - first_local);
  const int n = get_global_id(2);
  const int oy = pixel / OW, ox = pixel % OW;
  const int group_channels = C / groups;
  const long taps = (long)KH * KW;
  float sum[OC_TILE];
  for (int t = 0; t < OC_TILE; ++t) sum[t] = 0.0f;
  for (int ky = 0; ky < KH; ++ky) {
    const int ty = oy + PH - ky * DH;
    if (ty < 0 || ty % SH != 0 || ty / SH >= H) continue;
    const int iy = ty / SH;
    for (int kx = 0; kx < KW; ++kx) {
      const int tx = ox + PW - kx * DW;
      if (tx < 0 || tx % SW != 0 || tx / SW >= W) continue;
      const int ix = tx / SW;
      const long tap = (long)ky * KW + kx;
      for (int c = 0; c < group_channels; ++c) {
        const int channel = group * group_channels + c;
        const float x = LOAD_IN(in, in_offset + (((long)n * C + channel) * H + iy) * W + ix);
        // Past the group's last map a tile re-reads that map's weights (the result is discarded).
        const long row = weights_offset + ((long)channel * group_maps + first_local) * taps + tap;
        for (int t = 0; t < OC_TILE; ++t) sum[t] += x * LOAD_A(weights, row + (long)min(t, maps - 1) * taps);
      }
    }
  }
  const int first_map = group * group_maps + first_local;
  const long out_base = out_offset + ((long)n * M + first_map) * OH * OW + pixel;
  for (int t = 0; t < maps; ++t) {
    float value = sum[t];
    if (has_bias) value += LOAD_BIAS(bias, bias_offset + first_map + t);
    if (activation >= 0) value = activate(activation, value, alpha, beta);
    STORE_OUT(out, out_base + (long)t * OH * OW, value);
  }
}
