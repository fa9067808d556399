import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { minSnrWeight } from '../model/min-snr-weight.js';
import { NoiseSchedule } from '../model/noise-schedule.js';
import {
  batchSizeRange,
  curriculumPhaseAt,
  parseTrainBaseConfig,
  type TrainBaseConfigInput,
} from '../model/train-config.js';
import { TrainReplica } from '../model/train-replica.js';
import { isCascadeError } from '../util/cascade-error.js';
import {
  examples,
  FIXED_SOURCE,
  lossSum,
  TINY_ARCHITECTURE,
  tinyConfig,
} from './support/train-tiny-config.js';

describe('minSnrWeight', () => {
  it('caps the implied x0 weight at its value at SNR = gamma, for eps and v targets', () => {
    expect(minSnrWeight('eps', 20, undefined)).toBe(1);
    expect(minSnrWeight('eps', 20, 5)).toBe(0.25);
    expect(minSnrWeight('eps', 5, 5)).toBe(1);
    expect(minSnrWeight('eps', 0.1, 5)).toBe(1);
    expect(minSnrWeight('v', 23, 5)).toBe(0.25);
    expect(minSnrWeight('v', 0.01, 5)).toBe(1);
    // Over the cosine schedule: 1 at every noisy step, below 1 only where SNR > gamma.
    const cosine = new NoiseSchedule({ kind: 'cosine' });
    for (let t = 0; t < 1000; t += 37) {
      const w = minSnrWeight('v', cosine.snr(t), 5);
      expect(w).toBeLessThanOrEqual(1);
      if (cosine.snr(t) <= 5) expect(w).toBe(1);
      else expect(w).toBeLessThan(1);
    }
  });
});

