import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { type KernelScope, withKernelScope } from './kernel-scope.js';
import { type SimdKernels, simdKernels } from './simd-kernels.js';
import { asWasmBackend } from './wasm-backend.js';

/**
 * GroupNorm with its optional per-sample modulation and SiLU, fused into one wasm kernel and
 * one gradient kernel (the ops a UNet block runs most often):
 *
 *   z = ((x - mean) * rstd * gamma + beta) * (1 + scale) + shift;   y = silu ? z * sigmoid(z) : z
 *
 * with mean and rstd = 1 / sqrt(var + epsilon) per sample and group of channels, over every
 * position. Built from tfjs ops this is a dozen-odd kernels forward and more backward, each
 * reading and writing the whole activation; fused it is 2 passes over x forward (statistics, then the
 * output) and 3 backward (statistics, dz with per-channel sums, dx), as SIMD loops
 * (simd-norm.ts), with no intermediates on the gradient tape. Per-channel sums come from
 * blocks of rows and are added up in float64 here, as are the statistics and coefficients.
 *
 * Inputs: `x [N, ...spatial, C]` (float32, C a multiple of 4), `gamma [C]`, `beta [C]`, and
 * optionally `scale [N, C]`, `shift [N, C]` (both or neither). Attributes: `groups` (dividing C),
 * `epsilon`, `silu`. Callers check `fusedGroupNormRuns` first.
 * The gradient kernel takes `dy` (shaped like x) and the same inputs and returns
 * `[dx, dgamma, dbeta]`, plus `[dscale, dshift]` when modulated.
 */
export const GROUP_NORM = 'CascadeGroupNorm';
export const GROUP_NORM_GRAD = 'CascadeGroupNormGrad';

/**
 * tfjs flag (true by default): false makes the GroupNorm op run as its composition of tfjs ops
 * on wasm too (A/B benchmarks).
 */
export const FUSED_GROUP_NORM_FLAG = 'CASCADE_FUSED_GROUP_NORM';
tf.env().registerFlag(FUSED_GROUP_NORM_FLAG, () => true);

export interface GroupNormAttrs {
  groups: number;
  epsilon: number;
  silu: boolean;
}

interface Layout {
  n: number;
  /** Positions per sample (the product of the spatial axes). */
  s: number;
  c: number;
  groups: number;
}

/** Rows per SIMD call when summing: partial sums stay short in float32, totals are float64. */
const BLOCK_ROWS = 64;

/**
 * Whether the fused kernels run `x` with `groups` on the active backend: wasm with the SIMD
 * routines, the flag on, float32, and C a multiple of 4 and of `groups`.
 */
export function fusedGroupNormRuns(x: tf.Tensor, groups: number): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.env().getBool(FUSED_GROUP_NORM_FLAG) || x.dtype !== 'float32')
    return false;
  const c = x.shape[x.shape.length - 1]!;
  if (x.shape.length < 2 || c % 4 !== 0 || c % groups !== 0) return false;
  return simdKernels(asWasmBackend(tf.backend())) !== undefined;
}

function layoutOf(x: tf.TensorInfo, groups: number): Layout {
  const n = x.shape[0]!;
  const c = x.shape[x.shape.length - 1]!;
  return { n, c, groups, s: tf.util.sizeFromShape(x.shape) / (n * c) };
}

/** The SIMD routines and byte addresses a kernel needs. */
interface Heap {
  simd: SimdKernels;
  scope: KernelScope;
  /** Byte address of a tensor's data. */
  at(info: tf.TensorInfo): number;
}

function heapOf(scope: KernelScope): Heap {
  const simd = simdKernels(scope.backend);
  if (simd === undefined) {
    throw new CascadeError(
      'INTERNAL',
      'The fused GroupNorm kernels ran without the wasm SIMD routines; callers check fusedGroupNormRuns first.',
    );
  }
  return { simd, scope, at: (info) => scope.heapIndex(info) * 4 };
}

/**
 * Per (sample, group): the mean and 1 / sqrt(variance + epsilon). `sums` is scratch of 2C floats.
 * Each channel is summed shifted by its value at the sample's first position (a value near the
 * mean, so a large mean does not cancel the variance's digits away); the shifts are undone in
 * float64.
 */
