// Fused attention on tensor cores (tactics "attention_mma_f16_w<WARPS>", attention.h): the same
// softmax(scale * q k^T + mask) v as attention.cl, for half q, k and v, in FlashAttention-2's
// layout on mma.sync m16n8k16 (kernels/mma.cl, prepended).
//
// A work-group is WARPS warps over one (batch, head) and BQ = 16 x WARPS query rows; each warp
// owns 16 rows and keeps their q fragments, their scores and their output in registers. Key
// tiles of BK keys stream through local memory, shared by the warps: k as rows of keys (the mma's
// "col" B operand of q k^T), v transposed (the B operand of p v, keys along a row). Per tile a
// warp computes its 16 x BK scores (float accumulators), adds scale, mask and causal limits,
// agrees on each row's maximum with the three other lanes holding that row (shfl), rescales its
// running output and sum by exp(old maximum - new), and turns the probabilities straight into
// the A fragments of p v (the m16n8 accumulator layout of two neighbouring key octets is the
// m16k16 A layout), rounded to half. Sums stay per lane until the end. Scores work in base 2
// (times log2(e) after the scale and the softcap, the mask too) so each probability is one exp2.
//
// Same semantics as attention.cl: -inf scores weigh 0, a row whose every score is -inf gives NaN
// (0 with zero_masked_rows), NaN scores give NaN rows.
//
//   -DWARPS=<1|2|4>         warps per work-group
//   -DHEAD_K=<16..128>      D rounded up to 16 (q and k tiles zero padded to it)
//   -DHEAD_V=<16..128>      Dv rounded up to 16
//   -DOUT_HALF -DINDEX64    as attention.cl
//   -DMMA_EMULATE           tests: the mma and the shuffles in software (kernels/mma.cl)
// Local memory: BK x (HEAD_K / 2 + 4) + HEAD_V x (BK / 2 + 4) + BK words: 36 KB at HEAD_K = HEAD_V = 128.
//
// Key tiles arrive in 16-byte chunks (8 halves) where k and v allow it (rows of a multiple of 8
// halves, 16-byte aligned, k not transposed), PER_ROUND chunks of each in flight per item before
// any is stored, and where that is a whole tile, the next tile's loads overlap this tile's
// products: with two or three work-groups per compute unit, loads one at a time left the kernel
// waiting on memory latency (Transformer run 11: 48 us per BERT 4 x 256 layer at batch 32).
// Other operands take the pairwise path.

#define BK 64  // keys per tile
#define BQ (16 * WARPS)
#define THREADS (32 * WARPS)
#define K_WORDS (HEAD_K / 2)  // a key row's halves, in pairs
#define V_WORDS (HEAD_V / 2)
// Row pitches in words, 4 more than a multiple of 8: the fragment reads (8 rows x 4 words per
// warp) hit 32 different banks.
#define K_PITCH (K_WORDS + 4)
#define V_PITCH (BK / 2 + 4)
#define LOG2E 1.4426950408889634f
#define K_PER_ITEM (BK * HEAD_K / 8 / THREADS)  // 16-byte chunks of a key tile per item (exact)
#define V_PER_ITEM (BK * HEAD_V / 8 / THREADS)
#define PER_ROUND 4  // chunks of k and of v in flight per item
#define ROUNDS(n) (((n) + PER_ROUND - 1) / PER_ROUND)
#define CHUNK_ROUNDS (ROUNDS(K_PER_ITEM) > ROUNDS(V_PER_ITEM) ? ROUNDS(K_PER_ITEM) : ROUNDS(V_PER_ITEM))

// MASK_* and load_mask: attention_common.cl, prepended.

#ifdef MMA_EMULATE
#define WARP_MMA(d, a, b) mma_emulate((d), (a), (b), emulate_a + warp * 128, emulate_b + warp * 128, lane)
// Emulated builds keep loops rolled: CPU compilers take minutes over barriers in unrolled loops.
#define UNROLL _Pragma("unroll 1")

// The maximum (or sum) of x over the four lanes that hold one accumulator row, through local
// memory. Every item of the group calls it at the same point.
inline float quad_reduce(float x, int is_max, __local float* scratch, int tid) {
  barrier(CLK_LOCAL_MEM_FENCE);
  scratch[tid] = x;
  barrier(CLK_LOCAL_MEM_FENCE);
  const int first = tid & ~3;
  const float a = scratch[first], b = scratch[first + 1], c = scratch[first + 2], d = scratch[first + 3];
  return is_max ? fmax(fmax(a, b), fmax(c, d)) : (a + b) + (c + d);
}
#define QUAD_MAX(x) quad_reduce((x), 1, emulate_quad, tid)
#define QUAD_SUM(x) quad_reduce((x), 0, emulate_quad, tid)

