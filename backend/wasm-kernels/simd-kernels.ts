import v8 from 'node:v8';
import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { gemmBody } from './simd-gemm.js';
import { combineBody, normActBody, normActGradBody, shiftedSumsBody } from './simd-norm.js';
import {
  add,
  countedLoop,
  end,
  f32x4Add,
  f32x4RelaxedMadd,
  f32x4Splat,
  get,
  I32,
  i32,
  load,
  loadF32,
  mul,
  name,
  section,
  set,
  shuffle,
  sized,
  store,
  uleb,
  V128,
  vec,
} from './wasm-asm.js';
import type { WasmBackend } from './wasm-backend.js';

/**
 * Small SIMD routines assembled at runtime into a WebAssembly module that imports
 * tfjs-backend-wasm's own memory, so they work in place on tensors in the heap (pointers are
 * byte offsets into that memory). tfjs-backend-wasm 4.22's transpose moves one element at a
 * time (~1.75 ns per float for large 2-D transposes); this one moves 4x4 tiles through SIMD
 * registers; column sums add 4 lanes at a time; repeats store splatted lanes; strided row
 * copies move 16 bytes at a time; a register-tiled GEMM needs no packing (simd-gemm.ts). The module is
 * hand-assembled (no toolchain needed): see the `*Body` functions, written as annotated bytecode.
 */
export interface SimdKernels {
  /**
   * `dst[c][r] = src[r][c]` for the `rows4 x cols4` top-left part of a row-major
   * `[rows, cols]` matrix (both multiples of 4), written into a row-major `[cols, rows]`.
   */
  transposeTiles(src: number, dst: number, rows: number, cols: number, rows4: number, cols4: number): void;
  /**
   * `dst[c] += src[r*stride + c]` for every row `r < rows` and `c < cols4` (a multiple of 4):
   * column sums of a row-major block, accumulated into `dst`.
   */
  addRows(src: number, dst: number, rows: number, stride: number, cols4: number): void;
  /** `dst[i*reps + j] = src[i]` for `i < count`, `j < reps4` (a multiple of 4). */
  repeatInner(src: number, dst: number, count: number, reps: number, reps4: number): void;
  /**
   * Copies `rows` rows of `bytes16` bytes (a multiple of 16) from `src` to `dst`, advancing
   * `srcStride` and `dstStride` bytes per row: strided block copies (concat, interleaves).
   */
  copyRows(
    src: number,
    dst: number,
    rows: number,
    srcStride: number,
    dstStride: number,
    bytes16: number,
  ): void;
  /**
   * `C = A B` (or `C += A B` with `accumulate`) for a `rows x k` A and a `k x n4` B (`n4` a
   * multiple of 4, `k >= 1`), `batches` times with byte strides between the products (0 shares
   * an operand). Byte pointers and strides: see simd-gemm.ts.
   */
  gemm(
    a: number,
    b: number,
    c: number,
    rows: number,
    n4: number,
    k: number,
    aRow: number,
    aK: number,
    bStride: number,
    cStride: number,
    accumulate: 0 | 1,
    batches: number,
    aBatch: number,
    bBatch: number,
    cBatch: number,
  ): void;
  /**
   * The fused GroupNorm passes over `rows` channels-last rows of `cBytes` bytes (simd-norm.ts):
   * per-channel shifted sums and sums of squares, `silu?(x * a + b)`, its gradient with
   * per-channel sums, and `u * p + v * q + c`.
   */
  shiftedSums(x: number, rows: number, cBytes: number, ref: number, sum: number, sq: number): void;
  normAct(x: number, y: number, rows: number, cBytes: number, a: number, b: number, silu: 0 | 1): void;
  normActGrad(
    x: number,
    dy: number,
    dz: number,
    rows: number,
    cBytes: number,
    a: number,
    b: number,
    sumDz: number,
    sumDzX: number,
    silu: 0 | 1,
  ): void;
  combine(
    u: number,
    v: number,
    out: number,
    rows: number,
    cBytes: number,
    p: number,
    q: number,
    c: number,
  ): void;
  /** Whether gemm multiplies and adds with relaxed SIMD's `f32x4.relaxed_madd` (see relaxedSimd). */
  readonly fused: boolean;
}

