import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CascadeError, type CascadeErrorCode } from '../util/cascade-error.js';
import type { BackendInfo, BackendRequest } from './select-backend.js';
import type { PoolRequest, PoolResponse, PoolWorkerData } from './worker-protocol.js';

/** A task: an exported function of an ES module, named by the module's URL. */
export interface TaskRef {
  readonly module: string | URL;
  readonly name: string;
}

export interface WorkerPoolOptions {
  /** Number of worker threads (default: the machine's available parallelism). */
  size?: number;
  /** Backend each worker starts (default `auto`, or `CASCADE_BACKEND`). */
  backend?: BackendRequest;
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** Pin the task to this worker (data-parallel ranks keep model state in their worker). */
  rank?: number | undefined;
  /** Receives the events the task sends with `context.progress(event)`. */
  onProgress?: ((event: unknown) => void) | undefined;
}

interface Job {
  readonly id: number;
  readonly request: PoolRequest;
  readonly rank: number | undefined;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((event: unknown) => void) | undefined;
}

interface Slot {
  readonly rank: number;
  worker: Worker;
  ready: Promise<BackendInfo>;
  running: Job | undefined;
  /** True once the worker's backend is up and it accepts tasks. */
  started: boolean;
  /** Set when the worker is being replaced, so its exit is not reported as a crash. */
  retiring: boolean;
}

const runningFromSource = import.meta.url.endsWith('.ts');

/**
 * URL of a task module next to `base` (the caller's `import.meta.url`), given without extension:
 * `.ts` when running from sources (tests, tsx), `.js` from the build.
 */
export function taskModuleUrl(path: string, base: string): URL {
  return new URL(`${path}.${base.endsWith('.ts') ? 'ts' : 'js'}`, base);
}

/**
 * worker_threads, each owning its own tensor backend. Runs independent tasks on whichever
 * worker is free (clips in parallel) or pinned to a rank (data-parallel training). A crashed
 * worker fails its task with WORKER_CRASHED and is replaced; it never hangs the pool.
 */
export class WorkerPool {
  readonly size: number;
  private readonly backend: BackendRequest;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  /**
   * The pending jobs of each abort signal, with the one listener the pool adds to it (one per
   * signal, not per job: a caller queueing hundreds of jobs under one signal would otherwise
   * trip Node's MaxListenersExceededWarning).
   */
  private readonly watched = new Map<AbortSignal, { jobs: Set<Job>; listener: () => void }>();
  private nextId = 1;
  private closed = false;

  private constructor(size: number, backend: BackendRequest) {
    this.size = size;
    this.backend = backend;
  }