// Two floats as the two halves of a word (lo in the low 16 bits), rounded to nearest even.
inline uint pack_halves(float lo, float hi) {
  ushort bits[2];
  vstore_half2_rte((float2)(lo, hi), 0, (__private half*)bits);
  return (uint)bits[0] | ((uint)bits[1] << 16);
}
#else
#define WARP_MMA(d, a, b) MMA_F16(d, a, b)
#define UNROLL _Pragma("unroll")

inline float shuffle_xor(float x, int mask) {
  float result;
  asm volatile("shfl.sync.bfly.b32 %0, %1, %2, 0x1f, 0xffffffff;" : "=f"(result) : "f"(x), "r"(mask));
  return result;
}
inline float quad_max(float x) {
  x = fmax(x, shuffle_xor(x, 1));
  return fmax(x, shuffle_xor(x, 2));
}
inline float quad_sum(float x) {
  x += shuffle_xor(x, 1);
  return x + shuffle_xor(x, 2);
}
#define QUAD_MAX(x) quad_max(x)
#define QUAD_SUM(x) quad_sum(x)

inline uint pack_halves(float lo, float hi) {
  uint result;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(result) : "f"(hi), "f"(lo));
  return result;
}
#endif

// Elements c and c + 1 of a row (at `stride` apart; 0 past `limit`) as one word of two halves.
inline uint load_pair(__global const ushort* p, idx_t base, int c, int limit, idx_t stride) {
  if (stride == 1 && c + 1 < limit) {
    const ushort2 pair = vload2(0, p + base + c);
    return (uint)pair.x | ((uint)pair.y << 16);
  }
  const uint lo = c < limit ? p[base + c * stride] : 0u;
  const uint hi = c + 1 < limit ? p[base + (c + 1) * stride] : 0u;
  return lo | (hi << 16);
}

// Whether rows of `width` halves at `first` + key x `row` are 16-byte chunks (width a multiple of 8).
inline bool chunked(__global const ushort* p, idx_t first, idx_t row, int width) {
  return width % 8 == 0 && row % 8 == 0 && ((size_t)(p + first) & 15) == 0;
}

// Keys first .. first + BK - 1 of k (rows of HEAD_K halves, zero past d and sk) into k_tile, and of
// v into v_tile transposed, in 16-byte chunks (chunked() holds for both), round by round: fetch
// loads a round's chunks into registers, store puts them in local memory. k chunk i of an item is
// key w / (HEAD_K / 8), halves 8 (w % (HEAD_K / 8)) .. of it, w = i x THREADS + tid: a key row's
// chunks go to neighbouring lanes (whole rows read). v chunk i is key w % BK, so that a warp's
// transposed 16-bit stores fall on distinct words of one output row.
__attribute__((always_inline)) inline void fetch_chunks(int round, __global const ushort* k, idx_t k_first, idx_t k_row,
                                                        __global const ushort* v, idx_t v_first, idx_t v_row, int first,
                                                        int sk, int d, int dv, int tid, uint4* k_chunk, uint4* v_chunk) {
  UNROLL for (int u = 0; u < PER_ROUND; ++u) {
    const int i = round * PER_ROUND + u;
    const int kw = i * THREADS + tid, kj = kw / (HEAD_K / 8), kc = 8 * (kw % (HEAD_K / 8));
    k_chunk[u] = i < K_PER_ITEM && first + kj < sk && kc < d
                     ? *(__global const uint4*)(k + k_first + (idx_t)(first + kj) * k_row + kc)
                     : (uint4)(0u);
    const int vw = i * THREADS + tid, vj = vw % BK, vc = 8 * (vw / BK);
    v_chunk[u] = i < V_PER_ITEM && first + vj < sk && vc < dv
                     ? *(__global const uint4*)(v + v_first + (idx_t)(first + vj) * v_row + vc)
                     : (uint4)(0u);
  }
}

