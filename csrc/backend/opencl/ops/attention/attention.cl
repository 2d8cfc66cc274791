// Fused scaled dot-product attention (attention.h): out = softmax(cap(scale * q k^T) + mask) v for
// each (batch, head), cap(s) = softcap * tanh(s / softcap) when softcap > 0 (else s), FlashAttention's
// scheme on plain OpenCL (no tensor cores).
//
// One work-group of TX x BQ items per (batch, head, block of BQ query rows): item (x, y) works
// for query row y of the block. The block's q rows sit in local memory for the whole launch; the
// keys and values stream through one shared local tile of BK rows (K first, then V in the same
// memory). Per key tile, item (x, y) computes the score of row y against key x, the row's items
// agree on the tile's maximum, and each row keeps a running maximum and a running sum of
// exp(score - maximum); when the maximum grows, the sum and the accumulated output are rescaled
// by exp(old - new) (the online softmax). Item (x, y) accumulates output columns x, x + TX, ...
// of row y in registers. The Sq x Sk scores never leave local memory.
//
// Scores that are -inf (masked, causal) weigh 0; a row whose every score is -inf ends with a sum
// of 0 and writes 0 / 0 = NaN, as softmax then a product would (0 with zero_masked_rows). A NaN
// or +inf score makes the row NaN, also as softmax would. With keys_transposed, k is stored
// (B, Hk, D, Sk).
//
//   -DHEAD=<16|32|64|128|256>            the tiles' width: max(D, Dv) rounded up to TX times a power
//                                        of two (CHUNKS = HEAD / TX output columns per item)
//   -DQ_HALF -DK_HALF -DV_HALF -DOUT_HALF half storage of that operand (float without)
//   -DINDEX64                            64-bit index arithmetic (common.cl)
//   -DSPLIT_KEYS                         the keys in slices of key_chunk across work-groups (the third
//                                        range axis): each stores its rows' unnormalized output, running
//                                        maximum and sum, and attention_combine weighs the slices (where
//                                        batch x heads x row blocks alone would leave the device idle)
// Local memory: (BQ + BK) x (HEAD + 1) + 2 x BQ x (BK + 1) floats: 35 KB at HEAD = 256.

#define TX 16             // items per query row, and keys per tile
#define BQ 16             // query rows per work-group
#define BK TX             // keys per tile: item (x, y) scores key x, and loads key row y (BK == BQ)
#define CHUNKS (HEAD / TX)
#define PITCH (HEAD + 1)  // odd row pitch: the TX items of a row read TX different banks

#ifdef Q_HALF
#define Q_PTR __global const half*
#define LOAD_Q(p, i) vload_half((i), (p))
#else
#define Q_PTR __global const float*
#define LOAD_Q(p, i) ((p)[(i)])
#endif

#ifdef K_HALF
#define K_PTR __global const half*
#define LOAD_K(p, i) vload_half((i), (p))
#else
#define K_PTR __global const float*
#define LOAD_K(p, i) ((p)[(i)])
#endif

#ifdef V_HALF
#define V_PTR __global const half*
#define LOAD_V(p, i) vload_half((i), (p))
#else
#define V_PTR __global const float*
#define LOAD_V(p, i) ((p)[(i)])
#endif

#ifdef SPLIT_KEYS
#define SPLIT_PARAMETERS , int key_chunk, __global float* partials, long partials_offset
#else
#define SPLIT_PARAMETERS
#endif


