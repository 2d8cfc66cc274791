// Binary element-wise operations with NumPy broadcasting: out[i] = a[i'] op b[i''], where the
// strides of a and b are 0 along the axes they are broadcast on; the select kernel (ONNX Where)
// and the integer unary kernel.
//
// Storage: FLOAT by default, HALF with -D<OPERAND>_HALF (common.cl), and integers or BOOL with
// -D<OPERAND>_CTYPE=<C type> (BOOL is uchar 0/1 and adds -D<OPERAND>_BOOL). Floating operands are
// computed in float; integer and BOOL operands (-DINTEGER_MATH) in 64-bit integers, stored back
// with C's conversions (narrow types wrap, as ONNX Runtime's do). Comparisons store 0 or 1.

#ifdef INTEGER_MATH
typedef long value_t;
#else
typedef float value_t;
#endif

#ifdef A_CTYPE
#undef A_PTR
#undef LOAD_A
#define A_PTR __global const A_CTYPE*
#define LOAD_A(p, i) ((value_t)(p)[(i)])
#endif

#ifdef B_CTYPE
#undef B_PTR
#undef LOAD_B
#define B_PTR __global const B_CTYPE*
#define LOAD_B(p, i) ((value_t)(p)[(i)])
#endif

#ifdef OUT_CTYPE
#undef OUT_PTR
#undef LOAD_OUT
#undef STORE_OUT
#define OUT_PTR __global OUT_CTYPE*
#ifdef OUT_BOOL
#define STORE_OUT(p, i, v) ((p)[(i)] = (uchar)((v) != 0))
#else
#define STORE_OUT(p, i, v) ((p)[(i)] = (OUT_CTYPE)(v))
#endif
#endif

// The numbering of mlprt::ElementWiseOperation.
#define EW_SUM 0
#define EW_PROD 1
#define EW_MAX 2
#define EW_MIN 3
#define EW_SUB 4
#define EW_DIV 5
#define EW_POW 6
#define EW_FLOOR_DIV 7
#define EW_AND 8
#define EW_OR 9
#define EW_XOR 10
#define EW_EQUAL 11
#define EW_GREATER 12
#define EW_LESS 13
#define EW_MOD 14
#define EW_FMOD 15
#define EW_BITWISE_AND 16
#define EW_BITWISE_OR 17
#define EW_BITWISE_XOR 18
#define EW_SHIFT_LEFT 19
#define EW_SHIFT_RIGHT 20

#ifdef INTEGER_MATH
// Division by zero gives 0 instead of trapping (a CPU device would kill the process), and
// LONG_MIN / -1 wraps instead of trapping. Otherwise C's truncating division, as ONNX says.
inline long int_div(long x, long y) {
  if (y == 0) return 0;
  if (y == -1) return (long)(0UL - (ulong)x);
  return x / y;
}