__attribute__((always_inline)) inline void store_chunks(int round, int tid, const uint4* k_chunk, const uint4* v_chunk,
                                                        __local uint* k_tile, __local ushort* v_halves) {
  UNROLL for (int u = 0; u < PER_ROUND; ++u) {
    const int i = round * PER_ROUND + u;
    if (i < K_PER_ITEM) {
      const int kw = i * THREADS + tid;
      *(__local uint4*)(k_tile + (kw / (HEAD_K / 8)) * K_PITCH + 4 * (kw % (HEAD_K / 8))) = k_chunk[u];
    }
    if (i < V_PER_ITEM) {
      const int vw = i * THREADS + tid, vj = vw % BK, vc = 8 * (vw / BK);
      const uint words[4] = {v_chunk[u].x, v_chunk[u].y, v_chunk[u].z, v_chunk[u].w};
      UNROLL for (int e = 0; e < 4; ++e) {
        v_halves[(vc + 2 * e) * (2 * V_PITCH) + vj] = (ushort)(words[e] & 0xffffu);
        v_halves[(vc + 2 * e + 1) * (2 * V_PITCH) + vj] = (ushort)(words[e] >> 16);
      }
    }
  }
}

// A mask value as the scores take it, in base 2. Clamped: log2(e) times a finite mask value beyond
// float's range (the lowest float, as where(mask, 0, lowest) adds) must stay finite, or a row it
// hides whole turns NaN.
inline float base2_mask(float m) { return isinf(m) ? m : clamp(LOG2E * m, -FLT_MAX, FLT_MAX); }

// A mask that does not depend on the query row (mask_row == 0: key padding, as BERT's (B, S)
// attention_mask) is read once per key tile, MASK_PER_ITEM keys per item, into local memory:
// read per score, each lane's 32 dependent loads per tile kept the kernel waiting on memory.
#define MASK_PER_ITEM ((BK + THREADS - 1) / THREADS)
__attribute__((always_inline)) inline void fetch_key_mask(float* m, __global const half* mask, int mask_kind,
                                                          float mask_true, float mask_false, idx_t mask_first,
                                                          idx_t mask_key, int first, int sk, int tid) {
  UNROLL for (int u = 0; u < MASK_PER_ITEM; ++u) {
    const int j = u * THREADS + tid, key = first + j;
    m[u] = j < BK && key < sk ? base2_mask(load_mask(mask, mask_kind, mask_true, mask_false, mask_first + key * mask_key))
                              : 0.0f;
  }
}

__attribute__((always_inline)) inline void store_key_mask(const float* m, __local float* mask_tile, int tid) {
  UNROLL for (int u = 0; u < MASK_PER_ITEM; ++u) {
    const int j = u * THREADS + tid;
    if (j < BK) mask_tile[j] = m[u];
  }
}

