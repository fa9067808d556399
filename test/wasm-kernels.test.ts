/**
 * The project's wasm training kernels against the cpu backend (the reference), on random
 * shapes. Error measure: `maxRelError(a, b) = max|a - b| / max(1e-6, max|b|)` with `b` the cpu
 * result; every comparison must be <= 1e-4. Every wasm run is also checked for leaks:
 * `tf.memory().numTensors` and the backend's `numDataIds()` are the same before and after
 * (results disposed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { matMulPlan } from '../backend/wasm-kernels/batch-mat-mul.js';
import { fusedGroupNormRuns } from '../backend/wasm-kernels/group-norm.js';
import { SIMD_FLAG, simdKernels } from '../backend/wasm-kernels/simd-kernels.js';
import { simplifyPermutation } from '../backend/wasm-kernels/transpose-f32.js';
import { asWasmBackend } from '../backend/wasm-kernels/wasm-backend.js';
import { createReferenceNet } from '../eval/reference-net.js';
import { groupNormAct } from '../model/group-norm.js';
import { isCascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';

const TOLERANCE = 1e-4;

type Values = { values: Float32Array | Int32Array | Uint8Array; shape: number[]; dtype: tf.DataType };
type Inputs = Record<string, Values>;

function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Number.isNaN(diff) ? Number.POSITIVE_INFINITY : diff / Math.max(1e-6, scale);
}

function random(rng: Rng, shape: number[]): Values {
  return { values: rng.normals(tf.util.sizeFromShape(shape)), shape, dtype: 'float32' };
}

function ints(values: number[]): Values {
  return { values: Int32Array.from(values), shape: [values.length], dtype: 'int32' };
}

/** Runs `fn` on the given backend; returns the outputs' values and shapes, disposing everything. */
async function runOn(
  backend: 'wasm' | 'cpu',
  inputs: Inputs,
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
): Promise<{ values: Float32Array[]; shapes: number[][] }> {
  await tf.setBackend(backend);
  const tensors: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(inputs)) tensors[name] = tf.tensor(v.values, v.shape, v.dtype);
  const tensorsBefore = tf.memory().numTensors;
  const idsBefore = tf.engine().backend.numDataIds();
  const out = fn(tensors);
  const outs = Array.isArray(out) ? out : [out];
  const values = outs.map((t) => Float32Array.from(t.dataSync()));
  const shapes = outs.map((t) => t.shape);
  tf.dispose(outs);
  if (backend === 'wasm') {
    expect(tf.memory().numTensors, 'wasm leaked tensors').toBe(tensorsBefore);
    expect(tf.engine().backend.numDataIds(), 'wasm leaked backend data').toBe(idsBefore);
  }
  tf.dispose(Object.values(tensors));
  return { values, shapes };
}

/** `fn` on wasm and on cpu (or `reference` on cpu); asserts equal shapes and max rel error. */
async function expectSame(
  inputs: Inputs,
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
  reference: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[] = fn,
  label = '',
): Promise<number> {
  const wasm = await runOn('wasm', inputs, fn);
  const cpu = await runOn('cpu', inputs, reference);
  await tf.setBackend('wasm');
  expect(wasm.shapes, label).toEqual(cpu.shapes);
  let worst = 0;
  for (let i = 0; i < wasm.values.length; i++) {
    worst = Math.max(worst, maxRelError(wasm.values[i]!, cpu.values[i]!));
  }
  expect(worst, `${label}: max relative error`).toBeLessThanOrEqual(TOLERANCE);
  return worst;
}

/** A random weight for a weighted-sum loss (a plain sum makes some gradients vanish). */
function weighted(y: tf.Tensor, w: tf.Tensor): tf.Scalar {
  return tf.sum(tf.mul(y, w));
}

type Pad =
  | 'same'
  | 'valid'
  | number
  | [[number, number], [number, number], [number, number], [number, number]];

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dilations: [number, number];
}

/** Random conv cases: kernel sizes 1-5, strides 1-2, same/valid/explicit pads, odd sizes. */
function convCases(seed: string, count: number, depthwise: boolean, dilated = false): ConvCase[] {
  const rng = new Rng(deriveSeed('wasm-kernels', seed));
  const cases: ConvCase[] = [];
  for (let i = 0; i < count; i++) {
    const fh = 1 + rng.int(5);
    const fw = 1 + rng.int(5);
    const stride = (1 + rng.int(2)) as 1 | 2;
    const strides: [number, number] = rng.next() < 0.2 ? [stride, 3 - stride] : [stride, stride];
    const dilation = dilated ? 2 : 1;
    const h = (fh - 1) * dilation + 1 + rng.int(8);
    const w = (fw - 1) * dilation + 1 + rng.int(8);
    const cin = 1 + rng.int(5);
    // Output channels that are multiples of 4 take the SIMD GEMM in the filter gradient.
    const cout = depthwise ? 1 + rng.int(3) : [1, 2, 3, 5, 4, 8, 12][rng.int(7)]!;
    const kind = rng.int(3);
    const pad: Pad =
      kind === 0
        ? 'same'
        : kind === 1
          ? 'valid'
          : [
              [0, 0],
              [rng.int(3), rng.int(3)],
              [rng.int(3), rng.int(3)],
              [0, 0],
            ];
    cases.push({
      x: [1 + rng.int(3), h, w, cin],
      filter: [fh, fw, cin, cout],
      strides: dilated ? [1, 1] : strides,
      pad: dilated && kind === 2 ? 'same' : pad,
      dilations: [dilation, dilation],
    });
  }
  return cases;
}

