import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { gemmBlocked } from './gemm-blocked.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';
import { type SimdKernels, simdKernels } from './simd-kernels.js';
import { stockKernel } from './stock-kernels.js';
import { transposeF32, transposeMatrix } from './transpose-f32.js';

/**
 * BatchMatMul for wasm, replacing tfjs-backend-wasm 4.22's kernel, whose only fast path is a
 * single 2-D product without transposes (everything else runs a scalar loop at 1-2 GFLOP/s).
 *
 * When the output's last dimension is a multiple of 4, every product runs on the project's
 * SIMD GEMM (simd-gemm.ts, in cache blocks by gemm-blocked.ts) straight on the operands: a
 * transposed A is read through its strides, a transposed B is transposed first (SIMD tiles).
 * It packs nothing and creates no operator, and one call runs a whole batch, so a batch of
 * small products (attention) runs 2-3x faster than on XNNPACK (A/B in one process), large
 * ones about as fast.
 *
 * Otherwise products run as plain 2-D XNNPACK matmuls `X [r, k] x Y [k, c]` on views of the
 * operands, each written straight into its slice of the output (no slicing or concatenation).
 * XNNPACK repacks `Y` for every new tensor (about 3x the cost of transposing it), so each
 * call picks the cheapest (by the cost model below) of
 *   - `C = A B` (X = A, Y = B),
 *   - `C = (B^T A^T)^T` (X = B^T, Y = A^T), which packs A instead of B and transposes the
 *     result (for `A^T B^T` it needs no operand transposes at all),
 *   - the stock scalar C++ loop, for many tiny products where operator setup dominates.
 * An operand that arrives the wrong way round is transposed batch by batch into a small
 * scratch buffer (SIMD tiles) just before its product, while it is still in cache. When `Y`
 * is the same for every batch (its batch dims are all 1), all batches share one
 * `[batch*r, k] x [k, c]` product. Batch dims broadcast as in `tf.matMul`.
 */
function batchMatMul(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const a = args.inputs.a!;
  const b = args.inputs.b!;
  const { transposeA, transposeB } = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `BatchMatMul on wasm needs float32 operands, got ${a.dtype} and ${b.dtype}; cast them with tf.cast(x, 'float32') first.`,
      { details: { aDtype: a.dtype, bDtype: b.dtype } },
    );
  }
  const gemmReady = simdKernels(args.backend as KernelScope['backend']) !== undefined;
  if (isPlainScalarProduct(a, b, transposeA, transposeB, gemmReady)) {
    // Tiny products without broadcasting: exactly the stock kernel's own work, minus setup.
    return stockKernel('BatchMatMul')(args as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  }
  return withKernelScope(args.backend, [a, b], (scope) => matMulInScope(scope, a, b, transposeA, transposeB));
}

/**
 * Whether the plan is the stock scalar loop and both operands have every batch (never when
 * the SIMD GEMM is ready and takes the product: `gemmReady` and n a multiple of 4).
 */
function isPlainScalarProduct(
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  gemmReady: boolean,
): boolean {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  if (aRank !== bRank || a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) return false;
  const batches = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  if (k !== kB || batches * m * n * k === 0 || (gemmReady && n % 4 === 0)) return false;
  return (
    matMulPlan({ aCount: batches, bCount: batches, batches, m, k, n, transposeA, transposeB }) === 'scalar'
  );
}

/**
 * Cost model in nanoseconds, measured on tfjs-backend-wasm 4.22 (SIMD, one thread): XNNPACK
 * repacks its right operand for every new tensor (~2.6 ns per element), a 2-D transpose costs
 * ~0.8 ns per element (SIMD tiles, memory-bound), creating/running/deleting an operator ~15 us,
 * XNNPACK's GEMM runs at ~28 GFLOP/s; the stock C++ loop runs at ~1.7 GFLOP/s with no setup
 * cost, so it wins for many tiny products (temporal attention over a few frames).
 */
const NS_PER_TRANSPOSED = 0.8;
const NS_PER_PACKED = 2.6;
const NS_PER_OPERATOR = 15_000;
const NS_PER_FLOP_XNNPACK = 1 / 28;
const NS_PER_FLOP_SCALAR = 0.6;

export type MatMulPlan = 'scalar' | 'direct' | 'swapped';

/**
 * Which way a product runs: `direct` (`A B`), `swapped` (`(B^T A^T)^T`) or `scalar` (the stock
 * C++ loop). `aCount`/`bCount` are the operands' batch sizes, `batches` the broadcast one.
 */
