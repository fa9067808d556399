import { mkdir, readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import PQueue from 'p-queue';
import { type BackendInfo, type BackendRequest, selectBackend } from '../backend/select-backend.js';
import { taskModuleUrl, WorkerPool } from '../backend/worker-pool.js';
import { decodeVideoToClip } from '../codecs/decode-video.js';
import type { Clip } from '../data/clip.js';
import { type LoadedModel, loadModelDir } from '../model/model-files.js';
import { checkFrames } from '../stages/check-frames.js';
import { encodeOutput } from '../stages/encode-output.js';
import type { StageContext, StageName, StageProgress } from '../stages/stage-context.js';
import { type VerifiedOutput, verifyOutput } from '../stages/verify-output.js';
import { CascadeError, isCascadeError, throwIfAborted } from '../util/cascade-error.js';
import { type ComputedClip, computeClip } from './compute-clip.js';
import type { ComputeClipPayload } from './compute-clip-task.js';
import type { JobInput } from './job-schema.js';
import { loadJobFile, validateJob } from './load-job.js';
import {
  type ClipRecord,
  clipIsComplete,
  createManifest,
  type Manifest,
  readManifest,
  writeManifest,
} from './manifest.js';
import { type ClipPlan, type JobPlan, planJob } from './plan.js';
import { preflight } from './preflight.js';
import type { RenderEvent } from './render-events.js';
import { resolveModel } from './resolve-model.js';

export interface RenderOptions {
  /** Cancels between diffusion steps and stages, and kills ffmpeg. */
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((event: RenderEvent) => void) | undefined;
  /** Skip clips whose outputs and manifest entries verify from an earlier run. */
  readonly resume?: boolean | undefined;
  /** Validate, plan and preflight only; nothing is computed or written. */
  readonly dryRun?: boolean | undefined;
  readonly backend?: BackendRequest | undefined;
  /** Override the job's worker count (0 = compute in this thread). */
  readonly workers?: number | undefined;
  /** Folder relative paths of an in-memory job resolve against (default: the current folder). */
  readonly baseDir?: string | undefined;
  /** Clips encoding at once, beside model compute (default 2). */
  readonly encodeConcurrency?: number | undefined;
}

export interface RenderResult {
  readonly plan: JobPlan;
  /** Undefined for a dry run. */
  readonly manifest: Manifest | undefined;
  readonly done: number;
  readonly skipped: number;
  readonly failed: number;
  readonly checksFailed: number;
}

/** Loads and plans a job file or in-memory job, and checks the machine: no work, nothing written. */
export async function prepareRender(
  job: string | JobInput,
  options: Pick<RenderOptions, 'baseDir' | 'workers' | 'signal'> = {},
): Promise<JobPlan> {
  const loaded =
    typeof job === 'string'
      ? await loadJobFile(job)
      : { job: validateJob(job), file: undefined, baseDir: options.baseDir ?? process.cwd() };
  const model = await resolveModel(loaded.job.model, loaded.baseDir);
  const plan = planJob(loaded.job, {
    model,
    baseDir: loaded.baseDir,
    jobFile: loaded.file,
    defaultWorkers: Math.min(2, availableParallelism()),
  });
  return options.workers === undefined ? plan : { ...plan, workers: options.workers };
}

/**
 * Renders a job: every clip through the model stages (on the worker pool), frame checks,
 * ffmpeg encode and verification, streaming clips through as they finish with bounded memory.
 * Outputs appear at their final paths only once verified; the manifest is rewritten after each
 * clip, so a killed run keeps what it finished and `resume` skips it. A failed clip is recorded
 * and the others go on; cancelling stops between steps and throws ABORTED.
 */
export async function render(job: string | JobInput, options: RenderOptions = {}): Promise<RenderResult> {
  const started = performance.now();
  const { signal } = options;
  const plan = await prepareRender(job, options);
  const tools = await preflight(plan, { signal });
  if (options.dryRun) return { plan, manifest: undefined, done: 0, skipped: 0, failed: 0, checksFailed: 0 };
  throwIfAborted(signal);

  const previous = options.resume ? await readManifest(plan.manifestPath) : undefined;
  const todo: ClipPlan[] = [];
  const skipped: ClipPlan[] = [];
  for (const clip of plan.clips) {
    if (previous && (await clipIsComplete(previous.clips[clip.id], clip, plan.outputDir))) skipped.push(clip);
    else todo.push(clip);
  }

  const compute = await startCompute(plan, options);
  const emit = (event: RenderEvent): void => options.onProgress?.(event);
  let manifest: Manifest | undefined;
  try {
    manifest = createManifest(plan, { backend: compute.backend, ...tools }, previous);
    // Clips that are re-rendered lose their old entries until they finish again.
    for (const clip of todo) delete manifest.clips[clip.id];
    emit({
      type: 'job-start',
      clips: plan.clips.length,
      skipped: skipped.length,
      workers: plan.workers,
      backend: compute.backend.name,
      backendReason: compute.backend.reason,
      outputDir: plan.outputDir,
    });
    for (const clip of skipped) emit({ type: 'clip-skipped', clipId: clip.id, reason: 'resume' });
    await mkdir(plan.outputDir, { recursive: true });
    await removeStaleTemporaries(plan);
    await writeManifest(plan.manifestPath, manifest);

    const progress = new JobProgress(todo, started);
    const counts = { done: 0, failed: 0, checksFailed: 0 };
    const computeQueue = new PQueue({ concurrency: Math.max(1, plan.workers) });
    const encodeQueue = new PQueue({ concurrency: options.encodeConcurrency ?? 2 });
    const finishing: Promise<void>[] = [];
    let manifestWrites = Promise.resolve();
    const record = (id: string, entry: ClipRecord): Promise<void> => {
      manifest!.clips[id] = entry;
      manifestWrites = manifestWrites.then(() => writeManifest(plan.manifestPath, manifest!));
      return manifestWrites;
    };

    for (const clip of todo) {
      if (signal?.aborted) break;
      // Backpressure: at most one waiting clip per worker, and a bounded encode backlog, so
      // memory stays flat however many clips the job has.
      await computeQueue.onSizeLessThan(Math.max(1, plan.workers));
      await encodeQueue.onSizeLessThan(encodeQueue.concurrency);
      const clipStart = performance.now();
      const onStage = (p: StageProgress): void => {
        progress.update(clip, p);
        emit({
          type: 'stage',
          clipId: clip.id,
          ...p,
          overall: progress.overall(),
          etaSeconds: progress.eta(),
        });
      };
      const computed = computeQueue.add(async () => {
        emit({ type: 'clip-start', clipId: clip.id });
        const input = clip.input ? await decodeInput(clip, signal) : undefined;
        return compute.run(clip, input, onStage);
      });
      const finished = computed
        .then((result) =>
          encodeQueue.add(() => finishClip(plan, clip, result!, { clip, signal, onProgress: onStage })),
        )
        .then(async (outcome) => {
          const { outputs, checks } = outcome!;
          const failures = checks.checks
            .filter((c) => !c.passed)
            .map((c) => `${c.name}: frames ${c.frames.join(', ')}`);
          if (!checks.passed) counts.checksFailed++;
          counts.done++;
          progress.finish(clip);
          await record(clip.id, clipRecord(clip, 'done', outcome!.timings, checks, outputs, null));
          emit({
            type: 'clip-done',
            clipId: clip.id,
            seconds: (performance.now() - clipStart) / 1000,
            outputs,
            checksPassed: checks.passed,
            checkFailures: failures,
            overall: progress.overall(),
          });
        })
        .catch(async (error: unknown) => {
          if (isCascadeError(error, 'ABORTED') || signal?.aborted) return;
          counts.failed++;
          progress.finish(clip);
          const code = isCascadeError(error) ? error.code : 'INTERNAL';
          const message = error instanceof Error ? error.message : String(error);
          await record(clip.id, clipRecord(clip, 'failed', {}, null, [], { code, message }));
          emit({ type: 'clip-failed', clipId: clip.id, code, message, overall: progress.overall() });
        });
      finishing.push(finished);
    }
    await Promise.all(finishing);
    await manifestWrites;
    throwIfAborted(signal);
    emit({
      type: 'job-done',
      done: counts.done,
      skipped: skipped.length,
      failed: counts.failed,
      checksFailed: counts.checksFailed,
      seconds: (performance.now() - started) / 1000,
      manifest: plan.manifestPath,
    });
    return { plan, manifest, skipped: skipped.length, ...counts };
  } finally {
    await compute.close();
  }
}

interface FinishedClip {
  readonly outputs: VerifiedOutput[];
  readonly checks: Awaited<ReturnType<typeof checkFrames>>;
  readonly timings: Partial<Record<StageName, number>>;
}

/** Checks, encodes and verifies one computed clip (main thread; ffmpeg runs in child processes). */
async function finishClip(
  plan: JobPlan,
  clip: ClipPlan,
  computed: ComputedClip,
  context: StageContext,
): Promise<FinishedClip> {
  const timings: Partial<Record<StageName, number>> = { ...computed.timings };
  const timed = async <T>(name: StageName, run: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await run();
    } finally {
      timings[name] = (timings[name] ?? 0) + (performance.now() - start) / 1000;
    }
  };
  if (computed.leakedTensors !== 0) {
    throw new CascadeError(
      'INTERNAL',
      `clip "${clip.id}": the model stages leaked ${computed.leakedTensors} tensors.`,
    );
  }
  const checks = await timed('checks', () =>
    checkFrames(computed.clip, computed.stageOutputs.at(-1), plan.checkThresholds, context),
  );
  const outputs: VerifiedOutput[] = [];
  try {
    for (const output of clip.outputs) {
      const encoded = await timed('encode', () => encodeOutput(computed.clip, output, context));
      outputs.push(await timed('verify', () => verifyOutput(encoded, context)));
    }
  } catch (error) {
    // A clip is all or nothing: the folder only holds outputs the manifest lists.
    await Promise.all(
      clip.outputs.slice(0, outputs.length).map((o) => rm(o.path, { recursive: true, force: true })),
    );
    throw error;
  }
  return { outputs, checks, timings };
}

