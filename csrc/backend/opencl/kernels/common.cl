// Prepended to every kernel family by kernelSource(): storage macros, index types and the
// activation functions shared by the activation kernels and the GEMM epilogue.
//
// Floating operands are stored as float, or as half when built with -D<OPERAND>_HALF. Half is
// only ever touched through vload_half / vstore_half (core OpenCL 1.2), never as half arithmetic,
// so devices without cl_khr_fp16 (NVIDIA) run it; all arithmetic is in float.


#ifdef A_HALF
#define A_PTR __global const half*
#define LOAD_A(p, i) vload_half((i), (p))
#else
#define A_PTR __global const float*
#define LOAD_A(p, i) ((p)[(i)])
#endif

#ifdef B_HALF
#define B_PTR __global const half*
#define LOAD_B(p, i) vload_half((i), (p))
#else
#define B_PTR __global const float*
#define LOAD_B(p, i) ((p)[(i)])
#endif

#ifdef IN_HALF
#define IN_PTR __global const half*
#define LOAD_IN(p, i) vload_half((i), (p))
#else
#define IN_PTR __global const float*
#define LOAD_IN(p, i) ((p)[(i)])
#endif

#ifdef SCALE_HALF
#define SCALE_PTR __global const half*
#define LOAD_SCALE(p, i) vload_half((i), (p))
#else
#define SCALE_PTR __global const float*
#define LOAD_SCALE(p, i) ((p)[(i)])
#endif

#ifdef BIAS_HALF
#define BIAS_PTR __global const half*
#define LOAD_BIAS(p, i) vload_half((i), (p))
#else
#define BIAS_PTR __global const float*
#define LOAD_BIAS(p, i) ((p)[(i)])
#endif

// A residual added to a result (convolution.cl, normalization.cl).
#ifdef RES_HALF
#define RES_PTR __global const half*
#define LOAD_RES(p, i) vload_half((i), (p))
#else
#define RES_PTR __global const float*
#define LOAD_RES(p, i) ((p)[(i)])
#endif

#ifdef OUT_HALF
#define OUT_PTR __global half*
#define LOAD_OUT(p, i) vload_half((i), (p))
#define STORE_OUT(p, i, v) vstore_half((v), (i), (p))
#else
#define OUT_PTR __global float*
#define LOAD_OUT(p, i) ((p)[(i)])
#define STORE_OUT(p, i, v) ((p)[(i)] = (v))
#endif

// Index arithmetic inside a tensor is 32-bit (64-bit division is slow on GPUs); the host adds
// -DINDEX64 only when an operand has 2^31 elements or more. Buffer offsets are always 64-bit.
#ifdef INDEX64
typedef long idx_t;
typedef long8 idx8_t;
#else
typedef int idx_t;
typedef int8 idx8_t;
#endif

// Component `axis` of an 8-vector argument (shapes and strides are passed by value this way,
// so a launch needs no device allocation).
inline idx_t component(idx8_t v, int axis) {
  switch (axis) {
    case 0: return v.s0;
    case 1: return v.s1;
    case 2: return v.s2;
    case 3: return v.s3;
    case 4: return v.s4;
    case 5: return v.s5;
    case 6: return v.s6;
    default: return v.s7;
  }
}

// The numbering of mlprt::ActivationType (core/operations.h).
#define ACT_RELU 0
#define ACT_SIGMOID 1
#define ACT_TANH 2
#define ACT_LEAKY_RELU 3
#define ACT_ELU 4
#define ACT_SELU 5
#define ACT_SOFTPLUS 6
#define ACT_CLIP 7
#define ACT_HARD_SIGMOID 8
#define ACT_GELU_ERF 9
#define ACT_GELU_TANH 10
#define ACT_HARD_SWISH 11
#define ACT_SILU 12