export function matMulPlan(p: {
  aCount: number;
  bCount: number;
  batches: number;
  m: number;
  k: number;
  n: number;
  transposeA: boolean;
  transposeB: boolean;
}): MatMulPlan {
  const { aCount, bCount, batches, m, k, n, transposeA, transposeB } = p;
  const operators = (yCount: number) => (yCount === 1 ? 1 : batches);
  const flops = 2 * batches * m * k * n;
  const scalar = NS_PER_FLOP_SCALAR * flops;
  const direct =
    NS_PER_TRANSPOSED * ((transposeA ? aCount * m * k : 0) + (transposeB ? bCount * k * n : 0)) +
    NS_PER_PACKED * bCount * k * n +
    NS_PER_OPERATOR * operators(bCount) +
    NS_PER_FLOP_XNNPACK * flops;
  const swapped =
    NS_PER_TRANSPOSED *
      ((transposeB ? 0 : bCount * k * n) + (transposeA ? 0 : aCount * m * k) + batches * m * n) +
    NS_PER_PACKED * aCount * m * k +
    NS_PER_OPERATOR * operators(aCount) +
    NS_PER_FLOP_XNNPACK * flops;
  if (scalar < Math.min(direct, swapped)) return 'scalar';
  return direct <= swapped ? 'direct' : 'swapped';
}

/** The product in an existing scope; also used by the fused matmul kernel. */
export function matMulInScope(
  scope: KernelScope,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const aRank = a.shape.length;
  const bRank = b.shape.length;
  const m = transposeA ? a.shape[aRank - 1]! : a.shape[aRank - 2]!;
  const k = transposeA ? a.shape[aRank - 2]! : a.shape[aRank - 1]!;
  const kB = transposeB ? b.shape[bRank - 1]! : b.shape[bRank - 2]!;
  const n = transposeB ? b.shape[bRank - 2]! : b.shape[bRank - 1]!;
  if (k !== kB) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `matMul inner dimensions differ: a [${a.shape.join(', ')}] (transposeA=${transposeA}) has ${k}, b [${b.shape.join(', ')}] (transposeB=${transposeB}) has ${kB}; they must match.`,
      { details: { aShape: a.shape, bShape: b.shape, transposeA, transposeB } },
    );
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const outShape = [...outBatch, m, n];
  const batches = tf.util.sizeFromShape(outBatch);
  if (batches * m * n === 0) return scope.alloc(outShape);
  if (k === 0) {
    const out = scope.alloc(outShape);
    scope.f32(out).fill(0);
    return out;
  }
  const simd = simdKernels(scope.backend);
  if (simd !== undefined && n % 4 === 0) {
    return gemmProducts(scope, simd, { a, b, aBatch, bBatch, outBatch }, [m, k, n], transposeA, transposeB);
  }
  const aCount = tf.util.sizeFromShape(aBatch);
  const bCount = tf.util.sizeFromShape(bBatch);
  const plan = matMulPlan({ aCount, bCount, batches, m, k, n, transposeA, transposeB });
  if (plan === 'scalar') {
    return scalarProducts(scope, a, b, outBatch, [m, k, n], transposeA, transposeB);
  }
  if (plan === 'direct') {
    const product = products(scope, { x: a, y: b, xBatch: aBatch, yBatch: bBatch, outBatch }, [m, k, n], {
      x: transposeA,
      y: transposeB,
    });
    return scope.reshape(product, outShape);
  }
  // C^T = B^T A^T: B^T is b as given when transposeB, A^T is a as given when transposeA.
  const product = products(scope, { x: b, y: a, xBatch: bBatch, yBatch: aBatch, outBatch }, [n, k, m], {
    x: !transposeB,
    y: !transposeA,
  });
  return scope.reshape(transposeF32(scope, scope.reshape(product, [batches, n, m]), [0, 2, 1]), outShape);
}

/**
 * Every product on the SIMD GEMM, written straight into its slice of the output: A through
 * its strides either way round, B transposed first when it arrives as `[n, k]`. When each
 * operand either has every batch or is shared by all (the usual case), one GEMM call covers
 * all products (batch strides); otherwise (partial broadcasting) one call per product.
 */