function groupStats(
  heap: Heap,
  x: tf.TensorInfo,
  l: Layout,
  epsilon: number,
  sums: tf.TensorInfo,
): { mean: Float64Array; rstd: Float64Array } {
  const { n, s, c, groups } = l;
  const width = c / groups;
  const count = s * width;
  const cBytes = 4 * c;
  const mean = new Float64Array(n * groups);
  const rstd = new Float64Array(n * groups);
  const sum = new Float64Array(c);
  const squares = new Float64Array(c);
  const sumsAt = heap.at(sums);
  const sumsIndex = sumsAt / 4;
  const xIndex = heap.at(x) / 4;
  const f32 = heap.scope.backend.wasm.HEAPF32;
  for (let i = 0; i < n; i++) {
    sum.fill(0);
    squares.fill(0);
    const first = heap.at(x) + i * s * cBytes;
    for (let r = 0; r < s; r += BLOCK_ROWS) {
      f32.fill(0, sumsIndex, sumsIndex + 2 * c);
      heap.simd.shiftedSums(
        first + r * cBytes,
        Math.min(BLOCK_ROWS, s - r),
        cBytes,
        first,
        sumsAt,
        sumsAt + cBytes,
      );
      for (let k = 0; k < c; k++) {
        sum[k]! += f32[sumsIndex + k]!;
        squares[k]! += f32[sumsIndex + c + k]!;
      }
    }
    const ref = xIndex + i * s * c;
    for (let g = 0; g < groups; g++) {
      let total = 0;
      for (let k = g * width; k < (g + 1) * width; k++) total += sum[k]! + s * f32[ref + k]!;
      const m = total / count;
      // sum over positions of (x - m)^2 = sq - 2 (m - ref) sum + s (m - ref)^2, per channel
      let spread = 0;
      for (let k = g * width; k < (g + 1) * width; k++) {
        const delta = m - f32[ref + k]!;
        spread += squares[k]! - 2 * delta * sum[k]! + s * delta * delta;
      }
      mean[i * groups + g] = m;
      rstd[i * groups + g] = 1 / Math.sqrt(Math.max(spread / count, 0) + epsilon);
    }
  }
  return { mean, rstd };
}

/** The parameter inputs as float64 copies (gamma, beta, and scale/shift or undefined). */
interface Params {
  gamma: Float64Array;
  beta: Float64Array;
  scale: Float64Array | undefined;
  shift: Float64Array | undefined;
}

function readParams(scope: KernelScope, inputs: tf.NamedTensorInfoMap): Params {
  const read = (info: tf.TensorInfo | undefined) =>
    info === undefined ? undefined : Float64Array.from(scope.f32(info));
  return {
    gamma: read(inputs.gamma)!,
    beta: read(inputs.beta)!,
    scale: read(inputs.scale),
    shift: read(inputs.shift),
  };
}

/**
 * Writes sample `i`'s `z = x * a + b` coefficients into the heap at element `aIndex` (a, C
 * floats) and `aIndex + C` (b).
 */
function writeCoefficients(
  heap: Heap,
  aIndex: number,
  i: number,
  l: Layout,
  stats: { mean: Float64Array; rstd: Float64Array },
  p: Params,
): void {
  const { c, groups } = l;
  const width = c / groups;
  const f32 = heap.scope.backend.wasm.HEAPF32;
  for (let k = 0; k < c; k++) {
    const g = i * groups + Math.floor(k / width);
    const gr = p.gamma[k]! * stats.rstd[g]!;
    const u = p.scale === undefined ? 1 : 1 + p.scale[i * c + k]!;
    f32[aIndex + k] = gr * u;
    f32[aIndex + c + k] =
      (p.beta[k]! - stats.mean[g]! * gr) * u + (p.shift === undefined ? 0 : p.shift[i * c + k]!);
  }
}

function groupNorm(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const x = args.inputs.x!;
  const { groups, epsilon, silu } = args.attrs as unknown as GroupNormAttrs;
  const l = layoutOf(x, groups);
  const { n, s, c } = l;
  return withKernelScope(args.backend, Object.values(args.inputs), (scope) => {
    const y = scope.alloc(x.shape);
    const vectors = scope.alloc([2 * c]);
    const heap = heapOf(scope);
    const stats = groupStats(heap, x, l, epsilon, vectors);
    const p = readParams(scope, args.inputs);
    const cBytes = 4 * c;
    const vAt = heap.at(vectors);
    for (let i = 0; i < n; i++) {
      writeCoefficients(heap, vAt / 4, i, l, stats, p);
      const offset = i * s * cBytes;
      heap.simd.normAct(heap.at(x) + offset, heap.at(y) + offset, s, cBytes, vAt, vAt + cBytes, silu ? 1 : 0);
    }
    return y;
  });
}