// Arguments as attention.cl's (q, k, v half, read as their 16-bit patterns). Launched as
// {THREADS x row_blocks x B x H} in groups of THREADS, row_blocks = ceil(Sq / BQ).
__kernel __attribute__((reqd_work_group_size(THREADS, 1, 1)))
void attention_mma(__global const ushort* q, long q_offset, __global const ushort* k, long k_offset,
                   __global const ushort* v, long v_offset, __global const half* mask, long mask_offset,
                   int mask_kind, float mask_true, float mask_false, OUT_PTR out, long out_offset, int heads,
                   int group, int row_blocks, int sq,
                   int sk, int d, int dv, float scale, float softcap, int causal, int keys_transposed, int zero_masked_rows,
                   int mask_batches, idx_t mask_batch, idx_t mask_head, idx_t mask_row, idx_t mask_key, idx_t q_batch,
                   idx_t q_head, idx_t q_row, idx_t k_batch, idx_t k_head, idx_t k_row, idx_t k_column,
                   idx_t v_batch, idx_t v_head, idx_t v_row, idx_t out_batch, idx_t out_head, idx_t out_row) {
  __local uint k_tile[BK * K_PITCH] __attribute__((aligned(16)));  // 16-byte stores (K_PITCH % 4 == 0)
  __local uint v_tile[HEAD_V * V_PITCH];  // transposed: output column c's keys along row c
  __local float mask_tile[BK];            // a key mask's values for the tile, in base 2
#ifdef MMA_EMULATE
  __local uint emulate_a[WARPS * 128], emulate_b[WARPS * 128];
  __local float emulate_quad[THREADS];
#endif
  (void)keys_transposed;  // k's strides say it all; the argument keeps attention.cl's list
  const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
  const int group_row = lane >> 2, member = lane & 3;  // the mma fragments' groupID, threadID_in_group
  const int block = get_group_id(0);
  const int bh = block / row_blocks;  // b * heads + h
  const int b = bh / heads, h = bh % heads;
  const int kv = h / group;
  const int row0 = (block % row_blocks) * BQ;
  // This lane's two rows: accumulator registers 0-1 are row[0]'s, 2-3 row[1]'s.
  const int row[2] = {row0 + warp * 16 + group_row, row0 + warp * 16 + group_row + 8};
  const idx_t k_first = k_offset + b * k_batch + kv * k_head;
  const idx_t v_first = v_offset + b * v_batch + kv * v_head;
  idx_t mask_first[2];
  for (int i = 0; i < 2; ++i) mask_first[i] = mask_offset + (b % mask_batches) * mask_batch + h * mask_head + row[i] * mask_row;

  // q's A fragments: register r holds row[r & 1], columns 2 member (+ 8 for r >= 2), +1.
  uint q_fragment[HEAD_K / 16][4];
  UNROLL for (int step = 0; step < HEAD_K / 16; ++step) {
    UNROLL for (int r = 0; r < 4; ++r) {
      const int i = r & 1;
      const idx_t base = q_offset + b * q_batch + h * q_head + row[i] * q_row;
      q_fragment[step][r] = row[i] < sq ? load_pair(q, base, step * 16 + 2 * member + (r >> 1) * 8, d, 1) : 0u;
    }
  }

  const int shift = sk - sq;  // query i sees keys j <= i + shift
  const int key_end = causal ? clamp(row0 + BQ + shift, 0, sk) : sk;
  float running_max[2] = {-INFINITY, -INFINITY};  // base 2
  float running_sum[2] = {0.0f, 0.0f};            // this lane's columns only
  float acc[HEAD_V / 8][4];
  UNROLL for (int n = 0; n < HEAD_V / 8; ++n) {
    UNROLL for (int r = 0; r < 4; ++r) acc[n][r] = 0.0f;
  }

  // The same for every item of the group (b and kv are the group's).
  const bool chunks = k_column == 1 && chunked(k, k_first, k_row, d) && chunked(v, v_first, v_row, dv);
  const bool key_mask = mask_kind != MASK_NONE && mask_row == 0;
  // Where one round holds a whole tile, the next tile's chunks are fetched before this tile's
  // products and wait in registers: their loads overlap the arithmetic. A key mask's next values
  // likewise.
  const bool prefetch = chunks && CHUNK_ROUNDS == 1;
  __local ushort* v_halves = (__local ushort*)v_tile;
  uint4 k_next[PER_ROUND], v_next[PER_ROUND];
  float mask_next[MASK_PER_ITEM];
  if (prefetch) fetch_chunks(0, k, k_first, k_row, v, v_first, v_row, 0, sk, d, dv, tid, k_next, v_next);
  if (key_mask) fetch_key_mask(mask_next, mask, mask_kind, mask_true, mask_false, mask_first[0], mask_key, 0, sk, tid);
  for (int first = 0; first < key_end; first += BK) {
    if (key_mask) store_key_mask(mask_next, mask_tile, tid);
    if (prefetch) {
      store_chunks(0, tid, k_next, v_next, k_tile, v_halves);
    } else if (chunks) {
      for (int round = 0; round < CHUNK_ROUNDS; ++round) {
        uint4 k_chunk[PER_ROUND], v_chunk[PER_ROUND];
        fetch_chunks(round, k, k_first, k_row, v, v_first, v_row, first, sk, d, dv, tid, k_chunk, v_chunk);
        store_chunks(round, tid, k_chunk, v_chunk, k_tile, v_halves);
      }
    } else {
      for (int w = tid; w < BK * K_WORDS; w += THREADS) {
        const int j = w / K_WORDS, word = w % K_WORDS, key = first + j;
        k_tile[j * K_PITCH + word] = key < sk ? load_pair(k, k_first + key * k_row, 2 * word, d, k_column) : 0u;
      }
      for (int w = tid; w < BK * V_WORDS; w += THREADS) {
        const int j = w / V_WORDS, c = 2 * (w % V_WORDS), key = first + j;
        const uint pair = key < sk ? load_pair(v, v_first + key * v_row, c, dv, 1) : 0u;
        v_halves[c * (2 * V_PITCH) + j] = (ushort)(pair & 0xffffu);
        v_halves[(c + 1) * (2 * V_PITCH) + j] = (ushort)(pair >> 16);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (prefetch && first + BK < key_end) {
      fetch_chunks(0, k, k_first, k_row, v, v_first, v_row, first + BK, sk, d, dv, tid, k_next, v_next);
    }
    if (key_mask && first + BK < key_end) {
      fetch_key_mask(mask_next, mask, mask_kind, mask_true, mask_false, mask_first[0], mask_key, first + BK, sk, tid);
    }

    // Scores: octet n of keys is accumulator tile n (registers: rows row[r >> 1], key 2 member + (r & 1)).
    float s[BK / 8][4];
    UNROLL for (int n = 0; n < BK / 8; ++n) {
      UNROLL for (int r = 0; r < 4; ++r) s[n][r] = 0.0f;
    }
    UNROLL for (int step = 0; step < HEAD_K / 16; ++step) {
      UNROLL for (int n = 0; n < BK / 8; ++n) {
        const int at = (n * 8 + group_row) * K_PITCH + step * 8 + member;
        const uint fragment[2] = {k_tile[at], k_tile[at + 4]};
        WARP_MMA(s[n], q_fragment[step], fragment);
      }
    }

    float tile_max[2] = {-INFINITY, -INFINITY};
    UNROLL for (int n = 0; n < BK / 8; ++n) {
      UNROLL for (int r = 0; r < 4; ++r) {
        const int i = r >> 1, key = first + n * 8 + 2 * member + (r & 1);
        float x = -INFINITY;  // keys past the end weigh 0, as masked ones do
        if (key < sk && row[i] < sq) {
          x = scale * s[n][r];
          if (softcap > 0.0f) x = softcap * tanh(x / softcap);
          x *= LOG2E;
          if (key_mask) {
            x += mask_tile[key - first];
          } else if (mask_kind != MASK_NONE) {
            x += base2_mask(load_mask(mask, mask_kind, mask_true, mask_false, mask_first[i] + key * mask_key));
          }
          if (causal && key > row[i] + shift) x = -INFINITY;
        }
        s[n][r] = x;
        tile_max[i] = fmax(tile_max[i], x);
      }
    }
    float correction[2];
    for (int i = 0; i < 2; ++i) {
      const float new_max = fmax(running_max[i], QUAD_MAX(tile_max[i]));
      // While every score so far is -inf there is nothing to rescale or weigh (-inf - -inf is NaN).
      const bool none = new_max == -INFINITY;
      correction[i] = none ? 1.0f : exp2(running_max[i] - new_max);
      running_max[i] = none ? -INFINITY : new_max;
      running_sum[i] *= correction[i];
    }
    UNROLL for (int n = 0; n < BK / 8; ++n) {
      UNROLL for (int r = 0; r < 4; ++r) {
        const int i = r >> 1;
        const float p = running_max[i] == -INFINITY ? 0.0f : exp2(s[n][r] - running_max[i]);
        s[n][r] = p;
        running_sum[i] += p;
      }
    }
    UNROLL for (int n = 0; n < HEAD_V / 8; ++n) {
      UNROLL for (int r = 0; r < 4; ++r) acc[n][r] *= correction[r >> 1];
    }

    // p v: key octets 2 step and 2 step + 1 form the A fragment of keys 16 step .. 16 step + 15.
    UNROLL for (int step = 0; step < BK / 16; ++step) {
      const uint p_fragment[4] = {pack_halves(s[2 * step][0], s[2 * step][1]),
                                  pack_halves(s[2 * step][2], s[2 * step][3]),
                                  pack_halves(s[2 * step + 1][0], s[2 * step + 1][1]),
                                  pack_halves(s[2 * step + 1][2], s[2 * step + 1][3])};
      UNROLL for (int n = 0; n < HEAD_V / 8; ++n) {
        const int at = (n * 8 + group_row) * V_PITCH + step * 8 + member;
        const uint fragment[2] = {v_tile[at], v_tile[at + 4]};
        WARP_MMA(acc[n], p_fragment, fragment);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // the tiles are read before the next keys overwrite them
  }

  float total[2];
  for (int i = 0; i < 2; ++i) total[i] = QUAD_SUM(running_sum[i]);
  UNROLL for (int n = 0; n < HEAD_V / 8; ++n) {
    UNROLL for (int r = 0; r < 4; ++r) {
      const int i = r >> 1, column = n * 8 + 2 * member + (r & 1);
      if (row[i] >= sq || column >= dv) continue;
      // A sum of 0 means every score was -inf (the maximum's own term is exp2(0) = 1 otherwise).
      const bool zero = zero_masked_rows && total[i] == 0.0f;
      const idx_t at = out_offset + b * out_batch + h * out_head + row[i] * out_row + column;
      STORE_OUT(out, at, zero ? 0.0f : acc[n][r] / total[i]);
    }
  }
}
