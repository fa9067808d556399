import {
  add,
  countedLoop,
  elseBranch,
  end,
  f32x4Add,
  f32x4Const,
  f32x4Div,
  f32x4Max,
  f32x4Min,
  f32x4Mul,
  f32x4Nearest,
  f32x4Neg,
  f32x4Sub,
  get,
  I32,
  i32,
  i32x4Add,
  i32x4Const,
  i32x4Shl,
  i32x4TruncSatF32x4S,
  ifV128,
  load,
  set,
  sized,
  store,
  uleb,
  V128,
  vec,
} from './wasm-asm.js';

/**
 * SIMD bodies of the fused GroupNorm kernels (group-norm.ts), for a block of `rows` positions of
 * one sample, channels-last with `cBytes` = 4 * channels (channels a multiple of 4) per row.
 * Per-channel vectors (`ref`, `a`, `b`, ...) are `cBytes` long; every pointer is a byte offset.
 * The loops walk each row 4 channels at a time; rows advance by `cBytes`.
 */

/** `[...load from (base + k)]` for a pointer local and the channel-byte counter k. */
const at = (base: number, k: number) => [...get(base), ...get(k), ...add];
const loadAt = (base: number, k: number) => [...at(base, k), ...load];
/** `vector[k] += value` where `value` is the code leaving one v128 on the stack. */
const accumulate = (base: number, k: number, value: number[]) => [
  ...at(base, k),
  ...loadAt(base, k),
  ...value,
  ...f32x4Add,
  ...store,
];
/** `pointer += cBytes` (next row). */
const advance = (pointer: number, cBytes: number) => [
  ...get(pointer),
  ...get(cBytes),
  ...add,
  ...set(pointer),
];

/**
 * Leaves `sigmoid(z) = 1 / (1 + exp(-z))` on the stack, using v128 locals `t` and `n` as
 * scratch. exp(t) for t = -z clamped to [-87, 87]: n = round(t / ln 2), r = t - n ln 2 (in two
 * parts), exp(r) by its degree-6 Taylor polynomial (|r| <= ln 2 / 2: relative error < 2e-7),
 * times 2^n built in the exponent bits.
 */
function sigmoidCode(z: number, t: number, n: number): number[] {
  const horner = [1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1].flatMap((c) => [
    ...get(t),
    ...f32x4Mul,
    ...f32x4Const(c),
    ...f32x4Add,
  ]);
  return [
    ...get(z),
    ...f32x4Neg,
    ...f32x4Const(87),
    ...f32x4Min,
    ...f32x4Const(-87),
    ...f32x4Max,
    ...set(t),
    ...get(t),
    ...f32x4Const(Math.LOG2E),
    ...f32x4Mul,
    ...f32x4Nearest,
    ...set(n),
    // r = t - n * ln2_hi - n * ln2_lo (ln2_hi has few mantissa bits, so n * ln2_hi is exact)
    ...get(t),
    ...get(n),
    ...f32x4Const(0.693359375),
    ...f32x4Mul,
    ...f32x4Sub,
    ...get(n),
    ...f32x4Const(-2.1219444e-4),
    ...f32x4Mul,
    ...f32x4Sub,
    ...set(t),
    ...f32x4Const(1 / 720),
    ...horner,
    // * 2^n: (int(n) + 127) << 23 is the float 2^n
    ...get(n),
    ...i32x4TruncSatF32x4S,
    ...i32x4Const(127),
    ...i32x4Add,
    ...i32(23),
    ...i32x4Shl,
    ...f32x4Mul,
    ...f32x4Const(1),
    ...f32x4Add,
    ...set(t),
    ...f32x4Const(1),
    ...get(t),
    ...f32x4Div,
  ];
}

/**
 * shiftedSums(x, rows, cBytes, ref, sum, sq): `d = x[r] - ref; sum += d; sq += d * d` per
 * channel over the rows. Shifting by a value near the mean (the caller passes the sample's
 * first row) keeps the variance accurate when the mean is large against the spread.
 */
export function shiftedSumsBody(): number[] {
  const [x, rows, cBytes, ref, sum, sq] = [0, 1, 2, 3, 4, 5];
  const [r, k, d] = [6, 7, 8];
  const locals = [
    [...uleb(2), I32],
    [...uleb(1), V128],
  ];
  const code = [
    ...countedLoop(r, rows, 1, [
      ...countedLoop(k, cBytes, 16, [
        ...loadAt(x, k),
        ...loadAt(ref, k),
        ...f32x4Sub,
        ...set(d),
        ...accumulate(sum, k, get(d)),
        ...accumulate(sq, k, [...get(d), ...get(d), ...f32x4Mul]),
      ]),
      ...advance(x, cBytes),
    ]),
    ...end,
  ];
  return sized([...vec(locals), ...code]);
}