function groupNormGrad(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo[] {
  const { dy, x } = args.inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const { groups, epsilon, silu } = args.attrs as unknown as GroupNormAttrs;
  const modulated = args.inputs.scale !== undefined;
  const l = layoutOf(x, groups);
  const { n, s, c } = l;
  const width = c / groups;
  const count = s * width;
  const cBytes = 4 * c;
  const outputs: tf.TensorInfo[] = [];
  // Each output leaves its own scope: withKernelScope hands exactly one result to the engine.
  const dx = withKernelScope(args.backend, Object.values(args.inputs), (scope) => {
    const out = scope.alloc(x.shape);
    // Scratch: a, b (coefficients of z), two per-channel sums, and p, q, c (of dx).
    const vectors = scope.alloc([7 * c]);
    const heap = heapOf(scope);
    const stats = groupStats(heap, x, l, epsilon, vectors);
    const p = readParams(scope, args.inputs);
    const f32 = scope.backend.wasm.HEAPF32;
    const vAt = heap.at(vectors);
    const vIndex = vAt / 4;
    const slot = (j: number): number => vAt + j * cBytes;
    const [aAt, bAt, sumAt, sumXAt, pAt, qAt, cAt] = [
      slot(0),
      slot(1),
      slot(2),
      slot(3),
      slot(4),
      slot(5),
      slot(6),
    ];
    const dgamma = new Float64Array(c);
    const dbeta = new Float64Array(c);
    const dscale = new Float64Array(modulated ? n * c : 0);
    const dshift = new Float64Array(modulated ? n * c : 0);
    const sumDz = new Float64Array(c);
    const sumDzX = new Float64Array(c);
    const groupSumDxhat = new Float64Array(groups);
    const groupSumDxhatXhat = new Float64Array(groups);
    for (let i = 0; i < n; i++) {
      writeCoefficients(heap, vIndex, i, l, stats, p);
      sumDz.fill(0);
      sumDzX.fill(0);
      const first = i * s * cBytes;
      // dz = dy * silu'(z) into `out`, with per-channel sums of dz and dz * x.
      for (let r = 0; r < s; r += BLOCK_ROWS) {
        f32.fill(0, sumAt / 4, sumAt / 4 + 2 * c);
        const offset = first + r * cBytes;
        const rows = Math.min(BLOCK_ROWS, s - r);
        heap.simd.normActGrad(
          heap.at(x) + offset,
          heap.at(dy) + offset,
          heap.at(out) + offset,
          rows,
          cBytes,
          aAt,
          bAt,
          sumAt,
          sumXAt,
          silu ? 1 : 0,
        );
        for (let k = 0; k < c; k++) {
          sumDz[k]! += f32[sumAt / 4 + k]!;
          sumDzX[k]! += f32[sumXAt / 4 + k]!;
        }
      }
      // Per channel: sums of dz and dz * xhat give the parameter gradients; per group, the sums
      // of dxhat = dz * (1 + scale) * gamma and of dxhat * xhat.
      groupSumDxhat.fill(0);
      groupSumDxhatXhat.fill(0);
      for (let k = 0; k < c; k++) {
        const g = Math.floor(k / width);
        const m = stats.mean[i * groups + g]!;
        const r = stats.rstd[i * groups + g]!;
        const sdz = sumDz[k]!;
        const sdzXhat = r * (sumDzX[k]! - m * sdz);
        const u = p.scale === undefined ? 1 : 1 + p.scale[i * c + k]!;
        if (modulated) {
          dshift[i * c + k] = sdz;
          dscale[i * c + k] = p.gamma[k]! * sdzXhat + p.beta[k]! * sdz;
        }
        dbeta[k]! += u * sdz;
        dgamma[k]! += u * sdzXhat;
        const ug = u * p.gamma[k]!;
        f32[pAt / 4 + k] = r * ug;
        groupSumDxhat[g]! += ug * sdz;
        groupSumDxhatXhat[g]! += ug * sdzXhat;
      }
      // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) = dz * p + x * q + c
      for (let k = 0; k < c; k++) {
        const g = Math.floor(k / width);
        const m = stats.mean[i * groups + g]!;
        const r = stats.rstd[i * groups + g]!;
        const meanDxhat = groupSumDxhat[g]! / count;
        const meanDxhatXhat = groupSumDxhatXhat[g]! / count;
        f32[qAt / 4 + k] = -r * r * meanDxhatXhat;
        f32[cAt / 4 + k] = -r * meanDxhat + m * r * r * meanDxhatXhat;
      }
      heap.simd.combine(
        heap.at(out) + first,
        heap.at(x) + first,
        heap.at(out) + first,
        s,
        cBytes,
        pAt,
        qAt,
        cAt,
      );
    }
    outputs.push(...[dgamma, dbeta, ...(modulated ? [dscale, dshift] : [])].map((v) => vectorOf(scope, v)));
    return out;
  });
  return [dx, ...outputs];
}

/**
 * A tensor of its own (outside the scope) holding `values`, flat: `[C]`, or `[N * C]` for the
 * modulation (the op reshapes each gradient to its input's shape).
 */
function vectorOf(scope: KernelScope, values: Float64Array): tf.TensorInfo {
  const out = scope.backend.makeOutput([values.length], 'float32');
  scope.f32(out).set(values);
  return out;
}

export const groupNormConfig: tf.KernelConfig = {
  kernelName: GROUP_NORM,
  backendName: 'wasm',
  kernelFunc: groupNorm as unknown as tf.KernelFunc,
};

export const groupNormGradConfig: tf.KernelConfig = {
  kernelName: GROUP_NORM_GRAD,
  backendName: 'wasm',
  kernelFunc: groupNormGrad as unknown as tf.KernelFunc,
};
