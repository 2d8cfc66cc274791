// Binary element-wise operations with NumPy broadcasting: out[i] = a[i'] op b[i''], where the
// strides of a and b are 0 along the axes they are broadcast on.

// The numbering of mlprt::ElementWiseOperation.
inline float binary_op(int op, float x, float y) {
  switch (op) {
    case 0: return x + y;
    case 1: return x * y;
    case 2: return fmax(x, y);
    case 3: return fmin(x, y);
    case 4: return x - y;
    case 5: return x / y;
    default: return pow(x, y);
  }
}

__kernel void elementwise(A_PTR a, long a_offset, B_PTR b, long b_offset, OUT_PTR out,
                          long out_offset, idx_t count, int rank, idx8_t dims, idx8_t a_strides,
                          idx8_t b_strides, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  idx_t ai, bi;
  unravel2(index, rank, dims, a_strides, b_strides, &ai, &bi);
  const float x = LOAD_A(a, a_offset + ai);
  const float y = LOAD_B(b, b_offset + bi);
  STORE_OUT(out, out_offset + index, binary_op(op, x, y));
}
