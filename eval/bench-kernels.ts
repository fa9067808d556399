/**
 * Kernel benchmark: GFLOP/s of the conv and matMul kernels a training step uses, and the time
 * of one training step of the reference net, on wasm (with the project's kernels) and on the
 * cpu backend. Prints a table and writes `bench-results/kernels.json`.
 *
 *   npm run bench:kernels            (tsx eval/bench-kernels.ts)
 *   npm run bench:kernels -- --quick (fewer repetitions)
 *
 * FLOPs are 2 x the multiply-adds of the useful work: a conv is 2*N*Ho*Wo*kh*kw*Cin*Cout of its
 * forward pass, and both of its gradients are counted as that same forward conv (for a
 * stride-2 input gradient, the stride-2 forward conv). A matMul is 2*batch*m*k*n.
 * The cpu backend is 100-5000x slower (its filter gradient runs at ~0.01 GFLOP/s), so its rows
 * use batch 1 instead of 16 (same per-image shape), attention batch 8 instead of 64, and one
 * timed repetition; its GFLOP/s are measured on those smaller shapes. The training-step speed-up
 * compares wasm and cpu on the same reduced net (a full-size cpu step takes many minutes);
 * wasm's full-size step time is reported as well. Next to the 2-worker training speed-up it
 * prints the machine's own ceiling: the same fixed work on 2 workers at once vs 1 alone.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGradientExchange } from '../backend/gradient-exchange.js';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { simdKernels } from '../backend/wasm-kernels/simd-kernels.js';
import { asWasmBackend } from '../backend/wasm-kernels/wasm-backend.js';
import { taskModuleUrl, WorkerPool } from '../backend/worker-pool.js';
import { isInstalled } from '../util/is-installed.js';
import { createReferenceNet, REFERENCE_NET_DEFAULTS, type ReferenceNetConfig } from './reference-net.js';
import type { ScalingProbePayload } from './reference-net-task.js';

type BackendId = 'wasm' | 'cpu';

interface Row {
  group: 'conv' | 'matmul';
  op: string;
  shape: string;
  backend: BackendId;
  reps: number;
  /** Wall-clock median and best, and median process CPU time, in ms. */
  medianMs: number;
  bestMs: number;
  cpuMs: number;
  /** GFLOP/s of those three times. */
  gflops: number;
  gflopsBest: number;
  gflopsCpu: number;
  target?: number;
  /** Target met by the wall-clock median / the best repetition / the CPU-time median. */
  pass?: boolean;
  passBest?: boolean;
  passCpu?: boolean;
}

const quick = process.argv.includes('--quick');
const WASM_REPS = quick ? 4 : 12;
const CPU_REPS = 1;
const CPU_BATCH = 1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs `run` (synchronous on wasm and cpu) `reps` times after `warmups` untimed runs; returns
 * wall-clock and process CPU times in ms. A warm-up that takes over a second counts as the
 * only repetition (slow cpu kernels gain nothing from a second pass).
 *
 * The backends compute on the calling thread, so a repetition's CPU time is its compute time
 * without the waits for a core that other processes cause on a busy machine (it still includes
 * their effect on caches and memory bandwidth): close to the wall time of an idle machine.
 */
function timeIt(
  run: () => tf.Tensor | tf.Tensor[],
  reps: number,
  warmups: number,
): { wall: number[]; cpu: number[] } {
  const once = (): { wall: number; cpu: number } => {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    const out = run();
    // Reading one value makes sure the work is done on every backend (reading the whole
    // output would add a copy to JS, 16 MB for the attention scores, to the kernel's time).
    const first = Array.isArray(out) ? out[0]! : out;
    tf.tidy(() => tf.slice(first.reshape([-1]), 0, 1).dataSync());
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpuStart);
    tf.dispose(out);
    return { wall, cpu: (used.user + used.system) / 1000 };
  };
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < warmups; i++) {
    const t = once();
    if (t.wall > 1000) return { wall: [t.wall], cpu: [t.cpu] };
  }
  for (let i = 0; i < reps; i++) {
    const t = once();
    wall.push(t.wall);
    cpu.push(t.cpu);
  }
  return { wall, cpu };
}

