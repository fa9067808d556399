import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { ddimSample } from '../model/ddim-sampler.js';
import { dpmSolverSample } from '../model/dpm-solver-sampler.js';
import { guidedDenoiser } from '../model/guided-denoiser.js';
import { NoiseSchedule } from '../model/noise-schedule.js';
import { fanInInit, initialValues } from '../model/param-spec.js';
import { type Denoiser, type SamplerProgress, samplerTimesteps } from '../model/sample-options.js';
import { trainArchitecture } from '../model/train-presets.js';
import { VideoUNet, videoUNetParamSpecs } from '../model/video-unet.js';
import { parseVideoUNetConfig } from '../model/video-unet-config.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

// The tiny preset with a 12-word vocabulary, 4 tokens and 2 frames.
const config = parseVideoUNetConfig({
  ...trainArchitecture('tiny'),
  prediction: 'eps',
  vocabSize: 12,
  maxTokens: 4,
  frames: 2,
});
const SHAPE: [number, number, number, number, number] = [1, 2, 8, 8, 3];

let unet: VideoUNet;
let tokens: tf.Tensor2D;
const linear = new NoiseSchedule({ kind: 'linear' });
const cosine = new NoiseSchedule({ kind: 'cosine' });

beforeAll(async () => {
  await selectBackend({ backend: 'cpu' });
  unet = VideoUNet.create(config, { seed: 5 });
  // Non-zero residual branch ends and output conv, so the model's output depends on its input.
  for (const spec of videoUNetParamSpecs(config)) {
    if (spec.init.kind !== 'zeros' || !spec.name.endsWith('.kernel')) continue;
    const fanIn = spec.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const v = unet.params.get(spec.name)!;
    tf.tidy(() => v.assign(tf.tensor(initialValues({ ...spec, init: fanInInit(fanIn, 0.5) }, 1), v.shape)));
  }
  tokens = tf.tensor2d([[3, 5, 0, 0]], [1, 4], 'int32');
});

afterAll(() => {
  unet.dispose();
  tokens.dispose();
});

function noise(seed: number): tf.Tensor5D {
  return tf.tensor5d(new Rng(seed).normals(SHAPE.reduce((a, b) => a * b, 1)), SHAPE);
}