  static async create(options: WorkerPoolOptions = {}): Promise<WorkerPool> {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new CascadeError('BAD_ARGUMENT', `worker pool size must be a whole number >= 1, got ${size}.`, {
        path: 'workers',
      });
    }
    const backend =
      options.backend ?? ((process.env.CASCADE_BACKEND as BackendRequest | undefined) || 'auto');
    const pool = new WorkerPool(size, backend);
    for (let rank = 0; rank < size; rank++) pool.slots.push(pool.spawn(rank));
    try {
      await pool.backendInfo();
    } catch (error) {
      await pool.close({ force: true });
      throw error;
    }
    return pool;
  }

  /** The backend the workers started (all start the same one). */
  async backendInfo(): Promise<BackendInfo> {
    const infos = await Promise.all(this.slots.map((slot) => slot.ready));
    return infos[0]!;
  }

  /** Runs `task(payload, { rank, size })` on a worker; top-level typed arrays in the result are moved. */
  run<T>(task: TaskRef, payload: unknown, options: RunOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new CascadeError('ABORTED', 'The worker pool is closed.'));
    if (options.rank !== undefined && (options.rank < 0 || options.rank >= this.size)) {
      return Promise.reject(new RangeError(`rank ${options.rank} outside 0..${this.size - 1}`));
    }
    if (options.signal?.aborted) return Promise.reject(abortedError(options.signal));
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      const job: Job = {
        id,
        request: { id, module: String(task.module), name: task.name, payload },
        rank: options.rank,
        resolve: resolve as (value: unknown) => void,
        reject,
        signal: options.signal,
        onProgress: options.onProgress,
      };
      this.watch(job);
      this.queue.push(job);
      this.dispatch();
    });
  }

  /**
   * Runs the task once on every worker (rank r gets `payloadFor(r)`). If any rank fails,
   * `onFailure` runs first (e.g. to release peers blocked in a gradient exchange), then the
   * first error is thrown once all ranks have settled.
   */
  async broadcast<T>(
    task: TaskRef,
    payloadFor: (rank: number) => unknown,
    options: { signal?: AbortSignal; onFailure?: () => void } = {},
  ): Promise<T[]> {
    let failed = false;
    const runs = this.slots.map((slot) =>
      this.run<T>(task, payloadFor(slot.rank), { rank: slot.rank, signal: options.signal }).catch((error) => {
        if (!failed) {
          failed = true;
          options.onFailure?.();
        }
        throw error;
      }),
    );
    const settled = await Promise.allSettled(runs);
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (rejected) throw rejected.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
  }

  /**
   * Stops the pool. By default waits for running tasks and rejects queued ones; `force`
   * terminates running tasks too.
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    if (this.closed && this.slots.every((s) => s.retiring)) return;
    this.closed = true;
    for (const job of this.queue.splice(0))
      this.settle(job, 'reject', new CascadeError('ABORTED', 'The worker pool closed.'));
    if (!options.force) {
      await Promise.allSettled(
        this.slots
          .filter((s) => s.running)
          .map((s) => new Promise((r) => s.worker.once('message', r).once('exit', r))),
      );
    }
    await Promise.all(
      this.slots.map((slot) => {
        slot.retiring = true;
        const running = slot.running;
        slot.running = undefined;
        if (running) this.settle(running, 'reject', new CascadeError('ABORTED', 'The worker pool closed.'));
        return slot.worker.terminate();
      }),
    );
  }

  private spawn(rank: number): Slot {
    const workerData: PoolWorkerData = { rank, size: this.size, backend: this.backend };
    const worker = runningFromSource
      ? // From TypeScript sources (tests, tsx), the worker registers tsx before loading its entry.
        new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(
            new URL('./pool-worker.ts', import.meta.url).href,
          )}); });`,
          { eval: true, workerData, stderr: false },
        )
      : new Worker(new URL('./pool-worker.js', import.meta.url), { workerData, stderr: false });
    const slot: Slot = {
      rank,
      worker,
      ready: Promise.resolve(undefined as never),
      running: undefined,
      retiring: false,
      started: false,
    };
    slot.ready = new Promise<BackendInfo>((resolve, reject) => {
      const onReady = (message: PoolResponse): void => {
        if (message.type === 'ready') {
          worker.off('message', onReady);
          slot.started = true;
          resolve(message.backend);
          this.dispatch();
        }
      };
      worker.on('message', onReady);
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(
          new CascadeError('WORKER_CRASHED', `Worker ${rank} exited with code ${code} before it was ready.`),
        ),
      );
    });
    slot.ready.catch(() => undefined);
    worker.on('message', (message: PoolResponse) => this.onMessage(slot, message));
    worker.on('error', (error) =>
      this.onCrash(slot, 'WORKER_CRASHED', `Worker ${rank} crashed: ${error.message}`, error),
    );
    worker.on('exit', (code) => {
      if (!slot.retiring)
        this.onCrash(slot, 'WORKER_CRASHED', `Worker ${rank} exited unexpectedly with code ${code}.`);
    });
    return slot;
  }

  private onMessage(slot: Slot, message: PoolResponse): void {
    if (message.type === 'ready') return;
    const job = slot.running;
    if (!job || job.id !== message.id) return;
    if (message.type === 'progress') {
      job.onProgress?.(message.event);
      return;
    }
    slot.running = undefined;
    if (message.type === 'result') {
      this.settle(job, 'resolve', message.value);
    } else {
      const code = (message.error.code ?? 'INTERNAL') as CascadeErrorCode;
      const error = new CascadeError(code, message.error.message);
      if (message.error.stack) error.stack = message.error.stack;
      this.settle(job, 'reject', error);
    }
    this.dispatch();
  }

  private onCrash(slot: Slot, code: CascadeErrorCode, message: string, cause?: unknown): void {
    if (slot.retiring) return;
    slot.retiring = true;
    const job = slot.running;
    slot.running = undefined;
    if (job) this.settle(job, 'reject', new CascadeError(code, message, { cause }));
    void slot.worker.terminate();
    if (!this.closed) this.replace(slot);
  }

  private replace(old: Slot): void {
    const fresh = this.spawn(old.rank);
    this.slots[this.slots.indexOf(old)] = fresh;
    fresh.ready.catch((error) => {
      // A worker that cannot even start fails everything waiting for its rank.
      for (const job of this.queue.filter((j) => j.rank === old.rank)) {
        this.queue.splice(this.queue.indexOf(job), 1);
        this.settle(job, 'reject', error);
      }
    });
  }

  private watch(job: Job): void {
    const signal = job.signal;
    if (signal === undefined) return;
    let entry = this.watched.get(signal);
    if (entry === undefined) {
      const jobs = new Set<Job>();
      const listener = (): void => {
        this.watched.delete(signal);
        for (const j of jobs) this.abortJob(j);
      };
      entry = { jobs, listener };
      this.watched.set(signal, entry);
      signal.addEventListener('abort', listener, { once: true });
    }
    entry.jobs.add(job);
  }

  private unwatch(job: Job): void {
    const signal = job.signal;
    const entry = signal === undefined ? undefined : this.watched.get(signal);
    if (signal === undefined || entry === undefined) return;
    entry.jobs.delete(job);
    if (entry.jobs.size === 0) {
      signal.removeEventListener('abort', entry.listener);
      this.watched.delete(signal);
    }
  }

  private abortJob(job: Job): void {
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.settle(job, 'reject', abortedError(job.signal));
      return;
    }
    // Tensor work cannot be interrupted inside a thread: replace the worker instead.
    const slot = this.slots.find((s) => s.running === job);
    if (!slot) return;
    slot.retiring = true;
    slot.running = undefined;
    this.settle(job, 'reject', abortedError(job.signal));
    void slot.worker.terminate();
    if (!this.closed) this.replace(slot);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.started || slot.running || slot.retiring) continue;
      const index = this.queue.findIndex((job) => job.rank === undefined || job.rank === slot.rank);
      if (index < 0) continue;
      const [job] = this.queue.splice(index, 1);
      slot.running = job;
      slot.worker.postMessage(job!.request);
    }
  }

  private settle(job: Job, how: 'resolve' | 'reject', value: unknown): void {
    this.unwatch(job);
    if (how === 'resolve') job.resolve(value);
    else job.reject(value);
  }
}

function abortedError(signal: AbortSignal | undefined): CascadeError {
  return new CascadeError('ABORTED', 'The task was cancelled.', { cause: signal?.reason });
}