function measure(
  rows: Row[],
  entry: {
    group: Row['group'];
    op: string;
    shape: string;
    backend: BackendId;
    flops: number;
    target?: number;
  },
  setup: () => { run: () => tf.Tensor | tf.Tensor[]; dispose: () => void },
): void {
  const { run, dispose } = setup();
  const times = timeIt(
    run,
    entry.backend === 'wasm' ? WASM_REPS : CPU_REPS,
    entry.backend === 'wasm' ? 2 : 1,
  );
  dispose();
  const medianMs = median(times.wall);
  const bestMs = Math.min(...times.wall);
  const cpuMs = median(times.cpu);
  const row: Row = {
    group: entry.group,
    op: entry.op,
    shape: entry.shape,
    backend: entry.backend,
    reps: times.wall.length,
    medianMs,
    bestMs,
    cpuMs,
    gflops: entry.flops / medianMs / 1e6,
    gflopsBest: entry.flops / bestMs / 1e6,
    gflopsCpu: entry.flops / cpuMs / 1e6,
  };
  if (entry.target !== undefined && entry.backend === 'wasm') {
    row.target = entry.target;
    row.pass = row.gflops >= entry.target;
    row.passBest = row.gflopsBest >= entry.target;
    row.passCpu = row.gflopsCpu >= entry.target;
  }
  rows.push(row);
  const target = row.target === undefined ? '' : `  target >= ${row.target}: ${verdict(row)}`;
  console.log(
    `${row.backend.padEnd(5)} ${row.op.padEnd(30)} ${row.shape.padEnd(36)} ${row.medianMs.toFixed(1).padStart(9)} ms ${row.gflops.toFixed(1).padStart(7)} ${row.gflopsBest.toFixed(1).padStart(7)} ${row.gflopsCpu.toFixed(1).padStart(7)}${target}`,
  );
}

function verdict(row: Row): string {
  if (row.pass) return 'ok';
  const also = [row.passBest ? 'best repetition' : '', row.passCpu ? 'CPU time' : ''].filter((s) => s !== '');
  return also.length === 0 ? 'MISSED' : `missed by the median, met by ${also.join(' and ')}`;
}

function convRows(rows: Row[], backend: BackendId, batch: number, size: number, channels: number): void {
  const x = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
  const filter = tf.randomNormal([3, 3, channels, channels]) as tf.Tensor4D;
  const dy1 = tf.randomNormal([batch, size, size, channels]) as tf.Tensor4D;
  const dy2 = tf.randomNormal([batch, size / 2, size / 2, channels]) as tf.Tensor4D;
  const flops1 = 2 * batch * size * size * 9 * channels * channels;
  const flops2 = flops1 / 4;
  const shape = `[${batch},${size},${size},${channels}]->${channels} 3x3`;
  const target = size === 32 && channels === 64 ? 20 : undefined;
  const keep = { dispose: () => {} };
  const base = { group: 'conv' as const, shape, backend };
  measure(rows, { ...base, op: 'conv2d forward s1', flops: flops1, target }, () => ({
    run: () => tf.conv2d(x, filter, 1, 'same'),
    ...keep,
  }));
  measure(rows, { ...base, op: 'conv2d forward s2', flops: flops2 }, () => ({
    run: () => tf.conv2d(x, filter, 2, 'same'),
    ...keep,
  }));
  const attrs = (strides: number) => ({ strides, pad: 'same', dataFormat: 'NHWC' });
  measure(rows, { ...base, op: 'input gradient s1', flops: flops1, target }, () => ({
    run: () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: dy1, filter },
          { ...attrs(1), inputShape: x.shape },
        ) as tf.Tensor,
    ...keep,
  }));
  measure(rows, { ...base, op: 'input gradient s2', flops: flops2, target }, () => ({
    run: () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy: dy2, filter },
          { ...attrs(2), inputShape: x.shape },
        ) as tf.Tensor,
    ...keep,
  }));
  measure(rows, { ...base, op: 'filter gradient s1', flops: flops1, target }, () => ({
    run: () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy: dy1 },
          { ...attrs(1), filterShape: filter.shape },
        ) as tf.Tensor,
    ...keep,
  }));
  measure(rows, { ...base, op: 'filter gradient s2', flops: flops2 }, () => ({
    run: () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy: dy2 },
          { ...attrs(2), filterShape: filter.shape },
        ) as tf.Tensor,
    ...keep,
  }));
  tf.dispose([x, filter, dy1, dy2]);
}