function bitIdentical(a: tf.Tensor, b: tf.Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  return x.length === y.length && x.every((v, i) => Object.is(v, y[i]));
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** eps that is exactly right for a known clean clip: the sampler must land on x0. */
function oracle(schedule: NoiseSchedule, x0: tf.Tensor): Denoiser {
  return (xt, t) => schedule.epsFromX0(xt, t, x0);
}

describe('samplerTimesteps', () => {
  it('trailing spacing starts at N-1; uniform at 0; K = 700 runs 35 (trailing) or 36 (uniform) steps', () => {
    const full = samplerTimesteps(1000, 50);
    expect(full.length).toBe(50);
    expect(full.slice(0, 3)).toEqual([999, 979, 959]);
    expect(full.at(-1)).toBe(19);
    const uniform = samplerTimesteps(1000, 50, 'uniform');
    expect(uniform.slice(0, 2)).toEqual([980, 960]);
    expect(uniform.at(-1)).toBe(0);
    const fromK = samplerTimesteps(1000, 50, 'trailing', 700);
    expect(fromK.length).toBe(35);
    expect(fromK.slice(0, 3)).toEqual([700, 679, 659]);
    expect(fromK.at(-1)).toBe(19);
    expect(samplerTimesteps(1000, 50, 'uniform', 700).length).toBe(36);
    expect(samplerTimesteps(1000, 50, 'uniform', 700)[0]).toBe(700);
    expect(samplerTimesteps(1000, 50, 'trailing', 5)).toEqual([5]);
    expect(samplerTimesteps(1000, 1000)).toEqual(Array.from({ length: 1000 }, (_, i) => 999 - i));
    expect(() => samplerTimesteps(1000, 0)).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
    expect(() => samplerTimesteps(1000, 50, 'trailing', 1000)).toThrow(/startStep/);
  });
});

describe('samplers with an oracle eps recover the known clean clip', () => {
  for (const [name, schedule] of [
    ['linear', linear],
    ['cosine', cosine],
  ] as const) {
    it(`DDIM (eta 0 and 1) and DPM-Solver++(2M), ${name} schedule`, async () => {
      const x0 = tf.tidy(() => tf.tanh(noise(1)));
      const start = noise(2);
      const fromK = tf.tidy(() => schedule.qSample(x0, 700, noise(3))) as tf.Tensor5D;
      const runs = [
        await ddimSample(oracle(schedule, x0), start, schedule, { steps: 20 }),
        await ddimSample(oracle(schedule, x0), start, schedule, { steps: 20, eta: 1, seed: 4 }),
        await ddimSample(oracle(schedule, x0), fromK, schedule, {
          steps: 20,
          startStep: 700,
          spacing: 'uniform',
        }),
        await dpmSolverSample(oracle(schedule, x0), start, schedule, { steps: 20 }),
        await dpmSolverSample(oracle(schedule, x0), fromK, schedule, { steps: 10, startStep: 700 }),
      ];
      for (const out of runs) expect(maxAbsDiff(out, x0)).toBeLessThan(1e-3);
      tf.dispose([x0, start, fromK, ...runs]);
    });
  }
});

describe('DDIM with the UNet', () => {
  it('eta = 0 with guidance is deterministic: two runs are bit-identical', async () => {
    const denoise = guidedDenoiser(unet, { schedule: linear, tokens, guidanceScale: 3 });
    const a = await ddimSample(denoise, noise(7), linear, { steps: 3 });
    const b = await ddimSample(denoise, noise(7), linear, { steps: 3 });
    const c = await ddimSample(denoise, noise(8), linear, { steps: 3 });
    expect(bitIdentical(a, b)).toBe(true);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-3);
    tf.dispose([a, b, c]);
  });

  it('eta > 0 draws its noise from the seed', async () => {
    const denoise = guidedDenoiser(unet, { schedule: linear, tokens });
    const start = noise(9);
    const a = await ddimSample(denoise, start, linear, { steps: 3, eta: 0.5, seed: 1 });
    const b = await ddimSample(denoise, start, linear, { steps: 3, eta: 0.5, seed: 1 });
    const c = await ddimSample(denoise, start, linear, { steps: 3, eta: 0.5, seed: 2 });
    expect(bitIdentical(a, b)).toBe(true);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-4);
    await expect(ddimSample(denoise, start, linear, { steps: 3, eta: 0.5 })).rejects.toThrow(/seed/);
    tf.dispose([start, a, b, c]);
  });

  it('per-clip seeds give each clip of a batch the noise it gets alone', async () => {
    // An elementwise denoiser, so any difference between the runs comes from the step noise.
    const denoise: Denoiser = (x) => tf.mul(x, 0.1);
    const [one, two] = [noise(10), noise(11)];
    const both = tf.concat([one, two], 0) as tf.Tensor5D;
    const opts = { steps: 3, eta: 1, frameCorrelation: 0.9 };
    const batch = await ddimSample(denoise, both, cosine, { ...opts, seed: [21, 22] });
    const alone = [
      await ddimSample(denoise, one, cosine, { ...opts, seed: [21] }),
      await ddimSample(denoise, two, cosine, { ...opts, seed: 22 }),
    ];
    const [first, second] = tf.split(batch, 2, 0);
    expect(bitIdentical(first!, alone[0]!)).toBe(true);
    expect(bitIdentical(second!, alone[1]!)).toBe(true);
    const swapped = await ddimSample(denoise, both, cosine, { ...opts, seed: [22, 21] });
    expect(maxAbsDiff(batch, swapped)).toBeGreaterThan(1e-3);
    await expect(ddimSample(denoise, both, cosine, { ...opts, seed: [21] })).rejects.toThrow(
      /1 per-clip seed\(s\) for a batch of 2/,
    );
    tf.dispose([one, two, both, batch, ...alone, first!, second!, swapped]);
  });

  it('from step K runs the documented steps, reports progress per step, keeps its input', async () => {
    const seen: number[] = [];
    const progress: SamplerProgress[] = [];
    const inner = guidedDenoiser(unet, { schedule: linear, tokens });
    const denoise: Denoiser = (xt, t, info) => {
      seen.push(t);
      expect(info.totalSteps).toBe(4);
      return inner(xt, t, info);
    };
    const start = noise(10);
    const before = tf.memory().numTensors;
    const out = await ddimSample(denoise, start, linear, {
      steps: 10,
      startStep: 400,
      onProgress: (p) => progress.push(p),
    });
    expect(seen).toEqual(samplerTimesteps(1000, 10, 'trailing', 400));
    expect(seen).toEqual([400, 299, 199, 99]);
    expect(progress).toEqual(seen.map((t, i) => ({ step: i + 1, totalSteps: 4, t })));
    expect(start.isDisposed).toBe(false);
    expect(out.shape).toEqual(SHAPE);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([start, out]);
  });

  it('abort between steps throws ABORTED and leaks nothing', async () => {
    const controller = new AbortController();
    const start = noise(11);
    const before = tf.memory().numTensors;
    let calls = 0;
    const inner = guidedDenoiser(unet, { schedule: linear, tokens, guidanceScale: 2 });
    const denoise: Denoiser = (xt, t, info) => {
      calls++;
      return inner(xt, t, info);
    };
    const run = ddimSample(denoise, start, linear, {
      steps: 10,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.step === 2) controller.abort();
      },
    });
    await expect(run).rejects.toSatisfy((e) => isCascadeError(e, 'ABORTED'));
    expect(calls).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    expect(start.isDisposed).toBe(false);

    const already = new AbortController();
    already.abort();
    await expect(
      dpmSolverSample(denoise, start, linear, { steps: 5, signal: already.signal }),
    ).rejects.toSatisfy((e) => isCascadeError(e, 'ABORTED'));
    expect(tf.memory().numTensors).toBe(before);
    start.dispose();
  });

  it('passes injections for the whole guided batch and reuses per-half injections', async () => {
    const shapes = unet.tapShapes(1, 2, 8, 8);
    const batches: number[] = [];
    const withInjection = guidedDenoiser(unet, {
      schedule: linear,
      tokens,
      guidanceScale: 2,
      injectionsFor: (xt, _t, tok) => {
        batches.push(xt.shape[0], tok.shape[0]);
        return [tf.fill(shapes[0]!, 0.3)];
      },
    });
    const plain = guidedDenoiser(unet, { schedule: linear, tokens, guidanceScale: 2 });
    const start = noise(12);
    const before = tf.memory().numTensors;
    const a = await ddimSample(withInjection, start, linear, { steps: 2 });
    const b = await ddimSample(plain, start, linear, { steps: 2 });
    expect(batches).toEqual([2, 2, 2, 2]);
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-4);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    start.dispose();
  });
});