function outShape(c: ConvCase, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    c.x,
    c.filter,
    c.strides,
    c.dilations,
    c.pad as 'same',
    undefined,
    depthwise,
  );
  return info.outShape;
}

/** The filter with `d - 1` zeros between taps (a dilated conv as an undilated one). */
function dilateFilter(f: tf.Tensor, d: number): tf.Tensor {
  const [fh, fw, c, m] = f.shape as [number, number, number, number];
  const src = f.dataSync();
  const eh = (fh - 1) * d + 1;
  const ew = (fw - 1) * d + 1;
  const out = new Float32Array(eh * ew * c * m);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      out.set(src.subarray((i * fw + j) * c * m, (i * fw + j + 1) * c * m), (i * d * ew + j * d) * c * m);
    }
  }
  return tf.tensor4d(out, [eh, ew, c, m]);
}

describe('wasm training kernels vs the cpu backend', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('runs the GEMM on fused multiply-adds (relaxed SIMD), which every comparison here then checks', () => {
    // Node 20 needs V8's relaxed-SIMD flag, which simd-kernels.ts switches on; Node 22+ has it.
    expect(simdKernels(asWasmBackend(tf.backend()))?.fused).toBe(true);
  });

  it('Conv2D, Conv2DBackpropFilter and Conv2DBackpropInput match cpu (direct kernel calls)', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'conv-direct'));
    // The deep case's filter gradient sums over 2 x 22 x 22 grid positions (several k blocks);
    // its channels (8 in, 8 out) put all three on the SIMD GEMM; the strided one too, at stride 2.
    const deep: ConvCase = {
      x: [2, 20, 20, 8],
      filter: [3, 3, 8, 8],
      strides: [1, 1],
      pad: 'same',
      dilations: [1, 1],
    };
    const strided: ConvCase = {
      x: [2, 11, 9, 8],
      filter: [3, 2, 8, 4],
      strides: [2, 2],
      pad: 'valid',
      dilations: [1, 1],
    };
    for (const c of [...convCases('conv-direct', 14, false), deep, strided]) {
      const y = outShape(c, false);
      const inputs = { x: random(rng, c.x), dy: random(rng, y), filter: random(rng, c.filter) };
      const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' as const };
      const label = JSON.stringify(c);
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'Conv2D',
              { x: t.x!, filter: t.filter! },
              { ...attrs, dilations: c.dilations },
            ) as tf.Tensor,
        undefined,
        `forward ${label}`,
      );
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropFilter',
              { x: t.x!, dy: t.dy! },
              { ...attrs, filterShape: c.filter },
            ) as tf.Tensor,
        undefined,
        `filter ${label}`,
      );
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy: t.dy!, filter: t.filter! },
              { ...attrs, inputShape: c.x },
            ) as tf.Tensor,
        undefined,
        `input ${label}`,
      );
    }
  });

  it("Conv2D with dimRoundingMode 'ceil' reads zeros where the window runs past the input, as cpu does", async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'conv-ceil'));
    // 6 rows, no padding, 3x3 stride 2: 'ceil' asks for 3 output rows, the last window needs row 6.
    await expectSame(
      { x: random(rng, [2, 6, 7, 4]), f: random(rng, [3, 3, 4, 8]) },
      (t) => tf.conv2d(t.x! as tf.Tensor4D, t.f! as tf.Tensor4D, 2, 0, 'NHWC', 1, 'ceil'),
      undefined,
      'conv2d ceil',
    );
  });

  it('conv2d and conv2dTranspose gradients through tf.grads match cpu', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'conv-grad'));
    for (const c of convCases('conv-grad', 10, false)) {
      const y = outShape(c, false);
      const inputs = { x: random(rng, c.x), f: random(rng, c.filter), w: random(rng, y) };
      await expectSame(
        inputs,
        (t) =>
          tf.grads((x: tf.Tensor, f: tf.Tensor) =>
            weighted(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad as 'same'), t.w!),
          )([t.x!, t.f!]),
        undefined,
        `conv2d grads ${JSON.stringify(c)}`,
      );
    }
    // Transposed conv: forward runs Conv2DBackpropInput; its gradients run Conv2D and the filter gradient.
    const x = random(rng, [2, 5, 7, 3]);
    const f = random(rng, [3, 3, 4, 3]);
    const w = random(rng, [2, 10, 14, 4]);
    await expectSame(
      { x, f, w },
      (t) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          weighted(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 10, 14, 4], 2, 'same'), t.w!),
        )([t.x!, t.f!]),
      undefined,
      'conv2dTranspose grads',
    );
  });

  it('depthwise backprops match cpu, directly and through tf.grads', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'depthwise'));
    for (const c of convCases('depthwise', 10, true)) {
      const y = outShape(c, true);
      const inputs = { x: random(rng, c.x), f: random(rng, c.filter), dy: random(rng, y) };
      const attrs = { strides: c.strides, pad: c.pad, dilations: c.dilations };
      const label = JSON.stringify(c);
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: t.dy!, filter: t.f! },
              { ...attrs, inputShape: c.x },
            ) as tf.Tensor,
        undefined,
        `depthwise input ${label}`,
      );
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x: t.x!, dy: t.dy! },
              { ...attrs, filterShape: c.filter },
            ) as tf.Tensor,
        undefined,
        `depthwise filter ${label}`,
      );
      await expectSame(
        inputs,
        (t) =>
          tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            weighted(
              tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad as 'same'),
              t.dy!,
            ),
          )([t.x!, t.f!]),
        undefined,
        `depthwise grads ${label}`,
      );
    }
  });

  it('dilated depthwise backprops match the undilated op with an explicitly dilated filter on cpu', async () => {
    // tfjs' cpu depthwise backprops ignore dilations (and its gradient refuses them), so the
    // reference is the same gradient with zeros inserted between the taps, dilation 1.
    const rng = new Rng(deriveSeed('wasm-kernels', 'dilated'));
    for (const c of convCases('dilated', 5, true, true)) {
      const y = outShape(c, true);
      const d = c.dilations[0];
      const inputs = { x: random(rng, c.x), f: random(rng, c.filter), dy: random(rng, y) };
      const dilated = [(c.filter[0] - 1) * d + 1, (c.filter[1] - 1) * d + 1, c.filter[2], c.filter[3]];
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy: t.dy!, filter: t.f! },
              { strides: 1, pad: c.pad, dilations: d, inputShape: c.x },
            ) as tf.Tensor,
        (t) =>
          tf.tidy(
            () =>
              tf
                .engine()
                .runKernel(
                  'DepthwiseConv2dNativeBackpropInput',
                  { dy: t.dy!, filter: dilateFilter(t.f!, d) },
                  { strides: 1, pad: c.pad, dilations: 1, inputShape: c.x },
                ) as tf.Tensor,
          ),
        `dilated depthwise input ${JSON.stringify(c)}`,
      );
      await expectSame(
        inputs,
        (t) =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x: t.x!, dy: t.dy! },
              { strides: 1, pad: c.pad, dilations: d, filterShape: c.filter },
            ) as tf.Tensor,
        (t) =>
          tf.tidy(() => {
            const full = tf
              .engine()
              .runKernel(
                'DepthwiseConv2dNativeBackpropFilter',
                { x: t.x!, dy: t.dy! },
                { strides: 1, pad: c.pad, dilations: 1, filterShape: dilated },
              ) as tf.Tensor4D;
            return tf.stridedSlice(full, [0, 0, 0, 0], dilated, [d, d, 1, 1]);
          }),
        `dilated depthwise filter ${JSON.stringify(c)}`,
      );
    }
  });

  it('BatchMatMul matches cpu for transposes, batches and broadcast batch dims, on every plan', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'matmul'));
    const cases: [number[], number[], boolean, boolean][] = [
      [[5, 7], [7, 3], false, false],
      [[7, 5], [3, 7], true, true],
      [[2, 1, 5, 7], [3, 7, 3], false, false],
      [[2, 3, 7, 5], [2, 1, 3, 7], true, true],
      [[3, 64, 48], [3, 48, 40], false, false],
      [[3, 48, 64], [3, 40, 48], true, true],
      [[3, 48, 64], [3, 48, 40], true, false],
      [[3, 64, 48], [3, 40, 48], false, true],
      [[200, 48], [48, 64], false, false],
      [[4, 64, 48], [48, 40], false, false],
      [[4, 48, 64], [40, 48], true, true],
      [[48, 64], [4, 48, 40], true, false],
      [[64, 48], [4, 40, 48], false, true],
      [[2, 3, 64, 48], [2, 1, 40, 48], false, true],
      [[2, 1, 64, 48], [3, 48, 40], false, false],
      [[96, 33], [96, 65], true, false],
      // SIMD GEMM edges: k in blocks (600 > 384), 1-row and 4-column tiles, rows in blocks
      // (250 x 130 floats > 96 KB), A through its strides, B transposed and shared.
      [[5, 600], [600, 12], false, false],
      [[3, 13, 300], [3, 12, 300], false, true],
      [[3, 300, 13], [300, 8], true, false],
      [[250, 130], [130, 20], false, false],
      [[2, 1, 7, 20], [3, 20, 4], false, false],
    ];
    const plans = new Set<string>();
    // With the SIMD routines on, every product with n % 4 == 0 runs on the SIMD GEMM; with
    // them off, every product takes one of the XNNPACK or scalar plans.
    for (const simd of [true, false]) {
      tf.env().set(SIMD_FLAG, simd);
      try {
        for (const [aShape, bShape, transposeA, transposeB] of cases) {
          const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(
            aShape.slice(0, -2),
            bShape.slice(0, -2),
          );
          plans.add(
            matMulPlan({
              aCount: tf.util.sizeFromShape(aShape.slice(0, -2)),
              bCount: tf.util.sizeFromShape(bShape.slice(0, -2)),
              batches: tf.util.sizeFromShape(outBatch),
              m: transposeA ? aShape.at(-1)! : aShape.at(-2)!,
              k: transposeA ? aShape.at(-2)! : aShape.at(-1)!,
              n: transposeB ? bShape.at(-2)! : bShape.at(-1)!,
              transposeA,
              transposeB,
            }),
          );
          // tfjs' cpu BatchMatMul mis-broadcasts batch dims of rank > 1, so the reference gets
          // operands already broadcast to the output's batch shape.
          await expectSame(
            { a: random(rng, aShape), b: random(rng, bShape) },
            (t) => tf.matMul(t.a!, t.b!, transposeA, transposeB),
            (t) =>
              tf.tidy(() =>
                tf.matMul(
                  tf.broadcastTo(t.a!, [...outBatch, ...aShape.slice(-2)]),
                  tf.broadcastTo(t.b!, [...outBatch, ...bShape.slice(-2)]),
                  transposeA,
                  transposeB,
                ),
              ),
            `matMul ${JSON.stringify([aShape, bShape, transposeA, transposeB])} simd=${simd}`,
          );
        }
      } finally {
        tf.env().set(SIMD_FLAG, true);
      }
    }
    expect([...plans].sort()).toEqual(['direct', 'scalar', 'swapped']);
    // Gradients of an attention-shaped product (transposed and batched forms).
    const q = random(rng, [4, 40, 16]);
    const k = random(rng, [4, 40, 16]);
    const w = random(rng, [4, 40, 40]);
    await expectSame(
      { q, k, w },
      (t) =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => weighted(tf.matMul(a, b, false, true), t.w!))([t.q!, t.k!]),
      undefined,
      'attention matMul grads',
    );
  });

  it('rejects non-float32 matMul operands with a CascadeError', async () => {
    await tf.setBackend('wasm');
    const a = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    const b = tf.tensor2d([[1], [2]], [2, 1], 'int32');
    let error: unknown;
    try {
      tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
    tf.dispose([a, b]);
  });

  it('UnsortedSegmentSum matches cpu, directly and as the gradient of gather', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'segments'));
    await expectSame(
      { x: random(rng, [7, 3, 2]), ids: ints([0, 2, 2, -1, 4, 0, 9]) },
      (t) => tf.unsortedSegmentSum(t.x!, t.ids! as tf.Tensor1D, 5),
      undefined,
      'unsortedSegmentSum',
    );
    await expectSame(
      { x: random(rng, [9, 6]), ids: ints([0, 2, 2, 8, 1, 0]), w: random(rng, [6, 6]) },
      (t) => tf.grad((a: tf.Tensor) => weighted(tf.gather(a, t.ids!), t.w!))(t.x!),
      undefined,
      'gather grad',
    );
  });

  it('Slice, Tile, Concat, SplitV and Unpack match cpu for every dtype, and their gradients too', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'slice-tile'));
    const x = random(rng, [3, 5, 6, 4]);
    await expectSame({ x }, (t) => tf.slice(t.x!, [1, 2, 0, 1], [2, 2, 6, 2]), undefined, 'slice 4d');
    await expectSame(
      { x },
      (t) => tf.slice(t.x!, [1, 2, 0, 0], [2, 2, -1, -1]),
      undefined,
      'slice inner whole',
    );
    await expectSame({ x }, (t) => tf.slice(t.x!, [0, 0, 0, 0], [3, 5, 6, 4]), undefined, 'slice all');
    await expectSame(
      { x: ints([1, 2, 3, 4, 5, 6]) },
      (t) => tf.slice(t.x!, [2], [3]),
      undefined,
      'slice int32',
    );
    const flags: Values = { values: Uint8Array.from([1, 0, 1, 1, 0, 0]), shape: [2, 3], dtype: 'bool' };
    await expectSame(
      { x: flags },
      (t) => tf.tidy(() => tf.cast(tf.slice(t.x!, [0, 1], [2, 2]), 'float32')),
      undefined,
      'slice bool',
    );
    await expectSame({ x }, (t) => tf.tile(t.x!, [2, 1, 3, 1]), undefined, 'tile 4d');
    await expectSame({ x: random(rng, [5]) }, (t) => tf.tile(t.x!, [3]), undefined, 'tile 1d');
    await expectSame(
      { x: { values: Int32Array.from([1, 2, 3, 4]), shape: [2, 2], dtype: 'int32' } },
      (t) => tf.tile(t.x!, [2, 3]),
      undefined,
      'tile int32',
    );
    const y = random(rng, [3, 5, 3, 4]);
    await expectSame({ x, y }, (t) => tf.concat([t.x!, t.y!], 2), undefined, 'concat axis 2');
    await expectSame({ x }, (t) => tf.concat([t.x!, t.x!, t.x!], 3), undefined, 'concat channels');
    await expectSame({ x }, (t) => tf.concat([t.x!, t.x!], 0), undefined, 'concat axis 0');
    await expectSame(
      { a: random(rng, [7, 3]), b: random(rng, [7, 5]) },
      (t) => tf.concat([t.a!, t.b!], 1),
      undefined,
      'concat ragged rows',
    );
    await expectSame(
      { a: ints([1, 2, 3, 4]), b: ints([5, 6]) },
      (t) => tf.tidy(() => tf.concat([tf.reshape(t.a!, [2, 2]), tf.reshape(t.b!, [2, 1])], 1)),
      undefined,
      'concat int32',
    );
    await expectSame(
      { a: flags, b: flags },
      (t) => tf.tidy(() => tf.cast(tf.concat([t.a!, t.b!], 1), 'float32')),
      undefined,
      'concat bool',
    );
    await expectSame(
      { x, y, w: random(rng, [3, 5, 9, 4]) },
      (t) => tf.grads((a: tf.Tensor, b: tf.Tensor) => weighted(tf.concat([a, b], 2), t.w!))([t.x!, t.y!]),
      undefined,
      'concat grads',
    );
    await expectSame({ x }, (t) => tf.split(t.x!, [1, 3, 2], 2), undefined, 'split sizes');
    await expectSame({ x }, (t) => tf.split(t.x!, 2, 3), undefined, 'split halves');
    await expectSame({ x }, (t) => tf.unstack(t.x!, 1), undefined, 'unstack');
    await expectSame(
      { x, w: random(rng, [3, 5, 6, 2]) },
      (t) => tf.grad((a: tf.Tensor) => weighted(tf.split(a, 2, 3)[1]!, t.w!))(t.x!),
      undefined,
      'split grad',
    );
    await expectSame(
      { x, w: random(rng, [3, 2, 5, 6, 4]) },
      (t) => tf.grad((a: tf.Tensor) => weighted(tf.stack([a, tf.mul(a, 2)], 1), t.w!))(t.x!),
      undefined,
      'stack grad (unstack)',
    );
    const w = random(rng, [4, 2, 6]);
    await expectSame(
      { x: random(rng, [4, 1, 3]), w },
      (t) => tf.grad((a: tf.Tensor) => weighted(tf.tile(a, [1, 2, 2]), t.w!))(t.x!),
      undefined,
      'tile grad',
    );
    await expectSame(
      { x, w: random(rng, [2, 2, 6, 2]) },
      (t) => tf.grad((a: tf.Tensor) => weighted(tf.slice(a, [1, 2, 0, 1], [2, 2, 6, 2]), t.w!))(t.x!),
      undefined,
      'slice grad',
    );
  });

  it('Transpose matches cpu exactly for random permutations of float32, int32 and bool', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'transpose'));
    for (let t = 0; t < 30; t++) {
      const rank = 1 + rng.int(6);
      // Ragged sizes (not multiples of 4) exercise the SIMD tiles' edges.
      const shape = Array.from(
        { length: rank },
        () => 1 + rng.int(rank > 4 ? 4 : 7) * (rng.next() < 0.3 ? 9 : 1),
      );
      const perm = Array.from({ length: rank }, (_, i) => i);
      for (let i = rank - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j]!, perm[i]!];
      }
      const dtype = (['float32', 'int32', 'bool'] as const)[t % 3]!;
      const size = tf.util.sizeFromShape(shape);
      const values =
        dtype === 'float32'
          ? rng.normals(size)
          : dtype === 'int32'
            ? Int32Array.from({ length: size }, () => rng.nextUint32() | 0)
            : Uint8Array.from({ length: size }, () => rng.int(2));
      const error = await expectSame(
        { x: { values, shape, dtype } },
        (x) => tf.transpose(x.x!, perm),
        undefined,
        `transpose ${dtype} ${JSON.stringify([shape, perm])}`,
      );
      expect(error).toBe(0);
    }
  });

  it('Sum and Mean match cpu over any axes, and their gradients too', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'reduce'));
    const x = random(rng, [3, 5, 1, 6, 7]);
    for (const axes of [
      [0],
      [1],
      [3],
      [4],
      [0, 1],
      [1, 3],
      [0, 3],
      [0, 1, 3],
      [1, 2],
      [2],
      [0, 4],
      [0, 1, 2, 3, 4],
    ]) {
      for (const keepDims of [false, true]) {
        await expectSame({ x }, (t) => tf.sum(t.x!, axes, keepDims), undefined, `sum ${axes} ${keepDims}`);
        await expectSame({ x }, (t) => tf.mean(t.x!, axes, keepDims), undefined, `mean ${axes} ${keepDims}`);
      }
    }
    // Column sums over many rows (a bias gradient) and GroupNorm's moments layout.
    await expectSame(
      { x: random(rng, [4, 9, 9, 13]) },
      (t) => tf.sum(t.x!, [0, 1, 2]),
      undefined,
      'bias-like sum',
    );
    const grouped = random(rng, [2, 36, 4, 3]);
    await expectSame(
      { x: grouped },
      (t) => {
        const m = tf.moments(t.x!, [1, 3], true);
        return [m.mean, m.variance];
      },
      undefined,
      'moments [1, 3]',
    );
    await expectSame(
      { x: ints([1, 2, 3, 4, 5, 6]) },
      (t) => tf.tidy(() => tf.sum(tf.reshape(t.x!, [2, 3]), 0)),
      undefined,
      'int sum',
    );
    await expectSame(
      { x: grouped, w: random(rng, [2, 36, 4, 3]) },
      (t) =>
        tf.grad((a: tf.Tensor) => {
          const m = tf.moments(a, [1, 3], true);
          return weighted(tf.mul(tf.sub(a, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5))), t.w!);
        })(t.x!),
      undefined,
      'group norm grad',
    );
  });

  it('binary ops match cpu when an operand broadcasts along the innermost axis, with gradients', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'binary'));
    const pairs: [number[], number[]][] = [
      [
        [2, 6, 3, 5],
        [2, 1, 3, 1],
      ],
      [
        [2, 1, 3, 1],
        [2, 6, 3, 5],
      ],
      [
        [4, 7],
        [4, 1],
      ],
      [
        [4, 1],
        [1, 9],
      ],
      [[3, 5, 8], [8]],
      [
        [3, 5, 8],
        [5, 1],
      ],
      [[6, 4], []],
    ];
    const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
      ['add', tf.add],
      ['sub', tf.sub],
      ['mul', tf.mul],
      ['div', (a, b) => tf.div(a, tf.add(tf.abs(b), 1))],
      ['squaredDifference', tf.squaredDifference],
    ];
    for (const [aShape, bShape] of pairs) {
      const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape, bShape);
      const inputs = { a: random(rng, aShape), b: random(rng, bShape), w: random(rng, outShape) };
      for (const [name, op] of ops) {
        const label = `${name} ${JSON.stringify([aShape, bShape])}`;
        await expectSame(inputs, (t) => tf.tidy(() => op(t.a!, t.b!)), undefined, label);
        // tfjs' SquaredDifference gradient does not broadcast (on any backend).
        if (name === 'squaredDifference') continue;
        await expectSame(
          inputs,
          (t) => tf.grads((a: tf.Tensor, b: tf.Tensor) => weighted(op(a, b), t.w!))([t.a!, t.b!]),
          undefined,
          `${label} grads`,
        );
      }
    }
    await expectSame(
      { a: ints([1, 2, 3, 4, 5, 6]), b: ints([2, 3]) },
      (t) => tf.tidy(() => tf.mul(tf.reshape(t.a!, [3, 2]), t.b!)),
      undefined,
      'int32 mul',
    );
  });

  it('the fused GroupNorm (modulation, SiLU) matches its composition of ops on cpu, with gradients', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'group-norm'));
    // [shape, groups, modulated, silu, offset]: widths 1 to 4 channels per group, 3-D and 4-D,
    // more positions than one block of rows (64), a mean far from zero.
    const cases: [number[], number, boolean, boolean, number][] = [
      [[2, 5, 3, 8], 2, false, false, 0],
      [[3, 4, 4, 12], 3, false, true, 0],
      [[2, 7, 16], 4, true, true, 0],
      [[4, 6, 6, 8], 8, true, false, 0],
      [[2, 9, 10, 4], 1, true, true, 0],
      [[2, 3, 5, 8], 2, true, true, 20],
    ];
    for (const [shape, groups, modulated, silu, offset] of cases) {
      const n = shape[0]!;
      const c = shape[shape.length - 1]!;
      const x = random(rng, shape);
      for (let i = 0; i < x.values.length; i++) x.values[i]! += offset;
      const inputs = {
        x,
        gamma: random(rng, [c]),
        beta: random(rng, [c]),
        scale: random(rng, [n, c]),
        shift: random(rng, [n, c]),
        w: random(rng, shape),
      };
      const label = `groupNorm ${JSON.stringify(shape)} groups ${groups}${modulated ? ' modulated' : ''}${silu ? ' silu' : ''}`;
      const op = (t: Record<string, tf.Tensor>): tf.Tensor =>
        groupNormAct(t.x!, t.gamma!, t.beta!, groups, {
          silu,
          ...(modulated ? { scale: t.scale, shift: t.shift } : {}),
        });
      await tf.setBackend('wasm');
      const probe = tf.tensor(x.values, shape);
      expect(fusedGroupNormRuns(probe, groups), `${label} runs fused on wasm`).toBe(true);
      probe.dispose();
      await expectSame(inputs, (t) => tf.tidy(() => op(t)), undefined, label);
      await expectSame(
        inputs,
        (t) =>
          tf.grads((...v: tf.Tensor[]) =>
            weighted(groupNormAct(v[0]!, v[1]!, v[2]!, groups, { silu, scale: v[3], shift: v[4] }), t.w!),
          )(modulated ? [t.x!, t.gamma!, t.beta!, t.scale!, t.shift!] : [t.x!, t.gamma!, t.beta!]),
        undefined,
        `${label} grads`,
      );
    }
  });

  it('the kernels match cpu on their plain paths too (SIMD routines switched off)', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'no-simd'));
    tf.env().set(SIMD_FLAG, false);
    try {
      const x = random(rng, [2, 9, 7, 6]);
      const dy = random(rng, [2, 5, 4, 5]);
      await expectSame(
        { x, dy },
        (t) =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropFilter',
              { x: t.x!, dy: t.dy! },
              { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 6, 5] },
            ) as tf.Tensor,
        undefined,
        'filter gradient without SIMD',
      );
      const f8 = random(rng, [3, 3, 6, 8]);
      const dy8 = random(rng, [2, 5, 4, 8]);
      const x8 = random(rng, [2, 9, 7, 8]);
      await expectSame(
        { x, f8 },
        (t) => tf.conv2d(t.x! as tf.Tensor4D, t.f8! as tf.Tensor4D, 2, 'same'),
        undefined,
        'conv2d without SIMD',
      );
      await expectSame(
        { dy8, f: random(rng, [3, 3, 8, 8]), x8 },
        (t) =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy: t.dy8!, filter: t.f! },
              { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 9, 7, 8] },
            ) as tf.Tensor,
        undefined,
        'input gradient without SIMD',
      );
      await expectSame({ x }, (t) => tf.transpose(t.x!, [3, 1, 0, 2]), undefined, 'transpose without SIMD');
      await expectSame({ x }, (t) => tf.sum(t.x!, [0, 2]), undefined, 'sum without SIMD');
      await expectSame(
        { x, m: random(rng, [2, 1, 7, 1]) },
        (t) => tf.sub(t.x!, t.m!),
        undefined,
        'inner broadcast without SIMD',
      );
      await expectSame({ x }, (t) => tf.concat([t.x!, t.x!], 3), undefined, 'concat without SIMD');
    } finally {
      tf.env().set(SIMD_FLAG, true);
    }
  });

  it('resize and average-pool gradients equal the exact linear response of the forward op', async () => {
    // Here the cpu backend cannot serve as reference: its resize gradients ignore
    // halfPixelCenters (and the bilinear one swaps height and width of non-square images), and
    // its avgPool gradient divides border windows by the full window size while the forward
    // averages only the pixels inside the image. These ops are linear in their input, so the
    // exact gradient of a weighted-sum loss is the change of the loss per unit input.
    await tf.setBackend('wasm');
    const rng = new Rng(deriveSeed('wasm-kernels', 'linear-ops'));
    const shape: [number, number, number, number] = [2, 3, 5, 2];
    const ops: [string, (a: tf.Tensor4D) => tf.Tensor][] = [
      ['bilinear', (a) => tf.image.resizeBilinear(a, [7, 9], false, false)],
      ['bilinear aligned', (a) => tf.image.resizeBilinear(a, [7, 9], true, false)],
      ['bilinear half-pixel', (a) => tf.image.resizeBilinear(a, [7, 9], false, true)],
      ['bilinear half-pixel down', (a) => tf.image.resizeBilinear(a, [2, 3], false, true)],
      ['nearest', (a) => tf.image.resizeNearestNeighbor(a, [6, 10], false, false)],
      ['nearest aligned', (a) => tf.image.resizeNearestNeighbor(a, [7, 9], true, false)],
      ['nearest half-pixel', (a) => tf.image.resizeNearestNeighbor(a, [7, 9], false, true)],
      ['avgPool same', (a) => tf.avgPool(a, [2, 3], [1, 2], 'same')],
      ['avgPool same s2', (a) => tf.avgPool(a, 2, 2, 'same')],
      ['avgPool valid', (a) => tf.avgPool(a, 2, 1, 'valid')],
    ];
    for (const [name, op] of ops) {
      const x = tf.tensor4d(rng.normals(60), shape);
      const outShape = tf.tidy(() => op(x).shape);
      const w = tf.tensor(rng.normals(tf.util.sizeFromShape(outShape)), outShape);
      const loss = (a: tf.Tensor): tf.Scalar => weighted(op(a as tf.Tensor4D), w);
      const tensors = tf.memory().numTensors;
      const ids = tf.engine().backend.numDataIds();
      const grad = tf.grad(loss)(x);
      const got = grad.dataSync();
      grad.dispose();
      expect(tf.memory().numTensors, `${name} leaked tensors`).toBe(tensors);
      expect(tf.engine().backend.numDataIds(), `${name} leaked backend data`).toBe(ids);
      const values = x.dataSync();
      const base = tf.tidy(() => loss(x).dataSync()[0]!);
      const exact = new Float32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const bumped = Float32Array.from(values);
        bumped[i]! += 1;
        exact[i] = tf.tidy(() => loss(tf.tensor(bumped, shape)).dataSync()[0]!) - base;
      }
      expect(maxRelError(got, exact), name).toBeLessThanOrEqual(TOLERANCE);
      tf.dispose([x, w]);
    }
  });

  it('MaxPoolGrad matches cpu (the stock wasm one is wrong for batch or channels > 1)', async () => {
    const rng = new Rng(deriveSeed('wasm-kernels', 'max-pool'));
    for (const [shape, size, stride, pad] of [
      [[2, 6, 6, 3], 2, 2, 'valid'],
      [[2, 7, 7, 3], 3, 2, 'same'],
      [[1, 5, 8, 2], 3, 1, 'same'],
    ] as [number[], number, number, 'same' | 'valid'][]) {
      const y = tf.backend_util.computePool2DInfo(
        shape as [number, number, number, number],
        size,
        stride,
        1,
        pad,
      );
      await expectSame(
        { x: random(rng, shape), w: random(rng, y.outShape) },
        (t) =>
          tf.grad((a: tf.Tensor) => weighted(tf.maxPool(a as tf.Tensor4D, size, stride, pad), t.w!))(t.x!),
        undefined,
        `maxPool grad ${JSON.stringify([shape, size, stride, pad])}`,
      );
    }
  });

  it('the gradients of a small UNet-like net match cpu for every variable', async () => {
    // Conv, strided conv, temporal [3,1] conv, GroupNorm, SiLU, attention, tile and bilinear
    // upsampling, concat, split, dense layers: the kernels of a real training step.
    const config = { clips: 1, frames: 2, size: 8, channels: 8, groups: 4, heads: 2 };
    const grads = async (backend: 'wasm' | 'cpu'): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const net = createReferenceNet(config, 7);
      const batch = net.makeBatch(3);
      const before = tf.memory().numTensors;
      const { grads: g, value } = tf.variableGrads(() => net.loss(batch), net.variables as tf.Variable[]);
      const out = net.variables.map((v) => Float32Array.from(g[v.name]!.dataSync()));
      tf.dispose([value, ...Object.values(g)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([batch.x, batch.t, batch.target]);
      net.dispose();
      return out;
    };
    const wasm = await grads('wasm');
    const cpu = await grads('cpu');
    await tf.setBackend('wasm');
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < wasm.length; i++) {
      expect(maxRelError(wasm[i]!, cpu[i]!), `variable ${i}`).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('Identity (tf.clone, and every tensor a gradient tape saves) shares the buffer without a copy', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const ids = backend.numDataIds();
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const copy = tf.clone(x);
    expect(copy.dataId).toBe(x.dataId);
    expect(backend.numDataIds()).toBe(ids + 1);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    // A variable swaps buffers on assign: a clone taken before keeps the old values.
    const v = tf.variable(copy);
    const before = tf.clone(v);
    const zeros = tf.zerosLike(v);
    v.assign(zeros);
    expect(Array.from(before.dataSync())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(v.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    const text = tf.tensor1d(['a', 'b'], 'string');
    const strings = tf.clone(text);
    expect(strings.arraySync()).toEqual(['a', 'b']);
    tf.dispose([copy, v, before, zeros, text, strings]);
    expect(backend.numDataIds()).toBe(ids);
  });

  it('refuses NCHW convs with a CascadeError naming the fix', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 4, 4]);
    const x = tf.zeros([1, 2, 4, 4]);
    let error: unknown;
    try {
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 2] },
      );
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
    expect((error as Error).message).toContain('NHWC');
    tf.dispose([dy, x]);
  });
});

describe('simplifyPermutation', () => {
  it('drops size-1 axes and merges axes that stay adjacent', () => {
    expect(simplifyPermutation([2, 1, 3, 4], [0, 2, 3, 1])).toEqual({ shape: [24], perm: [0] });
    expect(simplifyPermutation([2, 3, 4, 5], [0, 2, 3, 1])).toEqual({ shape: [2, 3, 20], perm: [0, 2, 1] });
    expect(simplifyPermutation([2, 3, 4, 5], [2, 3, 0, 1])).toEqual({ shape: [6, 20], perm: [1, 0] });
    expect(simplifyPermutation([2, 3, 4], [0, 2, 1])).toEqual({ shape: [2, 3, 4], perm: [0, 2, 1] });
    expect(simplifyPermutation([1, 1], [1, 0])).toEqual({ shape: [], perm: [] });
  });
});