function matMulRows(rows: Row[], backend: BackendId, batchScale: number): void {
  const m = 512;
  const a = tf.randomNormal([m, m]);
  const b = tf.randomNormal([m, m]);
  const flops = 2 * m * m * m;
  const keep = { dispose: () => {} };
  const base = { group: 'matmul' as const, backend };
  measure(rows, { ...base, op: 'matMul plain', shape: '[512,512]x[512,512]', flops }, () => ({
    run: () => tf.matMul(a, b),
    ...keep,
  }));
  for (const [op, ta, tb] of [
    ['matMul transposed A', true, false],
    ['matMul transposed B', false, true],
    ['matMul transposed A and B', true, true],
  ] as const) {
    measure(rows, { ...base, op, shape: '[512,512]x[512,512]', flops, target: 15 }, () => ({
      run: () => tf.matMul(a, b, ta, tb),
      ...keep,
    }));
  }
  tf.dispose([a, b]);
  // Attention-shaped batches: q [B,256,32], kT [B,32,256] -> scores [B,256,256], and the
  // gradient forms of scores = q kT: dq = dS kT^T and dkT = q^T dS; plus q k^T with k [B,256,32].
  const batch = 64 / batchScale;
  const q = tf.randomNormal([batch, 256, 32]);
  const kT = tf.randomNormal([batch, 32, 256]);
  const k = tf.randomNormal([batch, 256, 32]);
  const dS = tf.randomNormal([batch, 256, 256]);
  const attnFlops = 2 * batch * 256 * 32 * 256;
  const cases: [string, string, () => tf.Tensor][] = [
    ['batched q x kT', `[${batch},256,32]x[${batch},32,256]`, () => tf.matMul(q, kT)],
    ['batched q x k^T', `[${batch},256,32]x[${batch},256,32]^T`, () => tf.matMul(q, k, false, true)],
    [
      'batched grad dS x kT^T',
      `[${batch},256,256]x[${batch},32,256]^T`,
      () => tf.matMul(dS, kT, false, true),
    ],
    ['batched grad q^T x dS', `[${batch},256,32]^T x[${batch},256,256]`, () => tf.matMul(q, dS, true, false)],
    ['batched dS x k', `[${batch},256,256]x[${batch},256,32]`, () => tf.matMul(dS, k)],
    ['batched grad dS^T x q', `[${batch},256,256]^T x[${batch},256,32]`, () => tf.matMul(dS, q, true, false)],
  ];
  for (const [op, shape, run] of cases) {
    measure(rows, { ...base, op, shape, flops: attnFlops, target: 15 }, () => ({ run, ...keep }));
  }
  tf.dispose([q, kT, k, dS]);
}

interface StepResult {
  backend: BackendId;
  steps: number;
  medianMs: number;
  bestMs: number;
  /** Median process CPU time per step. */
  cpuMs: number;
  loss: number;
}

/** The reduced net on which wasm and cpu are compared (batch 2, 16/32 channels, 32x32). */
const COMPARE_NET: Partial<ReferenceNetConfig> = { clips: 1, frames: 2, channels: 16 };

/**
 * Adam steps of the reference net (forward, backward and update), after `warmups` untimed
 * steps (the first one also creates the optimizer's slots).
 */
function trainSteps(
  backend: BackendId,
  config: Partial<ReferenceNetConfig>,
  steps: number,
  warmups: number,
): StepResult {
  const net = createReferenceNet(config, 1);
  const batch = net.makeBatch(2);
  const optimizer = tf.train.adam(1e-3);
  const step = (): number => {
    const loss = optimizer.minimize(() => net.loss(batch), true, net.variables as tf.Variable[])!;
    const value = loss.dataSync()[0]!;
    loss.dispose();
    return value;
  };
  for (let i = 0; i < warmups; i++) step();
  const times: number[] = [];
  const cpu: number[] = [];
  let loss = Number.NaN;
  for (let i = 0; i < steps; i++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    loss = step();
    times.push(performance.now() - start);
    const used = process.cpuUsage(cpuStart);
    cpu.push((used.user + used.system) / 1000);
  }
  optimizer.dispose();
  tf.dispose([batch.x, batch.t, batch.target]);
  net.dispose();
  return { backend, steps, medianMs: median(times), bestMs: Math.min(...times), cpuMs: median(cpu), loss };
}

interface DataParallelResult {
  /** Per worker count: median step time over all rounds. */
  results: { workers: number; medianMs: number; stepsPerSecond: number }[];
  /** 2-worker legs: how many of a step's units each rank computed, per timed step. */
  unitSplits: number[][];
  /** Per round: 1-worker median / 2-worker median of that round. */
  roundSpeedups: number[];
  /** Median of the per-round speed-ups (the figure held against the target). */
  speedup: number;
}

