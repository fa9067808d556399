import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortGradientExchange, createGradientExchange } from '../backend/gradient-exchange.js';
import { type TaskRef, WorkerPool } from '../backend/worker-pool.js';
import { readRunLossLog, trainBase } from '../model/train-base.js';
import { readTrainCheckpoint } from '../model/train-checkpoint.js';
import { parseTrainBaseConfig, stepUnits, unitsPerStep } from '../model/train-config.js';
import { trainParamLayout } from '../model/train-param-layout.js';
import { type TrainState, type TrainStepResult, updateLoss } from '../model/train-replica.js';
import { videoUNetParamSpecs } from '../model/video-unet.js';
import { examples, tinyConfig } from './support/train-tiny-config.js';

const worker = new URL('../model/train-worker.ts', import.meta.url);
const task = (name: string): TaskRef => ({ module: worker, name });
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('data-parallel training over 2 workers (cpu)', () => {
  let pool: WorkerPool;
  let dir: string;
  beforeAll(async () => {
    pool = await WorkerPool.create({ size: 2, backend: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'train-dp-'));
  });
  afterAll(async () => {
    await pool.close({ force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps bit-identical weights, optimiser state and EMA on both ranks, the same as one worker', async () => {
    // Batch 3 (units of 1 clip) and a first update of single frames with its own batch of 5
    // (units of 2 clips, since a unit holds at least a whole clip's frames: 3 units).
    const config = tinyConfig({
      steps: 3,
      batchSize: 3,
      frameCurriculum: [{ untilStep: 1, frames: 1, batchSize: 5 }],
    });
    const { architecture } = parseTrainBaseConfig(config);
    const length = trainParamLayout(videoUNetParamSpecs(architecture)).size;
    const resolved = parseTrainBaseConfig(config);
    expect(unitsPerStep(resolved)).toBe(3);
    expect(stepUnits(resolved, 0)).toMatchObject({ frames: 1, batchSize: 5, unitSize: 2, units: 3 });
    const exchange = createGradientExchange(2, 3, length);
    const onFailure = (): void => abortGradientExchange(exchange);
    await pool.broadcast(task('initReplica'), () => ({ config, exchange }), { onFailure });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const results = await pool.broadcast<TrainStepResult>(task('trainReplicaStep'), () => ({ step }), {
        onFailure,
      });
      // Every unit computed once, by whichever rank claimed it.
      const units = results.flatMap((r) => r.units.map((u) => u.unit)).sort();
      expect(units).toEqual([0, 1, 2]);
      expect(results.reduce((sum, r) => sum + examples(r), 0)).toBe(step === 0 ? 5 : 3);
      expect(results[0]!.gradNorm).toBe(results[1]!.gradNorm);
      losses.push(updateLoss(results));
    }
    const [a, b] = await pool.broadcast<TrainState & { numTensors: number }>(
      task('replicaState'),
      () => undefined,
    );
    await pool.broadcast(task('disposeReplica'), () => undefined);
    expect(a!.step).toBe(3);
    expect(bytes(a!.weights).equals(bytes(b!.weights))).toBe(true);
    expect(bytes(a!.optimizer.m).equals(bytes(b!.optimizer.m))).toBe(true);
    expect(bytes(a!.optimizer.v).equals(bytes(b!.optimizer.v))).toBe(true);
    expect(bytes(a!.ema.values).equals(bytes(b!.ema.values))).toBe(true);
    expect(a!.numTensors).toBe(b!.numTensors);

    // One worker computes the same units and sums them in the same order: the same run bit
    // for bit.
    const single = await trainBase({ config, outDir: join(dir, 'single'), workers: 0, backend: 'cpu' });
    const solo = (await readTrainCheckpoint(single.checkpointPath)).state;
    expect(bytes(solo.weights).equals(bytes(a!.weights))).toBe(true);
    expect(bytes(solo.ema.values).equals(bytes(a!.ema.values))).toBe(true);
    const soloLosses = (await readRunLossLog(join(dir, 'single'))).map((r) => r.loss);
    for (const [i, loss] of losses.entries()) expect(soloLosses[i]).toBe(Number(loss.toPrecision(6)));
  });

  it('trainBase over 2 workers writes the same run as its checkpoint reports', async () => {
    const result = await trainBase({
      config: tinyConfig({ steps: 2 }),
      outDir: join(dir, 'pool'),
      workers: 2,
      backend: 'cpu',
    });
    expect(result.status).toBe('completed');
    expect(result.workers).toBe(2);
    expect(result.backend).toBe('cpu');
    expect((await readTrainCheckpoint(result.checkpointPath)).state.step).toBe(2);
  });
});
