// Hopper's warpgroup products (wgmma), prepended by kernels.cpp (after mma.cl) to the families
// whose kernels run them: gemm_wgmma (kernels/gemm_mma.cl) and convolution_wgmma
// (ops/convolution/convolution_wgmma.cl). Everything here is inside -DWGMMA, so the other
// kernels of those families never see it. Build options: -DBN (64, 128 or 256: the
// instruction's N), -DGROUPS (warpgroups of 128 items, stacked along M: BM = 64 GROUPS),
// -DSTAGES (tiles of K = 64 in the ring, 2 to 4), -DB_VECT (b's tile K-major, from an N x K
// operand) or not (MN-major, from K x N), -DMMA_EMULATE.
//
// wgmma reads both operands from local memory through descriptors (start address, leading and
// stride byte offsets, swizzle mode). The tiles use the 128-byte swizzle, which ran these tiles
// 1.6-1.8x faster than the unswizzled layout on an H100 (bench/wgmma_gemm.cpp, bench/RESULTS.md
// issue 16 run 14: 360-378 against 214 TFLOP/s at 4096^3): every 8 x 128-byte block ("atom",
// 1024-byte aligned) holds 8 lines of 8 16-byte chunks, chunk c of line l stored at position
// c ^ l. With K = 64 per tile:
//   K-major tiles (a, and b N x K): line = a row's 64 halves of K; atoms of 8 rows 1024 bytes apart
//     (the stride offset; the leading one is unused); a K step of 16 moves 32 bytes along the line.
//   b K x N (MN-major, wgmma's transposed b): line = 64 halves of N of one K row; atoms of 8 K rows
//     1024 bytes apart (the stride offset), atoms of the next 64 columns 8 KiB apart (the leading
//     offset); a K step of 16 moves two atoms, 2048 bytes.
// (Local memory: STAGES (BM + BN) 128 bytes, beyond the 48 KiB NVIDIA's driver reports; it
// grants them to static arrays, and the probe runs the largest tile, so a driver that does not
// keeps the tactics from being offered.)
//
// The instructions cannot be written in OpenCL C for NVIDIA's sm_90 target: each wgmma batch is a
// placeholder comment in inline asm (backend/opencl/ptx_patch.h) that Program::build expands in
// the PTX. With -DMMA_EMULATE the same kernels run anywhere: copies are plain loads and stores,
// and the warpgroup product is computed in software from the tiles, read by the layouts above
// (the addresses the descriptors describe, swizzled) and the PTX ISA's accumulator layout, which
// is what the tests compare against a reference.
//
// A kernel declares the ring (WGMMA_RING), defines LOAD_A_TILE(t, stage) and LOAD_B_TILE(t,
// stage) (tile t's copies into ring slot `stage`, through TILE_COPY at swizzled_slot positions),
// runs WGMMA_K_LOOP and stores its accumulators with WGMMA_FOR_EACH_PAIR.
#ifdef WGMMA

#if BN != 64 && BN != 128 && BN != 256
#error "WGMMA: BN is 64, 128 or 256"
#endif
#define BK 64
#define BM (64 * GROUPS)
// -DWS (warp-specialised): one more warpgroup, the producer, fills the ring while the GROUPS
// consumer warpgroups run the products; full and empty barriers per ring slot (mbarriers) hand
// the slots between them, so copies run as far ahead as the ring allows instead of one tile in
// lockstep with a work-group barrier per tile. COPY_ITEMS items copy; a kernel's copy index is
// tid - COPY_BASE.
#ifdef WS
#define THREADS (128 * (GROUPS + 1))
#define COPY_BASE (128 * GROUPS)
#define COPY_ITEMS 128
#else
#define THREADS (128 * GROUPS)
#define COPY_BASE 0
#define COPY_ITEMS THREADS
#endif
#define A_TILE (BM * 8)  // 16-byte chunks per tile: 8 per line of 128 bytes
#define B_TILE (BN * 8)
#define B_BASE (STAGES * A_TILE)
#define ACCUMULATORS (BN / 2)
#define ATOM 1024u  // bytes
#define K_MAJOR_LEADING 16u  // unused by the 128-byte swizzle; 1 in the descriptor's units
#define K_MAJOR_STRIDE ATOM
#define MN_MAJOR_LEADING (ATOM * (BK / 8))  // b K x N: the next 64 columns
#define MN_MAJOR_STRIDE ATOM

#ifdef MMA_EMULATE
#define UNROLL
#else
#define UNROLL _Pragma("unroll")
#endif

