import { describe, expect, it } from 'vitest';
import { AdamW } from '../model/adamw.js';
import { clipGradientNorm } from '../model/clip-gradient-norm.js';
import { Ema, emaDecayAt } from '../model/ema.js';
import { learningRateAt } from '../model/lr-schedule.js';
import { isCascadeError } from '../util/cascade-error.js';

describe('learningRateAt', () => {
  const schedule = { peak: 1e-3, warmupSteps: 10, totalSteps: 111, minRatio: 0.1 };

  it('ramps linearly during warmup without a zero step, peaks, then follows the cosine to the floor', () => {
    expect(learningRateAt(0, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(4, schedule)).toBeCloseTo(5e-4, 12);
    expect(learningRateAt(9, schedule)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(10, schedule)).toBeCloseTo(1e-3, 12);
    // Half-way through the decay the cosine is at the mean of peak and floor.
    const mid = 10 + (111 - 1 - 10) / 2;
    expect(learningRateAt(mid, schedule)).toBeCloseTo((1e-3 + 1e-4) / 2, 12);
    expect(learningRateAt(110, schedule)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(500, schedule)).toBeCloseTo(1e-4, 12);
    for (let s = 10; s < 110; s++)
      expect(learningRateAt(s + 1, schedule)).toBeLessThanOrEqual(learningRateAt(s, schedule));
  });

  it('rejects a negative step', () => {
    expect(() => learningRateAt(-1, schedule)).toThrow(/step is -1/);
  });
});

describe('AdamW', () => {
  it('takes a first step of lr * sign(g) (bias-corrected) plus decoupled decay on masked weights only', () => {
    const opt = new AdamW(
      3,
      { beta1: 0.9, beta2: 0.999, epsilon: 1e-12, weightDecay: 0.1 },
      Uint8Array.from([1, 1, 0]),
    );
    const w = Float32Array.from([1, -2, 3]);
    opt.update(w, Float32Array.from([0.5, -4, 2]), 0.01);
    expect(w[0]).toBeCloseTo(1 - 0.01 * 0.1 * 1 - 0.01, 6);
    expect(w[1]).toBeCloseTo(-2 - 0.01 * 0.1 * -2 + 0.01, 6);
    expect(w[2]).toBeCloseTo(3 - 0.01, 6);
    expect(opt.step).toBe(1);
  });

  it('matches a float64 reference over several steps and restores its state exactly', () => {
    const hyper = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0 };
    const opt = new AdamW(1, hyper);
    const w = Float32Array.from([0.3]);
    let m = 0;
    let v = 0;
    let ref = 0.3;
    const grads = [0.1, -0.2, 0.05, 0.3];
    for (let k = 1; k <= grads.length; k++) {
      const g = grads[k - 1]!;
      opt.update(w, Float32Array.from([g]), 0.01);
      m = 0.9 * m + 0.1 * g;
      v = 0.99 * v + 0.01 * g * g;
      ref -= (0.01 * (m / (1 - 0.9 ** k))) / (Math.sqrt(v / (1 - 0.99 ** k)) + 1e-8);
    }
    expect(w[0]).toBeCloseTo(ref, 6);

    const copy = new AdamW(1, hyper);
    copy.setState(opt.getState());
    const a = Float32Array.from(w);
    const b = Float32Array.from(w);
    opt.update(a, Float32Array.from([0.7]), 0.01);
    copy.update(b, Float32Array.from([0.7]), 0.01);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
  });

  it('rejects bad hyper-parameters and mismatched state', () => {
    expect(() => new AdamW(1, { beta1: 1, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 })).toThrow(/beta1/);
    const opt = new AdamW(2, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    const error = (() => {
      try {
        opt.setState({ step: 1, m: new Float32Array(3), v: new Float32Array(3) });
      } catch (e) {
        return e;
      }
    })();
    expect(isCascadeError(error, 'INVALID_WEIGHTS')).toBe(true);
  });
});

describe('clipGradientNorm', () => {
  it('returns the norm and scales the gradients down to maxNorm only when above it', () => {
    const g = Float32Array.from([3, 4]);
    expect(clipGradientNorm(g, 1)).toBeCloseTo(5, 6);
    expect(g[0]).toBeCloseTo(0.6, 6);
    expect(g[1]).toBeCloseTo(0.8, 6);
    const small = Float32Array.from([0.3, 0.4]);
    expect(clipGradientNorm(small, 1)).toBeCloseTo(0.5, 6);
    expect(Array.from(small)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    const off = Float32Array.from([30, 40]);
    clipGradientNorm(off, 0);
    expect(Array.from(off)).toEqual([30, 40]);
  });
});

describe('Ema', () => {
  it('warms the decay up as (1 + k) / (10 + k) and caps it at the target', () => {
    expect(emaDecayAt(0, { decay: 0.999 })).toBeCloseTo(0.1, 12);
    expect(emaDecayAt(90, { decay: 0.999 })).toBeCloseTo(91 / 100, 12);
    expect(emaDecayAt(1e6, { decay: 0.999 })).toBe(0.999);
    expect(emaDecayAt(0, { decay: 0.999, warmup: false })).toBe(0.999);
  });

  it('averages towards the weights at the scheduled rate', () => {
    const ema = new Ema(Float32Array.from([0]), { decay: 0.5, warmup: false });
    ema.update(Float32Array.from([1]));
    expect(ema.weights[0]).toBeCloseTo(0.5, 7);
    ema.update(Float32Array.from([1]));
    expect(ema.weights[0]).toBeCloseTo(0.75, 7);
    expect(ema.step).toBe(2);
  });
});