inline long int_floor_div(long x, long y) {
  if (y == 0 || y == -1) return int_div(x, y);
  const long q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

// x^y by squaring, wrapping on overflow; a negative exponent truncates 1/x^|y| toward zero.
inline long int_pow(long x, long y) {
  if (y < 0) return x == 1 ? 1 : (x == -1 ? ((y & 1) ? -1 : 1) : 0);
  ulong result = 1, base = (ulong)x;
  for (ulong e = (ulong)y; e != 0; e >>= 1) {
    if (e & 1) result *= base;
    base *= base;
  }
  return (long)result;
}

// Shifts by the operand type's width: a count outside [0, width) shifts every bit out (0, or -1
// for a negative value shifted right, as ONNX's reference gives); x holds the value sign- or
// zero-extended as its type is, so >> is arithmetic exactly on signed types.
#define SHIFT_WIDTH ((long)sizeof(A_CTYPE) * 8)
inline long shift_left(long x, long y) { return (y < 0 || y >= SHIFT_WIDTH) ? 0 : (long)((ulong)x << y); }
inline long shift_right(long x, long y) { return (y < 0 || y >= SHIFT_WIDTH) ? (x < 0 ? -1 : 0) : x >> y; }

inline long binary_op(int op, long x, long y) {
  switch (op) {
    case EW_SUM: return (long)((ulong)x + (ulong)y);
    case EW_PROD: return (long)((ulong)x * (ulong)y);
    case EW_MAX: return max(x, y);
    case EW_MIN: return min(x, y);
    case EW_SUB: return (long)((ulong)x - (ulong)y);
    case EW_DIV: return int_div(x, y);
    case EW_POW: return int_pow(x, y);
    case EW_FLOOR_DIV: return int_floor_div(x, y);
    case EW_AND: return (x != 0) && (y != 0);
    case EW_OR: return (x != 0) || (y != 0);
    case EW_XOR: return (x != 0) != (y != 0);
    case EW_EQUAL: return x == y;
    case EW_GREATER: return x > y;
    case EW_LESS: return x < y;
    case EW_MOD: return (long)((ulong)x - (ulong)int_floor_div(x, y) * (ulong)y);
    case EW_BITWISE_AND: return x & y;
    case EW_BITWISE_OR: return x | y;
    case EW_BITWISE_XOR: return x ^ y;
    case EW_SHIFT_LEFT: return shift_left(x, y);
    case EW_SHIFT_RIGHT: return shift_right(x, y);
    default: return (long)((ulong)x - (ulong)int_div(x, y) * (ulong)y);  // EW_FMOD
  }
}
#else
inline float binary_op(int op, float x, float y) {
  switch (op) {
    case EW_SUM: return x + y;
    case EW_PROD: return x * y;
    case EW_MAX: return fmax(x, y);
    case EW_MIN: return fmin(x, y);
    case EW_SUB: return x - y;
    case EW_DIV: return x / y;
    case EW_POW: return pow(x, y);
    case EW_FLOOR_DIV: return floor(x / y);
    case EW_EQUAL: return x == y ? 1.0f : 0.0f;
    case EW_GREATER: return x > y ? 1.0f : 0.0f;
    case EW_LESS: return x < y ? 1.0f : 0.0f;
    case EW_FMOD: return fmod(x, y);
    case EW_MOD: {  // Python's %: the remainder takes the divisor's sign
      const float r = fmod(x, y);
      return (r != 0.0f && ((r < 0.0f) != (y < 0.0f))) ? r + y : r;
    }
    default: return NAN;  // logic on floats: refused by the launcher
  }
}
#endif

#ifndef SELECT_CTYPE

__kernel void elementwise(A_PTR a, long a_offset, B_PTR b, long b_offset, OUT_PTR out,
                          long out_offset, idx_t count, int rank, idx8_t dims, idx8_t a_strides,
                          idx8_t b_strides, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  idx_t ai, bi;
  unravel2(index, rank, dims, a_strides, b_strides, &ai, &bi);
  const value_t x = LOAD_A(a, a_offset + ai);
  const value_t y = LOAD_B(b, b_offset + bi);
  STORE_OUT(out, out_offset + index, binary_op(op, x, y));
}

#ifdef INTEGER_MATH
// The numbering of mlprt::UnaryOperation: ABS 4, NEG 5, NOT 7, SIGN 11 (the others take floats).
__kernel void unary_integer(A_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  const long x = LOAD_A(in, in_offset + index);
  long y;
  switch (op) {
    case 4: y = x < 0 ? (long)(0UL - (ulong)x) : x; break;
    case 5: y = (long)(0UL - (ulong)x); break;
    case 11: y = (x > 0) - (x < 0); break;
    default: y = x == 0; break;
  }
  STORE_OUT(out, out_offset + index, y);
}
#elif defined(OUT_BOOL)
// ISNAN (12) and ISINF (13, either infinity) of floating values, stored as BOOL (only programs
// with a BOOL output have it: vstore_half takes no integer).
__kernel void unary_test(A_PTR in, long in_offset, OUT_PTR out, long out_offset, idx_t count, int op) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  const float x = LOAD_A(in, in_offset + index);
  STORE_OUT(out, out_offset + index, op == 12 ? isnan(x) != 0 : isinf(x) != 0);
}
#endif

#else  // SELECT_CTYPE: out = condition ? a : b, every element moved as its bits

__kernel void select3(__global const uchar* condition, long condition_offset,
                      __global const SELECT_CTYPE* a, long a_offset, __global const SELECT_CTYPE* b,
                      long b_offset, __global SELECT_CTYPE* out, long out_offset, idx_t count,
                      int rank, idx8_t dims, idx8_t condition_strides, idx8_t a_strides,
                      idx8_t b_strides) {
  const idx_t index = get_global_id(0);
  if (index >= count) return;
  idx_t ci, ai, bi;
  unravel3(index, rank, dims, condition_strides, a_strides, b_strides, &ci, &ai, &bi);
  out[out_offset + index] = condition[condition_offset + ci] ? a[a_offset + ai] : b[b_offset + bi];
}

#endif