/** Clips per data-parallel step of the reference net, one unit of work each. */
const DATA_PARALLEL_CLIPS = 8;

/**
 * Data-parallel steps/s of the full reference net over 1 and 2 workers at the same global
 * batch (8 clips of 8 frames, cut into units of one clip that the ranks pull as they go, as in
 * model training): each worker owns a single-threaded wasm backend. `pools` are a 1-worker and
 * a 2-worker pool; the legs alternate, 1 worker then 2 workers, for `rounds` rounds of `steps`
 * timed steps each; the speed-up is the median over rounds of the ratio within a round, so a
 * slow drift of the machine's speed (another process, thermal) hits both sides of each ratio
 * alike. On this machine one core at a time slows down for seconds (the same half-batch
 * gradient pass took 590-660 ms or 880 ms on a rank): with fixed halves a step waited for the
 * slowed rank; pulled units let the other rank take more of them.
 */
async function dataParallel(
  pools: readonly WorkerPool[],
  rounds: number,
  steps: number,
): Promise<DataParallelResult> {
  const task = {
    module: taskModuleUrl('./reference-net-task', import.meta.url),
    name: 'referenceDataParallelSteps',
  };
  const probe = createReferenceNet(REFERENCE_NET_DEFAULTS, 1);
  const length = probe.parameterCount;
  probe.dispose();
  const times: number[][] = [[], []];
  const roundSpeedups: number[] = [];
  const unitSplits: number[][] = [];
  for (let round = 0; round < rounds; round++) {
    const medians: number[] = [];
    for (const [i, pool] of pools.entries()) {
      const exchange = createGradientExchange(pool.size, DATA_PARALLEL_CLIPS, length);
      const ranks = await pool.broadcast<{ stepMs: number[]; units: number[] }>(task, () => ({
        globalClips: DATA_PARALLEL_CLIPS,
        steps,
        warmups: round === 0 ? 2 : 1,
        exchange,
      }));
      if (pool.size > 1) {
        unitSplits.push(...ranks[0]!.units.map((_, k) => ranks.map((r) => r.units[k]!)));
      }
      // A step ends when the slowest rank ends it.
      const perStep = ranks[0]!.stepMs.map((_, k) => Math.max(...ranks.map((r) => r.stepMs[k]!)));
      times[i]!.push(...perStep);
      medians.push(median(perStep));
    }
    roundSpeedups.push(medians[0]! / medians[1]!);
  }
  const results = pools.map((pool, i) => {
    const medianMs = median(times[i]!);
    return { workers: pool.size, medianMs, stepsPerSecond: 1000 / medianMs };
  });
  return { results, unitSplits, roundSpeedups, speedup: median(roundSpeedups) };
}

/** Per kind of work: the machine's 2-core throughput scaling, median over rounds. */
type MachineScaling = Record<ScalingProbePayload['kind'], { rounds: number[]; speedup: number }>;

/**
 * The ceiling this machine puts on 2-worker speed-ups: the same fixed work on one worker
 * alone, then on each of two workers at once (throughput ratio 2 * t1 / t2), alternating for
 * `rounds` rounds. Cache-resident products (the GEMM kernel, compute-bound) and 64 MB adds
 * (memory-bound) bracket what a training step does.
 */
