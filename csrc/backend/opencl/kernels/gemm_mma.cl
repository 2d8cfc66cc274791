// Tensor-core matrix products through inline PTX mma.sync: NVIDIA's OpenCL compiler accepts
// `asm volatile` and passes it to ptxas. Other compilers reject the PTX, which is why the host
// offers these kernels only where a probe (-DPROBE below) compiles and gives exact results.
//
// Same product and argument list as gemm.cl: c = epilogue(op(a) x op(b)) over a batch.
//   half (A_HALF ...): operands stored half, moved around as raw 16-bit patterns (NVIDIA has no
//     cl_khr_fp16), multiplied by mma.m16n8k16 f16 with float accumulation.
//   -DTF32: operands stored float, rounded to TF32 (cvt.rna.tf32.f32) when they enter local
//     memory, multiplied by mma.m16n8k8 tf32 with float accumulation.
// Build options of the product kernel: -DBM -DBN (block tile), -DWARPS_M -DWARPS_N (warp grid;
// each warp computes a (BM / WARPS_M) x (BN / WARPS_N) sub-tile as m16 x n8 mma tiles), and how
// tiles are read from global memory:
//   -DA_VEC   a row-major (not transposed), 16-byte chunks along K (K, offset aligned)
//   -DB_VECT  b stored N x K (b_trans), 16-byte chunks along K
//   -DB_VECN  b stored K x N, 16-byte chunks along N, scattered into the K-contiguous tile
//   neither   element by element with the transposes as arguments (any shape and alignment)
// and -DFIXED_ACTIVATION (the epilogue's activation, at epilogue() below).
//
// Both element types share one local-memory geometry: a tile row holds 16 32-bit words
// (32 halves, or 16 TF32 values) along K, padded to 20 words so that the fragment reads
// (8 rows x 4 words per warp) hit 32 distinct banks. a's tile is BM rows (M) and b's tile BN
// rows (N), both K-contiguous, which is the mma "row" layout of A and "col" layout of B.
//
// -DASYNC builds a second product kernel, gemm_mma_async (tactics "mma_f16_async_*"), for half
// operands laid out for 16-byte loads (a row-major, b N x K or K x N; the host sends every other
// product to the kernel above): cp.async copies global -> local with no register staging into a
// ring of STAGES tiles, ldmatrix reads the fragments from a swizzled layout, and warps own
// 64 x 64 tiles. Its instructions have their own probe (-DPROBE_ASYNC): cp.async and ldmatrix
// need sm_80 / sm_75 and a way to name a local address in PTX. Details at the kernel.

#define GEMM_ARGUMENTS                                                                        \
  A_PTR a, long a_offset, long a_batch_stride, B_PTR b, long b_offset, long b_batch_stride,   \
      BIAS_PTR bias, long bias_offset, OUT_PTR c, long c_offset, int M, int N, int K,         \
      int a_trans, int b_trans, int has_bias, int activation, float alpha, float beta

// ---- The instructions ----------------------------------------------------------------------

// MMA_F16, MMA_TF32, to_tf32, the emulated mma_emulate, shared_address and the cp.async copies
// (CP_ASYNC_16, CP_ASYNC_COMMIT, cp_async_wait) come from kernels/mma.cl.

// ldmatrix .x4: four 8 x 8 matrices of 16-bit values. Lanes 8 q .. 8 q + 7 give the local
// addresses (16-byte aligned) of the 8 rows of matrix q, and r[q] receives in lane l the
// elements (row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1), the first in the low half; with
// .trans the elements (rows 2 (l % 4) and 2 (l % 4) + 1, column l / 4). That is the mma A
// fragment of a row-major tile, and the B fragment of a tile stored N x K (plain) or K x N
// (.trans).
#define LDMATRIX_X4(r, local_address)                                                          \
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"                \
               : "=r"((r)[0]), "=r"((r)[1]), "=r"((r)[2]), "=r"((r)[3])                       \
               : "r"(local_address)                                                           \
               : "memory")
#define LDMATRIX_X4_TRANS(r, local_address)                                                    \
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"          \
               : "=r"((r)[0]), "=r"((r)[1]), "=r"((r)[2]), "=r"((r)[3])                       \
               : "r"(local_address)                                                           \
               : "memory")

#ifdef MMA_EMULATE
// ldmatrix .x4 (optionally .trans) in software, by the layout at LDMATRIX_X4: `row` is the
// element index in `base` of the row this lane addresses; the lanes exchange them through the
// warp's 32 ints at `rows`. Called by every item of the group at the same points.
inline void ldmatrix_emulate(uint* r, __local const ushort* base, int row, bool trans, __local int* rows,
                             int lane) {
  barrier(CLK_LOCAL_MEM_FENCE);
  rows[lane] = row;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int q = 0; q < 4; ++q) {
    uint low, high;
    if (trans) {
      low = base[rows[q * 8 + 2 * (lane & 3)] + (lane >> 2)];
      high = base[rows[q * 8 + 2 * (lane & 3) + 1] + (lane >> 2)];
    } else {
      const int at = rows[q * 8 + (lane >> 2)] + 2 * (lane & 3);
      low = base[at];
      high = base[at + 1];
    }
    r[q] = low | (high << 16);
  }
}
#endif

// Bias of column n, then the activation (-DFIXED_ACTIVATION: common.cl's activated()).
inline float epilogue(float value, int n, BIAS_PTR bias, long bias_offset, int has_bias,
                      int activation, float alpha, float beta) {
  if (has_bias) value += LOAD_BIAS(bias, bias_offset + n);
  return activated(value, activation, alpha, beta);
}

// Stores accumulators x0 and x1 of one row's columns col and col + 1 through the epilogue
// (element `at` of c is col's; col + 1 only where it lies inside N): as one 32-bit (half) or
// 64-bit (float) word when `pairs`, i.e. the output's rows keep pairs aligned. The layout every
// mma and wgmma accumulator fragment has: two neighbouring columns of a row per item.
inline void store_pair(OUT_PTR c, long at, int col, int N, bool pairs, float x0, float x1, BIAS_PTR bias,
                       long bias_offset, int has_bias, int activation, float alpha, float beta) {
  const float v0 = epilogue(x0, col, bias, bias_offset, has_bias, activation, alpha, beta);
  if (col + 1 >= N) {
    STORE_OUT(c, at, v0);
    return;
  }
  const float v1 = epilogue(x1, col + 1, bias, bias_offset, has_bias, activation, alpha, beta);
  if (pairs) {
#ifdef OUT_HALF
    vstorea_half2((float2)(v0, v1), at >> 1, c);
#else
    *(__global float2*)(c + at) = (float2)(v0, v1);
#endif
  } else {
    STORE_OUT(c, at, v0);
    STORE_OUT(c, at + 1, v1);
  }
}