/**
 * Hidden temporaries of our outputs (encode-output: .x.part-<8 hex>.ext), of ffmpeg runs
 * (encode-video: .x.<12 hex>.partial.ext) and of manifest writes (write-file-atomic).
 */
const TEMPORARY_NAME =
  /^\..+\.(part-[0-9a-f]{8}|[0-9a-f]{12}\.partial|\d+\.[0-9a-f]{12}\.tmp)(\.[a-z0-9]+)?$/;

/**
 * A run killed hard (SIGKILL, power loss) can leave temporaries; the next run removes them from
 * the output folder and from every folder an output pattern puts files in.
 */
async function removeStaleTemporaries(plan: JobPlan): Promise<void> {
  const folders = new Set([
    plan.outputDir,
    ...plan.clips.flatMap((c) => c.outputs.map((o) => dirname(o.path))),
  ]);
  await Promise.all(
    [...folders].map(async (folder) => {
      const names = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      });
      await Promise.all(
        names
          .filter((n) => TEMPORARY_NAME.test(n))
          .map((n) => rm(join(folder, n), { recursive: true, force: true })),
      );
    }),
  );
}

/**
 * Decodes a clip's input video at the clip's frame rate, centre-cropped to the base stage's
 * aspect and scaled to its size; fewer frames than the clip needs is FOOTAGE_UNREADABLE.
 */