describe('guided denoiser of a v-prediction model', () => {
  it('returns eps = sqrt(abar) v + sqrt(1 - abar) x_t of the guided v', () => {
    const vModel = VideoUNet.fromWeights(
      parseVideoUNetConfig({ ...config, prediction: 'v' }),
      new Map([...unet.params].map(([name, p]) => [name, p.dataSync() as Float32Array])),
    );
    const x = noise(14);
    const before = tf.memory().numTensors;
    for (const t of [999, 500, 3]) {
      const [fromV, expected] = tf.tidy(() => {
        // The eps model with the same weights outputs exactly the v model's raw prediction.
        const guidedRaw = guidedDenoiser(unet, { schedule: cosine, tokens, guidanceScale: 3 })(x, t, {
          step: 1,
          totalSteps: 1,
        }) as tf.Tensor;
        const a = Math.sqrt(cosine.abar(t));
        const s = Math.sqrt(1 - cosine.abar(t));
        const eps = guidedDenoiser(vModel, { schedule: cosine, tokens, guidanceScale: 3 })(x, t, {
          step: 1,
          totalSteps: 1,
        }) as tf.Tensor;
        return [eps, tf.add(tf.mul(guidedRaw, a), tf.mul(x, s))];
      });
      expect(maxAbsDiff(fromV!, expected!)).toBeLessThan(1e-5);
      tf.dispose([fromV!, expected!]);
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    vModel.dispose();
  });
});

describe('DPM-Solver++(2M) with the UNet', () => {
  it('runs, is deterministic, clips x0 on request, and leaks nothing', async () => {
    const denoise = guidedDenoiser(unet, { schedule: cosine, tokens, guidanceScale: 2 });
    const start = noise(13);
    const before = tf.memory().numTensors;
    const a = await dpmSolverSample(denoise, start, cosine, { steps: 4 });
    const b = await dpmSolverSample(denoise, start, cosine, { steps: 4 });
    expect(bitIdentical(a, b)).toBe(true);
    expect(a.shape).toEqual(SHAPE);
    const clipped = await dpmSolverSample(denoise, start, cosine, { steps: 4, clipX0: true });
    // The last step returns the predicted x0, so clipping bounds the output.
    expect(tf.tidy(() => tf.max(tf.abs(clipped)).dataSync()[0]!)).toBeLessThanOrEqual(1);
    tf.dispose([a, b, clipped]);
    expect(tf.memory().numTensors).toBe(before);
    start.dispose();
  });
});