#if defined(PROBE)
// One mma of each kind on known data, every fragment register read from and written to global
// memory by the documented layout, so that a wrong layout shows up as a wrong result too.
// f16: a 16 x 16 row-major, b 8 x 16 (N x K), d 16 x 8, as raw halves / floats.
// tf32: a 16 x 8 row-major floats, b 8 x 8 (N x K), d 16 x 8.
__kernel __attribute__((reqd_work_group_size(32, 1, 1)))
void mma_probe(__global const ushort* a16, __global const ushort* b16, __global float* d16,
               __global const float* a32, __global const float* b32, __global float* d32) {
  const int lane = get_local_id(0);
  const int group = lane >> 2, member = lane & 3;
  {
    uint fa[4], fb[2];
    float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r = 0; r < 4; ++r) {
      const int row = group + (r & 1) * 8, col = member * 2 + (r >> 1) * 8;
      fa[r] = (uint)a16[row * 16 + col] | ((uint)a16[row * 16 + col + 1] << 16);
    }
    for (int r = 0; r < 2; ++r) {
      const int k = member * 2 + r * 8;
      fb[r] = (uint)b16[group * 16 + k] | ((uint)b16[group * 16 + k + 1] << 16);
    }
    MMA_F16(d, fa, fb);
    for (int r = 0; r < 4; ++r) d16[(group + (r >> 1) * 8) * 8 + member * 2 + (r & 1)] = d[r];
  }
  {
    uint fa[4], fb[2];
    float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r = 0; r < 4; ++r) {
      const int row = group + (r & 1) * 8, col = member + (r >> 1) * 4;
      fa[r] = to_tf32(a32[row * 8 + col]);
    }
    for (int r = 0; r < 2; ++r) fb[r] = to_tf32(b32[group * 8 + member + r * 4]);
    MMA_TF32(d, fa, fb);
    for (int r = 0; r < 4; ++r) d32[(group + (r >> 1) * 8) * 8 + member * 2 + (r & 1)] = d[r];
  }
}

#elif defined(PROBE_ASYNC)
// The instructions of gemm_mma_async on known data, addressed the way that kernel addresses
// them: a 16 x 16 row-major (M x K), bt 16 x 16 stored N x K, bn 16 x 16 stored K x N, all
// raw halves. Every lane copies chunk `lane` (row lane / 2, halves 8 (lane % 2) ..) of each with
// cp.async, in two commit groups, plus one copy of src-size 0 over a chunk filled with ones.
// Then ldmatrix .x4 (a, bt) and .x4.trans (bn) feed four mma: d receives a x bt^T and then
// a x bn (16 x 16 floats each). info[0], info[1]: the converted local address (low, high word);
// info[2 + 4 lane ..]: the zero-filled chunk. If the converted addresses cannot be .shared
// window addresses (256 KiB or beyond, or misaligned), no PTX touches memory and d keeps what
// the host put there. -DMMA_EMULATE runs the same kernel with the instructions in software.
#ifdef MMA_EMULATE
#define PROBE_COPY(dst, src, bytes) (*(dst) = (bytes) ? *(__global const uint4*)(src) : (uint4)(0u))
#define PROBE_COMMIT()
#define PROBE_WAIT(n)
#define PROBE_LDSM(r, tile, chunk, trans) \
  ldmatrix_emulate((r), (__local const ushort*)(tile), (chunk) * 8, (trans), emulate_rows, lane)
#define PROBE_MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a, emulate_b, lane)
#else
#define PROBE_COPY(dst, src, bytes) CP_ASYNC_16(shared_address(dst), (src), (bytes))
#define PROBE_COMMIT() CP_ASYNC_COMMIT()
#define PROBE_WAIT(n) cp_async_wait(n)
#define PROBE_LDSM(r, tile, chunk, trans)                      \
  if (trans) {                                                 \
    LDMATRIX_X4_TRANS((r), shared_address((tile) + (chunk)));  \
  } else {                                                     \
    LDMATRIX_X4((r), shared_address((tile) + (chunk)));        \
  }
#define PROBE_MMA(d, a, b) MMA_F16(d, a, b)
#endif

