// Activations and unary functions on dense tensors of equal shape. The operation is a kernel
// argument rather than a build option: one program per storage pair serves them all (a uniform
// switch costs nothing measurable in a memory-bound kernel, and every option set is a compile).

__kernel void activation(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count,
                         int kind, float alpha, float beta) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  STORE_OUT(out, out_offset + index, activate(kind, LOAD_IN(in, in_offset + index), alpha, beta));
}

// The numbering of mlprt::UnaryOperation (NOT, ISNAN and ISINF run elsewhere: elementwise.cl).
inline float unary_op(int op, float x) {
  switch (op) {
    case 0: return exp(x);
    case 1: return log(x);
    case 2: return sqrt(x);
    case 3: return 1.0f / x;
    case 4: return fabs(x);
    case 5: return -x;
    case 8: return floor(x);
    case 9: return ceil(x);
    case 10: return rint(x);  // halves to even in the default rounding mode
    case 11: return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x == 0.0f ? 0.0f : x;  // +0 for -0, NaN stays
    case 14: return sin(x);
    case 15: return cos(x);
    case 16: return tan(x);
    case 17: return asin(x);
    case 18: return acos(x);
    case 19: return atan(x);
    case 20: return sinh(x);
    case 21: return cosh(x);
    case 22: return asinh(x);
    case 23: return acosh(x);
    case 24: return atanh(x);
    default: return erf(x);
  }
}

__kernel void unary(IN_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  STORE_OUT(out, out_offset + index, unary_op(op, LOAD_IN(in, in_offset + index)));
}