function gemmProducts(
  scope: KernelScope,
  simd: SimdKernels,
  operands: { a: tf.TensorInfo; b: tf.TensorInfo; aBatch: number[]; bBatch: number[]; outBatch: number[] },
  [m, k, n]: [number, number, number],
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const { a, aBatch, bBatch, outBatch } = operands;
  const batches = tf.util.sizeFromShape(outBatch);
  const aCount = tf.util.sizeFromShape(aBatch);
  const bCount = tf.util.sizeFromShape(bBatch);
  const out = scope.alloc([...outBatch, m, n]);
  const b = transposeB
    ? transposeF32(scope, scope.reshape(operands.b, [bCount, n, k]), [0, 2, 1])
    : operands.b;
  const aAt = 4 * scope.heapIndex(a);
  const bAt = 4 * scope.heapIndex(b);
  const outAt = 4 * scope.heapIndex(out);
  const shape = {
    rows: m,
    n,
    k,
    aRow: transposeA ? 4 : 4 * k,
    aK: transposeA ? 4 * m : 4,
    bStride: 4 * n,
    cStride: 4 * n,
  };
  const regular = (count: number) => count === batches || count === 1;
  if (regular(aCount) && regular(bCount)) {
    const batched = {
      ...shape,
      batches,
      aBatch: aCount === 1 ? 0 : 4 * m * k,
      bBatch: bCount === 1 ? 0 : 4 * k * n,
      cBatch: 4 * m * n,
    };
    gemmBlocked(simd, batched, bAt, [{ a: aAt, c: outAt }]);
    return out;
  }
  const aIndex = broadcastIndex(aBatch, outBatch);
  const bIndex = broadcastIndex(bBatch, outBatch);
  for (let i = 0; i < batches; i++) {
    gemmBlocked(simd, shape, bAt + 4 * bIndex[i]! * k * n, [
      { a: aAt + 4 * aIndex[i]! * m * k, c: outAt + 4 * i * m * n },
    ]);
  }
  return out;
}

/**
 * The stock C++ loop over all batches at once. It assumes both operands have every batch
 * (it does not broadcast), so a broadcast operand is first expanded by copying.
 */
function scalarProducts(
  scope: KernelScope,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  outBatch: number[],
  [m, k, n]: [number, number, number],
  transposeA: boolean,
  transposeB: boolean,
): tf.TensorInfo {
  const batches = tf.util.sizeFromShape(outBatch);
  const full = (x: tf.TensorInfo): tf.TensorInfo => {
    const batch = x.shape.slice(0, -2);
    if (tf.util.sizeFromShape(batch) === batches) return x;
    const matrix = x.shape[x.shape.length - 2]! * x.shape[x.shape.length - 1]!;
    const index = broadcastIndex(batch, outBatch);
    const expanded = scope.alloc([batches * matrix]);
    const heap = scope.backend.wasm.HEAPF32;
    const src = scope.heapIndex(x);
    const dst = scope.heapIndex(expanded);
    for (let i = 0; i < batches; i++) {
      const from = src + index[i]! * matrix;
      heap.copyWithin(dst + i * matrix, from, from + matrix);
    }
    return expanded;
  };
  const aShape = transposeA ? [batches, k, m] : [batches, m, k];
  const bShape = transposeB ? [batches, n, k] : [batches, k, n];
  const out = scope.alloc([...outBatch, m, n]);
  scope.raw.batchMatMul(
    scope.id(full(a)),
    aShape,
    scope.id(full(b)),
    bShape,
    transposeA,
    transposeB,
    scope.id(out),
  );
  return out;
}

/** `[..., r, c] -> [..., c, r]` as a real copy. */
function swapLastTwo(scope: KernelScope, x: tf.TensorInfo): tf.TensorInfo {
  const rank = x.shape.length;
  const rows = x.shape[rank - 2]!;
  const cols = x.shape[rank - 1]!;
  const batch = tf.util.sizeFromShape(x.shape.slice(0, -2));
  const flat = scope.reshape(x, [batch, rows, cols]);
  return scope.reshape(transposeF32(scope, flat, [0, 2, 1]), [...x.shape.slice(0, -2), cols, rows]);
}

/**
 * Batched products `out[i] = X[ix(i)] @ Y[iy(i)]`, `X [r, k]`, `Y [k, c]`, batch dims broadcast
 * to `outBatch`, as `[batches*r, c]`. An operand flagged `transposed` is stored the other way
 * round (`x [.., k, r]`, `y [.., c, k]`) and is transposed batch by batch into a small scratch
 * buffer that stays in cache, rather than all at once up front.
 */
