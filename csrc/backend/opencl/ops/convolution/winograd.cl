// Winograd convolution F(2x2, 3x3) (winograd.h): 3x3 kernels, stride 1, no dilation, one group.
// Each 2x2 block of output pixels (a tile) is computed from the 4x4 input patch under it as
//   Y = A^T [ (G g G^T) .* (B^T d B) ] A
// summed over input channels, so the 16 elementwise products per channel become 16 independent
// matrix products over the channels: M_e (maps x tiles) = U_e (maps x C) V_e (C x tiles), e < 16,
// which a batched GEMM computes between winograd_input/winograd_weights and winograd_output.
// 2.25 times fewer multiplications than the direct form. Transforms are computed in float.
// Storage: IN macros for what is read (input, weights, products), OUT for what is written
// (transformed operands and the output); both are the convolution's type. BIAS and RES as in
// convolution.cl. Layouts: V (16, C, T), U (16, M, C), products (16, M, T), T = N x TH x TW tiles,
// TH = ceil(OH / 2), TW = ceil(OW / 2).

// One item per (tile, channel): the patch's 16 transformed values, B^T d B.
__kernel void winograd_input(IN_PTR in, long in_offset, OUT_PTR v, long v_offset, int C, int H, int W, int PH,
                             int PW, int TH, int TW, int T) {
  const int t = get_global_id(0), c = get_global_id(1);
  if (t >= T) return;
  const int n = t / (TH * TW), r = t % (TH * TW);
  const int y0 = (r / TW) * 2 - PH, x0 = (r % TW) * 2 - PW;
  const long plane = in_offset + ((long)n * C + c) * H * W;
  float d[4][4];
  for (int i = 0; i < 4; ++i) {
    const int y = y0 + i;
    for (int j = 0; j < 4; ++j) {
      const int x = x0 + j;
      d[i][j] = y >= 0 && y < H && x >= 0 && x < W ? LOAD_IN(in, plane + (long)y * W + x) : 0.0f;
    }
  }
  float b[4][4];  // B^T d
  for (int j = 0; j < 4; ++j) {
    b[0][j] = d[0][j] - d[2][j];
    b[1][j] = d[1][j] + d[2][j];
    b[2][j] = d[2][j] - d[1][j];
    b[3][j] = d[1][j] - d[3][j];
  }
  const long stride = (long)C * T;  // between the 16 components
  long at = v_offset + (long)c * T + t;
  for (int i = 0; i < 4; ++i) {  // (B^T d) B, row by row
    STORE_OUT(v, at, b[i][0] - b[i][2]);
    STORE_OUT(v, at + stride, b[i][1] + b[i][2]);
    STORE_OUT(v, at + 2 * stride, b[i][2] - b[i][1]);
    STORE_OUT(v, at + 3 * stride, b[i][1] - b[i][3]);
    at += 4 * stride;
  }
}

// One item per (map, channel): G g G^T of its 3x3 kernel.
__kernel void winograd_weights(IN_PTR weights, long weights_offset, OUT_PTR u, long u_offset, int M, int C) {
  const int i = get_global_id(0);
  if (i >= M * C) return;
  const long base = weights_offset + (long)i * 9;
  float g[3][3];
  for (int k = 0; k < 9; ++k) g[k / 3][k % 3] = LOAD_IN(weights, base + k);
  float h[4][3];  // G g
  for (int j = 0; j < 3; ++j) {
    h[0][j] = g[0][j];
    h[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
    h[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
    h[3][j] = g[2][j];
  }
  const long stride = (long)M * C;
  long at = u_offset + i;  // (m, c) = i: U_e is M x C row-major
  for (int r = 0; r < 4; ++r) {  // (G g) G^T, row by row
    STORE_OUT(u, at, h[r][0]);
    STORE_OUT(u, at + stride, 0.5f * (h[r][0] + h[r][1] + h[r][2]));
    STORE_OUT(u, at + 2 * stride, 0.5f * (h[r][0] - h[r][1] + h[r][2]));
    STORE_OUT(u, at + 3 * stride, h[r][2]);
    at += 4 * stride;
  }
}

// One item per (tile, map): A^T m A, then bias, residual and activation, for the tile's pixels
// inside the output.
__kernel void winograd_output(IN_PTR products, long products_offset, OUT_PTR out, long out_offset, BIAS_PTR bias,
                              long bias_offset, RES_PTR residual, long residual_offset, int M, int OH, int OW, int TH,
                              int TW, int T, int has_bias, int has_residual, int activation, float alpha, float beta) {
  const int t = get_global_id(0), map = get_global_id(1);
  if (t >= T) return;
  const long stride = (long)M * T;
  const long first = products_offset + (long)map * T + t;
  float m[4][4];
  for (int e = 0; e < 16; ++e) m[e / 4][e % 4] = LOAD_IN(products, first + e * stride);
  float a[2][4];  // A^T m
  for (int j = 0; j < 4; ++j) {
    a[0][j] = m[0][j] + m[1][j] + m[2][j];
    a[1][j] = m[1][j] - m[2][j] - m[3][j];
  }
  const int n = t / (TH * TW), r = t % (TH * TW);
  const int oy0 = (r / TW) * 2, ox0 = (r % TW) * 2;
  const float shift = has_bias ? LOAD_BIAS(bias, bias_offset + map) : 0.0f;
  const long plane = ((long)n * M + map) * OH * OW;
  for (int i = 0; i < 2; ++i) {
    const float y[2] = {a[i][0] + a[i][1] + a[i][2], a[i][1] - a[i][2] - a[i][3]};  // (A^T m) A
    const int oy = oy0 + i;
    for (int j = 0; j < 2; ++j) {
      const int ox = ox0 + j;
      if (oy >= OH || ox >= OW) continue;
      const long index = plane + (long)oy * OW + ox;
      STORE_OUT(out, out_offset + index,
                with_residual(y[j] + shift, RESIDUAL_AT(has_residual, residual, residual_offset + index), has_residual,
                              activation, alpha, beta));
    }
  }
}
