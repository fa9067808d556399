import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { NoiseSchedule } from '../model/noise-schedule.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

beforeAll(async () => {
  await selectBackend({ backend: 'cpu' });
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  return tf.tensor(
    new Rng(seed).normals(n).map((v) => v * scale),
    shape,
  );
}

describe('NoiseSchedule', () => {
  it('linear: betas 1e-4..0.02, abar strictly decreasing in (0, 1), closed-form ends', () => {
    const s = new NoiseSchedule({ kind: 'linear' });
    expect(s.steps).toBe(1000);
    expect(s.betas[0]).toBeCloseTo(1e-4, 15);
    expect(s.betas[999]).toBeCloseTo(0.02, 15);
    for (let t = 0; t < 1000; t++) {
      const a = s.alphasCumprod[t]!;
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(1);
      if (t > 0) expect(a).toBeLessThan(s.alphasCumprod[t - 1]!);
    }
    expect(s.alphasCumprod[0]).toBe(1 - 1e-4);
    // abar[999] = prod_i (1 - beta_i), beta_i = 1e-4 + (0.02 - 1e-4) i / 999, in log space.
    let logAbar = 0;
    for (let i = 0; i < 1000; i++) logAbar += Math.log1p(-(1e-4 + ((0.02 - 1e-4) * i) / 999));
    expect(s.alphasCumprod[999]! / Math.exp(logAbar)).toBeCloseTo(1, 10);
    // The well-known DDPM value.
    expect(s.alphasCumprod[999]).toBeGreaterThan(4.03e-5);
    expect(s.alphasCumprod[999]).toBeLessThan(4.04e-5);
  });

  it('cosine: matches f(t+1)/f(0) where betas are unclipped, betas capped at 0.999', () => {
    const s = new NoiseSchedule({ kind: 'cosine' });
    const off = 0.008;
    const f = (t: number) => Math.cos(((t / 1000 + off) / (1 + off)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < 1000; t++) {
      expect(s.betas[t]).toBeLessThanOrEqual(0.999);
      const a = s.alphasCumprod[t]!;
      expect(a).toBeGreaterThan(0);
      expect(a).toBeLessThan(1);
      if (t > 0) expect(a).toBeLessThan(s.alphasCumprod[t - 1]!);
      if (s.betas[t]! < 0.999) expect(Math.abs(a - f(t + 1) / f(0))).toBeLessThan(1e-12);
    }
    expect(s.betas[999]).toBe(0.999);
    expect(s.abar(-1)).toBe(1);
  });

  it('qSample then predictX0 / epsFromX0 with the true eps inverts it', () => {
    const s = new NoiseSchedule({ kind: 'linear' });
    const before = tf.memory().numTensors;
    const x0 = tf.tidy(() => tf.clipByValue(randomTensor([2, 3, 4, 4, 3], 1, 0.5), -1, 1));
    const eps = randomTensor([2, 3, 4, 4, 3], 2);
    // x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar): the float32 rounding of x_t (~2e-7 for
    // |x_t| ~ 3) is divided by sqrt(abar), which is 0.083 at t = 700 but 0.0064 at t = 999. So
    // the error is below 1e-5 up to t = 700, and beyond it scales as 1 / sqrt(abar).
    for (const t of [0, 1, 250, 500, 700, 800, 900, 999]) {
      const xt = s.qSample(x0, t, eps);
      const x0Back = s.predictX0(xt, t, eps);
      const epsBack = s.epsFromX0(xt, t, x0);
      const x0Err = maxAbsDiff(x0Back, x0);
      if (t <= 700) expect(x0Err).toBeLessThan(1e-5);
      else expect(x0Err * Math.sqrt(s.abar(t))).toBeLessThan(1e-6);
      // eps from x0 has the mirror-image conditioning: 1 / sqrt(1 - abar) is large at t = 0.
      const epsErr = maxAbsDiff(epsBack, eps);
      expect(epsErr * Math.sqrt(1 - s.abar(t))).toBeLessThan(1e-6);
      if (t >= 250) expect(epsErr).toBeLessThan(1e-5);
      tf.dispose([xt, x0Back, epsBack]);
    }
    tf.dispose([x0, eps]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('velocity then epsFromV gives back eps; snr is abar / (1 - abar)', () => {
    const s = new NoiseSchedule({ kind: 'cosine' });
    const before = tf.memory().numTensors;
    const x0 = tf.tidy(() => tf.clipByValue(randomTensor([2, 3, 4, 4, 3], 5, 0.5), -1, 1));
    const eps = randomTensor([2, 3, 4, 4, 3], 6);
    for (const t of [0, 250, 500, 900, 999]) {
      const [xt, v, epsBack, x0Back] = tf.tidy(() => {
        const xt = s.qSample(x0, t, eps);
        const v = s.velocity(x0, t, eps);
        const epsBack = s.epsFromV(xt, t, v);
        return [xt, v, epsBack, s.predictX0(xt, t, epsBack)];
      });
      expect(maxAbsDiff(epsBack!, eps)).toBeLessThan(1e-5);
      // x0 through eps: the rounding of eps is divided by sqrt(abar), which is 1e-4 at t = 999.
      expect(maxAbsDiff(x0Back!, x0) * Math.sqrt(s.abar(t))).toBeLessThan(1e-6);
      expect(s.snr(t)).toBeCloseTo(s.abar(t) / (1 - s.abar(t)), 12);
      tf.dispose([xt!, v!, epsBack!, x0Back!]);
    }
    expect(s.snr(0)).toBeGreaterThan(s.snr(500));
    tf.dispose([x0, eps]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('per-sample timesteps broadcast over the batch and match per-step results', () => {
    const s = new NoiseSchedule({ kind: 'cosine' });
    const x0 = randomTensor([2, 2, 2, 2, 3], 3);
    const eps = randomTensor([2, 2, 2, 2, 3], 4);
    const both = s.qSample(x0, [10, 800], eps);
    const [first, second] = tf.split(both, 2, 0);
    const [x0a, x0b] = tf.split(x0, 2, 0);
    const [epsA, epsB] = tf.split(eps, 2, 0);
    const a = s.qSample(x0a!, 10, epsA!);
    const b = s.qSample(x0b!, 800, epsB!);
    expect(maxAbsDiff(first!, a)).toBeLessThan(1e-6);
    expect(maxAbsDiff(second!, b)).toBeLessThan(1e-6);
    // v-parameterisation identity: x0 = sqrt(abar) x_t - sqrt(1 - abar) v.
    const v = s.velocity(x0, [10, 800], eps);
    const ab = [s.abar(10), s.abar(800)];
    const coef = (f: (x: number) => number) => tf.tensor(ab.map(f), [2, 1, 1, 1, 1]);
    const x0FromV = tf.sub(
      tf.mul(coef(Math.sqrt), both),
      tf.mul(
        coef((x) => Math.sqrt(1 - x)),
        v,
      ),
    );
    expect(maxAbsDiff(x0FromV, x0)).toBeLessThan(1e-5);
    tf.dispose([x0, eps, both, first!, second!, x0a!, x0b!, epsA!, epsB!, a, b, v, x0FromV]);
  });

  it('rejects bad configs and timesteps with BAD_ARGUMENT', () => {
    expect(() => new NoiseSchedule({ kind: 'linear', betaEnd: 1.5 })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'schedule.betaEnd' }),
    );
    const s = new NoiseSchedule({ kind: 'linear', steps: 100 });
    const x = tf.zeros([1, 1, 1, 1, 3]);
    for (const t of [100, -2, 1.5]) {
      try {
        s.qSample(x, t, x);
        expect.unreachable();
      } catch (error) {
        expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
      }
    }
    expect(() => s.qSample(x, [1, 2], x)).toThrow(/2 timesteps given for a batch of 1/);
    x.dispose();
  });
});

describe('frame-correlated noise prior', () => {
  it('0 (the default of saved configs) draws exactly the i.i.d. normals of the same seed', () => {
    const schedule = new NoiseSchedule({ kind: 'cosine' });
    expect(schedule.config.frameCorrelation).toBe(0);
    const shape = [2, 3, 4, 4, 3];
    const noise = schedule.noise(shape, new Rng(7));
    expect(noise.shape).toEqual(shape);
    expect(Array.from(noise.dataSync())).toEqual(Array.from(new Rng(7).normals(2 * 3 * 4 * 4 * 3)));
    noise.dispose();
  });

  it('rho: unit variance per value, correlation rho between frames of a clip, none across clips', () => {
    const rho = 0.6;
    const schedule = new NoiseSchedule({ kind: 'linear', frameCorrelation: rho });
    const [clips, frames, size] = [2, 4, 4096];
    const values = schedule.noise([clips, frames, size], new Rng(3)).arraySync() as number[][][];
    const at = (c: number, f: number): number[] => values[c]![f]!;
    const mean = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0) / a.length;
    for (let c = 0; c < clips; c++) {
      for (let f = 0; f < frames; f++) {
        expect(mean(at(c, f), at(c, f))).toBeGreaterThan(0.95);
        expect(mean(at(c, f), at(c, f))).toBeLessThan(1.05);
        for (let g = f + 1; g < frames; g++) {
          expect(Math.abs(mean(at(c, f), at(c, g)) - rho)).toBeLessThan(0.05);
        }
      }
    }
    expect(Math.abs(mean(at(0, 0), at(1, 0)))).toBeLessThan(0.05);
  });

  it('inference noise follows samplingFrameCorrelation, or the training correlation without one', () => {
    const trained = new NoiseSchedule({ kind: 'cosine', frameCorrelation: 0.8 });
    expect(trained.samplingFrameCorrelation).toBe(0.8);
    const shape = [1, 3, 64];
    const a = trained.noise(shape, new Rng(5));
    const b = trained.samplingNoise(shape, new Rng(5));
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    const tuned = new NoiseSchedule({
      kind: 'cosine',
      frameCorrelation: 0.8,
      samplingFrameCorrelation: 0.95,
    });
    expect(tuned.samplingFrameCorrelation).toBe(0.95);
    const c = tuned.samplingNoise(shape, new Rng(5));
    const d = new NoiseSchedule({ kind: 'cosine', frameCorrelation: 0.95 }).noise(shape, new Rng(5));
    expect(Array.from(c.dataSync())).toEqual(Array.from(d.dataSync()));
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync()));
    // Training noise stays at the training correlation.
    const e = tuned.noise(shape, new Rng(5));
    expect(Array.from(e.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, c, d, e]);
  });

  it('rejects a correlation outside [0, 1) with the config field named', () => {
    let error: unknown;
    try {
      new NoiseSchedule({ kind: 'cosine', frameCorrelation: 1 });
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
    expect(String((error as Error).message)).toContain('schedule.frameCorrelation');
  });
});