async function decodeInput(clip: ClipPlan, signal: AbortSignal | undefined): Promise<Clip> {
  const base = clip.stages[0]!;
  const path = clip.input!.path;
  const decoded = await decodeVideoToClip(path, {
    width: base.width,
    height: base.height,
    crop: 'centre',
    fps: clip.fps,
    maxFrames: clip.frames,
    signal,
  });
  if (decoded.frames < clip.frames) {
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `clips.${clip.index}.input.path: ${path} gives ${decoded.frames} frames at ${clip.fps} fps, the clip needs ${clip.frames}; use a longer video or a lower fps.`,
      { path: `clips.${clip.index}.input.path` },
    );
  }
  return decoded;
}

function clipRecord(
  clip: ClipPlan,
  status: ClipRecord['status'],
  timings: ClipRecord['timings'],
  checks: ClipRecord['checks'],
  outputs: readonly VerifiedOutput[],
  error: ClipRecord['error'],
): ClipRecord {
  return {
    status,
    planHash: clip.planHash,
    prompt: clip.prompt,
    seed: clip.seed,
    stageSeeds: clip.stages.map((s) => ('seed' in s ? s.seed : 0)),
    width: clip.width,
    height: clip.height,
    frames: clip.frames,
    timings,
    checks,
    outputs,
    error,
    finishedAt: new Date().toISOString(),
  };
}

