// The tensor-core instructions the mma kernel families share, prepended to their text by
// kernels.cpp (as common.cl is to every family): mma.sync for f16 and TF32 through inline PTX,
// and with -DMMA_EMULATE the same products in software, by the PTX fragment layouts, so that the
// kernels' tiling, loads and epilogues can be tested on devices without tensor cores.

// d += a x b for one m16 x n8 tile; d is float[4], a uint[4], b uint[2] (PTX ISA fragment
// layouts: groupID = lane / 4, threadID_in_group = lane % 4).
#define MMA_F16(d, a, b)                                                                       \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "                          \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))

#define MMA_TF32(d, a, b)                                                                      \
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "                         \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"                   \
               : "=f"((d)[0]), "=f"((d)[1]), "=f"((d)[2]), "=f"((d)[3])                      \
               : "r"((a)[0]), "r"((a)[1]), "r"((a)[2]), "r"((a)[3]), "r"((b)[0]), "r"((b)[1]), \
                 "f"((d)[0]), "f"((d)[1]), "f"((d)[2]), "f"((d)[3]))

// The TF32 bit pattern nearest to x (ties away from zero), low 13 bits cleared.
#ifdef MMA_EMULATE
inline uint to_tf32(float x) { return (as_uint(x) + 0x1000u) & 0xffffe000u; }
#else
inline uint to_tf32(float x) {
  uint result;
  asm volatile("cvt.rna.tf32.f32 %0, %1;" : "=r"(result) : "f"(x));
  return result;
}
#endif

#ifdef MMA_EMULATE
// Tests only: the warp's mma computed in software through local memory, following the same
// PTX fragment layouts, so that the kernels' tiling, loads and epilogue can be checked on
// devices without tensor cores. Called by every item of the group at the same points.
inline float fragment_value(__local const uint* words, int lane, int reg, int index) {
#ifdef TF32
  return as_float(words[lane * 4 + reg]);
#else
  return vload_half((lane * 4 + reg) * 2 + index, (__local const half*)words);
#endif
}

#ifdef TF32
#define MMA_K_OF_FAMILY 8
#else
#define MMA_K_OF_FAMILY 16
#endif

inline void mma_emulate(float* d, const uint* a, const uint* b, __local uint* a_words,
                        __local uint* b_words, int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int r = 0; r < 4; ++r) a_words[lane * 4 + r] = a[r];
  for (int r = 0; r < 2; ++r) b_words[lane * 4 + r] = b[r];
  barrier(CLK_LOCAL_MEM_FENCE);
  const int group = lane >> 2, member = lane & 3;
  for (int r = 0; r < 4; ++r) {
    const int row = group + (r >> 1) * 8, col = member * 2 + (r & 1);
    float sum = d[r];
    for (int k = 0; k < MMA_K_OF_FAMILY; ++k) {
#ifdef TF32
      const float x = fragment_value(a_words, (row % 8) * 4 + k % 4, row / 8 + 2 * (k / 4), 0);
      const float y = fragment_value(b_words, col * 4 + k % 4, k / 4, 0);
#else
      const float x = fragment_value(a_words, (row % 8) * 4 + (k % 8) / 2, row / 8 + 2 * (k / 8), k % 2);
      const float y = fragment_value(b_words, col * 4 + (k % 8) / 2, k / 8, k % 2);
#endif
      sum = fma(x, y, sum);
    }
    d[r] = sum;
  }
}

#endif  // MMA_EMULATE

// ---- Asynchronous copies (sm_80), for the kernels that fill local memory without registers ----

// The .shared window address of a local pointer, as the PTX below takes it. NVIDIA's OpenCL
// compiles local pointers as addresses in that window, so the pointer's integer value is the
// address; nothing documents this, so the async probe checks it before any PTX uses it.
inline uint shared_address(__local const void* p) { return (uint)(size_t)p; }

// cp.async: 16 bytes global -> local, not through registers. `bytes` is 16, or 0 to write 16
// zero bytes (src must still be a valid, aligned address). The copy completes asynchronously:
// this item sees it after a wait_group that retires its commit group, other items after a
// barrier that follows that wait. "memory": the compiler must not move local-memory accesses
// across these statements (the data arrives behind its back).
#define CP_ASYNC_16(local_address, src, bytes)                                                 \
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(local_address),          \
               "l"((ulong)(size_t)(src)), "r"(bytes)                                          \
               : "memory")
#define CP_ASYNC_COMMIT() asm volatile("cp.async.commit_group;" ::: "memory")
// Until at most n of this item's committed groups are still in flight. The count is part of the
// instruction; spelled out per value rather than through an "n" operand constraint, which
// nothing says NVIDIA's OpenCL compiler takes. n is a constant where used, so the switch folds
// away; beyond 7 it waits for more than asked, which is safe. (Not in emulated builds, whose
// compilers reject asm even in functions never called.)
#ifndef MMA_EMULATE
inline void cp_async_wait(int n) {
  switch (n) {
    case 0: asm volatile("cp.async.wait_group 0;" ::: "memory"); break;
    case 1: asm volatile("cp.async.wait_group 1;" ::: "memory"); break;
    case 2: asm volatile("cp.async.wait_group 2;" ::: "memory"); break;
    case 3: asm volatile("cp.async.wait_group 3;" ::: "memory"); break;
    case 4: asm volatile("cp.async.wait_group 4;" ::: "memory"); break;
    case 5: asm volatile("cp.async.wait_group 5;" ::: "memory"); break;
    case 6: asm volatile("cp.async.wait_group 6;" ::: "memory"); break;
    default: asm volatile("cp.async.wait_group 7;" ::: "memory"); break;
  }
}
#endif