__kernel __attribute__((reqd_work_group_size(32, 1, 1)))
void mma_async_probe(__global const ushort* a, __global const ushort* bt, __global const ushort* bn,
                     __global float* d, __global uint* info) {
  __local uint4 sa[32], sbt[32], sbn[32], sz[32];
#ifdef MMA_EMULATE
  __local uint emulate_a[128], emulate_b[128];
  __local int emulate_rows[32];
#endif
  const int lane = get_local_id(0);
  const int group = lane >> 2, member = lane & 3;
  const size_t where[4] = {(size_t)sa, (size_t)sbt, (size_t)sbn, (size_t)sz};
  if (lane == 0) {
    info[0] = (uint)where[0];
    info[1] = (uint)((ulong)where[0] >> 32);
  }
#ifndef MMA_EMULATE
  for (int i = 0; i < 4; ++i) {
    if (where[i] >= 0x40000 || where[i] % 16 != 0) return;  // the same for every lane
  }
#endif
  sz[lane] = (uint4)(0xffffffffu);
  barrier(CLK_LOCAL_MEM_FENCE);
  PROBE_COPY(sa + lane, a + lane * 8, 16u);
  PROBE_COPY(sbt + lane, bt + lane * 8, 16u);
  PROBE_COMMIT();
  PROBE_COPY(sbn + lane, bn + lane * 8, 16u);
  PROBE_COPY(sz + lane, a, 0u);
  PROBE_COMMIT();
  PROBE_WAIT(1);
  PROBE_WAIT(0);
  barrier(CLK_LOCAL_MEM_FENCE);

  // Chunk c of row r is at r * 2 + c. Row addresses by lane as gemm_mma_async gives them.
  uint fa[4], fbt[4], fbn[4];
  PROBE_LDSM(fa, sa, (lane & 15) * 2 + (lane >> 4), false);
  PROBE_LDSM(fbt, sbt, ((lane >> 4) * 8 + (lane & 7)) * 2 + ((lane >> 3) & 1), false);
  PROBE_LDSM(fbn, sbn, (lane & 15) * 2 + (lane >> 4), true);
  for (int j = 0; j < 2; ++j) {  // columns 8 j .. 8 j + 7
    float dt[4] = {0.0f, 0.0f, 0.0f, 0.0f}, dn[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const uint bt_j[2] = {fbt[2 * j], fbt[2 * j + 1]};
    const uint bn_j[2] = {fbn[2 * j], fbn[2 * j + 1]};
    PROBE_MMA(dt, fa, bt_j);
    PROBE_MMA(dn, fa, bn_j);
    for (int r = 0; r < 4; ++r) {
      const int at = (group + (r >> 1) * 8) * 16 + j * 8 + member * 2 + (r & 1);
      d[at] = dt[r];
      d[256 + at] = dn[r];
    }
  }
  const uint4 zeros = sz[lane];
  info[2 + lane * 4] = zeros.x;
  info[3 + lane * 4] = zeros.y;
  info[4 + lane * 4] = zeros.z;
  info[5 + lane * 4] = zeros.w;
}

#elif defined(ASYNC)
// gemm_mma_async: c = epilogue(a x op(b)), half operands, a row-major with 16-byte aligned rows,
// b stored N x K (-DB_VECT) or K x N (-DB_VECN) with 16-byte aligned rows. Build options: -DBM
// -DBN (block tile; BN a multiple of 64), -DWARPS_M -DWARPS_N (warp grid; each warp owns a
// (BM / WARPS_M) x (BN / WARPS_N) tile, multiples of 16), -DBK (K per tile: 16 or 32), -DSTAGES
// (tiles in the ring, 2 or more), plus the storage options of common.cl.
//
// Local memory is one array of 16-byte chunks: STAGES tiles of a (BM rows of BK halves, K
// contiguous), then STAGES tiles of b (BN rows of BK halves for N x K; BK rows of BN halves for
// K x N). No padding: chunk positions are swizzled by XOR with bits of the row, so that the 8
// row addresses of each ldmatrix phase (8 consecutive rows, one chunk column) and the 8 chunks
// of each cp.async phase fall into distinct 16-byte bank groups of a 128-byte line. (A base
// address that is only 16-byte aligned shifts every address alike, which keeps them distinct.)
//
// Pipeline, one barrier per tile. The fragments of each 16-wide K step are read one step ahead
// (two register sets), and the barrier sits before the last K step of a tile, so that the
// first fragments of tile t + 1 are read while the last mma of tile t run:
//   prologue: tiles 0 .. STAGES - 1 issued to slots 0 .. STAGES - 1, one commit group each
//     (empty groups past the last tile keep the count uniform); wait for tile 0; barrier;
//     fragments of tile 0, step 0.
//   tile t, step s < last: fragments of step s + 1; mma of step s.
//   tile t, last step: wait until at most STAGES - 2 of the item's groups are in flight (its
//     copies of tile t + 1 have landed: groups of tiles 0 .. t + STAGES - 1 were committed);
//     barrier (every item's copies visible; every warp has read all of tile t, fragments being
//     read one step ahead); tile t + STAGES issued to tile t's slot; commit; fragments of tile
//     t + 1, step 0; mma of the last step of tile t.

#define THREADS (32 * WARPS_M * WARPS_N)
#define WM (BM / WARPS_M)  // warp tile
#define WN (BN / WARPS_N)
#define MT (WM / 16)  // mma tiles per warp
#define NT (WN / 8)
#define CPR (BK / 8)            // chunks per row of a K-contiguous tile
#define N_CHUNKS (BN / 8)       // chunks per row of a K x N tile
#define A_STAGE (BM * CPR)      // chunks per tile
#define B_STAGE (BN * CPR)
#define B_BASE (STAGES * A_STAGE)  // b's first tile
#define A_LOADS ((A_STAGE + THREADS - 1) / THREADS)  // copies per item and tile
#define B_LOADS ((B_STAGE + THREADS - 1) / THREADS)
#define RAW_PTR __global const ushort*

#ifdef MMA_EMULATE
#define UNROLL
#else
#define UNROLL _Pragma("unroll")
#endif

// Slot of chunk c of row r of a K-contiguous tile. 8 / CPR rows share a 128-byte line; XOR
// with (r / (8 / CPR)) % CPR spreads 8 consecutive rows over the line's 8 chunk positions. The
// term repeats every 8 rows, so rows r and r + 16 i share it.
inline int k_slot(int r, int c) { return r * CPR + (c ^ ((r / (8 / CPR)) % CPR)); }
// Slot of chunk c of row k of a K x N tile: rows are whole lines; XOR with k % 8 within each
// group of 8 chunks.
inline int n_slot(int k, int c) { return k * N_CHUNKS + (c ^ (k & 7)); }

#ifdef MMA_EMULATE
// cp.async in software, with its delay kept: a copy is read when issued into the item's queue
// of commit groups, and written to local memory only when a wait retires its group, so a tile
// read before the wait that covers it is stale here as it could be on the device. (What the
// emulation cannot show: a missing barrier, since the emulated ldmatrix and mma synchronize the
// group themselves.) At most STAGES groups are committed and in flight, plus the open one.
#define QUEUED_GROUPS (STAGES + 1)
#define TILE_COPY(slot, src, inside)                                                       \
  {                                                                                        \
    const int g_ = open_group % QUEUED_GROUPS;                                             \
    queued[g_][queued_count[g_]] = (inside) ? *(__global const uint4*)(src) : (uint4)(0u); \
    queued_slot[g_][queued_count[g_]++] = (slot);                                          \
  }
#define TILE_COMMIT() queued_count[++open_group % QUEUED_GROUPS] = 0
#define TILE_WAIT(n)                                                                          \
  while (open_group - retired_group > (n)) {                                                  \
    const int g_ = retired_group++ % QUEUED_GROUPS;                                           \
    for (int x_ = 0; x_ < queued_count[g_]; ++x_) tiles[queued_slot[g_][x_]] = queued[g_][x_]; \
  }
#define LDSM(r, slot) \
  ldmatrix_emulate((r), (__local const ushort*)tiles, (slot) * 8, false, emulate_rows + warp * 32, lane)
#define LDSM_T(r, slot) \
  ldmatrix_emulate((r), (__local const ushort*)tiles, (slot) * 8, true, emulate_rows + warp * 32, lane)
#define MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
#else
#define TILE_COPY(slot, src, inside) CP_ASYNC_16(smem + (uint)(slot) * 16u, (src), (inside) ? 16u : 0u)
#define TILE_COMMIT() CP_ASYNC_COMMIT()
#define TILE_WAIT(n) cp_async_wait(n)
#define LDSM(r, slot) LDMATRIX_X4(r, smem + (uint)(slot) * 16u)
#define LDSM_T(r, slot) LDMATRIX_X4_TRANS(r, smem + (uint)(slot) * 16u)
#define MMA(d, a, b) MMA_F16(d, a, b)
#endif
// bench/mma_profile.cpp only (the host code never sets these): the kernel without its global ->
// local copies (the mma then reads whatever local memory holds), or without its mma (one add
// keeps the fragments live), to see which part bounds it. Results are meaningless.
#ifdef PROFILE_NO_COPY
#undef TILE_COPY
#define TILE_COPY(slot, src, inside) ((void)0)
#endif
#ifdef PROFILE_NO_MMA
#undef MMA
#define MMA(d, a, b) ((d)[0] += as_float((a)[0] ^ (b)[0]))
#endif

// Issues the copies of the tile at K = k0 into ring slot `stage`. Outside the matrix (rows
// beyond M or N, K beyond K) the copy writes zeros and reads nothing; it is handed the
// operand's first element as a valid address all the same.
#define LOAD_A_TILE(k0, stage)                                                                  \
  UNROLL for (int q = 0; q < A_LOADS; ++q) {                                                    \
    const int e = tid + q * THREADS, r = e / CPR, k = (k0) + (e % CPR) * 8;                     \
    const bool inside = m0 + r < M && k < K;                                                    \
    if (A_STAGE % THREADS == 0 || e < A_STAGE) {                                                \
      TILE_COPY((stage) * A_STAGE + k_slot(r, e % CPR), a_raw + (inside ? (long)(m0 + r) * K + k : 0), \
                inside);                                                                        \
    }                                                                                           \
  }
#ifdef B_VECT
#define LOAD_B_TILE(k0, stage)                                                                  \
  UNROLL for (int q = 0; q < B_LOADS; ++q) {                                                    \
    const int e = tid + q * THREADS, r = e / CPR, k = (k0) + (e % CPR) * 8;                     \
    const bool inside = n0 + r < N && k < K;                                                    \
    if (B_STAGE % THREADS == 0 || e < B_STAGE) {                                                \
      TILE_COPY(B_BASE + (stage) * B_STAGE + k_slot(r, e % CPR),                                \
                b_raw + (inside ? (long)(n0 + r) * K + k : 0), inside);                         \
    }                                                                                           \
  }
#else
#define LOAD_B_TILE(k0, stage)                                                                  \
  UNROLL for (int q = 0; q < B_LOADS; ++q) {                                                    \
    const int e = tid + q * THREADS, r = e / N_CHUNKS, n = n0 + (e % N_CHUNKS) * 8;             \
    const bool inside = (k0) + r < K && n < N;                                                  \
    if (B_STAGE % THREADS == 0 || e < B_STAGE) {                                                \
      TILE_COPY(B_BASE + (stage) * B_STAGE + n_slot(r, e % N_CHUNKS),                           \
                b_raw + (inside ? (long)((k0) + r) * N + n : 0), inside);                       \
    }                                                                                           \
  }
#endif

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm_mma_async(GEMM_ARGUMENTS) {
  __local uint4 tiles[STAGES * (A_STAGE + B_STAGE)];
  const int tid = get_local_id(0);
  const int lane = tid & 31, warp = tid >> 5;
  const int group = lane >> 2, member = lane & 3;
  const int warp_m = (warp / WARPS_N) * WM;
  const int warp_n = (warp % WARPS_N) * WN;
  const int m0 = get_group_id(1) * BM;
  const int n0 = get_group_id(0) * BN;
  const long batch = get_group_id(2);
  c_offset += batch * (long)M * N;
  RAW_PTR a_raw = (RAW_PTR)a + a_offset + batch * a_batch_stride;
  RAW_PTR b_raw = (RAW_PTR)b + b_offset + batch * b_batch_stride;
#ifdef MMA_EMULATE
  __local uint emulate_a[WARPS_M * WARPS_N * 128], emulate_b[WARPS_M * WARPS_N * 128];
  __local int emulate_rows[WARPS_M * WARPS_N * 32];
  uint4 queued[QUEUED_GROUPS][A_LOADS + B_LOADS];
  int queued_slot[QUEUED_GROUPS][A_LOADS + B_LOADS], queued_count[QUEUED_GROUPS];
  int open_group = 0, retired_group = 0;
  queued_count[0] = 0;
#else
  const uint smem = shared_address(tiles);
#endif

  // This lane's ldmatrix rows (layouts at LDMATRIX_X4). a: the 16 x 16 block of rows
  // warp_m + 16 i, K step s is matrices (rows 0-7 | 8-15) x (K 0-7 | 8-15) for lanes 0-7, 8-15,
  // 16-23, 24-31: fragment registers 0 .. 3.
  const int a_row = warp_m + (lane & 15), a_chunk = lane >> 4;
  const int a_swizzle = (a_row / (8 / CPR)) % CPR;
#ifdef B_VECT
  // b N x K: columns warp_n + 16 jj (two mma tiles) are matrices (N 0-7, K 0-7), (N 0-7, K 8-15),
  // (N 8-15, K 0-7), (N 8-15, K 8-15): registers 0, 1 of tile 2 jj, then of tile 2 jj + 1.
  const int b_row = warp_n + (lane >> 4) * 8 + (lane & 7), b_chunk = (lane >> 3) & 1;
  const int b_swizzle = (b_row / (8 / CPR)) % CPR;
#else
  // b K x N, transposed by ldmatrix: (K 0-7, N 0-7), (K 8-15, N 0-7), (K 0-7, N 8-15),
  // (K 8-15, N 8-15), the same registers.
  const int b_k = lane & 15, b_chunk = (warp_n >> 3) + (lane >> 4);
#endif

  float acc[MT][NT][4];
  UNROLL for (int i = 0; i < MT; ++i)
    UNROLL for (int j = 0; j < NT; ++j)
      UNROLL for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  // Fragments of K step `step` of the tile in ring slot `slot` (see the lanes' rows above).
#ifdef B_VECT
#define LOAD_B_PAIR(r, slot, step, jj) \
  LDSM(r, B_BASE + (slot) * B_STAGE + (b_row + 16 * (jj)) * CPR + ((2 * (step) + b_chunk) ^ b_swizzle))
#else
#define LOAD_B_PAIR(r, slot, step, jj) \
  LDSM_T(r, B_BASE + (slot) * B_STAGE + n_slot(16 * (step) + b_k, b_chunk + 2 * (jj)))
#endif
#define LOAD_FRAGMENTS(fa, fb, slot, step)                                                       \
  {                                                                                              \
    UNROLL for (int i = 0; i < MT; ++i) {                                                        \
      LDSM(fa[i], (slot) * A_STAGE + (a_row + 16 * i) * CPR + ((2 * (step) + a_chunk) ^ a_swizzle)); \
    }                                                                                            \
    UNROLL for (int jj = 0; jj < NT / 2; ++jj) {                                                 \
      uint r_[4];                                                                                \
      LOAD_B_PAIR(r_, slot, step, jj);                                                           \
      fb[2 * jj][0] = r_[0];                                                                     \
      fb[2 * jj][1] = r_[1];                                                                     \
      fb[2 * jj + 1][0] = r_[2];                                                                 \
      fb[2 * jj + 1][1] = r_[3];                                                                 \
    }                                                                                            \
  }

  const int tiles_k = (K + BK - 1) / BK;
  UNROLL for (int s = 0; s < STAGES; ++s) {
    if (s < tiles_k) {
      LOAD_A_TILE(s * BK, s)
      LOAD_B_TILE(s * BK, s)
    }
    TILE_COMMIT();
  }
  uint fa[MT][4], fb[NT][2];  // fragments of the current step
  uint fa_next[MT][4], fb_next[NT][2];
  if (tiles_k > 0) {
    TILE_WAIT(STAGES - 1);
    barrier(CLK_LOCAL_MEM_FENCE);
    LOAD_FRAGMENTS(fa, fb, 0, 0)
  }

  int slot = 0;  // ring slot of tile t
  for (int t = 0; t < tiles_k; ++t) {
    UNROLL for (int step = 0; step < BK / 16; ++step) {
      if (step + 1 < BK / 16) {
        LOAD_FRAGMENTS(fa_next, fb_next, slot, step + 1)
      } else if (t + 1 < tiles_k) {
        TILE_WAIT(STAGES - 2);
        barrier(CLK_LOCAL_MEM_FENCE);
        if (t + STAGES < tiles_k) {
          LOAD_A_TILE((t + STAGES) * BK, slot)
          LOAD_B_TILE((t + STAGES) * BK, slot)
        }
        TILE_COMMIT();
        const int next_slot = slot + 1 == STAGES ? 0 : slot + 1;
        LOAD_FRAGMENTS(fa_next, fb_next, next_slot, 0)
      }
      UNROLL for (int i = 0; i < MT; ++i)
        UNROLL for (int j = 0; j < NT; ++j) MMA(acc[i][j], fa[i], fb[j]);
      UNROLL for (int i = 0; i < MT; ++i)
        UNROLL for (int r = 0; r < 4; ++r) fa[i][r] = fa_next[i][r];
      UNROLL for (int j = 0; j < NT; ++j) {
        fb[j][0] = fb_next[j][0];
        fb[j][1] = fb_next[j][1];
      }
    }
    slot = slot + 1 == STAGES ? 0 : slot + 1;
  }
  TILE_WAIT(0);  // only empty groups remain; retire them before the items exit

  // Epilogue, as in gemm_mma: each item holds columns (2 member, 2 member + 1) of rows group and
  // group + 8 of every mma tile, stored as pairs when the output's rows keep them aligned.
  const bool pairs = (c_offset % 2 == 0) && (N % 2 == 0);
  UNROLL for (int i = 0; i < MT; ++i) {
    UNROLL for (int h = 0; h < 2; ++h) {
      const int row = m0 + warp_m + i * 16 + group + h * 8;
      if (row >= M) continue;
      UNROLL for (int j = 0; j < NT; ++j) {
        const int col = n0 + warp_n + j * 8 + member * 2;
        if (col >= N) continue;
        store_pair(c, c_offset + (long)row * N + col, col, N, pairs, acc[i][j][2 * h], acc[i][j][2 * h + 1], bias,
                   bias_offset, has_bias, activation, alpha, beta);
      }
    }
  }
}

#elif defined(WGMMA)
// gemm_wgmma (tactics "wgmma_f16_*"): c = epilogue(a x op(b)) on Hopper's warpgroup instructions
// (kernels/wgmma.cl: the tiles, the ring, the instructions and their emulation), half operands
// laid out as gemm_mma_async takes them (a row-major, b N x K with -DB_VECT or K x N with
// -DB_VECN, 16-byte aligned rows).
#define RAW_PTR __global const ushort*

// The copies of tile `t` (K from t BK) into ring slot `stage`; 8 consecutive items copy one line
// (coalesced 128 bytes) into its atom. Outside the matrix the copy writes zeros and reads nothing
// (it is handed the operand's first element as a valid address).
#define LOAD_A_TILE(t, stage)                                                                        \
  UNROLL for (int e = tid - COPY_BASE; e < A_TILE; e += COPY_ITEMS) {                                \
    const int r = e / 8, c = e % 8, row = m0 + r, chunk = (t) * 8 + c;                               \
    const bool inside = row < M && chunk < k_chunks;                                                 \
    TILE_COPY((stage) * A_TILE + k_major_slot(r, c), a_raw + (inside ? (long)row * K + chunk * 8 : 0), inside); \
  }
#ifdef B_VECT
#define LOAD_B_TILE(t, stage)                                                                        \
  UNROLL for (int e = tid - COPY_BASE; e < B_TILE; e += COPY_ITEMS) {                                \
    const int r = e / 8, c = e % 8, row = n0 + r, chunk = (t) * 8 + c;                               \
    const bool inside = row < N && chunk < k_chunks;                                                 \
    TILE_COPY(B_BASE + (stage) * B_TILE + k_major_slot(r, c), b_raw + (inside ? (long)row * K + chunk * 8 : 0), \
              inside);                                                                               \
  }
#else
#define LOAD_B_TILE(t, stage)                                                                        \
  UNROLL for (int e = tid - COPY_BASE; e < B_TILE; e += COPY_ITEMS) {                                \
    const int k = e / (BN / 8), column_chunk = e % (BN / 8), kg = (t) * BK + k, n = n0 + column_chunk * 8; \
    const bool inside = kg < K && n < N;                                                             \
    TILE_COPY(B_BASE + (stage) * B_TILE +                                                            \
                  swizzled_slot((column_chunk / 8) * (BK / 8) * 64 + (k / 8) * 64, k % 8, column_chunk % 8), \
              b_raw + (inside ? (long)kg * N + n : 0), inside);                                      \
  }
#endif

// Pairs stored together where the output's rows keep them aligned.
#define STORE_GEMM_PAIR(row, col, x0, x1)                                                               \
  store_pair(c, c_offset + (long)(row) * N + (col), (col), N, pairs, (x0), (x1), bias, bias_offset, has_bias, \
             activation, alpha, beta)

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm_wgmma(GEMM_ARGUMENTS) {
  WGMMA_RING
  const int tid = get_local_id(0), group = tid / 128, item = tid % 128;
  const int m0 = get_group_id(1) * BM, n0 = get_group_id(0) * BN;
  const long batch = get_group_id(2);
  c_offset += batch * (long)M * N;
  RAW_PTR a_raw = (RAW_PTR)a + a_offset + batch * a_batch_stride;
  RAW_PTR b_raw = (RAW_PTR)b + b_offset + batch * b_batch_stride;
  const int k_chunks = K / 8, tiles_k = (K + BK - 1) / BK;
  float acc[ACCUMULATORS];
  UNROLL for (int i = 0; i < ACCUMULATORS; ++i) acc[i] = 0.0f;

  WGMMA_K_LOOP(tiles_k)

  const bool pairs = (c_offset % 2 == 0) && (N % 2 == 0);
  WGMMA_FOR_EACH_PAIR(m0, n0, M, N, STORE_GEMM_PAIR)
}

#elif defined(BM)

// -DKSPLIT=<s> (default 1): s groups of WARPS_M x WARPS_N warps share the work-group, each taking
// one s-th of every K tile (a tile is s times as deep), and add up their accumulators in local
// memory at the end: a product with few output tiles (a transformer's at batch 1) runs its K loop
// s times shorter on the multiprocessors it has.
#ifndef KSPLIT
#define KSPLIT 1
#endif
#define SLICE_WARPS (WARPS_M * WARPS_N)
#define THREADS (32 * SLICE_WARPS * KSPLIT)
#define WM (BM / WARPS_M)  // warp sub-tile
#define WN (BN / WARPS_N)
#define MT (WM / 16)  // mma tiles per warp
#define NT (WN / 8)
#define KW (16 * KSPLIT)  // 32-bit words of a tile row
#define SW (KW + 4)       // padded row stride in words
#define CHUNKS_PER_ROW (KW / 4)
#define A_CHUNKS (BM * CHUNKS_PER_ROW / THREADS)  // 16-byte chunks each item moves per tile
#define B_CHUNKS (BN * CHUNKS_PER_ROW / THREADS)
#if KSPLIT > 1 && (KSPLIT - 1) * BN > 2 * SW
#error "KSPLIT: the slices' accumulators do not fit in a's tiles"
#endif

#ifdef TF32
#define BK (16 * KSPLIT)  // K per tile
#define CHUNK 4   // elements per 16-byte chunk
#define RAW_T float
#define MMA MMA_TF32
#else
#define BK (32 * KSPLIT)
#define CHUNK 8
#define RAW_T ushort
#define MMA MMA_F16
#endif
#define RAW_PTR __global const RAW_T*

#ifdef MMA_EMULATE
#undef MMA
#define MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
#endif
#ifdef PROFILE_NO_MMA  // bench/mma_profile.cpp only, as for gemm_mma_async above
#undef MMA
#define MMA(d, a, b) ((d)[0] += as_float((a)[0] ^ (b)[0]))
#endif

// Element (r, k) of a matrix of `rows` x K stored row-major, or K x rows when `trans`; zero
// outside. The raw value: a 16-bit pattern, or a TF32 pattern.
inline uint element(RAW_PTR p, long offset, int rows, int K, int trans, int r, int k) {
  if (r >= rows || k >= K) return 0u;
  const long at = offset + (trans ? (long)k * rows + r : (long)r * K + k);
#ifdef TF32
  return to_tf32(p[at]);
#else
  return (uint)p[at];
#endif
}

// The 16-byte chunk of row r, elements k .. k + CHUNK - 1, as 4 words (general layout).
inline uint4 chunk_any(RAW_PTR p, long offset, int rows, int K, int trans, int r, int k) {
  uint w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#ifdef TF32
    w[i] = element(p, offset, rows, K, trans, r, k + i);
#else
    w[i] = element(p, offset, rows, K, trans, r, k + 2 * i) |
           (element(p, offset, rows, K, trans, r, k + 2 * i + 1) << 16);
#endif
  }
  return (uint4)(w[0], w[1], w[2], w[3]);
}