/** normAct(x, y, rows, cBytes, a, b, silu): `z = x * a + b; y = silu ? z * sigmoid(z) : z`. */
export function normActBody(): number[] {
  const [x, y, rows, cBytes, a, b, silu] = [0, 1, 2, 3, 4, 5, 6];
  const [r, k, z, t, n] = [7, 8, 9, 10, 11];
  const locals = [
    [...uleb(2), I32],
    [...uleb(3), V128],
  ];
  const code = [
    ...countedLoop(r, rows, 1, [
      ...countedLoop(k, cBytes, 16, [
        ...at(y, k),
        ...loadAt(x, k),
        ...loadAt(a, k),
        ...f32x4Mul,
        ...loadAt(b, k),
        ...f32x4Add,
        ...set(z),
        ...get(silu),
        ...ifV128,
        ...get(z),
        ...sigmoidCode(z, t, n),
        ...f32x4Mul,
        ...elseBranch,
        ...get(z),
        ...end,
        ...store,
      ]),
      ...advance(x, cBytes),
      ...advance(y, cBytes),
    ]),
    ...end,
  ];
  return sized([...vec(locals), ...code]);
}

/**
 * normActGrad(x, dy, dz, rows, cBytes, a, b, sumDz, sumDzX, silu): the gradient at z,
 * `dz = silu ? dy * s * (1 + z * (1 - s)) : dy` with `z = x * a + b`, `s = sigmoid(z)`; and per
 * channel `sumDz += dz`, `sumDzX += dz * x`.
 */
export function normActGradBody(): number[] {
  const [x, dy, dz, rows, cBytes, a, b, sumDz, sumDzX, silu] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const [r, k, xv, z, t, n, d, s] = [10, 11, 12, 13, 14, 15, 16, 17];
  const locals = [
    [...uleb(2), I32],
    [...uleb(6), V128],
  ];
  const code = [
    ...countedLoop(r, rows, 1, [
      ...countedLoop(k, cBytes, 16, [
        ...loadAt(x, k),
        ...set(xv),
        ...get(silu),
        ...ifV128,
        ...get(xv),
        ...loadAt(a, k),
        ...f32x4Mul,
        ...loadAt(b, k),
        ...f32x4Add,
        ...set(z),
        ...sigmoidCode(z, t, n),
        ...set(s),
        // dy * s * (1 + z * (1 - s))
        ...loadAt(dy, k),
        ...get(s),
        ...f32x4Mul,
        ...f32x4Const(1),
        ...get(z),
        ...f32x4Const(1),
        ...get(s),
        ...f32x4Sub,
        ...f32x4Mul,
        ...f32x4Add,
        ...f32x4Mul,
        ...elseBranch,
        ...loadAt(dy, k),
        ...end,
        ...set(d),
        ...at(dz, k),
        ...get(d),
        ...store,
        ...accumulate(sumDz, k, get(d)),
        ...accumulate(sumDzX, k, [...get(d), ...get(xv), ...f32x4Mul]),
      ]),
      ...advance(x, cBytes),
      ...advance(dy, cBytes),
      ...advance(dz, cBytes),
    ]),
    ...end,
  ];
  return sized([...vec(locals), ...code]);
}

/** combine(u, v, out, rows, cBytes, p, q, c): `out = u * p + v * q + c` per channel. */
export function combineBody(): number[] {
  const [u, v, out, rows, cBytes, p, q, c] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, k] = [8, 9];
  const locals = [[...uleb(2), I32]];
  const code = [
    ...countedLoop(r, rows, 1, [
      ...countedLoop(k, cBytes, 16, [
        ...at(out, k),
        ...loadAt(u, k),
        ...loadAt(p, k),
        ...f32x4Mul,
        ...loadAt(v, k),
        ...loadAt(q, k),
        ...f32x4Mul,
        ...f32x4Add,
        ...loadAt(c, k),
        ...f32x4Add,
        ...store,
      ]),
      ...advance(u, cBytes),
      ...advance(v, cBytes),
      ...advance(out, cBytes),
    ]),
    ...end,
  ];
  return sized([...vec(locals), ...code]);
}
