import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { loadModelDir } from '../model/model-files.js';
import { CHECKPOINT_FILE, readRunLossLog, trainBase } from '../model/train-base.js';
import { readTrainCheckpoint, writeTrainCheckpoint } from '../model/train-checkpoint.js';
import { parseTrainBaseConfig } from '../model/train-config.js';
import { TrainReplica, type TrainState } from '../model/train-replica.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';
import { TINY_ARCHITECTURE, tinyConfig } from './support/train-tiny-config.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function expectSameState(a: TrainState, b: TrainState): void {
  expect(a.step).toBe(b.step);
  expect(a.optimizer.step).toBe(b.optimizer.step);
  expect(a.ema.step).toBe(b.ema.step);
  expect(bytes(a.weights).equals(bytes(b.weights))).toBe(true);
  expect(bytes(a.optimizer.m).equals(bytes(b.optimizer.m))).toBe(true);
  expect(bytes(a.optimizer.v).equals(bytes(b.optimizer.v))).toBe(true);
  expect(bytes(a.ema.values).equals(bytes(b.ema.values))).toBe(true);
}

describe('trainBase checkpoints and resume (cpu, in-process)', () => {
  let dir: string;
  beforeAll(async () => {
    await selectBackend({ backend: 'cpu' });
    dir = await mkdtemp(join(tmpdir(), 'train-resume-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('train 4 steps == train 2, checkpoint, resume 2: bit-identical weights, optimiser state and EMA', async () => {
    const config = tinyConfig({ steps: 4 });
    const straight = join(dir, 'straight');
    const split = join(dir, 'split');
    const full = await trainBase({ config, outDir: straight, workers: 0, backend: 'cpu', command: 'test' });
    expect(full.status).toBe('completed');
    expect(full.step).toBe(4);

    const first = await trainBase({ config, outDir: split, workers: 0, backend: 'cpu', untilStep: 2 });
    expect(first.status).toBe('paused');
    expect((await readTrainCheckpoint(join(split, CHECKPOINT_FILE))).state.step).toBe(2);
    const second = await trainBase({
      outDir: split,
      resume: true,
      workers: 0,
      backend: 'cpu',
      command: 'test',
    });
    expect(second.status).toBe('completed');

    const a = await readTrainCheckpoint(join(straight, CHECKPOINT_FILE));
    const b = await readTrainCheckpoint(join(split, CHECKPOINT_FILE));
    expect(a.state.step).toBe(4);
    expectSameState(a.state, b.state);
    // Weights moved, and the EMA differs from the raw weights.
    const initial = await trainBase({
      config: { ...config, steps: 1 },
      outDir: join(dir, 'one'),
      workers: 0,
      backend: 'cpu',
    });
    expect(initial.step).toBe(1);
    const one = await readTrainCheckpoint(join(dir, 'one', CHECKPOINT_FILE));
    expect(bytes(one.state.weights).equals(bytes(a.state.weights))).toBe(false);
    expect(bytes(a.state.ema.values).equals(bytes(a.state.weights))).toBe(false);

    // The loss logs agree step for step (seconds differ).
    const logA = await readRunLossLog(straight);
    const logB = await readRunLossLog(split);
    expect(logA.map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(logB.map(({ seconds: _, ...r }) => r)).toEqual(logA.map(({ seconds: _, ...r }) => r));

    // The saved model holds the EMA weights and loads with the model-files loader.
    const model = await loadModelDir(join(straight, 'model'));
    try {
      const weights = model.unet.getWeights();
      let offset = 0;
      for (const values of weights.values()) {
        expect(bytes(values).equals(bytes(a.state.ema.values.subarray(offset, offset + values.length)))).toBe(
          true,
        );
        offset += values.length;
      }
      expect(offset).toBe(a.state.ema.values.length);
      expect(model.config.training.command).toBe('test');
    } finally {
      model.unet.dispose();
    }
  });

  it('refuses to start over an existing run and to resume a missing one', async () => {
    const out = join(dir, 'twice');
    await trainBase({ config: tinyConfig({ steps: 1 }), outDir: out, workers: 0, backend: 'cpu' });
    const again = await trainBase({ config: tinyConfig({ steps: 1 }), outDir: out, workers: 0 }).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(again, 'BAD_ARGUMENT')).toBe(true);
    expect(String((again as Error).message)).toContain('--resume');
    const missing = await trainBase({ outDir: join(dir, 'nothing'), resume: true, workers: 0 }).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(missing, 'FILE_NOT_FOUND')).toBe(true);
  });

  it('stops on the signal after the current step, with a checkpoint to resume from', async () => {
    const out = join(dir, 'interrupted');
    const controller = new AbortController();
    const result = await trainBase({
      config: tinyConfig({ steps: 50 }),
      outDir: out,
      workers: 0,
      backend: 'cpu',
      signal: controller.signal,
      onProgress: (event) => {
        if (event.stage === 'step' && event.step === 2) controller.abort();
      },
    });
    expect(result.status).toBe('interrupted');
    expect(result.step).toBe(2);
    expect((await readTrainCheckpoint(join(out, CHECKPOINT_FILE))).state.step).toBe(2);
  });

  it('starts at the model weights, resumes bit-identically, and refuses other weights or another architecture', async () => {
    await trainBase({
      config: tinyConfig({ steps: 2 }),
      outDir: join(dir, 'init-base'),
      workers: 0,
      backend: 'cpu',
    });
    const modelDir = join(dir, 'init-base', 'model');
    const saved = await loadModelDir(modelDir);
    const init = { model: modelDir, sha256: saved.config.weights.sha256 };
    const savedWeights = [...saved.unet.getWeights().values()];
    saved.unet.dispose();

    const replica = await TrainReplica.create(parseTrainBaseConfig(tinyConfig({ init, seed: 9 })));
    try {
      const start = replica.getState();
      expect(start.step).toBe(0);
      let offset = 0;
      for (const values of savedWeights) {
        expect(bytes(start.weights.subarray(offset, offset + values.length)).equals(bytes(values))).toBe(
          true,
        );
        offset += values.length;
      }
      expect(offset).toBe(start.weights.length);
      expect(bytes(start.ema.values).equals(bytes(start.weights))).toBe(true);
    } finally {
      await replica.dispose();
    }

    // A fine-tuning run resumes from its checkpoint like any other (the init is not re-read).
    const config = tinyConfig({ init, seed: 9, steps: 3 });
    await trainBase({ config, outDir: join(dir, 'init-straight'), workers: 0, backend: 'cpu' });
    await trainBase({ config, outDir: join(dir, 'init-split'), workers: 0, backend: 'cpu', untilStep: 1 });
    await trainBase({ outDir: join(dir, 'init-split'), resume: true, workers: 0, backend: 'cpu' });
    const a = await readTrainCheckpoint(join(dir, 'init-straight', CHECKPOINT_FILE));
    expectSameState(a.state, (await readTrainCheckpoint(join(dir, 'init-split', CHECKPOINT_FILE))).state);
    expect(a.config.init).toEqual(init);

    const wrongSum = await TrainReplica.create(
      parseTrainBaseConfig(tinyConfig({ init: { ...init, sha256: '0'.repeat(64) } })),
    ).catch((e: unknown) => e);
    expect(isCascadeError(wrongSum, 'BAD_ARGUMENT')).toBe(true);
    expect(String((wrongSum as Error).message)).toContain(init.sha256);
    const wider = await TrainReplica.create(
      parseTrainBaseConfig(tinyConfig({ init, architecture: { ...TINY_ARCHITECTURE, channels: [6] } })),
    ).catch((e: unknown) => e);
    expect(isCascadeError(wider, 'BAD_ARGUMENT')).toBe(true);
    expect(String((wider as Error).message)).toContain('architecture');
  });
});

describe('trainBase with a time budget (cpu, in-process)', () => {
  it('times the warmup steps and fixes the run length to what fits, in the checkpoint too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-budget-'));
    try {
      const events: { stage: string; totalSteps?: number }[] = [];
      const result = await trainBase({
        config: tinyConfig({ steps: 1000, learningRate: { peak: 1e-3, warmupSteps: 3 } }),
        outDir: dir,
        workers: 0,
        backend: 'cpu',
        // 0.6 s: gone after the 3 timed steps, so the run ends one step later.
        timeBudgetMinutes: 0.01,
        onProgress: (e) => events.push(e),
      });
      const budget = events.find((e) => e.stage === 'budget');
      expect(budget?.totalSteps).toBe(result.totalSteps);
      expect(result.status).toBe('completed');
      expect(result.step).toBe(result.totalSteps);
      expect(result.totalSteps).toBeLessThan(1000);
      expect((await readTrainCheckpoint(result.checkpointPath)).config.steps).toBe(result.totalSteps);
      const resumed = await trainBase({ outDir: dir, resume: true, workers: 0, timeBudgetMinutes: 5 }).catch(
        (e: unknown) => e,
      );
      expect(isCascadeError(resumed, 'BAD_ARGUMENT')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('train checkpoint files', () => {
  it('write then read is bit-exact, special values included', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-ckpt-'));
    try {
      const config = tinyConfig();
      // Sizes come from the architecture; fill every array with awkward values.
      const probe = await trainBase({
        config: { ...config, steps: 1 },
        outDir: join(dir, 'probe'),
        workers: 0,
        backend: 'cpu',
      });
      const size = (await readTrainCheckpoint(probe.checkpointPath)).state.weights.length;
      const rng = new Rng(3);
      const awkward = (): Float32Array => {
        const a = rng.normals(size);
        a[0] = -0;
        a[1] = 1.4e-45; // smallest subnormal
        a[2] = 3.4028234663852886e38;
        a[3] = Number.NaN;
        return a;
      };
      const state: TrainState = {
        step: 17,
        weights: awkward(),
        optimizer: { step: 17, m: awkward(), v: awkward() },
        ema: { step: 16, values: awkward() },
      };
      const path = join(dir, 'c.safetensors');
      await writeTrainCheckpoint(path, {
        config: (await readTrainCheckpoint(probe.checkpointPath)).config,
        state,
        elapsedSeconds: 12.5,
        commands: ['a', 'b'],
      });
      const back = await readTrainCheckpoint(path);
      expectSameState(back.state, state);
      expect(back.elapsedSeconds).toBe(12.5);
      expect(back.commands).toEqual(['a', 'b']);
      expect(back.config.seed).toBe(5);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects a file that is not a training checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-ckpt-'));
    try {
      const { writeCheckpoint } = await import('../model/checkpoint.js');
      const path = join(dir, 'other.safetensors');
      await writeCheckpoint(path, { x: new Float32Array(2) }, { kind: 'something-else' });
      const error = await readTrainCheckpoint(path).catch((e: unknown) => e);
      expect(isCascadeError(error, 'INVALID_WEIGHTS')).toBe(true);
      expect(String((error as Error).message)).toContain('something-else');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