// The same from a contiguous, 16-byte aligned run (zero when the row or the run is outside;
// the run is all inside or all outside because the contiguous extent is a multiple of CHUNK).
inline uint4 chunk_vec(RAW_PTR p, long at, bool inside) {
  if (!inside) return (uint4)(0u);
#ifdef TF32
  const float4 v = *(__global const float4*)(p + at);
  return (uint4)(to_tf32(v.x), to_tf32(v.y), to_tf32(v.z), to_tf32(v.w));
#else
  return *(__global const uint4*)(p + at);
#endif
}

// -DSPLIT_K: K is also split across work-groups, for products whose blocks alone leave most
// multiprocessors idle (a transformer's at batch 1): the range's third axis is batch x splits, work-group
// (x, y, z) multiplies K tiles slice x per .. of batch z / splits (slice = z % splits, per = the tiles
// divided evenly), and stores its raw BM x BN block of float sums in `partials` (blocks in the order of
// the range, each block's slices together: split_partial_block). gemm_mma_finish then adds the slices
// of each element in slice order and applies the epilogue, so results do not depend on timing.
#ifdef SPLIT_K
inline long split_partial_block(int x, int y, int z, int slice, int groups_x, int groups_y, int splits) {
  return ((((long)z * groups_y + y) * groups_x + x) * splits + slice) * (BM * BN);
}
#define SPLIT_ARGUMENTS , int splits, __global float* partials, long partials_offset
#else
#define SPLIT_ARGUMENTS
#endif

