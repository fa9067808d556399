/**
 * Render benchmark (`npm run bench:render`):
 * 1. Flat memory: a 50-clip job with a tiny random-weight model, compute in this thread, with
 *    RSS, JS heap and live tensors sampled after every finished clip. Prints first/last
 *    values and the growth per clip over the second half.
 * 2. The demo job (fixtures/jobs/demo.yaml) with the shipped model, if present: wall time and
 *    pipeline overhead = 1 - (model compute time / wall time), compute on one worker so the
 *    model work is serial and everything else (decode, checks, encode, verify, manifest,
 *    scheduling) is what is left.
 * Writes bench-results/render.json.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf } from '../backend/tf.js';
import { render } from '../pipeline/render.js';
import { modelPresetsDir } from '../pipeline/resolve-model.js';
import { packageInfo } from '../util/package-info.js';
import { writeTinyModel } from './tiny-model.js';

const MB = 1024 * 1024;

async function memoryRun(clips: number) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-render-'));
  try {
    await writeTinyModel(join(dir, 'tiny'), { height: 16, width: 16, frames: 8 });
    const colours = ['red', 'blue', 'green', 'yellow', 'white', 'purple'];
    const samples: { clip: number; rssMB: number; heapMB: number }[] = [];
    const tensorsBefore = tf.memory().numTensors;
    const start = performance.now();
    await render(
      {
        model: './tiny',
        workers: 0,
        defaults: { steps: 4, scale: 4 },
        clips: Array.from({ length: clips }, (_, i) => ({
          id: `c${i}`,
          prompt: `a ${colours[i % colours.length]} circle on a plain orange background`,
        })),
        output: { dir: 'out', encode: { preset: 'h264' } },
      },
      {
        baseDir: dir,
        onProgress: (e) => {
          if (e.type !== 'clip-done') return;
          const m = process.memoryUsage();
          samples.push({
            clip: samples.length + 1,
            rssMB: m.rss / MB,
            heapMB: m.heapUsed / MB,
          });
        },
      },
    );
    const seconds = (performance.now() - start) / 1000;
    const half = samples.slice(Math.floor(samples.length / 2));
    const slope = (key: 'rssMB' | 'heapMB') =>
      (half.at(-1)![key] - half[0]![key]) / Math.max(1, half.length - 1);
    return {
      clips,
      seconds,
      first: samples[0],
      last: samples.at(-1),
      maxRssMB: Math.max(...samples.map((s) => s.rssMB)),
      rssGrowthMBPerClipSecondHalf: slope('rssMB'),
      heapGrowthMBPerClipSecondHalf: slope('heapMB'),
      leakedTensors: tf.memory().numTensors - tensorsBefore,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function demoRun() {
  const job = join(packageInfo().root, 'fixtures', 'jobs', 'demo.yaml');
  if (!existsSync(join(modelPresetsDir(), 'shapes-base', 'model.safetensors'))) return null;
  const start = performance.now();
  const result = await render(job, { workers: 1 });
  const wall = (performance.now() - start) / 1000;
  const failed = Object.entries(result.manifest!.clips).filter(([, record]) => record.status === 'failed');
  if (failed.length > 0) {
    // An overhead computed over failed clips would be meaningless: stop with their errors.
    throw new Error(
      `demo job: ${failed.length} clip(s) failed: ${failed.map(([id, r]) => `${id}: ${r.error?.message}`).join('; ')}`,
    );
  }
  let compute = 0;
  for (const record of Object.values(result.manifest!.clips)) {
    for (const [stage, s] of Object.entries(record.timings)) {
      if (!['checks', 'encode', 'verify'].includes(stage)) compute += s ?? 0;
    }
  }
  return {
    clips: result.done,
    wallSeconds: wall,
    modelComputeSeconds: compute,
    overhead: 1 - compute / wall,
  };
}

const memory = await memoryRun(50);
console.log('Flat memory, 50 clips, tiny model (16x16x8 -> 64x64x8, 4 steps), compute in-thread:');
console.log(
  `  ${memory.seconds.toFixed(1)} s; RSS ${memory.first!.rssMB.toFixed(0)} -> ${memory.last!.rssMB.toFixed(0)} MB (max ${memory.maxRssMB.toFixed(0)}), heap ${memory.first!.heapMB.toFixed(0)} -> ${memory.last!.heapMB.toFixed(0)} MB`,
);
console.log(
  `  growth over the second half: RSS ${memory.rssGrowthMBPerClipSecondHalf.toFixed(2)} MB/clip, heap ${memory.heapGrowthMBPerClipSecondHalf.toFixed(2)} MB/clip; tensors left after the job: ${memory.leakedTensors}`,
);
const demo = await demoRun();
if (demo) {
  console.log('Demo job (fixtures/jobs/demo.yaml), shipped model, compute on 1 worker:');
  console.log(
    `  ${demo.clips} clips in ${demo.wallSeconds.toFixed(1)} s wall; model compute ${demo.modelComputeSeconds.toFixed(1)} s; pipeline overhead ${(demo.overhead * 100).toFixed(1)}%`,
  );
} else {
  console.log('Demo job skipped: presets/models/shapes-base is not present.');
}
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/render.json', `${JSON.stringify({ memory, demo }, null, 2)}\n`);
