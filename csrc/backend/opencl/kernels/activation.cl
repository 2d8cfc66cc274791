// Activations and unary functions on dense tensors of equal shape. The operation is a kernel
// argument rather than a build option: one program per storage pair serves them all (a uniform
// switch costs nothing measurable in a memory-bound kernel, and every option set is a compile).

__kernel void activation(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count,
                         int kind, float alpha, float beta) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  STORE_OUT(out, out_offset + index, activate(kind, LOAD_IN(in, in_offset + index), alpha, beta));
}

// The numbering of mlprt::UnaryOperation.
inline float unary_op(int op, float x) {
  switch (op) {
    case 0: return exp(x);
    case 1: return log(x);
    case 2: return sqrt(x);
    case 3: return 1.0f / x;
    case 4: return fabs(x);
    case 5: return -x;
    default: return erf(x);
  }
}

__kernel void unary(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  STORE_OUT(out, out_offset + index, unary_op(op, LOAD_IN(in, in_offset + index)));
}