__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void gemm_mma(GEMM_ARGUMENTS SPLIT_ARGUMENTS) {
  __local uint a_tile[2][BM * SW] __attribute__((aligned(16)));
  __local uint b_tile[2][BN * SW] __attribute__((aligned(16)));
#ifdef MMA_EMULATE
  __local uint emulate_a[SLICE_WARPS * KSPLIT * 128], emulate_b[SLICE_WARPS * KSPLIT * 128];
#endif
  const int tid = get_local_id(0);
  const int lane = tid & 31, warp = tid >> 5;
  const int group = lane >> 2, member = lane & 3;
  const int slice = warp / SLICE_WARPS;  // which part of each K tile this warp multiplies
  const int warp_m = ((warp % SLICE_WARPS) / WARPS_N) * WM;
  const int warp_n = (warp % WARPS_N) * WN;
  const int m0 = get_group_id(1) * BM;
  const int n0 = get_group_id(0) * BN;
#ifdef SPLIT_K
  const long batch = get_group_id(2) / splits;
  const int k_slice = get_group_id(2) % splits;
#else
  const long batch = get_group_id(2);
#endif
  a_offset += batch * a_batch_stride;
  b_offset += batch * b_batch_stride;
  c_offset += batch * (long)M * N;
  RAW_PTR a_raw = (RAW_PTR)a;
  RAW_PTR b_raw = (RAW_PTR)b;

  float acc[MT][NT][4];
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

  uint4 a_next[A_CHUNKS], b_next[B_CHUNKS];

// Global -> registers for the tile starting at k0.
#ifdef A_VEC
#define LOAD_A_TILE(k0)                                                                    \
  for (int q = 0; q < A_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, r = e / CHUNKS_PER_ROW;                              \
    const int k = (k0) + (e % CHUNKS_PER_ROW) * CHUNK;                                    \
    a_next[q] = chunk_vec(a_raw, a_offset + (long)(m0 + r) * K + k, m0 + r < M && k < K);  \
  }
#else
#define LOAD_A_TILE(k0)                                                                    \
  for (int q = 0; q < A_CHUNKS; ++q) {                                                    \
    const int e = tid + q * THREADS;                                                      \
    a_next[q] = chunk_any(a_raw, a_offset, M, K, a_trans, m0 + e / CHUNKS_PER_ROW,        \
                          (k0) + (e % CHUNKS_PER_ROW) * CHUNK);                           \
  }
#endif
#if defined(B_VECT)
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, r = e / CHUNKS_PER_ROW;                              \
    const int k = (k0) + (e % CHUNKS_PER_ROW) * CHUNK;                                    \
    b_next[q] = chunk_vec(b_raw, b_offset + (long)(n0 + r) * K + k, n0 + r < N && k < K);  \
  }