const cache = new WeakMap<object, SimdKernels | null>();

/**
 * tfjs flag to switch the SIMD routines off (true by default); the kernels then take their
 * plain paths. Tests use it to check those paths against the cpu backend too.
 */
export const SIMD_FLAG = 'CASCADE_WASM_SIMD_KERNELS';
tf.env().registerFlag(SIMD_FLAG, () => true);

/**
 * tfjs flag: the GEMM multiplies and adds with `f32x4.relaxed_madd` where the runtime has
 * relaxed SIMD (true by default; see relaxedSimd); false keeps separate SIMD multiplies and
 * adds. Read when a backend's routines are first built.
 */
export const FMA_FLAG = 'CASCADE_WASM_FMA';
tf.env().registerFlag(FMA_FLAG, () => true);

/** (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd): validates iff relaxed SIMD is on. */
const RELAXED_PROBE = Uint8Array.from([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...section(1, vec([[0x60, ...vec([[V128], [V128], [V128]]), ...vec([[V128]])]])),
  ...section(3, vec([uleb(0)])),
  ...section(10, vec([sized([0x00, ...get(0), ...get(1), ...get(2), ...f32x4RelaxedMadd, ...end])])),
]);

/**
 * Whether wasm relaxed SIMD is available, switching it on in V8 if needed. Its
 * `f32x4.relaxed_madd` becomes one FMA instruction on CPUs that have one: the GEMM then runs
 * 1.14-1.31x faster than with a multiply and an add (A/B on this project's 2-core machine),
 * and rounds once instead of twice, so results differ in the last bits from a CPU
 * without FMA (but not between runs or workers on one machine). Node 22+ (V8 11.4+) ships
 * relaxed SIMD; Node 20's V8 has it behind `--experimental-wasm-relaxed-simd`, a process-wide
 * flag that only adds wasm opcodes.
 */
function relaxedSimd(): boolean {
  if (wasmApi.validate(RELAXED_PROBE)) return true;
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return wasmApi.validate(RELAXED_PROBE);
}

/** The parts of the global `WebAssembly` API used here (the project's `lib` does not declare it). */
interface WebAssemblyApi {
  Memory: abstract new (...args: never[]) => object;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}

const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The routines for this backend's heap, or undefined when they cannot run (no wasm SIMD, shared memory). */
export function simdKernels(backend: WasmBackend): SimdKernels | undefined {
  if (!tf.env().getBool(SIMD_FLAG)) return undefined;
  const cached = cache.get(backend.wasm);
  if (cached !== undefined) return cached ?? undefined;
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) {
    throw new CascadeError(
      'INTERNAL',
      'tfjs-backend-wasm does not expose its memory as wasm.asm.memory (expected with 4.22); the project kernels need it.',
    );
  }
  const fused = tf.env().getBool(FMA_FLAG) && relaxedSimd();
  const bytes = moduleBytes(fused);
  if (!wasmApi.validate(bytes)) {
    cache.set(backend.wasm, null);
    return undefined;
  }
  let kernels: SimdKernels | null = null;
  try {
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    kernels = { ...(instance.exports as Omit<SimdKernels, 'fused'>), fused };
  } catch {
    // E.g. a threaded build's shared memory does not match this module's memory import; the
    // kernels then take their non-SIMD paths.
  }
  cache.set(backend.wasm, kernels);
  return kernels ?? undefined;
}

/**
 * transposeTiles(src, dst, rows, cols, rows4, cols4): for r in 0..rows4 step 4, c in 0..cols4
 * step 4, load the 4 rows of the tile, transpose them with 8 shuffles, store 4 columns.
 */