describe('TrainReplica (cpu)', () => {
  beforeAll(async () => {
    await selectBackend({ backend: 'cpu' });
  });
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(0);
  });

  it('leaks no tensors in a training step', async () => {
    const replica = await TrainReplica.create(parseTrainBaseConfig(tinyConfig()));
    try {
      await replica.trainStep();
      const before = tf.memory().numTensors;
      const result = await replica.trainStep();
      expect(tf.memory().numTensors).toBe(before);
      // The variables are the model's parameters and nothing else.
      expect(before).toBe(replica.unet.params.size);
      expect(examples(result)).toBe(2);
      expect(Number.isFinite(lossSum(result))).toBe(true);
      expect(replica.step).toBe(2);
    } finally {
      await replica.dispose();
    }
  });

  it('reduces the loss on a tiny overfit problem (one clip, from a pluggable module source)', async () => {
    // Deterministic (seeded data, timesteps and noise), so the margin below is not a matter of luck.
    const steps = 30;
    const config = tinyConfig({
      steps,
      batchSize: 4,
      learningRate: { peak: 2e-2, warmupSteps: 3, minRatio: 0.1 },
      promptDropout: 0,
      data: { kind: 'module', module: FIXED_SOURCE, export: 'createTrainDataSource' },
    });
    const replica = await TrainReplica.create(parseTrainBaseConfig(config));
    const losses: number[] = [];
    try {
      for (let s = 0; s < steps; s++) losses.push(lossSum(await replica.trainStep()) / 4);
    } finally {
      await replica.dispose();
    }
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const early = mean(losses.slice(0, 8));
    const late = mean(losses.slice(-8));
    expect(late).toBeLessThan(early * 0.8);
  });

  it('trains a v-prediction model, and min-SNR weighting only lowers the loss of low-noise examples', async () => {
    const firstLoss = async (overrides: Partial<TrainBaseConfigInput>): Promise<number> => {
      const replica = await TrainReplica.create(
        parseTrainBaseConfig(tinyConfig({ batchSize: 8, ...overrides })),
      );
      try {
        return lossSum(await replica.trainStep());
      } finally {
        await replica.dispose();
      }
    };
    const vArch = { architecture: { ...TINY_ARCHITECTURE, prediction: 'v' } };
    // Same seed: same weights, data, timesteps and noise; only the target and the weights differ.
    const eps = await firstLoss({});
    const v = await firstLoss(vArch);
    const vHugeGamma = await firstLoss({ ...vArch, minSnrGamma: 1e9 });
    const vGamma = await firstLoss({ ...vArch, minSnrGamma: 0.5 });
    expect(v).not.toBeCloseTo(eps, 3);
    expect(vHugeGamma).toBe(v);
    expect(vGamma).toBeLessThan(v);
    expect(vGamma).toBeGreaterThan(0);
  });

  it('rejects clips of the wrong size from a data source, and a module without the named export', async () => {
    const data = {
      kind: 'module' as const,
      module: FIXED_SOURCE,
      export: 'createTrainDataSource',
      settings: { wrongSize: true },
    };
    const replica = await TrainReplica.create(parseTrainBaseConfig(tinyConfig({ data })));
    try {
      const error = await replica.trainStep().catch((e: unknown) => e);
      expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
      expect(String((error as Error).message)).toMatch(/2x4x4x3 = 96/);
    } finally {
      await replica.dispose();
    }
    const missing = await TrainReplica.create(
      parseTrainBaseConfig(tinyConfig({ data: { kind: 'module', module: FIXED_SOURCE, export: 'nope' } })),
    ).catch((e: unknown) => e);
    expect(isCascadeError(missing, 'BAD_ARGUMENT')).toBe(true);
    expect(String((missing as Error).message)).toContain('"nope"');
  });

  it('trains a frame curriculum on windows of the clips, packing more short clips per pass', async () => {
    const arch4 = { ...TINY_ARCHITECTURE, frames: 4 };
    const curriculum = [
      { untilStep: 1, frames: 1, batchSize: 6 },
      { untilStep: 2, frames: 2 },
    ];
    const resolved = parseTrainBaseConfig(tinyConfig({ architecture: arch4, frameCurriculum: curriculum }));
    expect([0, 1, 2, 3].map((s) => curriculumPhaseAt(resolved, s))).toEqual([
      { frames: 1, batchSize: 6 },
      { frames: 2, batchSize: 2 },
      { frames: 4, batchSize: 2 },
      { frames: 4, batchSize: 2 },
    ]);
    expect(batchSizeRange(resolved.config)).toEqual({ min: 2, max: 6 });
    // A phase's own batch: its update computes that many examples, then the run's batch.
    const phased = await TrainReplica.create(resolved);
    try {
      expect(examples(await phased.trainStep())).toBe(6);
      expect(examples(await phased.trainStep())).toBe(2);
    } finally {
      await phased.dispose();
    }
    const firstLoss = async (
      overrides: Partial<TrainBaseConfigInput>,
      microBatch?: number,
    ): Promise<number> => {
      const replica = await TrainReplica.create(
        parseTrainBaseConfig(tinyConfig({ architecture: arch4, batchSize: 4, ...overrides })),
        { microBatch },
      );
      try {
        const before = tf.memory().numTensors;
        const loss = lossSum(await replica.trainStep());
        expect(tf.memory().numTensors).toBe(before);
        return loss;
      } finally {
        await replica.dispose();
      }
    };
    // A phase of whole clips is no curriculum at all (same noise, same windows).
    const whole = await firstLoss({});
    expect(await firstLoss({ frameCurriculum: [{ untilStep: 1, frames: 4 }] })).toBe(whole);
    // Two-frame windows: a different, finite loss; micro-batch 1 (counted in 4-frame clips)
    // packs two 2-frame clips per pass and gives the same result up to summation order.
    const short = await firstLoss({ frameCurriculum: [{ untilStep: 1, frames: 2 }] });
    expect(Number.isFinite(short)).toBe(true);
    expect(short).not.toBe(whole);
    expect(await firstLoss({ frameCurriculum: [{ untilStep: 1, frames: 2 }] }, 1)).toBeCloseTo(short, 5);
  });

  it('rejects curriculum phases longer than the clips or out of order', () => {
    const parse = (frameCurriculum: TrainBaseConfigInput['frameCurriculum']) => () =>
      parseTrainBaseConfig(tinyConfig({ frameCurriculum }));
    expect(parse([{ untilStep: 5, frames: 3 }])).toThrow(
      /frameCurriculum\.0 has 3 frames, more than the architecture's 2/,
    );
    expect(
      parse([
        { untilStep: 5, frames: 1 },
        { untilStep: 5, frames: 2 },
      ]),
    ).toThrow(/frameCurriculum\.1 ends at step 5, not after the previous phase/);
    expect(parse([{ untilStep: 0, frames: 1 }])).toThrow(/untilStep/);
  });
});
