/**
 * Training benchmark of the base video model. Prints a table and writes
 * `bench-results/training.json`.
 *
 *   npm run bench:training                          shipped architecture, default sections
 *   npm run bench:training -- --arch shapes-32      another architecture
 *   npm run bench:training -- --candidates shapes-16,shapes-24,shapes-32 --batch 16
 *   npm run bench:training -- --skip-cpu --steps 5
 *
 * Sections:
 * 1. backend: one training step (forward, backward, AdamW, EMA) of the architecture on wasm
 *    (with the project's kernels) vs the tfjs cpu backend, each in its own worker thread. The
 *    cpu backend is ~100x slower, so its step is run ONCE on a smaller problem: batch 1 and
 *    `--cpu-frames` frames (default 4 of 16); its time is scaled linearly to the wasm problem
 *    (clips x frames), which the table says. wasm runs batch `--micro-batch` (default 2).
 * 2. workers: steps/s of data-parallel training (trainBase on wasm) with 1 vs 2 workers at the
 *    same global batch (`--batch`, default 8, micro-batch 2); the first step of each run is a
 *    warm-up and not timed.
 * 3. candidates (with --candidates): seconds per step of several architectures with 2 workers
 *    at the global batch, and how many steps fit in 95 minutes.
 * The machine has 2 cores shared with other work: the load average before and after is
 * recorded, and timings under load are noisy (and pessimistic).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type TaskRef, taskModuleUrl, WorkerPool } from '../backend/worker-pool.js';
import { trainBase } from '../model/train-base.js';
import type { TrainBaseConfigInput } from '../model/train-config.js';
import { SHAPES_BASE_ARCHITECTURE, SHAPES_BASE_TRAINING, trainArchitecture } from '../model/train-presets.js';
import type { TrainStepResult } from '../model/train-replica.js';

const { values } = parseArgs({
  options: {
    arch: { type: 'string', default: SHAPES_BASE_ARCHITECTURE },
    batch: { type: 'string', default: '8' },
    'micro-batch': { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    'cpu-frames': { type: 'string', default: '4' },
    'skip-cpu': { type: 'boolean', default: false },
    'skip-workers': { type: 'boolean', default: false },
    candidates: { type: 'string' },
    repeats: { type: 'string', default: '2' },
    out: { type: 'string' },
  },
});
const arch = values.arch!;
const batch = Number(values.batch);
const microBatch = Number(values['micro-batch']);
const timedSteps = Number(values.steps);
const cpuFrames = Number(values['cpu-frames']);
const repeats = Number(values.repeats);
const BUDGET_MINUTES = 95;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workerModule = taskModuleUrl('../model/train-worker', import.meta.url);
const task = (name: string): TaskRef => ({ module: workerModule, name });

function config(architecture: string, overrides: Partial<TrainBaseConfigInput> = {}): TrainBaseConfigInput {
  return {
    ...SHAPES_BASE_TRAINING,
    architecture: { ...trainArchitecture(architecture) },
    // Every timed step trains whole clips (the preset's short curriculum phase would be timed otherwise).
    frameCurriculum: [],
    checkpointEvery: 1_000_000,
    ...overrides,
  };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

interface StepTiming {
  backend: string;
  clips: number;
  frames: number;
  steps: number;
  /** Mean ms per step, and its parts. */
  ms: number;
  dataMs: number;
  computeMs: number;
  updateMs: number;
}

/** Trains `steps` updates in one worker (after `warmups`) and returns the mean timing. */
async function oneWorkerStep(
  backend: 'wasm' | 'cpu',
  cfg: TrainBaseConfigInput,
  warmups: number,
  steps: number,
): Promise<StepTiming> {
  const pool = await WorkerPool.create({ size: 1, backend });
  try {
    await pool.run(task('initReplica'), { config: cfg }, { rank: 0 });
    const timings: TrainStepResult['timing'][] = [];
    const wall: number[] = [];
    for (let step = 0; step < warmups + steps; step++) {
      const start = performance.now();
      const result = await pool.run<TrainStepResult>(task('trainReplicaStep'), { step }, { rank: 0 });
      if (step >= warmups) {
        wall.push(performance.now() - start);
        timings.push(result.timing);
      }
    }
    await pool.run(task('disposeReplica'), undefined, { rank: 0 });
    const architecture = cfg.architecture as { frames: number };
    return {
      backend,
      clips: cfg.batchSize,
      frames: architecture.frames,
      steps,
      ms: mean(wall),
      dataMs: mean(timings.map((t) => t.data)),
      computeMs: mean(timings.map((t) => t.compute)),
      updateMs: mean(timings.map((t) => t.update)),
    };
  } finally {
    await pool.close({ force: true });
  }
}