function transposeBody(): number[] {
  // Parameters 0-5; locals: 6 r, 7 c, 8 p (tile source), 9 q (tile target), 10 rowBytes,
  // 11 colBytes, then v128 12-15 (rows a..d), 16-19 (pairs).
  const [src, dst, rows, cols, rows4, cols4] = [0, 1, 2, 3, 4, 5];
  const [r, c, p, q, rowBytes, colBytes] = [6, 7, 8, 9, 10, 11];
  const [va, vb, vc, vd, t0, t1, t2, t3] = [12, 13, 14, 15, 16, 17, 18, 19];
  const locals = [
    [...uleb(6), I32],
    [...uleb(8), V128],
  ];
  const at = (base: number, k: number, stride: number) =>
    k === 0 ? get(base) : [...get(base), ...get(stride), ...i32(k), ...mul, ...add];
  const code = [
    ...get(cols),
    ...i32(4),
    ...mul,
    ...set(rowBytes),
    ...get(rows),
    ...i32(4),
    ...mul,
    ...set(colBytes),
    ...countedLoop(r, rows4, 4, [
      ...countedLoop(c, cols4, 4, [
        // p = src + (r*cols + c)*4 ; q = dst + (c*rows + r)*4
        ...get(src),
        ...get(r),
        ...get(rowBytes),
        ...mul,
        ...add,
        ...get(c),
        ...i32(4),
        ...mul,
        ...add,
        ...set(p),
        ...get(dst),
        ...get(c),
        ...get(colBytes),
        ...mul,
        ...add,
        ...get(r),
        ...i32(4),
        ...mul,
        ...add,
        ...set(q),
        ...at(p, 0, rowBytes),
        ...load,
        ...set(va),
        ...at(p, 1, rowBytes),
        ...load,
        ...set(vb),
        ...at(p, 2, rowBytes),
        ...load,
        ...set(vc),
        ...at(p, 3, rowBytes),
        ...load,
        ...set(vd),
        // t0 = a0 b0 a1 b1, t1 = a2 b2 a3 b3, t2 = c0 d0 c1 d1, t3 = c2 d2 c3 d3
        ...get(va),
        ...get(vb),
        ...shuffle([0, 4, 1, 5]),
        ...set(t0),
        ...get(va),
        ...get(vb),
        ...shuffle([2, 6, 3, 7]),
        ...set(t1),
        ...get(vc),
        ...get(vd),
        ...shuffle([0, 4, 1, 5]),
        ...set(t2),
        ...get(vc),
        ...get(vd),
        ...shuffle([2, 6, 3, 7]),
        ...set(t3),
        // columns: a0 b0 c0 d0 | a1 b1 c1 d1 | a2 b2 c2 d2 | a3 b3 c3 d3
        ...at(q, 0, colBytes),
        ...get(t0),
        ...get(t2),
        ...shuffle([0, 1, 4, 5]),
        ...store,
        ...at(q, 1, colBytes),
        ...get(t0),
        ...get(t2),
        ...shuffle([2, 3, 6, 7]),
        ...store,
        ...at(q, 2, colBytes),
        ...get(t1),
        ...get(t3),
        ...shuffle([0, 1, 4, 5]),
        ...store,
        ...at(q, 3, colBytes),
        ...get(t1),
        ...get(t3),
        ...shuffle([2, 3, 6, 7]),
        ...store,
      ]),
    ]),
    ...end,
  ];
  const body = [...vec(locals), ...code];
  return sized(body);
}

/** addRows(src, dst, rows, stride, cols4): for r < rows, c < cols4 step 4: dst[c..] += src[r][c..]. */
function addRowsBody(): number[] {
  // Parameters 0-4; locals: 5 r, 6 c, 7 p (row start in bytes), 8 rowBytes.
  const [src, dst, rows, stride, cols4] = [0, 1, 2, 3, 4];
  const [r, c, p, rowBytes] = [5, 6, 7, 8];
  const locals = [[...uleb(4), I32]];
  const code = [
    ...get(stride),
    ...i32(4),
    ...mul,
    ...set(rowBytes),
    ...get(src),
    ...set(p),
    ...countedLoop(r, rows, 1, [
      ...countedLoop(c, cols4, 4, [
        // dst + c*4 (address for the store), then dst[c..] + p[c..]
        ...get(dst),
        ...get(c),
        ...i32(4),
        ...mul,
        ...add,
        ...get(dst),
        ...get(c),
        ...i32(4),
        ...mul,
        ...add,
        ...load,
        ...get(p),
        ...get(c),
        ...i32(4),
        ...mul,
        ...add,
        ...load,
        ...f32x4Add,
        ...store,
      ]),
      ...get(p),
      ...get(rowBytes),
      ...add,
      ...set(p),
    ]),
    ...end,
  ];
  const body = [...vec(locals), ...code];
  return sized(body);
}

