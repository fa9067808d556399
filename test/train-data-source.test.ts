import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { shapesSet } from '../data/make-shapes-set.js';
import { saveShapesSet } from '../data/save-shapes-set.js';
import { shapesStream } from '../data/shapes-stream.js';
import { tokenizePrompt } from '../data/tokenize-prompt.js';
import { parseTrainBaseConfig, stepUnits } from '../model/train-config.js';
import { createTrainDataSource } from '../model/train-data-source.js';
import { TrainReplica } from '../model/train-replica.js';
import { isCascadeError } from '../util/cascade-error.js';
import { lossSum, tinyConfig } from './support/train-tiny-config.js';

const context = { seed: 9, frames: 2, height: 4, width: 4, maxTokens: 24, batchSize: 3 };

describe('training data sources', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend({ backend: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'train-data-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shapes: example (step, index) is item step * batch + index of the train-split stream', async () => {
    const source = await createTrainDataSource({ kind: 'shapes' }, context);
    const stream = shapesStream(9, { frames: 2, height: 4, width: 4 });
    const items = Array.from({ length: 6 }, () => stream.next().value);
    const example = await source.example(1, 2);
    expect(Array.from(example.clip)).toEqual(Array.from(items[5]!.clip.data));
    expect(Array.from(example.tokens)).toEqual(Array.from(tokenizePrompt(items[5]!.prompt)));
    // Pure: asking again gives the same example.
    expect(Array.from((await source.example(1, 2)).clip)).toEqual(Array.from(example.clip));
  });

  it('shapes-set: samples a saved set uniformly, and rejects a set of another size', async () => {
    const path = join(dir, 'tiny.shapes.gz');
    await saveShapesSet(
      path,
      shapesSet({ seed: 1, count: 3, split: 'train', frames: 2, height: 4, width: 4 }),
    );
    const source = await createTrainDataSource({ kind: 'shapes-set', path }, context);
    const seen = new Set<string>();
    for (let step = 0; step < 12; step++) {
      const e = await source.example(step, 0);
      expect(e.clip.length).toBe(2 * 4 * 4 * 3);
      seen.add(Array.from(e.clip.subarray(0, 12)).join(','));
    }
    expect(seen.size).toBe(3);
    const wrong = await createTrainDataSource({ kind: 'shapes-set', path }, { ...context, height: 8 }).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(wrong, 'BAD_ARGUMENT')).toBe(true);
    expect(String((wrong as Error).message)).toContain('2x4x4');
  });

  it('micro-batches give the same update as one pass, up to float summation order', async () => {
    // Batch 16 makes 8 units of 2 clips: micro-batch 1 computes each unit in 2 passes.
    const resolved = parseTrainBaseConfig(tinyConfig({ batchSize: 16 }));
    expect(stepUnits(resolved, 0)).toMatchObject({ unitSize: 2, units: 8, perPass: 2 });
    expect(stepUnits(resolved, 0, 1)).toMatchObject({ unitSize: 2, units: 8, perPass: 1 });
    const whole = await TrainReplica.create(resolved);
    const split = await TrainReplica.create(resolved, { microBatch: 1 });
    try {
      for (let s = 0; s < 2; s++) {
        const a = await whole.trainStep();
        const b = await split.trainStep();
        expect(lossSum(b)).toBeCloseTo(lossSum(a), 5);
      }
      const wa = whole.getState().weights;
      const wb = split.getState().weights;
      let maxDiff = 0;
      for (let i = 0; i < wa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wa[i]! - wb[i]!));
      expect(maxDiff).toBeLessThan(1e-5);
    } finally {
      await whole.dispose();
      await split.dispose();
    }
  });
});