// The placeholders' text (ptx_patch.h): shape, types, K steps of 16 per batch, how far each step
// moves a's and b's descriptors (16-byte units), trans_a, trans_b, the accumulators, the two
// descriptors and the accumulate flag, as operand numbers the compiler replaces by registers.
#define WG_STR_(x) #x
#define WG_STR(x) WG_STR_(x)
#define WG_OPS10(t) " %" #t "0 %" #t "1 %" #t "2 %" #t "3 %" #t "4 %" #t "5 %" #t "6 %" #t "7 %" #t "8 %" #t "9"
#define WG_OUT10(t)                                                                                           \
  "+f"(acc[t##0]), "+f"(acc[t##1]), "+f"(acc[t##2]), "+f"(acc[t##3]), "+f"(acc[t##4]), "+f"(acc[t##5]),      \
      "+f"(acc[t##6]), "+f"(acc[t##7]), "+f"(acc[t##8]), "+f"(acc[t##9])
#define WG_OPS_FIRST " %0 %1 %2 %3 %4 %5 %6 %7 %8 %9"
#define WG_OUT_FIRST                                                                                         \
  "+f"(acc[0]), "+f"(acc[1]), "+f"(acc[2]), "+f"(acc[3]), "+f"(acc[4]), "+f"(acc[5]), "+f"(acc[6]),          \
      "+f"(acc[7]), "+f"(acc[8]), "+f"(acc[9])
#define WG_OUT30 WG_OUT_FIRST, WG_OUT10(1), WG_OUT10(2)
#define WG_OPS30 WG_OPS_FIRST WG_OPS10(1) WG_OPS10(2)
#define WG_OUT60 WG_OUT30, WG_OUT10(3), WG_OUT10(4), WG_OUT10(5)
#define WG_OPS60 WG_OPS30 WG_OPS10(3) WG_OPS10(4) WG_OPS10(5)
#if BN == 256
#define WG_ACC_OPERANDS WG_OPS60 WG_OPS10(6) WG_OPS10(7) WG_OPS10(8) WG_OPS10(9) WG_OPS10(10) WG_OPS10(11) \
  " %120 %121 %122 %123 %124 %125 %126 %127"
#define WG_MORE_OPERANDS " %128 %129 %130"
#define WG_OUTPUTS WG_OUT60, WG_OUT10(6), WG_OUT10(7), WG_OUT10(8), WG_OUT10(9), WG_OUT10(10), WG_OUT10(11), \
  "+f"(acc[120]), "+f"(acc[121]), "+f"(acc[122]), "+f"(acc[123]), "+f"(acc[124]), "+f"(acc[125]),            \
  "+f"(acc[126]), "+f"(acc[127])
#elif BN == 128
#define WG_ACC_OPERANDS WG_OPS60 " %60 %61 %62 %63"
#define WG_MORE_OPERANDS " %64 %65 %66"
#define WG_OUTPUTS WG_OUT60, "+f"(acc[60]), "+f"(acc[61]), "+f"(acc[62]), "+f"(acc[63])
#else
#define WG_ACC_OPERANDS WG_OPS30 " %30 %31"
#define WG_MORE_OPERANDS " %32 %33 %34"
#define WG_OUTPUTS WG_OUT30, "+f"(acc[30]), "+f"(acc[31])
#endif
#ifdef B_VECT
#define WG_B_LAYOUT " 2 0 0"  // b's step (32 bytes), trans_a, trans_b
#define B_LEADING K_MAJOR_LEADING
#define B_STRIDE K_MAJOR_STRIDE
#else
#define WG_B_LAYOUT " 128 0 1"  // b's step (two atoms), trans_a, trans_b
#define B_LEADING MN_MAJOR_LEADING
#define B_STRIDE MN_MAJOR_STRIDE
#endif
#define WG_BATCH \
  "// MLPRT_WGMMA m64n" WG_STR(BN) "k16 f32.f16.f16 4 2" WG_B_LAYOUT WG_ACC_OPERANDS WG_MORE_OPERANDS
#define WG_WAIT0 "// MLPRT_WGWAIT 0" WG_ACC_OPERANDS
#define WG_WAIT1 "// MLPRT_WGWAIT 1" WG_ACC_OPERANDS

// A descriptor with the 128-byte swizzle (layout type 1, bits 62-63).
inline ulong wgmma_descriptor(uint address, uint leading, uint stride) {
  return (ulong)((address & 0x3FFFFu) >> 4) | ((ulong)(leading >> 4) << 16) | ((ulong)(stride >> 4) << 32) |
         ((ulong)1 << 62);
}

// The 16-byte slot of chunk c of line l of the atom at slot `atom` (a multiple of 64).
inline int swizzled_slot(int atom, int line, int c) { return atom + line * 8 + (c ^ line); }
// Where chunk c of row r of a K-major tile goes (rows of 64 halves of K, 8 rows per atom).
inline int k_major_slot(int r, int c) { return swizzled_slot(r / 8 * 64, r % 8, c); }

#ifdef MMA_EMULATE
// Element (mn, k) of a tile whose descriptor starts at `tile` (1024-byte aligned), by the layouts
// above: its address as the descriptor's offsets describe it, then the 128-byte swizzle (address
// bits 4-6 exchanged by XOR with bits 7-9).
inline float wgmma_element(__local const uchar* tile, int mn, int k, bool mn_major) {
  const uint address = mn_major ? (uint)(mn / 64) * MN_MAJOR_LEADING + (uint)(k / 8) * MN_MAJOR_STRIDE +
                                      (uint)(k % 8) * 128u + (uint)(mn % 64) * 2u
                                : (uint)(mn / 8) * K_MAJOR_STRIDE + (uint)(mn % 8) * 128u + (uint)k * 2u;
  return vload_half(0, (__local const half*)(tile + (address ^ (((address >> 7) & 7u) << 4))));
}

// One warpgroup's wgmma batch in software: BK / 16 steps of m64nBNk16 into this item's
// accumulators, by the PTX ISA's layout of D (item = 32 warp + lane: accumulator 4 j + 2 h + e
// is row 16 warp + lane / 4 + 8 h, column 8 j + 2 (lane % 4) + e).
inline void wgmma_emulate(float* acc, __local const uchar* a_tile, __local const uchar* b_tile, int item) {
  const int warp = item / 32, lane = item % 32;
  for (int i = 0; i < ACCUMULATORS; ++i) {
    const int row = 16 * warp + lane / 4 + 8 * ((i / 2) % 2), col = 8 * (i / 4) + 2 * (lane % 4) + i % 2;
    float sum = acc[i];
    for (int k = 0; k < BK; ++k) {
#ifdef B_VECT
      const float b_value = wgmma_element(b_tile, col, k, false);
#else
      const float b_value = wgmma_element(b_tile, col, k, true);
#endif
      sum += wgmma_element(a_tile, row, k, false) * b_value;
    }
    acc[i] = sum;
  }
}
#define TILE_COPY(slot, src, inside) tiles[slot] = (inside) ? *(__global const uint4*)(src) : (uint4)(0u)
#define TILE_COMMIT() ((void)0)
#define TILE_WAIT_PENDING() ((void)0)
#define ASYNC_PROXY_FENCE() ((void)0)
// This warpgroup's product of ring slot `slot` (its 64 rows of a: 8 atoms further per group).
#define WGMMA_ISSUE(slot)                                                                          \
  wgmma_emulate(acc, (__local const uchar*)(tiles + (slot) * A_TILE + group * 64 * 8),             \
                (__local const uchar*)(tiles + B_BASE + (slot) * B_TILE), item)
#define WGMMA_DRAIN() ((void)0)
#define WGMMA_RING_ADDRESS()
#else
#define TILE_COPY(slot, src, inside) CP_ASYNC_16(smem + (uint)(slot) * 16u, (src), (inside) ? 16u : 0u)
#define TILE_COMMIT() CP_ASYNC_COMMIT()
#define TILE_WAIT_PENDING() cp_async_wait(STAGES - 2)
#define ASYNC_PROXY_FENCE() asm volatile("fence.proxy.async.shared::cta;" ::: "memory")
// Issues the batch, then waits until only it is in flight (the previous tile's is done).
#define WGMMA_ISSUE(slot)                                                                                  \
  do {                                                                                                     \
    const ulong a_descriptor_ =                                                                            \
        wgmma_descriptor(smem + (uint)((slot) * A_TILE + group * 64 * 8) * 16u, K_MAJOR_LEADING, K_MAJOR_STRIDE); \
    const ulong b_descriptor_ = wgmma_descriptor(smem + (uint)(B_BASE + (slot) * B_TILE) * 16u, B_LEADING, B_STRIDE); \
    const int accumulate_ = 1;                                                                             \
    asm volatile(WG_BATCH : WG_OUTPUTS : "l"(a_descriptor_), "l"(b_descriptor_), "r"(accumulate_) : "memory"); \
    asm volatile(WG_WAIT1 : WG_OUTPUTS : : "memory");                                                      \
  } while (0)
// After the last tile: every batch done, and the empty commit groups retired before items exit.
#define WGMMA_DRAIN()                                    \
  do {                                                   \
    asm volatile(WG_WAIT0 : WG_OUTPUTS : : "memory");    \
    cp_async_wait(0);                                    \
  } while (0)
#define WGMMA_RING_ADDRESS() const uint smem = shared_address(tiles);

#ifdef WS
// mbarriers (sm_80; try_wait sm_90): 64-bit words in local memory that complete a phase when
// their count of arrivals is in; waiters name the phase by its parity.
inline void mbarrier_init(uint address, uint count) {
  asm volatile("mbarrier.init.shared.b64 [%0], %1;" ::"r"(address), "r"(count) : "memory");
}
inline void mbarrier_arrive(uint address) {
  asm volatile("{ .reg .b64 state; mbarrier.arrive.shared.b64 state, [%0]; }" ::"r"(address) : "memory");
}
// Until the phase of parity `parity` has completed (a fresh barrier is in phase 0, so waiting for
// parity 1 returns at once).
inline void mbarrier_wait(uint address, uint parity) {
  uint done = 0u;
  do {
    asm volatile("{ .reg .pred p; mbarrier.try_wait.parity.shared.b64 p, [%1], %2; selp.u32 %0, 1, 0, p; }"
                 : "=r"(done)
                 : "r"(address), "r"(parity)
                 : "memory");
  } while (done == 0u);
}
// One arrival on the barrier once every cp.async this item issued so far has landed (.noinc: the
// arrival is one of the barrier's counted ones).
#define CP_ASYNC_ARRIVE(address) \
  asm volatile("cp.async.mbarrier.arrive.noinc.shared.b64 [%0];" ::"r"(address) : "memory")
#undef WGMMA_RING_ADDRESS
#define WGMMA_RING_ADDRESS()                                                \
  __local ulong ring_barriers[2 * STAGES] __attribute__((aligned(8)));     \
  const uint smem = shared_address(tiles), full_barriers = shared_address(ring_barriers), \
             empty_barriers = full_barriers + 8u * STAGES;
#endif
#endif

// The ring of STAGES a and b tiles in local memory, `tiles` (and its .shared address `smem`).
#define WGMMA_RING                                                                 \
  __local uint4 tiles[STAGES * (A_TILE + B_TILE)] __attribute__((aligned(1024))); \
  WGMMA_RING_ADDRESS()

// The K loop over `tiles_k` tiles into float acc[ACCUMULATORS] (bench/wgmma_gemm.cpp's fastest
// pipeline): tiles 0 .. STAGES - 2 issued, one commit group each; then for tile t: wait until its
// copies landed (at most STAGES - 2 groups of this item in flight), make them visible to the async
// proxy that wgmma reads through, barrier; issue tile t's products; wait until only they are in
// flight (tile t - 1's are done), barrier (every warpgroup's are); issue tile t + STAGES - 1 into
// the slot tile t - 1 used. Needs tid, group (tid / 128), item (tid % 128) and the ring.
#define WGMMA_K_LOOP(tiles_k)                                   \
  UNROLL for (int s_ = 0; s_ < STAGES - 1; ++s_) {              \
    if (s_ < (tiles_k)) {                                       \
      LOAD_A_TILE(s_, s_)                                       \
      LOAD_B_TILE(s_, s_)                                       \
    }                                                           \
    TILE_COMMIT();                                              \
  }                                                             \
  for (int t_ = 0; t_ < (tiles_k); ++t_) {                      \
    TILE_WAIT_PENDING();                                        \
    ASYNC_PROXY_FENCE();                                        \
    barrier(CLK_LOCAL_MEM_FENCE);                               \
    WGMMA_ISSUE(t_ % STAGES);                                   \
    barrier(CLK_LOCAL_MEM_FENCE);                               \
    const int next_ = t_ + STAGES - 1;                          \
    if (next_ < (tiles_k)) {                                    \
      LOAD_A_TILE(next_, next_ % STAGES)                        \
      LOAD_B_TILE(next_, next_ % STAGES)                        \
    }                                                           \
    TILE_COMMIT();                                              \
  }                                                             \
  WGMMA_DRAIN();

#ifdef WS
#undef WGMMA_K_LOOP
#ifdef MMA_EMULATE
// The same hand-over in lockstep (emulated copies and products are synchronous): the producer
// fills slot t % STAGES, barrier, the consumers take it, barrier. What it shows is the producer's
// copy indices and the consumers' slots; the mbarrier protocol runs on the device only.
#define WGMMA_K_LOOP(tiles_k)                                 \
  for (int t_ = 0; t_ < (tiles_k); ++t_) {                    \
    if (group == GROUPS) {                                    \
      LOAD_A_TILE(t_, t_ % STAGES)                            \
      LOAD_B_TILE(t_, t_ % STAGES)                            \
    }                                                         \
    barrier(CLK_LOCAL_MEM_FENCE);                             \
    if (group < GROUPS) WGMMA_ISSUE(t_ % STAGES);             \
    barrier(CLK_LOCAL_MEM_FENCE);                             \
  }                                                           \
  if (group == GROUPS) return;
#else
// Slot s has a full barrier (the producer's 128 items arrive when their copies into it landed)
// and an empty one (the consumers' items arrive when their products from it are done). The
// producer takes slot t % STAGES once its empty barrier completed the phase of tile t - STAGES
// and copies tile t into it; a consumer waits for the slot's full phase of tile t, makes the
// copies visible to the async proxy, issues tile t's products, waits until only they are in
// flight and frees tile t - 1's slot. The producer warpgroup returns from the kernel after its
// last copies landed; only the consumers go on to the epilogue, which must not use barrier().
#define WGMMA_K_LOOP(tiles_k)                                                                   \
  if (tid == 0) {                                                                               \
    for (int s_ = 0; s_ < STAGES; ++s_) {                                                       \
      mbarrier_init(full_barriers + 8u * s_, 128u);                                             \
      mbarrier_init(empty_barriers + 8u * s_, 128u * GROUPS);                                   \
    }                                                                                           \
  }                                                                                             \
  barrier(CLK_LOCAL_MEM_FENCE);                                                                 \
  if (group == GROUPS) {                                                                        \
    for (int t_ = 0; t_ < (tiles_k); ++t_) {                                                    \
      const int slot_ = t_ % STAGES;                                                            \
      if (t_ >= STAGES) mbarrier_wait(empty_barriers + 8u * slot_, (uint)(t_ / STAGES - 1) & 1u); \
      LOAD_A_TILE(t_, slot_)                                                                    \
      LOAD_B_TILE(t_, slot_)                                                                    \
      CP_ASYNC_ARRIVE(full_barriers + 8u * slot_);                                              \
    }                                                                                           \
    asm volatile("cp.async.wait_all;" ::: "memory");                                           \
    return;                                                                                     \
  }                                                                                             \
  for (int t_ = 0; t_ < (tiles_k); ++t_) {                                                      \
    const int slot_ = t_ % STAGES;                                                              \
    mbarrier_wait(full_barriers + 8u * slot_, (uint)(t_ / STAGES) & 1u);                        \
    ASYNC_PROXY_FENCE();                                                                        \
    WGMMA_ISSUE(slot_);                                                                         \
    if (t_ > 0) mbarrier_arrive(empty_barriers + 8u * ((t_ - 1) % STAGES));                      \
  }                                                                                             \
  WGMMA_DRAIN();
#endif
#endif

// For each pair of neighbouring accumulators of this item, STORE(row, col, x0, x1): rows from m0,
// columns from n0, those at or past `rows` or `columns` skipped (col + 1 may lie past `columns`).
// Accumulator 4 j + 2 h + e is row 16 warp + lane / 4 + 8 h, column 8 j + 2 (lane % 4) + e of this
// warpgroup's 64 rows.
#define WGMMA_FOR_EACH_PAIR(m0, n0, rows, columns, STORE)                           \
  UNROLL for (int h_ = 0; h_ < 2; ++h_) {                                           \
    const int row = (m0) + group * 64 + (item / 32) * 16 + (item % 32) / 4 + 8 * h_; \
    if (row >= (rows)) continue;                                                    \
    UNROLL for (int j_ = 0; j_ < BN / 8; ++j_) {                                    \
      const int col = (n0) + 8 * j_ + 2 * (item % 4);                               \
      if (col >= (columns)) continue;                                               \
      STORE(row, col, acc[4 * j_ + 2 * h_], acc[4 * j_ + 2 * h_ + 1]);               \
    }                                                                               \
  }

#endif  // WGMMA
