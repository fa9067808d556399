import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { attnSfScale } from '../model/attn-sf-scale.js';
import { multiHeadAttention } from '../model/multi-head-attention.js';
import { fanInInit, initialValues } from '../model/param-spec.js';
import { depthToSpace, spaceToDepth, upsampleNearest2x } from '../model/resample.js';
import { VideoUNet, videoUNetParamSpecs } from '../model/video-unet.js';
import { parseVideoUNetConfig, type VideoUNetConfigInput } from '../model/video-unet-config.js';
import { Rng } from '../util/rng.js';

const TINY: VideoUNetConfigInput = {
  channels: [8, 16],
  resBlocksPerLevel: 1,
  groups: 4,
  attentionHeads: 2,
  temporalMixing: ['conv', 'attention'],
  vocabSize: 12,
  maxTokens: 6,
  textEmbedDim: 8,
  textLayers: 1,
  timeEmbedDim: 16,
  frames: 4,
  height: 8,
  width: 8,
};
const config = parseVideoUNetConfig(TINY);

/**
 * Zero-initialised kernels (residual branch ends, output conv) make a fresh model output 0 and
 * ignore its inputs; give them random values so the tests see every path.
 */
function randomiseZeroInits(unet: VideoUNet, seed: number): void {
  for (const spec of videoUNetParamSpecs(unet.config)) {
    if (spec.init.kind !== 'zeros' || !spec.name.endsWith('.kernel')) continue;
    const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const values = initialValues({ ...spec, init: fanInInit(fanIn) }, seed);
    const v = unet.params.get(spec.name)!;
    tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
  }
}

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return tf.tensor(new Rng(seed).normals(n), shape);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function maxAbs(a: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(a)).dataSync()[0]!);
}