/** Seconds per step of trainBase with `workers` workers (first step untimed). */
async function dataParallel(
  architecture: string,
  workers: number,
  steps: number,
): Promise<{
  architecture: string;
  workers: number;
  batch: number;
  secondsPerStep: number;
  stepsPerSecond: number;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-training-'));
  try {
    const durations: number[] = [];
    let last: number | undefined;
    await trainBase({
      config: config(architecture, { batchSize: batch, steps: 10_000 }),
      outDir: dir,
      workers,
      backend: 'wasm',
      microBatch,
      untilStep: steps + 1,
      onProgress: (e) => {
        if (e.stage !== 'step') return;
        const now = performance.now();
        if (last !== undefined) durations.push((now - last) / 1000);
        last = now;
      },
    });
    const secondsPerStep = mean(durations);
    return { architecture, workers, batch, secondsPerStep, stepsPerSecond: 1 / secondsPerStep };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model, node: process.version },
  loadBefore: loadavg(),
  architecture: arch,
  note: 'Shared 2-core machine: other processes were running; timings are noisy and pessimistic.',
};
console.log(
  `Training benchmark: ${arch}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

// 1. wasm vs cpu, one step.
const backendRows: Record<string, unknown>[] = [];
{
  const wasm = await oneWorkerStep(
    'wasm',
    config(arch, { batchSize: microBatch, steps: 100 }),
    1,
    timedSteps,
  );
  const perClipFrame = wasm.ms / (wasm.clips * wasm.frames);
  backendRows.push({ ...wasm, msPerClip: wasm.ms / wasm.clips, scaledFrom: null });
  console.log('\n1. One training step (forward + backward + AdamW + EMA), one worker');
  console.log('backend  clips x frames  ms/step    ms/clip(16f)  data    compute  update');
  const row = (t: StepTiming, perClip16: number, note: string): void =>
    console.log(
      `${t.backend.padEnd(8)} ${`${t.clips} x ${t.frames}`.padEnd(15)} ${t.ms.toFixed(0).padStart(8)}  ${perClip16
        .toFixed(0)
        .padStart(
          12,
        )}  ${t.dataMs.toFixed(0).padStart(6)}  ${t.computeMs.toFixed(0).padStart(7)}  ${t.updateMs
        .toFixed(0)
        .padStart(6)}  ${note}`,
    );
  row(wasm, perClipFrame * 16, `mean of ${wasm.steps} steps after 1 warm-up`);
  if (!values['skip-cpu']) {
    const base = trainArchitecture(arch) as { frames: number };
    const cpuConfig = config(arch, {
      batchSize: 1,
      steps: 100,
      architecture: { ...trainArchitecture(arch), frames: Math.min(cpuFrames, base.frames) },
    });
    const cpu = await oneWorkerStep('cpu', cpuConfig, 0, 1);
    const cpuPerClip16 = (cpu.ms / (cpu.clips * cpu.frames)) * 16;
    backendRows.push({
      ...cpu,
      msPerClip: cpuPerClip16,
      scaledFrom: `1 step of batch 1 x ${cpu.frames} frames, scaled linearly to 16 frames`,
    });
    row(cpu, cpuPerClip16, `1 step, batch 1 x ${cpu.frames} frames, scaled x${16 / cpu.frames} to 16 frames`);
    console.log(`wasm is ${(cpuPerClip16 / (perClipFrame * 16)).toFixed(0)}x faster per clip`);
  }
}
report.backend = backendRows;

// 2. 1 vs 2 workers at the same global batch, alternating (1, 2, 1, 2, ...) so that changes
// in the machine's load hit both about equally; the best run of each is the least disturbed.
if (!values['skip-workers']) {
  console.log(
    `\n2. Data-parallel steps/s on wasm, global batch ${batch}, micro-batch ${microBatch} (${repeats} alternating runs each)`,
  );
  const runs: Awaited<ReturnType<typeof dataParallel>>[] = [];
  for (let r = 0; r < repeats; r++) {
    for (const workers of [1, 2]) {
      const run = await dataParallel(arch, workers, timedSteps);
      runs.push(run);
      console.log(
        `  run ${r + 1}, workers ${workers}: ${run.secondsPerStep.toFixed(2)} s/step (load ${loadavg()[0]!.toFixed(1)})`,
      );
    }
  }
  const best = (workers: number): number =>
    Math.min(...runs.filter((r) => r.workers === workers).map((r) => r.secondsPerStep));
  for (const workers of [1, 2]) {
    console.log(
      `workers ${workers}: best ${best(workers).toFixed(2)} s/step, ${(1 / best(workers)).toFixed(3)} steps/s`,
    );
  }
  console.log(`speed-up with 2 workers (best runs): ${(best(1) / best(2)).toFixed(2)}x`);
  report.workers = { runs, bestSecondsPerStep: { 1: best(1), 2: best(2) }, speedup: best(1) / best(2) };
}

// 3. Candidate architectures.
if (values.candidates) {
  console.log(`\n3. Candidates: 2 workers, global batch ${batch}, micro-batch ${microBatch}`);
  console.log('architecture       s/step  steps in 95 min');
  const rows = [];
  for (const name of values.candidates.split(',')) {
    const r = await dataParallel(name.trim(), 2, timedSteps);
    const fit = Math.floor((BUDGET_MINUTES * 60) / r.secondsPerStep);
    rows.push({ ...r, stepsIn95Minutes: fit });
    console.log(
      `${r.architecture.padEnd(18)} ${r.secondsPerStep.toFixed(2).padStart(6)}  ${String(fit).padStart(15)}`,
    );
  }
  report.candidates = rows;
}

report.loadAfter = loadavg();
console.log(
  `\nload average after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
const out = values.out ?? join(root, 'bench-results', 'training.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${out}`);