interface ComputeBackend {
  readonly backend: BackendInfo;
  run(clip: ClipPlan, input: Clip | undefined, onProgress: (p: StageProgress) => void): Promise<ComputedClip>;
  close(): Promise<void>;
}

/** Model compute on the worker pool, or in this thread when the plan asks for 0 workers. */
async function startCompute(plan: JobPlan, options: RenderOptions): Promise<ComputeBackend> {
  const { signal } = options;
  if (plan.workers === 0) {
    const backend = await selectBackend({ backend: options.backend });
    let model: LoadedModel | undefined;
    return {
      backend,
      async run(clip, input, onProgress) {
        model ??= await loadModelDir(plan.model.dir);
        return computeClip(clip, model, { input, signal, onProgress });
      },
      async close() {
        model?.unet.dispose();
      },
    };
  }
  const pool = await WorkerPool.create({ size: plan.workers, backend: options.backend });
  const backend = await pool.backendInfo();
  const task = {
    module: taskModuleUrl('./compute-clip-task', import.meta.url),
    name: 'computeClipTask',
  };
  return {
    backend,
    run(clip, input, onProgress) {
      const payload: ComputeClipPayload = {
        modelDir: plan.model.dir,
        modelSha256: plan.model.sha256,
        clip,
        input,
      };
      return pool.run<ComputedClip>(task, payload, {
        signal,
        onProgress: (e) => onProgress(e as StageProgress),
      });
    },
    close: () => pool.close({ force: true }),
  };
}

/**
 * Weighted progress over the job: each clip's model stages weigh steps x pixels, encoding and
 * verification a share of the clip's pixels.
 */
class JobProgress {
  private readonly weights = new Map<string, Map<StageName, number>>();
  private readonly done = new Map<string, Map<StageName, number>>();
  private readonly total: number;

  constructor(
    clips: readonly ClipPlan[],
    private readonly started: number,
  ) {
    let total = 0;
    for (const clip of clips) {
      const w = new Map<StageName, number>();
      for (const stage of clip.stages) {
        const pixels = stage.height * stage.width * clip.frames;
        if (stage.kind === 'base') w.set('base', pixels * clip.steps);
        else if (stage.kind === 'resize') w.set(`cascade-${stage.index}`, pixels * 0.5);
        else w.set(`cascade-${stage.index}`, pixels * clip.steps * (clip.k / 1000));
      }
      const out = clip.height * clip.width * clip.frames;
      w.set('encode', out * 2 * clip.outputs.length);
      w.set('verify', out * clip.outputs.length);
      this.weights.set(clip.id, w);
      this.done.set(clip.id, new Map());
      for (const v of w.values()) total += v;
    }
    this.total = Math.max(total, 1);
  }

  update(clip: ClipPlan, p: StageProgress): void {
    const weight = this.weights.get(clip.id)?.get(p.stage);
    if (weight !== undefined)
      this.done.get(clip.id)!.set(p.stage, weight * Math.min(1, Math.max(0, p.fraction)));
  }

  finish(clip: ClipPlan): void {
    this.done.set(clip.id, new Map(this.weights.get(clip.id)));
  }

  overall(): number {
    let sum = 0;
    for (const m of this.done.values()) for (const v of m.values()) sum += v;
    return Math.min(1, sum / this.total);
  }

  eta(): number | null {
    const f = this.overall();
    if (f < 0.01) return null;
    const elapsed = (performance.now() - this.started) / 1000;
    return (elapsed / f) * (1 - f);
  }
}