function same(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

let unet: VideoUNet;
let x: tf.Tensor5D;
let tokens: tf.Tensor2D;
const t = [10, 700];

beforeAll(async () => {
  await selectBackend({ backend: 'cpu' });
  unet = VideoUNet.create(config, { seed: 7 });
  randomiseZeroInits(unet, 99);
  x = randomTensor([2, 4, 8, 8, 3], 1) as tf.Tensor5D;
  tokens = tf.tensor2d(
    [
      [3, 4, 5, 0],
      [0, 0, 0, 0],
    ],
    [2, 4],
    'int32',
  );
});

afterAll(() => {
  unet.dispose();
  tf.dispose([x, tokens]);
});

describe('VideoUNet', () => {
  it('predicts a tensor of the input shape and exposes levels + 1 taps of the documented shapes', () => {
    const out = unet.apply(x, t, tokens, { collectTaps: true });
    expect(out.prediction!.shape).toEqual([2, 4, 8, 8, 3]);
    expect(unet.tapCount).toBe(3);
    expect(out.taps!.map((tap) => tap.shape)).toEqual([
      [8, 8, 8, 8],
      [8, 4, 4, 16],
      [8, 4, 4, 16],
    ]);
    expect(unet.tapShapes(2, 4, 8, 8)).toEqual(out.taps!.map((tap) => tap.shape));
    expect(Number.isFinite(maxAbs(out.prediction!))).toBe(true);
    expect(maxAbs(out.prediction!)).toBeGreaterThan(0);
    tf.dispose([out.prediction!, ...out.taps!]);
  });

  it('has N = 4 taps with 3 levels (the paper N)', () => {
    const three = VideoUNet.create({ ...config, channels: [8, 8, 16] }, { seed: 1 });
    const before = tf.memory().numTensors;
    const { taps, prediction } = three.apply(x, 5, tokens, { encoderOnly: true });
    expect(prediction).toBeUndefined();
    expect(taps!.map((tap) => tap.shape)).toEqual([
      [8, 8, 8, 8],
      [8, 4, 4, 8],
      [8, 2, 2, 16],
      [8, 2, 2, 16],
    ]);
    tf.dispose(taps!);
    expect(tf.memory().numTensors).toBe(before);
    three.dispose();
  });

  it('a fresh model predicts exactly zero (zero-initialised output conv)', () => {
    const fresh = VideoUNet.create(config, { seed: 3 });
    const { prediction } = fresh.apply(x, t, tokens);
    expect(maxAbs(prediction!)).toBe(0);
    prediction!.dispose();
    fresh.dispose();
  });

  it('a zero injection leaves the output bit-identical; a non-zero one at any tap changes it', () => {
    const plain = unet.apply(x, t, tokens, { collectTaps: true });
    const base = plain.prediction!;
    const shapes = unet.tapShapes(2, 4, 8, 8);
    const zeros = shapes.map((s) => tf.zeros(s));
    const withZeros = unet.apply(x, t, tokens, { injections: zeros }).prediction!;
    expect(same(withZeros, base)).toBe(true);
    for (let n = 0; n < shapes.length; n++) {
      const injections: (tf.Tensor | undefined)[] = shapes.map(() => undefined);
      injections[n] = tf.fill(shapes[n]!, 0.5);
      const out = unet.apply(x, t, tokens, { injections, collectTaps: true });
      expect(maxAbsDiff(out.prediction!, base)).toBeGreaterThan(1e-4);
      // The tap records the injected feature: tap_n = h_n + inj_n.
      const delta = tf.sub(out.taps![n]!, plain.taps![n]!);
      expect(maxAbsDiff(delta, injections[n]!)).toBeLessThan(1e-5);
      tf.dispose([delta, injections[n]!, out.prediction!, ...out.taps!]);
    }
    tf.dispose([base, ...plain.taps!, withZeros, ...zeros]);
  });

  it('encoderOnly returns only the taps, identical to the full run', () => {
    const full = unet.apply(x, t, tokens, { collectTaps: true });
    const enc = unet.apply(x, t, tokens, { encoderOnly: true });
    expect(enc.prediction).toBeUndefined();
    expect(enc.taps!.length).toBe(3);
    for (const [i, tap] of enc.taps!.entries()) expect(same(tap, full.taps![i]!)).toBe(true);
    tf.dispose([full.prediction!, ...full.taps!, ...enc.taps!]);
  });

  it('runs at 2x resolution and at other frame counts with the same weights', () => {
    const big = randomTensor([1, 4, 16, 16, 3], 5) as tf.Tensor5D;
    const tok = tf.tensor2d([[1, 2]], [1, 2], 'int32');
    const out = unet.apply(big, [100], tok, { collectTaps: true });
    expect(out.prediction!.shape).toEqual([1, 4, 16, 16, 3]);
    expect(out.taps!.map((tap) => tap.shape)).toEqual([
      [4, 16, 16, 8],
      [4, 8, 8, 16],
      [4, 8, 8, 16],
    ]);
    for (const frames of [1, 3]) {
      const clip = randomTensor([1, frames, 8, 16, 3], frames) as tf.Tensor5D;
      const eps = unet.apply(clip, 3, tok).prediction!;
      expect(eps.shape).toEqual([1, frames, 8, 16, 3]);
      tf.dispose([clip, eps]);
    }
    tf.dispose([big, tok, out.prediction!, ...out.taps!]);
  });

  it('mixes information across frames only through the temporal layers', () => {
    const changed = tf.tidy(() => {
      const bump = tf.concat([tf.ones([2, 1, 8, 8, 3]), tf.zeros([2, 3, 8, 8, 3])], 1);
      return tf.add(x, bump) as tf.Tensor5D;
    });
    const lastFrame = (model: VideoUNet, input: tf.Tensor5D) =>
      tf.tidy(() => tf.slice(model.apply(input, t, tokens).prediction!, [0, 3], [2, 1]));
    const a = lastFrame(unet, x);
    const b = lastFrame(unet, changed);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-4);
    const spatialOnly = VideoUNet.create({ ...config, temporalMixing: [] }, { seed: 7 });
    randomiseZeroInits(spatialOnly, 99);
    const c = lastFrame(spatialOnly, x);
    const d = lastFrame(spatialOnly, changed);
    // Frames are folded into the batch, GroupNorm statistics are per frame and cross-attention
    // keys come from the prompt alone, so without temporal layers frames stay independent.
    expect(maxAbsDiff(c, d)).toBeLessThan(1e-5);
    spatialOnly.dispose();
    tf.dispose([changed, a, b, c, d]);
  });

  it('is conditioned on the prompt, and trailing PAD tokens change nothing', () => {
    const [a, b, c] = tf.tidy(() => {
      const short = tf.tensor2d(
        [
          [3, 4],
          [0, 0],
        ],
        [2, 2],
        'int32',
      );
      const other = tf.tensor2d(
        [
          [7, 4, 5, 0],
          [0, 0, 0, 0],
        ],
        [2, 4],
        'int32',
      );
      const padded = tf.tensor2d(
        [
          [3, 4, 0, 0],
          [0, 0, 0, 0],
        ],
        [2, 4],
        'int32',
      );
      return [
        unet.apply(x, t, padded).prediction!,
        unet.apply(x, t, short).prediction!,
        unet.apply(x, t, other).prediction!,
      ];
    });
    expect(maxAbsDiff(a!, b!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a!, c!)).toBeGreaterThan(1e-4);
    tf.dispose([a!, b!, c!]);
  });

  it('honours paramOverrides and attentionLogitScale', () => {
    const [base, scaled, zeroed] = tf.tidy(() => {
      const overrides = new Map([['out.conv.kernel', tf.zerosLike(unet.params.get('out.conv.kernel')!)]]);
      return [
        unet.apply(x, t, tokens).prediction!,
        unet.apply(x, t, tokens, { attentionLogitScale: 1.7 }).prediction!,
        unet.apply(x, t, tokens, { paramOverrides: overrides }).prediction!,
      ];
    });
    expect(maxAbsDiff(base!, scaled!)).toBeGreaterThan(1e-6);
    expect(maxAbs(zeroed!)).toBe(0);
    tf.dispose([base!, scaled!, zeroed!]);
  });

  it('attention in groups of items (bounded logits) gives the same result and gradients', () => {
    const [q, k, v] = [
      randomTensor([5, 6, 8], 1),
      randomTensor([5, 7, 8], 2),
      randomTensor([5, 7, 8], 3),
    ] as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
    const keyBias = tf.tensor2d(
      Array.from({ length: 35 }, (_, i) => (i % 4 === 0 ? -1e9 : 0)),
      [5, 7],
    );
    const run = (maxLogits?: number) => {
      const f = (x: tf.Tensor) =>
        tf.sum(tf.square(multiHeadAttention(x as tf.Tensor3D, k, v, { heads: 2, keyBias, maxLogits })));
      const out = multiHeadAttention(q, k, v, { heads: 2, keyBias, maxLogits });
      const grad = tf.grad(f)(q);
      const result = { out: out.arraySync(), grad: grad.arraySync() };
      tf.dispose([out, grad]);
      return result;
    };
    const whole = run();
    // 2 heads x 6 x 7 logits per item: groups of 2 items, then 1 item.
    for (const maxLogits of [2 * 84, 1]) {
      const grouped = run(maxLogits);
      expect(grouped.out).toEqual(whole.out);
      expect(grouped.grad).toEqual(whole.grad);
    }
    tf.dispose([q, k, v, keyBias]);
  });

  it('attnSfScale is 1 at the training size and sqrt(log n_test / log n_train) above it', () => {
    expect(attnSfScale(config, 8, 8)).toBe(1);
    // Lowest level of 2 levels: 4x4 = 16 positions at 8x8, 8x8 = 64 at 16x16.
    expect(attnSfScale(config, 16, 16)).toBeCloseTo(Math.sqrt(Math.log(64) / Math.log(16)), 12);
  });

  it('initialises deterministically from the seed, with stable ordered names', () => {
    const a = VideoUNet.create(config, { seed: 11 });
    const b = VideoUNet.create(config, { seed: 11 });
    const c = VideoUNet.create(config, { seed: 12 });
    expect([...a.params.keys()]).toEqual(videoUNetParamSpecs(config).map((s) => s.name));
    expect(a.params.has('down.0.res.0.conv1.kernel')).toBe(true);
    let differs = false;
    for (const [name, v] of a.params) {
      expect(same(v, b.params.get(name)!)).toBe(true);
      if (!same(v, c.params.get(name)!)) differs = true;
    }
    expect(differs).toBe(true);
    const count = [...a.params.values()].reduce((n, v) => n + v.size, 0);
    expect(a.parameterCount()).toBe(count);
    for (const m of [a, b, c]) m.dispose();
  });

  it('leaks no tensors in apply (with taps and injections) or in a gradient step', () => {
    const before = tf.memory().numTensors;
    const inj = unet.tapShapes(2, 4, 8, 8).map((s) => tf.ones(s));
    const out = unet.apply(x, t, tokens, { injections: inj, collectTaps: true });
    tf.dispose([out.prediction!, ...out.taps!, ...inj]);
    expect(tf.memory().numTensors).toBe(before);

    const vars = unet.trainableVariables();
    expect(vars.length).toBe(unet.params.size);
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(unet.apply(x, t, tokens).prediction!)) as tf.Scalar,
      vars,
    );
    // Every parameter takes part in the forward pass.
    expect(Object.keys(grads).length).toBe(unet.params.size);
    const gradNorm = tf.tidy(() => tf.add(tf.sum(tf.square(grads[vars[0]!.name]!)), 0).dataSync()[0]!);
    expect(Number.isFinite(gradNorm)).toBe(true);
    value.dispose();
    tf.dispose(Object.values(grads));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('can be frozen', () => {
    unet.setTrainable(false);
    expect(unet.trainableVariables()).toEqual([]);
    unet.setTrainable(true);
    expect(unet.trainableVariables().length).toBe(unet.params.size);
  });

  it('places spatial, cross and temporal attention by attentionLevels and temporalAttentionLevels', () => {
    const names = (input: VideoUNetConfigInput): string[] =>
      videoUNetParamSpecs(parseVideoUNetConfig(input)).map((s) => s.name);
    const three: VideoUNetConfigInput = { ...TINY, channels: [8, 16, 16], height: 8, width: 8 };
    // Defaults: spatial/cross attention at the lowest level (and mid), temporal attention everywhere.
    const base = names(three);
    expect(base.some((n) => n.startsWith('down.2.attn.0'))).toBe(true);
    expect(base.some((n) => n.startsWith('down.1.attn.'))).toBe(false);
    expect(base.some((n) => n.startsWith('down.0.tattn.'))).toBe(true);
    // Two attention levels: the 16x16-equivalent level gets spatial and cross-attention too.
    const two = names({ ...three, attentionLevels: 2 });
    for (const prefix of ['down.1.attn.0', 'down.1.cross.0', 'up.1.attn.0', 'up.1.cross.0']) {
      expect(
        two.some((n) => n.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }
    expect(two.some((n) => n.startsWith('down.0.attn.'))).toBe(false);
    // Temporal attention at the lowest level only (and mid); the temporal conv stays everywhere.
    const low = names({ ...three, temporalAttentionLevels: 1 });
    expect(low.some((n) => n.startsWith('down.2.tattn.0'))).toBe(true);
    expect(low.some((n) => n.startsWith('mid.tattn.1'))).toBe(true);
    expect(low.some((n) => n.startsWith('down.1.tattn.') || n.startsWith('up.0.tattn.'))).toBe(false);
    expect(low.some((n) => n.startsWith('down.0.tconv.0'))).toBe(true);
    // Every parameter of such a net takes part in a forward pass with gradients.
    const net = VideoUNet.create(
      parseVideoUNetConfig({ ...three, attentionLevels: 2, temporalAttentionLevels: 1 }),
      {
        seed: 3,
      },
    );
    randomiseZeroInits(net, 4);
    const vars = net.trainableVariables();
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(net.apply(x, t, tokens).prediction!)) as tf.Scalar,
      vars,
    );
    expect(Object.keys(grads).length).toBe(net.params.size);
    tf.dispose([value, ...Object.values(grads)]);
    net.dispose();
    expect(() => parseVideoUNetConfig({ ...three, attentionLevels: 4 })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'architecture.attentionLevels' }),
    );
    expect(() => parseVideoUNetConfig({ ...three, temporalAttentionLevels: 4 })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'architecture.temporalAttentionLevels' }),
    );
  });

  it('validates configs and inputs with BAD_ARGUMENT', () => {
    expect(() => parseVideoUNetConfig({ ...TINY, channels: [8, 10] })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'architecture.channels.1' }),
    );
    expect(() => parseVideoUNetConfig({ ...TINY, height: 9 })).toThrow(/height/);
    const odd = tf.zeros([1, 2, 7, 8, 3]) as tf.Tensor5D;
    const tok = tf.zeros([1, 2], 'int32') as tf.Tensor2D;
    expect(() => unet.apply(odd, 0, tok)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    const wrong = tf.zeros([8, 8, 8, 4]);
    expect(() => unet.apply(x, t, tokens, { injections: [wrong] })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'injections.0' }),
    );
    const long = tf.zeros([2, 7], 'int32') as tf.Tensor2D;
    expect(() => unet.apply(x, t, long)).toThrow(/maxTokens/);
    expect(() => unet.apply(x, [1, 2, 3], tokens)).toThrow(/3 timesteps/);
    tf.dispose([odd, tok, wrong, long]);
  });

  it('upsampleNearest2x repeats every pixel 2x2, and its gradient sums them back', () => {
    const input = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const up = upsampleNearest2x(input);
    expect(Array.from(up.dataSync().slice(0, 16))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const grad = tf.grad((v: tf.Tensor) => tf.sum(upsampleNearest2x(v as tf.Tensor4D)))(input);
    expect(Array.from(grad.dataSync())).toEqual([4, 4, 4, 4, 4, 4, 4, 4]);
    tf.dispose([input, up, grad]);
  });

  it('spaceToDepth folds p x p blocks into channels (row, column, channel) and depthToSpace undoes it', () => {
    // [1, 4, 4, 2]: value = 100 * row + 10 * col + channel.
    const values: number[] = [];
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++) values.push(100 * r + 10 * c, 100 * r + 10 * c + 1);
    const input = tf.tensor4d(values, [1, 4, 4, 2]);
    const folded = spaceToDepth(input, 2);
    expect(folded.shape).toEqual([1, 2, 2, 8]);
    const at = (y: number, x: number): number[] =>
      Array.from(folded.dataSync().slice((y * 2 + x) * 8, (y * 2 + x + 1) * 8));
    // Block (1, 0): pixels (2,0) (2,1) (3,0) (3,1), row-major inside the block.
    expect(at(1, 0)).toEqual([200, 201, 210, 211, 300, 301, 310, 311]);
    expect(at(0, 1)).toEqual([20, 21, 30, 31, 120, 121, 130, 131]);
    const big = randomTensor([3, 8, 12, 3], 5) as tf.Tensor4D;
    for (const p of [1, 2, 4]) {
      const back = depthToSpace(spaceToDepth(big, p), p);
      expect(same(back, big), `p = ${p}`).toBe(true);
      if (back !== big) tf.dispose(back);
    }
    tf.dispose([input, folded, big]);
  });

  it('with patchSize 2 runs its levels at half the sizes and predicts full-size clips', () => {
    const patched = parseVideoUNetConfig({ ...TINY, patchSize: 2 });
    expect(parseVideoUNetConfig(TINY).patchSize).toBe(1);
    const net = VideoUNet.create(patched, { seed: 5 });
    randomiseZeroInits(net, 6);
    expect(net.params.get('in.conv.kernel')!.shape).toEqual([3, 3, 12, 8]);
    expect(net.params.get('out.conv.kernel')!.shape).toEqual([3, 3, 8, 12]);
    expect(net.tapShapes(2, 4, 8, 8)).toEqual([
      [8, 4, 4, 8],
      [8, 2, 2, 16],
      [8, 2, 2, 16],
    ]);
    const out = net.apply(x, t, tokens, { collectTaps: true });
    expect(out.prediction!.shape).toEqual([2, 4, 8, 8, 3]);
    expect(out.taps!.map((tap) => tap.shape)).toEqual(net.tapShapes(2, 4, 8, 8));
    // Every parameter gets a gradient through the fold and unfold.
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(net.apply(x, t, tokens).prediction!)) as tf.Scalar,
      net.trainableVariables(),
    );
    expect(Object.values(grads).every((g) => maxAbs(g) > 0)).toBe(true);
    // 6x6 is divisible by 2 but not by patchSize * 2 = 4.
    const odd = tf.zeros([1, 4, 6, 6, 3]) as tf.Tensor5D;
    expect(() => net.apply(odd, 10, tokens.slice([0, 0], [1, 4]) as tf.Tensor2D)).toThrow(/patchSize/);
    expect(() => parseVideoUNetConfig({ ...TINY, patchSize: 2, height: 6 })).toThrow(/patchSize/);
    expect(() => parseVideoUNetConfig({ ...TINY, patchSize: 3 })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'architecture.patchSize' }),
    );
    tf.dispose([odd, value, ...Object.values(grads), out.prediction!, ...out.taps!]);
    net.dispose();
  });
});
