import {
  add,
  and,
  brIf,
  countedLoop,
  elseBranch,
  end,
  f32x4Add,
  f32x4Mul,
  f32x4RelaxedMadd,
  get,
  I32,
  i32,
  ifThen,
  ifV128,
  load,
  loadSplat,
  loop,
  ltU,
  mul,
  set,
  sized,
  store,
  sub,
  tee,
  uleb,
  V128,
  vec,
  zeroV128,
} from './wasm-asm.js';

/**
 * The body of `gemm(a, b, c, rows, n4, k, aRow, aK, bStride, cStride, accumulate, batches,
 * aBatch, bBatch, cBatch)`: for each of `batches` products (the t-th at `a + t*aBatch`,
 * `b + t*bBatch`, `c + t*cBatch`; a stride of 0 shares that operand),
 * `C[i, j] (+)= sum_{kk < k} A[i, kk] * B[kk, j]` for `i < rows`, `j < n4` (a multiple of 4),
 * `k >= 1`. Pointers are byte addresses in the heap; `A[i, kk]` is at `a + i*aRow + kk*aK`
 * (so a transposed A is just other strides), row `kk` of B starts at `b + kk*bStride` and row
 * `i` of C at `c + i*cStride`; both have their `n4` columns contiguous. C is overwritten, or
 * added to when `accumulate` is 1 (for splitting k into cache-sized blocks: see gemm-blocked.ts).
 *
 * Register tiles of 4 rows x 8 columns (8 accumulators, 2 B vectors, 1 splat: fits x64's 16
 * vector registers): for each column block, every row tile runs the whole k loop on the same
 * `k x 8` block of B, which stays in L1. Unlike XNNPACK, nothing is packed and there is no
 * operator to create, so a product costs only its arithmetic: the right tool for the many
 * small and medium products of batched attention (XNNPACK spends tens of microseconds per
 * product on setup and on repacking B). Ragged edges take 1-row and 4-column tiles. With
 * `fused`, each accumulator update is one `f32x4.relaxed_madd` (needs relaxed SIMD; see
 * simd-kernels.ts) instead of a multiply and an add.
 */
export function gemmBody(fused = false): number[] {
  const [a, b, c, rows, n4, k, aRow, aK, bStride, cStride, accumulate] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [batches, aBatch, bBatch, cBatch] = [11, 12, 13, 14];
  const [i, jb, kk, q, rows4, n8b, n4b, t] = [15, 16, 17, 18, 19, 20, 21, 22];
  const p = [23, 24, 25, 26];
  const acc = (r: number, v: number) => 27 + r * 2 + v;
  const bv = [35, 36];
  const s = 37;
  const locals = [
    [...uleb(12), I32],
    [...uleb(11), V128],
  ];

  /** c + (i + r) * cStride + jb + 16 v: where accumulator (r, v) of the tile at (i, jb) lives. */
  const cAddress = (r: number, v: number): number[] => [
    ...get(c),
    ...get(i),
    ...i32(r),
    ...add,
    ...get(cStride),
    ...mul,
    ...add,
    ...get(jb),
    ...add,
    ...(v > 0 ? [...i32(16 * v), ...add] : []),
  ];

  /** An R x (4V) tile at rows i.., column bytes jb.. */
  const tile = (R: number, V: number): number[] => {
    const code: number[] = [];
    for (let r = 0; r < R; r++) {
      // p_r = a + (i + r) * aRow
      code.push(...get(a), ...get(i), ...i32(r), ...add, ...get(aRow), ...mul, ...add, ...set(p[r]!));
    }
    code.push(...get(b), ...get(jb), ...add, ...set(q));
    for (let r = 0; r < R; r++) {
      for (let v = 0; v < V; v++) {
        code.push(
          ...get(accumulate),
          ...ifV128,
          ...cAddress(r, v),
          ...load,
          ...elseBranch,
          ...zeroV128,
          ...end,
        );
        code.push(...set(acc(r, v)));
      }
    }
    code.push(...get(k), ...set(kk), ...loop);
    for (let v = 0; v < V; v++) {
      code.push(...get(q), ...(v === 0 ? [] : [...i32(16 * v), ...add]), ...load, ...set(bv[v]!));
    }
    for (let r = 0; r < R; r++) {
      code.push(...get(p[r]!), ...loadSplat, ...set(s));
      for (let v = 0; v < V; v++) {
        code.push(
          ...(fused
            ? [...get(s), ...get(bv[v]!), ...get(acc(r, v)), ...f32x4RelaxedMadd]
            : [...get(acc(r, v)), ...get(s), ...get(bv[v]!), ...f32x4Mul, ...f32x4Add]),
          ...set(acc(r, v)),
        );
      }
      code.push(...get(p[r]!), ...get(aK), ...add, ...set(p[r]!));
    }
    code.push(...get(q), ...get(bStride), ...add, ...set(q));
    code.push(...get(kk), ...i32(1), ...sub, ...tee(kk), ...brIf(0), ...end);
    for (let r = 0; r < R; r++)
      for (let v = 0; v < V; v++) code.push(...cAddress(r, v), ...get(acc(r, v)), ...store);
    return code;
  };

  /** All rows for the column block at jb: 4-row tiles, then single rows. */
  const rowsOf = (V: number): number[] => [
    ...countedLoop(i, rows4, 4, tile(4, V)),
    ...countedLoop(i, rows, 1, tile(1, V), null),
  ];

  const code = [
    ...get(rows),
    ...i32(~3),
    ...and,
    ...set(rows4),
    ...get(n4),
    ...i32(4),
    ...mul,
    ...set(n4b),
    ...get(n4),
    ...i32(~7),
    ...and,
    ...i32(4),
    ...mul,
    ...set(n8b),
    ...countedLoop(t, batches, 1, [
      // 8-column blocks, then a last 4-column block
      ...countedLoop(jb, n8b, 32, rowsOf(2)),
      ...get(n8b),
      ...get(n4b),
      ...ltU,
      ...ifThen,
      ...get(n8b),
      ...set(jb),
      ...rowsOf(1),
      ...end,
      ...get(a),
      ...get(aBatch),
      ...add,
      ...set(a),
      ...get(b),
      ...get(bBatch),
      ...add,
      ...set(b),
      ...get(c),
      ...get(cBatch),
      ...add,
      ...set(c),
    ]),
    ...end,
  ];
  const body = [...vec(locals), ...code];
  return sized(body);
}