#elif defined(B_VECN)
#define B_CHUNKS_PER_K (BN / CHUNK)
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = (k0) + e / B_CHUNKS_PER_K;                       \
    const int n = n0 + (e % B_CHUNKS_PER_K) * CHUNK;                                      \
    b_next[q] = chunk_vec(b_raw, b_offset + (long)k * N + n, k < K && n < N);             \
  }
#else
#define LOAD_B_TILE(k0)                                                                    \
  for (int q = 0; q < B_CHUNKS; ++q) {                                                    \
    const int e = tid + q * THREADS;                                                      \
    b_next[q] = chunk_any(b_raw, b_offset, N, K, !b_trans, n0 + e / CHUNKS_PER_ROW,       \
                          (k0) + (e % CHUNKS_PER_ROW) * CHUNK);                           \
  }
#endif

// Registers -> local tile `buffer`.
#define STORE_A_TILE(buffer)                                                               \
  for (int q = 0; q < A_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS;                                                      \
    *(__local uint4*)(&a_tile[buffer][(e / CHUNKS_PER_ROW) * SW + (e % CHUNKS_PER_ROW) * 4]) = \
        a_next[q];                                                                        \
  }
#ifdef B_VECN
// A chunk along N is one K position of CHUNK consecutive rows of b's tile.
#ifdef TF32
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = e / B_CHUNKS_PER_K;                              \
    __local uint* at = &b_tile[buffer][(e % B_CHUNKS_PER_K) * CHUNK * SW + k];            \
    at[0] = b_next[q].x; at[SW] = b_next[q].y; at[2 * SW] = b_next[q].z; at[3 * SW] = b_next[q].w; \
  }