inline float activate(int kind, float x, float alpha, float beta) {
  switch (kind) {
    case ACT_RELU: return x < 0.0f ? 0.0f : x;  // written so NaN propagates
    case ACT_SIGMOID: return 1.0f / (1.0f + exp(-x));
    case ACT_TANH: return tanh(x);
    case ACT_LEAKY_RELU: return x < 0.0f ? alpha * x : x;
    case ACT_ELU: return x < 0.0f ? alpha * expm1(x) : x;
    case ACT_SELU: return beta * (x > 0.0f ? x : alpha * expm1(x));
    case ACT_SOFTPLUS: {
      // log(1 + e^t) = max(t, 0) + log1p(e^-|t|): no overflow for large t, exact for small.
      const float t = beta * x;
      return alpha * (fmax(t, 0.0f) + log1p(exp(-fabs(t))));
    }
    case ACT_CLIP: return fmin(fmax(x, alpha), beta);
    case ACT_HARD_SIGMOID: return fmax(0.0f, fmin(1.0f, alpha * x + beta));
    case ACT_GELU_ERF: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case ACT_GELU_TANH:
      return 0.5f * x * (1.0f + tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case ACT_HARD_SWISH: return x * fmax(0.0f, fmin(1.0f, alpha * x + beta));
    case ACT_SILU: return x / (1.0f + exp(-x));
    default: return x;
  }
}

// An epilogue's activation: `activation` (an ACT_* code, or -1 for none), or with
// -DFIXED_ACTIVATION=<code or -1> that one kind built in and the argument ignored: with every
// activation behind a run-time switch, the erf of GELU made the 128 x 128 async GEMM tiles twice as
// slow on an H200 (0.37 vs 0.185 ms at 4096 x 3072 x 768).
inline float activated(float x, int activation, float alpha, float beta) {
#ifdef FIXED_ACTIVATION
  (void)activation;
  return FIXED_ACTIVATION < 0 ? x : activate(FIXED_ACTIVATION, x, alpha, beta);
#else
  return activation < 0 ? x : activate(activation, x, alpha, beta);
#endif
}

// A convolution epilogue's residual `r` and activation, `has_residual` saying where r goes: 0
// nowhere, 1 before the activation (ResNet's relu(conv + x)), 2 after it (YOLO's x + silu(conv)).
#define RESIDUAL_BEFORE 1
#define RESIDUAL_AFTER 2
inline float with_residual(float v, float r, int has_residual, int activation, float alpha, float beta) {
  if (has_residual == RESIDUAL_BEFORE) v += r;
  v = activated(v, activation, alpha, beta);
  return has_residual == RESIDUAL_AFTER ? v + r : v;
}
// The residual of element i, or 0 where there is none (the pointer is then not read).
#define RESIDUAL_AT(has_residual, p, i) ((has_residual) ? LOAD_RES((p), (i)) : 0.0f)

// An 8-vector argument (axes innermost first) as an array `name`, for loops over axes.
#define UNPACK8(type, name, v) const type name[8] = {(v).s0, (v).s1, (v).s2, (v).s3, (v).s4, (v).s5, (v).s6, (v).s7}

// ---- Index decomposition -----------------------------------------------------------------
// Shapes and strides arrive as 8-vectors listing axes innermost first (s0 is the last axis), with
// `rank` of them in use. The host first merges axes that are contiguous for every operand, so
// most launches have rank 1 or 2.

#define UNRAVEL_BEGIN(index) idx_t rest = (index); idx_t coordinate;
#define UNRAVEL_AXIS(k, BODY)                                   \
  if (rank > k) {                                               \
    coordinate = rest % dims.s##k;                              \
    rest /= dims.s##k;                                          \
    BODY                                                        \
  }
#define UNRAVEL_ALL(BODY_FOR)                                   \
  UNRAVEL_AXIS(0, BODY_FOR(0)) UNRAVEL_AXIS(1, BODY_FOR(1))     \
  UNRAVEL_AXIS(2, BODY_FOR(2)) UNRAVEL_AXIS(3, BODY_FOR(3))     \
  UNRAVEL_AXIS(4, BODY_FOR(4)) UNRAVEL_AXIS(5, BODY_FOR(5))     \
  UNRAVEL_AXIS(6, BODY_FOR(6)) UNRAVEL_AXIS(7, BODY_FOR(7))

// The offset of element `index` (row-major over dims) in an operand with `strides`.
inline idx_t unravel1(idx_t index, int rank, idx8_t dims, idx8_t strides) {
  idx_t offset = 0;
  UNRAVEL_BEGIN(index)
#define BODY1(k) offset += coordinate * strides.s##k;
  UNRAVEL_ALL(BODY1)
#undef BODY1
  return offset;
}

// The same for two operands at once (one division per axis instead of two).
inline void unravel2(idx_t index, int rank, idx8_t dims, idx8_t strides0, idx8_t strides1,
                     idx_t* offset0, idx_t* offset1) {
  idx_t o0 = 0, o1 = 0;
  UNRAVEL_BEGIN(index)
#define BODY2(k) o0 += coordinate * strides0.s##k; o1 += coordinate * strides1.s##k;
  UNRAVEL_ALL(BODY2)
#undef BODY2
  *offset0 = o0;
  *offset1 = o1;
}

inline void unravel3(idx_t index, int rank, idx8_t dims, idx8_t strides0, idx8_t strides1,
                     idx8_t strides2, idx_t* offset0, idx_t* offset1, idx_t* offset2) {
  idx_t o0 = 0, o1 = 0, o2 = 0;
  UNRAVEL_BEGIN(index)
#define BODY3(k) \
  o0 += coordinate * strides0.s##k; o1 += coordinate * strides1.s##k; o2 += coordinate * strides2.s##k;
  UNRAVEL_ALL(BODY3)
#undef BODY3
  *offset0 = o0;
  *offset1 = o1;
  *offset2 = o2;
}

// ---- Reductions ----------------------------------------------------------------------------
// The numbering of mlprt::ReduceOperation; softmax and normalization use SUM and MAX.
#define RED_SUM 0
#define RED_PROD 1
#define RED_MAX 2
#define RED_MIN 3
#define RED_AVG 4

inline float reduce_identity(int op) {
  switch (op) {
    case RED_PROD: return 1.0f;
    case RED_MAX: return -INFINITY;
    case RED_MIN: return INFINITY;
    default: return 0.0f;
  }
}

inline float reduce_combine(int op, float x, float y) {
  switch (op) {
    case RED_PROD: return x * y;
    case RED_MAX: return fmax(x, y);
    case RED_MIN: return fmin(x, y);
    default: return x + y;
  }
}

// Work-group size of the reducing kernels (a power of two); tunable per device with -DGROUP.
#ifndef GROUP
#define GROUP 128
#endif

// Combines one value per work item over a 1-D work-group of GROUP items; every item gets the
// result. `scratch` holds GROUP floats in local memory and may be reused after the call.
inline float group_reduce(int op, float value, __local float* scratch) {
  const int lid = get_local_id(0);
  scratch[lid] = value;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int half_size = GROUP / 2; half_size > 0; half_size >>= 1) {
    if (lid < half_size) scratch[lid] = reduce_combine(op, scratch[lid], scratch[lid + half_size]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  const float result = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);  // everyone has read scratch[0] before it is overwritten
  return result;
}