// Operand element (b, h, s, c) sits at b * X_batch + h * X_head + s * X_row + c (k: + c * k_column), so
// dense (B, H, S, D) operands, k stored (B, Hk, D, Sk) and heads packed along the last axis of a
// (B, S, H x D) tensor are all read in place. mask_* are the mask's strides in elements along
// (B, H, Sq, Sk), 0 along a broadcast axis (with MASK_NONE, `mask` is any buffer and never read);
// batch entry b reads mask entry b % mask_batches (B, or the period of a mask that cycles along the
// batch: Swin's windows).
// keys_transposed only picks the load order of k's tiles (neighbouring items read neighbouring
// keys when k_row is 1). Launched as {TX x row_blocks x B x H, BQ} in groups of {TX, BQ}.
__kernel __attribute__((reqd_work_group_size(TX, BQ, 1)))
void attention(Q_PTR q, long q_offset, K_PTR k, long k_offset, V_PTR v, long v_offset, __global const half* mask,
               long mask_offset, int mask_kind, float mask_true, float mask_false, OUT_PTR out, long out_offset,
               int heads, int group,
               int row_blocks, int sq, int sk, int d, int dv, float scale, float softcap, int causal, int keys_transposed,
               int zero_masked_rows, int mask_batches, idx_t mask_batch, idx_t mask_head, idx_t mask_row, idx_t mask_key,
               idx_t q_batch, idx_t q_head, idx_t q_row, idx_t k_batch, idx_t k_head, idx_t k_row,
               idx_t k_column, idx_t v_batch, idx_t v_head, idx_t v_row, idx_t out_batch, idx_t out_head,
               idx_t out_row SPLIT_PARAMETERS) {
  __local float q_tile[BQ][PITCH];
  __local float kv_tile[BK][PITCH];  // the tile's keys, then its values
  __local float s_tile[BQ][BK + 1];  // scores
  __local float p_tile[BQ][BK + 1];  // exp(score - running maximum)
  const int x = get_local_id(0), y = get_local_id(1);
  const int block = get_group_id(0);
  const int bh = block / row_blocks;  // b * heads + h
  const int b = bh / heads, h = bh % heads;
  const int kv = h / group;
  const int row0 = (block % row_blocks) * BQ;
  const int row = row0 + y;
  const idx_t q_first = b * q_batch + h * q_head + row * q_row;
  const idx_t k_first = b * k_batch + kv * k_head;
  const idx_t v_first = b * v_batch + kv * v_head;
  const idx_t mask_first = (b % mask_batches) * mask_batch + h * mask_head + row * mask_row;

  for (int c = x; c < d; c += TX) q_tile[y][c] = row < sq ? LOAD_Q(q, q_offset + q_first + c) : 0.0f;

  // Query i sees keys j <= i + shift; the block's last row bounds the keys any of its rows sees.
  const int shift = sk - sq;
  const int key_end = causal ? clamp(row0 + BQ + shift, 0, sk) : sk;
  float running_max = -INFINITY, running_sum = 0.0f;
  float acc[CHUNKS];
  for (int c = 0; c < CHUNKS; ++c) acc[c] = 0.0f;

#ifdef SPLIT_KEYS
  const int key_begin = get_group_id(2) * key_chunk;  // key_chunk: a multiple of BK
  const int key_stop = min(key_end, key_begin + key_chunk);
#else
  const int key_begin = 0, key_stop = key_end;
#endif
  for (int first = key_begin; first < key_stop; first += BK) {
    const int loaded = first + y;  // the key (then value) row this item loads
    const int key = first + x;     // the key this item scores
    if (keys_transposed) {  // k (D, Sk) per head: neighbouring items read neighbouring keys
      for (int c = y; c < d; c += BQ) {
        kv_tile[x][c] = key < sk ? LOAD_K(k, k_offset + k_first + c * k_column + key * k_row) : 0.0f;
      }
    } else {
      for (int c = x; c < d; c += TX) {
        kv_tile[y][c] = loaded < sk ? LOAD_K(k, k_offset + k_first + loaded * k_row + c * k_column) : 0.0f;
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    float score = -INFINITY;  // keys past the end weigh 0, as masked ones do
    if (key < sk && row < sq) {
      float dot = 0.0f;
      for (int c = 0; c < d; ++c) dot = fma(q_tile[y][c], kv_tile[x][c], dot);
      score = scale * dot;
      if (softcap > 0.0f) score = softcap * tanh(score / softcap);
      if (mask_kind != MASK_NONE) {
        score += load_mask(mask, mask_kind, mask_true, mask_false, mask_offset + mask_first + key * mask_key);
      }
      if (causal && key > row + shift) score = -INFINITY;
    }
    s_tile[y][x] = score;
    barrier(CLK_LOCAL_MEM_FENCE);  // the tile's scores are written, and its keys no longer read

    float tile_max = -INFINITY;
    for (int j = 0; j < BK; ++j) tile_max = fmax(tile_max, s_tile[y][j]);
    const float new_max = fmax(running_max, tile_max);
    // While every score so far is -inf there is nothing to rescale and nothing to weigh (exp of
    // -inf - -inf would be NaN).
    const bool none = new_max == -INFINITY;
    const float correction = none ? 1.0f : exp(running_max - new_max);
    // A NaN score weighs NaN even then (fmax passes over it), so that it reaches the row.
    p_tile[y][x] = none ? (isnan(score) ? score : 0.0f) : exp(score - new_max);
    for (int c = x; c < dv; c += TX) {
      kv_tile[y][c] = loaded < sk ? LOAD_V(v, v_offset + v_first + loaded * v_row + c) : 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);

    float tile_sum = 0.0f;
    for (int j = 0; j < BK; ++j) tile_sum += p_tile[y][j];
    running_sum = running_sum * correction + tile_sum;
    running_max = new_max;
#pragma unroll
    for (int c = 0; c < CHUNKS; ++c) acc[c] *= correction;
    for (int j = 0; j < BK; ++j) {
      const float p = p_tile[y][j];
#pragma unroll
      for (int c = 0; c < CHUNKS; ++c) {
        const int column = x + c * TX;
        if (column < dv) acc[c] = fma(p, kv_tile[j][column], acc[c]);
      }
    }
    barrier(CLK_LOCAL_MEM_FENCE);  // the tile is read before the next keys overwrite it
  }

  if (row >= sq) return;
#ifdef SPLIT_KEYS
  // This slice's part of the row: maximum, sum, then the unnormalized output (dv + 2 floats per row).
  __global float* slot =
      partials + partials_offset + (((long)get_group_id(2) * get_num_groups(0) + block) * BQ + y) * (dv + 2);
  if (x == 0) {
    slot[0] = running_max;
    slot[1] = running_sum;
  }
  for (int c = 0; c < CHUNKS; ++c) {
    const int column = x + c * TX;
    if (column < dv) slot[2 + column] = acc[c];
  }
#else
  const idx_t out_first = b * out_batch + h * out_head + row * out_row;
  // A sum of 0 means every score was -inf (the maximum's own term is exp(0) = 1 otherwise).
  const bool zero = zero_masked_rows && running_sum == 0.0f;
#pragma unroll
  for (int c = 0; c < CHUNKS; ++c) {
    const int column = x + c * TX;
    if (column < dv) STORE_OUT(out, out_offset + out_first + column, zero ? 0.0f : acc[c] / running_sum);
  }
#endif
}

#ifdef SPLIT_KEYS
// out = the slices' outputs weighed by exp(their maximum - the row's), over the weighed sums: the
// online softmax's rescaling, across work-groups. Item (column, slot row): slot row = block x BQ + y
// as the slices stored them. Launched as {dv rounded up, groups x BQ} in groups of {TX, BQ}.
__kernel __attribute__((reqd_work_group_size(TX, BQ, 1)))
void attention_combine(__global const float* partials, long partials_offset, OUT_PTR out, long out_offset, int heads,
                       int row_blocks, int groups, int sq, int dv, int splits, int zero_masked_rows, idx_t out_batch,
                       idx_t out_head, idx_t out_row) {
  const int column = get_global_id(0), slot_row = get_global_id(1);
  if (column >= dv || slot_row >= groups * BQ) return;
  const int block = slot_row / BQ;
  const int row = (block % row_blocks) * BQ + slot_row % BQ;
  if (row >= sq) return;
  const int bh = block / row_blocks;
  const int b = bh / heads, h = bh % heads;
  const long split_stride = (long)groups * BQ * (dv + 2);
  __global const float* first = partials + partials_offset + (long)slot_row * (dv + 2);
  float maximum = -INFINITY;
  for (int s = 0; s < splits; ++s) maximum = fmax(maximum, first[s * split_stride]);
  float sum = 0.0f, value = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float slice_max = first[s * split_stride];
    // A slice whose every score was -inf (or none of its keys is seen) weighs 0; its sum may still
    // be NaN, which then reaches the row, as in one pass.
    const float weight = slice_max == -INFINITY ? 0.0f : exp(slice_max - maximum);
    const float slice_sum = first[s * split_stride + 1];
    sum += slice_max == -INFINITY ? (isnan(slice_sum) ? slice_sum : 0.0f) : slice_sum * weight;
    value += slice_max == -INFINITY ? (isnan(slice_sum) ? slice_sum : 0.0f)
                                    : first[s * split_stride + 2 + column] * weight;
  }
  const bool zero = zero_masked_rows && sum == 0.0f;
  STORE_OUT(out, out_offset + b * out_batch + h * out_head + row * out_row + column, zero ? 0.0f : value / sum);
}
#endif