#else
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS, k = e / B_CHUNKS_PER_K;                              \
    __local ushort* at =                                                                  \
        (__local ushort*)&b_tile[buffer][(e % B_CHUNKS_PER_K) * CHUNK * SW] + k;          \
    const uint4 v = b_next[q];                                                            \
    at[0] = (ushort)v.x; at[2 * SW] = (ushort)(v.x >> 16);                                \
    at[4 * SW] = (ushort)v.y; at[6 * SW] = (ushort)(v.y >> 16);                           \
    at[8 * SW] = (ushort)v.z; at[10 * SW] = (ushort)(v.z >> 16);                          \
    at[12 * SW] = (ushort)v.w; at[14 * SW] = (ushort)(v.w >> 16);                         \
  }
#endif
#else
#define STORE_B_TILE(buffer)                                                               \
  for (int q = 0; q < B_CHUNKS; ++q) {                                  \
    const int e = tid + q * THREADS;                                                      \
    *(__local uint4*)(&b_tile[buffer][(e / CHUNKS_PER_ROW) * SW + (e % CHUNKS_PER_ROW) * 4]) = \
        b_next[q];                                                                        \
  }
#endif

#ifdef SPLIT_K
  // This slice's K tiles: [k_first, k_first + tiles x BK).
  const int all_tiles = (K + BK - 1) / BK, per_slice = (all_tiles + splits - 1) / splits;
  const int k_first = k_slice * per_slice * BK;
  const int tiles = max(0, min(per_slice, all_tiles - k_slice * per_slice));