async function machineScaling(pools: readonly WorkerPool[], rounds: number): Promise<MachineScaling> {
  const task = { module: taskModuleUrl('./reference-net-task', import.meta.url), name: 'scalingProbe' };
  const out = {} as MachineScaling;
  for (const [kind, reps] of [
    ['gemm', 150],
    ['stream', 40],
  ] as const) {
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const payload: ScalingProbePayload = { kind, reps };
      const [alone] = await pools[0]!.broadcast<{ ms: number }>(task, () => payload);
      const together = await pools[1]!.broadcast<{ ms: number }>(task, () => payload);
      ratios.push((2 * alone!.ms) / Math.max(...together.map((r) => r.ms)));
    }
    out[kind] = { rounds: ratios, speedup: median(ratios) };
  }
  return out;
}

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const info = await selectBackend({ backend: 'wasm' });
  const fused = simdKernels(asWasmBackend(tf.backend()))?.fused ?? false;
  console.log(
    `tfjs ${info.tfjsVersion}; wasm single-threaded with the project's kernels (GEMM: ${fused ? 'fused multiply-adds, relaxed SIMD' : 'SIMD multiplies and adds'}); load ${loadBefore.map((l) => l.toFixed(1)).join(' ')}`,
  );
  console.log(
    'FLOPs = 2 x multiply-adds; conv gradients count as their forward conv (stride-2 input gradient = stride-2 forward).',
  );
  console.log(
    `cpu rows: batch ${CPU_BATCH} instead of 16, attention batch 8 instead of 64, ${CPU_REPS} timed repetition; GFLOP/s on those shapes.`,
  );
  console.log(
    `${'back'.padEnd(5)} ${'op'.padEnd(30)} ${'shape'.padEnd(36)} ${'median'.padStart(12)} ${'GFLOP/s'.padStart(7)} ${'best'.padStart(7)} ${'cpu'.padStart(7)}   (GFLOP/s of the wall-clock median, the best repetition, the CPU-time median)`,
  );
  const rows: Row[] = [];
  for (const backend of ['wasm', 'cpu'] as const) {
    await tf.setBackend(backend);
    const batch = backend === 'wasm' ? 16 : CPU_BATCH;
    convRows(rows, backend, batch, 32, 64);
    convRows(rows, backend, batch, 16, 128);
    matMulRows(rows, backend, backend === 'wasm' ? 1 : 8);
  }
  if (isInstalled('@tensorflow/tfjs-node')) {
    console.log(
      'tfjs-node is installed but not benchmarked here (run with CASCADE_BACKEND=tfjs-node to add it).',
    );
  } else {
    console.log('tfjs-node: not installed, skipped.');
  }

  const describe = (c: ReferenceNetConfig): string =>
    `batch ${c.clips * c.frames} (${c.clips} x ${c.frames} frames), ${c.size}x${c.size} and ${c.size / 2}x${c.size / 2}, ${c.channels}/${2 * c.channels} channels`;
  const full = REFERENCE_NET_DEFAULTS;
  const small = { ...REFERENCE_NET_DEFAULTS, ...COMPARE_NET };
  console.log('\nreference net training step (forward + backward + Adam update):');
  await tf.setBackend('wasm');
  const wasmFull = trainSteps('wasm', full, quick ? 3 : 10, 2);
  console.log(
    `wasm  full net, ${describe(full)}: ${wasmFull.medianMs.toFixed(1)} ms median, ${wasmFull.bestMs.toFixed(1)} ms best, ${wasmFull.cpuMs.toFixed(1)} ms CPU time (${wasmFull.steps} steps)`,
  );
  const wasmSmall = trainSteps('wasm', small, quick ? 3 : 10, 2);
  console.log(
    `wasm  reduced net, ${describe(small)}: ${wasmSmall.medianMs.toFixed(1)} ms median, ${wasmSmall.bestMs.toFixed(1)} ms best, ${wasmSmall.cpuMs.toFixed(1)} ms CPU time`,
  );
  await tf.setBackend('cpu');
  const cpuSmall = trainSteps('cpu', small, 1, 0);
  console.log(
    `cpu   reduced net: ${cpuSmall.medianMs.toFixed(0)} ms, ${cpuSmall.cpuMs.toFixed(0)} ms CPU time (1 step, the first)`,
  );
  await tf.setBackend('wasm');
  const speedup = cpuSmall.medianMs / wasmSmall.medianMs;
  console.log(
    `speed-up wasm vs cpu on the reduced net: ${speedup.toFixed(0)}x wall-clock medians, ${(cpuSmall.cpuMs / wasmSmall.cpuMs).toFixed(0)}x CPU time (target >= 100x: ${speedup >= 100 ? 'ok' : 'MISSED'})`,
  );

  console.log(
    `\ndata-parallel training of the full reference net, global batch ${DATA_PARALLEL_CLIPS} clips x 8 frames in units of 1 clip, wasm workers:`,
  );
  const pools = [await WorkerPool.create({ size: 1, backend: 'wasm' })];
  let parallel: DataParallelResult;
  let ceiling: MachineScaling;
  try {
    pools.push(await WorkerPool.create({ size: 2, backend: 'wasm' }));
    parallel = await dataParallel(pools, quick ? 4 : 10, 2);
    ceiling = await machineScaling(pools, quick ? 2 : 4);
  } finally {
    await Promise.all(pools.map((pool) => pool.close()));
  }
  for (const p of parallel.results) {
    console.log(
      `  ${p.workers} worker(s): ${p.medianMs.toFixed(0)} ms per step, ${p.stepsPerSecond.toFixed(2)} steps/s (median over all rounds)`,
    );
  }
  console.log(
    `  units per rank in the 2-worker steps: ${parallel.unitSplits.map((split) => split.join('+')).join(', ')}`,
  );
  const parallelSpeedup = parallel.speedup;
  console.log(
    `  2 workers vs 1, per round (legs alternate): ${parallel.roundSpeedups.map((r) => `${r.toFixed(2)}x`).join(', ')}`,
  );
  console.log(
    `  2 workers vs 1: ${parallelSpeedup.toFixed(2)}x steps/s, median of the rounds (target >= 1.7x: ${parallelSpeedup >= 1.7 ? 'ok' : 'MISSED'})`,
  );
  for (const [kind, what] of [
    ['gemm', 'cache-resident 256x256 products'],
    ['stream', 'adds of 64 MB arrays'],
  ] as const) {
    console.log(
      `  machine ceiling, the same work on 2 workers at once vs 1 alone, ${what}: ${ceiling[kind].speedup.toFixed(2)}x (rounds ${ceiling[kind].rounds.map((r) => r.toFixed(2)).join(', ')})`,
    );
  }

  const loadAfter = loadavg();
  const missed = rows.filter((r) => r.pass === false).map((r) => `${r.op} ${r.shape}`);
  const missedEverywhere = rows
    .filter((r) => r.pass === false && !r.passBest && !r.passCpu)
    .map((r) => `${r.op} ${r.shape}`);
  console.log(`\nload average after: ${loadAfter.map((l) => l.toFixed(1)).join(' ')}`);
  // Same-run reference: the stock fast paths (wasm's own conv2d forward and plain matMul).
  const reference = (row: Row): Row | undefined =>
    rows.find(
      (r) =>
        r.backend === 'wasm' &&
        (row.group === 'conv'
          ? r.op === 'conv2d forward s1' && r.shape === row.shape
          : r.op === 'matMul plain'),
    );
  console.log('\nwasm kernels with targets, as a fraction of the stock fast path measured in the same run:');
  for (const row of rows.filter((r) => r.target !== undefined)) {
    const ref = reference(row);
    const ratio = ref === undefined ? Number.NaN : row.gflops / ref.gflops;
    const ratioCpu = ref === undefined ? Number.NaN : row.gflopsCpu / ref.gflopsCpu;
    console.log(
      `  ${row.op.padEnd(30)} ${row.shape.padEnd(36)} ${ratio.toFixed(2)}x (wall)  ${ratioCpu.toFixed(2)}x (CPU time) of ${ref?.op ?? '?'}`,
    );
  }
  if (missed.length === 0 && speedup >= 100 && parallelSpeedup >= 1.7) {
    console.log('\nall acceptance targets met (wall-clock medians)');
  } else {
    console.log(
      `\ntargets missed by the wall-clock median: ${missed.length === 0 ? 'none' : missed.join('; ')}`,
    );
    console.log(
      `targets missed by the median, the best repetition and the CPU time alike: ${missedEverywhere.length === 0 ? 'none' : missedEverywhere.join('; ')}`,
    );
    if (speedup < 100) console.log('training step speed-up below 100x');
    if (parallelSpeedup < 1.7) console.log('2-worker data-parallel speed-up below 1.7x');
  }
  const here = dirname(fileURLToPath(import.meta.url));
  const outPath = join(here, '..', 'bench-results', 'kernels.json');
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(
    outPath,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        tfjs: info.tfjsVersion,
        gemmFusedMultiplyAdd: fused,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadAfter,
        flops:
          '2 x multiply-adds of the useful work; conv gradients = their forward conv; matMul 2*batch*m*k*n',
        cpuScaling: `cpu conv rows at batch ${CPU_BATCH} (wasm 16), attention batch 8 (wasm 64), ${CPU_REPS} repetition(s)`,
        rows,
        trainStep: {
          fullNet: full,
          reducedNet: small,
          wasmFull,
          wasmReduced: wasmSmall,
          cpuReduced: cpuSmall,
          speedup,
        },
        dataParallel: {
          globalBatch: `${DATA_PARALLEL_CLIPS} clips x 8 frames, units of 1 clip`,
          ...parallel,
        },
        machineScaling: ceiling,
        missedTargets: missed,
        missedTargetsByAllMeasures: missedEverywhere,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`wrote ${outPath}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
