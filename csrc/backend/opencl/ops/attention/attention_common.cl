// What both attention families (attention.cl on CUDA cores, attention_mma.cl on tensor cores) read
// masks with, prepended to each (kernels.cpp's preludes). The mask's storage is an argument rather
// than a build option (one program serves attention with and without a mask, of any type):
// mask_kind is one of these, as attention.cpp passes it. A BOOL, INT32 or INT64 mask adds
// mask_true where it is nonzero and mask_false where it is 0; FLOAT and HALF masks are added.
#define MASK_NONE 0
#define MASK_FLOAT 1
#define MASK_HALF 2
#define MASK_BOOL 3
#define MASK_INT32 4
#define MASK_INT64 5

inline float load_mask(__global const half* mask, int mask_kind, float mask_true, float mask_false, long i) {
  if (mask_kind == MASK_BOOL) return ((__global const uchar*)mask)[i] ? mask_true : mask_false;
  if (mask_kind == MASK_INT32) return ((__global const int*)mask)[i] != 0 ? mask_true : mask_false;
  if (mask_kind == MASK_INT64) return ((__global const long*)mask)[i] != 0 ? mask_true : mask_false;
  return mask_kind == MASK_HALF ? vload_half(i, mask) : ((__global const float*)mask)[i];
}