#else
  const int k_first = 0;
  const int tiles = (K + BK - 1) / BK;
#endif
  if (tiles > 0) {
    LOAD_A_TILE(k_first)
    LOAD_B_TILE(k_first)
    STORE_A_TILE(0)
    STORE_B_TILE(0)
  }
  barrier(CLK_LOCAL_MEM_FENCE);

  for (int t = 0; t < tiles; ++t) {
    const int current = t & 1;
    const bool more = t + 1 < tiles;
    if (more) {
      LOAD_A_TILE(k_first + (t + 1) * BK)
      LOAD_B_TILE(k_first + (t + 1) * BK)
    }
    __local const uint* as = a_tile[current];
    __local const uint* bs = b_tile[current];
#pragma unroll
    for (int step = 2 * slice; step < 2 * slice + 2; ++step) {  // two mma K steps per slice of a tile
      uint fa[MT][4], fb[NT][2];
#pragma unroll
      for (int i = 0; i < MT; ++i) {
        const int at = (warp_m + i * 16 + group) * SW + step * 8 + member;
        fa[i][0] = as[at];
        fa[i][1] = as[at + 8 * SW];
        fa[i][2] = as[at + 4];
        fa[i][3] = as[at + 8 * SW + 4];
      }
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int at = (warp_n + j * 8 + group) * SW + step * 8 + member;
        fb[j][0] = bs[at];
        fb[j][1] = bs[at + 4];
      }
#pragma unroll
      for (int i = 0; i < MT; ++i)
#pragma unroll
        for (int j = 0; j < NT; ++j) MMA(acc[i][j], fa[i], fb[j]);
    }
    if (more) {
      STORE_A_TILE(current ^ 1)
      STORE_B_TILE(current ^ 1)
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }

#if KSPLIT > 1
  // The other slices' accumulators through a's tiles (free after the loop's last barrier); the
  // first slice's warps add them up and store.
  __local float* partial = (__local float*)a_tile[0];
  const int own = ((slice - 1) * SLICE_WARPS + warp % SLICE_WARPS) * (MT * NT * 4 * 32) + lane;
  if (slice > 0) {
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) partial[own + ((i * NT + j) * 4 + r) * 32] = acc[i][j][r];
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  if (slice > 0) return;
  for (int other = 1; other < KSPLIT; ++other) {
    const int at = ((other - 1) * SLICE_WARPS + warp) * (MT * NT * 4 * 32) + lane;
#pragma unroll
    for (int i = 0; i < MT; ++i)
#pragma unroll
      for (int j = 0; j < NT; ++j)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[i][j][r] += partial[at + ((i * NT + j) * 4 + r) * 32];
  }
#endif

#ifdef SPLIT_K
  // The raw sums, the whole block (rows and columns past M and N too: gemm_mma_finish skips them).
  __global float* block = partials + partials_offset +
                          split_partial_block(get_group_id(0), get_group_id(1), batch, k_slice, get_num_groups(0),
                                              get_num_groups(1), splits);
#pragma unroll
  for (int i = 0; i < MT; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h)
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int at = (warp_m + i * 16 + group + h * 8) * BN + warp_n + j * 8 + member * 2;
        *(__global float2*)(block + at) = (float2)(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
  (void)c; (void)c_offset; (void)has_bias; (void)bias; (void)bias_offset; (void)activation; (void)alpha; (void)beta;
  return;
#endif

  // Epilogue: each item holds columns (2 * member, 2 * member + 1) of rows group and group + 8
  // of every mma tile; pairs are stored as one 32-bit (half) or 64-bit (float) word when the
  // output's rows keep them aligned.
  const bool pairs = (c_offset % 2 == 0) && (N % 2 == 0);
#pragma unroll
  for (int i = 0; i < MT; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + warp_m + i * 16 + group + h * 8;
      if (row >= M) continue;
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const int col = n0 + warp_n + j * 8 + member * 2;
        if (col >= N) continue;
        store_pair(c, c_offset + (long)row * N + col, col, N, pairs, acc[i][j][2 * h], acc[i][j][2 * h + 1], bias,
                   bias_offset, has_bias, activation, alpha, beta);
      }
    }
  }
}

#ifdef SPLIT_K
// Split K's second pass: element i of out (batch-major, rows of N) is the sum of its slices in slice
// order, through the epilogue. groups_x and groups_y are gemm_mma's work-groups along N and M.
__kernel void gemm_mma_finish(OUT_PTR c, long c_offset, BIAS_PTR bias, long bias_offset, int M, int N,
                              int has_bias, int activation, float alpha, float beta, int splits,
                              __global const float* partials, long partials_offset, int groups_x, int groups_y,
                              long count) {
  const long i = get_global_id(0);
  if (i >= count) return;
  const long plane = (long)M * N;
  const int z = (int)(i / plane), row = (int)(i % plane / N), col = (int)(i % N);
  __global const float* slice = partials + partials_offset +
                                split_partial_block(col / BN, row / BM, z, 0, groups_x, groups_y, splits) +
                                (row % BM) * BN + col % BN;
  float v = 0.0f;
  for (int s = 0; s < splits; ++s) v += slice[(long)s * (BM * BN)];
  STORE_OUT(c, c_offset + i, epilogue(v, col, bias, bias_offset, has_bias, activation, alpha, beta));
}
#endif

#endif