/** repeatInner(src, dst, count, reps, reps4): for i < count: v = splat(src[i]); store v over dst row i. */
function repeatInnerBody(): number[] {
  // Parameters 0-4; locals: 5 i, 6 j, 7 p (row start in bytes), 8 rowBytes; 9 v (v128).
  const [src, dst, count, reps, reps4] = [0, 1, 2, 3, 4];
  const [i, j, p, rowBytes, v] = [5, 6, 7, 8, 9];
  const locals = [
    [...uleb(4), I32],
    [...uleb(1), V128],
  ];
  const code = [
    ...get(reps),
    ...i32(4),
    ...mul,
    ...set(rowBytes),
    ...get(dst),
    ...set(p),
    ...countedLoop(i, count, 1, [
      // v = splat(src[i])
      ...get(src),
      ...get(i),
      ...i32(4),
      ...mul,
      ...add,
      ...loadF32,
      ...f32x4Splat,
      ...set(v),
      ...countedLoop(j, reps4, 4, [...get(p), ...get(j), ...i32(4), ...mul, ...add, ...get(v), ...store]),
      ...get(p),
      ...get(rowBytes),
      ...add,
      ...set(p),
    ]),
    ...end,
  ];
  const body = [...vec(locals), ...code];
  return sized(body);
}

/** copyRows(src, dst, rows, srcStride, dstStride, bytes16): 16 bytes at a time, row by row. */
function copyRowsBody(): number[] {
  // Parameters 0-5 (byte units); locals: 6 r, 7 j.
  const [src, dst, rows, srcStride, dstStride, bytes16] = [0, 1, 2, 3, 4, 5];
  const [r, j] = [6, 7];
  const locals = [[...uleb(2), I32]];
  const code = [
    ...countedLoop(r, rows, 1, [
      ...countedLoop(j, bytes16, 16, [
        ...get(dst),
        ...get(j),
        ...add,
        ...get(src),
        ...get(j),
        ...add,
        ...load,
        ...store,
      ]),
      ...get(src),
      ...get(srcStride),
      ...add,
      ...set(src),
      ...get(dst),
      ...get(dstStride),
      ...add,
      ...set(dst),
    ]),
    ...end,
  ];
  const body = [...vec(locals), ...code];
  return sized(body);
}

function funcType(params: number): number[] {
  return [0x60, ...vec(new Array<number[]>(params).fill([I32])), ...vec([])];
}

function moduleBytes(fused: boolean): Uint8Array {
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([funcType(6), funcType(5), funcType(15), funcType(7), funcType(10), funcType(8)])),
    // import env.memory: memory with min 1 page and no maximum
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, ...uleb(1)]])),
    ...section(3, vec([uleb(0), uleb(1), uleb(1), uleb(0), uleb(2), uleb(0), uleb(3), uleb(4), uleb(5)])),
    ...section(
      7,
      vec([
        [...name('transposeTiles'), 0x00, ...uleb(0)],
        [...name('addRows'), 0x00, ...uleb(1)],
        [...name('repeatInner'), 0x00, ...uleb(2)],
        [...name('copyRows'), 0x00, ...uleb(3)],
        [...name('gemm'), 0x00, ...uleb(4)],
        [...name('shiftedSums'), 0x00, ...uleb(5)],
        [...name('normAct'), 0x00, ...uleb(6)],
        [...name('normActGrad'), 0x00, ...uleb(7)],
        [...name('combine'), 0x00, ...uleb(8)],
      ]),
    ),
    ...section(
      10,
      vec([
        transposeBody(),
        addRowsBody(),
        repeatInnerBody(),
        copyRowsBody(),
        gemmBody(fused),
        shiftedSumsBody(),
        normActBody(),
        normActGradBody(),
        combineBody(),
      ]),
    ),
  ];
  return Uint8Array.from(bytes);
}