function products(
  scope: KernelScope,
  operands: { x: tf.TensorInfo; y: tf.TensorInfo; xBatch: number[]; yBatch: number[]; outBatch: number[] },
  [r, k, c]: [number, number, number],
  transposed: { x: boolean; y: boolean },
): tf.TensorInfo {
  let { x, y } = operands;
  const { xBatch, yBatch, outBatch } = operands;
  const batches = tf.util.sizeFromShape(outBatch);
  const out = scope.alloc([batches * r, c]);
  const simd = simdKernels(scope.backend);
  const shared = tf.util.sizeFromShape(yBatch) === 1 && tf.util.sizeFromShape(xBatch) === batches;
  let xT = transposed.x;
  let yT = transposed.y;
  if (shared || simd === undefined) {
    if (xT) x = swapLastTwo(scope, x);
    if (yT) y = swapLastTwo(scope, y);
    xT = false;
    yT = false;
  }
  if (shared) {
    // One shared right operand: a single 2-D product over all rows of x.
    const x2 = scope.reshape(x, [1, batches * r, k]);
    const y2 = scope.reshape(y, [1, k, c]);
    scope.raw.batchMatMul(scope.id(x2), x2.shape, scope.id(y2), y2.shape, false, false, scope.id(out));
    return out;
  }
  const xIndex = broadcastIndex(xBatch, outBatch);
  const yIndex = broadcastIndex(yBatch, outBatch);
  const xShape = [1, r, k];
  const yShape = [1, k, c];
  const xScratch = xT ? scope.alloc([r * k]) : undefined;
  const yScratch = yT ? scope.alloc([k * c]) : undefined;
  const xScratchId = xScratch === undefined ? 0 : scope.id(scope.view(xScratch, 0, xShape));
  // A view stays registered until its last use: XNNPACK keeps y packed per view id, so a y
  // shared by several output batches is packed once; then the view (and the packing) goes.
  const lastUse = new Map<number, number>();
  for (let i = 0; i < yIndex.length; i++) lastUse.set(yIndex[i]!, i);
  const xViews = new Map<number, number>();
  const yViews = new Map<number, tf.TensorInfo>();
  let xLoaded = -1;
  for (let i = 0; i < batches; i++) {
    const ix = xIndex[i]!;
    const iy = yIndex[i]!;
    let xId: number;
    if (xScratch !== undefined) {
      if (ix !== xLoaded) {
        transposeMatrix(scope, simd!, scope.heapIndex(x) + ix * r * k, scope.heapIndex(xScratch), k, r);
        xLoaded = ix;
      }
      xId = xScratchId;
    } else {
      const known = xViews.get(ix);
      xId = known ?? scope.id(scope.view(x, ix * r * k, xShape));
      if (known === undefined) xViews.set(ix, xId);
    }
    let yView = yViews.get(iy);
    if (yView === undefined) {
      if (yScratch !== undefined) {
        // The scratch is refilled for each y: a fresh view id, so nothing packed from the
        // previous contents is reused (the previous view was dropped after its last use).
        transposeMatrix(scope, simd!, scope.heapIndex(y) + iy * k * c, scope.heapIndex(yScratch), c, k);
        yView = scope.view(yScratch, 0, yShape);
      } else {
        yView = scope.view(y, iy * k * c, yShape);
      }
      yViews.set(iy, yView);
    }
    const outView = scope.view(out, i * r * c, [1, r, c]);
    scope.raw.batchMatMul(xId, xShape, scope.id(yView), yShape, false, false, scope.id(outView));
    scope.dropView(outView);
    if (lastUse.get(iy) === i) {
      scope.dropView(yView);
      yViews.delete(iy);
    }
  }
  return out;
}

/** For each flat index of the broadcast batch shape, the flat index into `shape`. */
function broadcastIndex(shape: number[], outShape: number[]): Int32Array {
  const total = tf.util.sizeFromShape(outShape);
  const result = new Int32Array(total);
  const rank = outShape.length;
  const offset = rank - shape.length;
  const strides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (shape[axis] !== 1) strides[axis + offset] = stride;
    stride *= shape[axis]!;
  }
  const counter = new Array<number>(rank).fill(0);
  let index = 0;
  for (let i = 0; i < total; i++) {
    result[i] = index;
    for (let axis = rank - 1; axis >= 0; axis--) {
      index += strides[axis]!;
      if (++counter[axis]! < outShape[axis]!) break;
      index -= strides[axis]! * outShape[axis]!;
      counter[axis] = 0;
    }
  }
  return result;
}

export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  kernelFunc: batchMatMul as unknown as tf.KernelFunc,
};
