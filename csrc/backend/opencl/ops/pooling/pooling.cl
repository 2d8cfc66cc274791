// Max and average pooling, NCHW (1-D as 2-D with H = KH = 1): one work-item per output element.
// Max ignores padding; average divides by the window's input elements when exclude_padding,
// else by the elements of the window clipped to the padded input (ONNX's count_include_pad and
// TensorRT's average_count_excludes_padding = false). Every value is read and compared in float.
//   -DPOOL_MAX or -DPOOL_AVERAGE
__kernel void pooling(IN_PTR in, long in_offset, OUT_PTR out, long out_offset,
                      int H, int W, int OH, int OW, int KH, int KW, int SH, int SW, int DH, int DW,
                      int PH, int PW, int padded_h, int padded_w, int exclude_padding) {
  const int pixel = get_global_id(0);
  if (pixel >= OH * OW) return;
  const int plane = get_global_id(1);  // n * C + c
  const int oy = pixel / OW, ox = pixel % OW;
  const int iy0 = oy * SH - PH, ix0 = ox * SW - PW;
  const long base = in_offset + (long)plane * H * W;
#ifdef POOL_MAX
  float result = -INFINITY;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = iy0 + ky * DH;
    if (iy < 0 || iy >= H) continue;
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = ix0 + kx * DW;
      if (ix < 0 || ix >= W) continue;
      const float x = LOAD_IN(in, base + (long)iy * W + ix);
      result = (x > result || isnan(x)) ? x : result;  // NaN wins, as in ONNX Runtime
    }
  }
#else
  float sum = 0.0f;
  int inside = 0, counted = 0;
  for (int ky = 0; ky < KH; ++ky) {
    const int iy = iy0 + ky * DH;
    if (iy >= padded_h - PH) break;  // past the end padding: outside every count
    for (int kx = 0; kx < KW; ++kx) {
      const int ix = ix0 + kx * DW;
      if (ix >= padded_w - PW) break;
      ++counted;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      sum += LOAD_IN(in, base + (long)iy * W + ix);
      ++inside;
    }
  }
  const int divisor = exclude_padding ? inside : counted;
  const float result = divisor > 0 ? sum / (float)divisor : 0.0f;
#endif
  STORE_OUT(out, out_offset + (long)plane * OH * OW + pixel, result);
}
