import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abortGradientExchange, createGradientExchange } from '../backend/gradient-exchange.js';
import { type TaskRef, WorkerPool } from '../backend/worker-pool.js';
import { isCascadeError } from '../util/cascade-error.js';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const tasks = new URL('./support/pool-tasks.ts', import.meta.url);
const task = (name: string): TaskRef => ({ module: tasks, name });

describe('WorkerPool', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await WorkerPool.create({ size: 2, backend: 'cpu' });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('runs tasks on every worker, each with its own backend', async () => {
    const info = await pool.backendInfo();
    expect(info.name).toBe('cpu');
    const results = await Promise.all(
      [0, 1, 2, 3].map((i) => pool.run<{ payload: number; rank: number; backend: string }>(task('echo'), i)),
    );
    expect(results.map((r) => r.payload)).toEqual([0, 1, 2, 3]);
    expect(new Set(results.map((r) => r.rank))).toEqual(new Set([0, 1]));
    expect(results.every((r) => r.backend === 'cpu')).toBe(true);
  });

  it('runs independent jobs in parallel', async () => {
    const start = Date.now();
    await Promise.all([pool.run(task('busy'), 400), pool.run(task('busy'), 400)]);
    // Two 400 ms jobs on two workers finish well before 800 ms of serial work.
    expect(Date.now() - start).toBeLessThan(750);
  });

  it('forwards progress events from a running task, in order', async () => {
    const events: unknown[] = [];
    const result = await pool.run(task('countTo'), 3, { onProgress: (e) => events.push(e) });
    expect(result).toBe(3);
    expect(events).toEqual([{ i: 1 }, { i: 2 }, { i: 3 }]);
  });

  it('moves typed-array results back to the caller', async () => {
    const out = await pool.run<Float32Array>(task('bytes'), 1000);
    expect(out).toBeInstanceOf(Float32Array);
    expect(out.length).toBe(1000);
    expect(out[999]).toBe(1.5);
  });

  it('reports a task error with its message and keeps the worker', async () => {
    await expect(pool.run(task('fail'), 'boom')).rejects.toThrow('boom');
    await expect(pool.run(task('echo'), 'after', { rank: 0 })).resolves.toMatchObject({
      payload: 'after',
      rank: 0,
    });
  });

  it('fails the job of a crashed worker with WORKER_CRASHED and replaces the worker', async () => {
    const error = await pool.run(task('crash'), 7, { rank: 1 }).catch((e: unknown) => e);
    expect(isCascadeError(error, 'WORKER_CRASHED')).toBe(true);
    expect(String((error as Error).message)).toContain('code 7');
    await expect(pool.run(task('echo'), 'again', { rank: 1 })).resolves.toMatchObject({
      payload: 'again',
      rank: 1,
    });
  });

  it('cancels a running task by replacing its worker, and a queued task without running it', async () => {
    const controller = new AbortController();
    const running = pool.run(task('busy'), 5000, { rank: 0, signal: controller.signal });
    const queued = pool.run(task('busy'), 5000, { rank: 0, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const start = Date.now();
    const results = await Promise.allSettled([running, queued]);
    expect(Date.now() - start).toBeLessThan(2000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(isCascadeError((r as PromiseRejectedResult).reason, 'ABORTED')).toBe(true);
    }
    await expect(pool.run(task('echo'), 'alive', { rank: 0 })).resolves.toMatchObject({ rank: 0 });
  });

  it('many jobs under one signal: one listener (no MaxListenersExceededWarning), all settle, abort rejects the rest', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const finished = new AbortController();
      const all = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          pool.run<{ payload: number }>(task('echo'), i, { signal: finished.signal }),
        ),
      );
      expect(all.map((r) => r.payload)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      // After all settled, aborting that signal touches nothing.
      finished.abort();
      const controller = new AbortController();
      const jobs = Array.from({ length: 30 }, () =>
        pool.run(task('busy'), 200, { signal: controller.signal }),
      );
      setTimeout(() => controller.abort(), 50);
      const results = await Promise.allSettled(jobs);
      for (const r of results) {
        expect(r.status).toBe('rejected');
        expect(isCascadeError((r as PromiseRejectedResult).reason, 'ABORTED')).toBe(true);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      await expect(pool.run(task('echo'), 'alive')).resolves.toMatchObject({ payload: 'alive' });
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('keeps identical weights on all ranks in data-parallel training, bit-identical to one worker', async () => {
    const steps = 4;
    const length = 3 * 3 * 3 * 8 + 3 * 3 * 8 * 3;
    const exchange2 = createGradientExchange(2, 4, length);
    type Out = { snapshots: Float32Array[]; units: number[][]; numTensors: number };
    const [a, b] = await pool.broadcast<Out>(
      task('trainDataParallel'),
      () => ({ seed: 11, steps, lr: 0.05, exchange: exchange2 }),
      { onFailure: () => abortGradientExchange(exchange2) },
    );
    expect(a!.snapshots).toHaveLength(steps);
    for (let s = 0; s < steps; s++) {
      expect(bytes(a!.snapshots[s]!).equals(bytes(b!.snapshots[s]!))).toBe(true);
      // Every unit computed exactly once per step.
      expect([...a!.units[s]!, ...b!.units[s]!].sort()).toEqual([0, 1, 2, 3]);
    }
    expect(a!.numTensors).toBe(0);

    const solo = await WorkerPool.create({ size: 1, backend: 'cpu' });
    try {
      const [single] = await solo.broadcast<Out>(task('trainDataParallel'), () => ({
        seed: 11,
        steps,
        lr: 0.05,
        exchange: createGradientExchange(1, 4, length),
      }));
      expect(single!.units).toEqual(Array.from({ length: steps }, () => [0, 1, 2, 3]));
      // Same units summed in the same order: the same weights bit for bit.
      expect(bytes(single!.snapshots[steps - 1]!).equals(bytes(a!.snapshots[steps - 1]!))).toBe(true);
      // Training actually moved the weights.
      const first = single!.snapshots[0]!;
      expect(first.some((v, i) => v !== single!.snapshots[steps - 1]![i])).toBe(true);
    } finally {
      await solo.close();
    }
  });

  it('gives the units of a step to the rank that is free: a slowed rank takes fewer', async () => {
    const steps = 3;
    const exchange = createGradientExchange(2, 4, 3 * 3 * 3 * 8 + 3 * 3 * 8 * 3);
    type Out = { snapshots: Float32Array[]; units: number[][] };
    const [slow, fast] = await pool.broadcast<Out>(
      task('trainDataParallel'),
      (rank) => ({ seed: 3, steps, lr: 0.05, exchange, delayMs: rank === 0 ? 1000 : 0 }),
      { onFailure: () => abortGradientExchange(exchange) },
    );
    for (let s = 0; s < steps; s++) {
      // The slowed rank holds one unit for a second while the other computes the rest.
      expect(slow!.units[s]!.length).toBeLessThanOrEqual(1);
      expect(slow!.units[s]!.length + fast!.units[s]!.length).toBe(4);
    }
    expect(bytes(slow!.snapshots[steps - 1]!).equals(bytes(fast!.snapshots[steps - 1]!))).toBe(true);
  });

  it('releases peers when one rank of a data-parallel step fails', async () => {
    const exchange = createGradientExchange(2, 4, 4);
    const start = Date.now();
    const error = await pool
      .broadcast(
        task('trainDataParallel'),
        (rank) => (rank === 0 ? { seed: 1, steps: 1, lr: 0.1, exchange } : 'bad'),
        {
          onFailure: () => abortGradientExchange(exchange),
        },
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - start).toBeLessThan(10_000);
  });
});

describe('WorkerPool shutdown', () => {
  it('rejects queued work on close and refuses new work', async () => {
    const pool = await WorkerPool.create({ size: 1, backend: 'cpu' });
    const running = pool.run(task('busy'), 200);
    const queued = pool.run(task('busy'), 200).catch((e: unknown) => e);
    await pool.close();
    await expect(running).resolves.toBeGreaterThan(0);
    expect(await queued).toMatchObject({ code: 'ABORTED' });
    await expect(pool.run(task('echo'), 1)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
