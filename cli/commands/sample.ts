import { join, resolve } from 'node:path';
import { type BackendRequest, selectBackend } from '../../backend/select-backend.js';
import { taskModuleUrl, WorkerPool } from '../../backend/worker-pool.js';
import { writeContactSheet } from '../../codecs/contact-sheet.js';
import type { Clip } from '../../data/clip.js';
import { type ShapesSet, shapesSet } from '../../data/make-shapes-set.js';
import { parsePrompt } from '../../data/parse-prompt.js';
import { sampleScene } from '../../data/sample-scene.js';
import { saveShapesSet } from '../../data/save-shapes-set.js';
import type { Scene } from '../../data/scene.js';
import { SHAPES_SET_EXTENSION } from '../../data/shapes-set-format.js';
import { loadModelDir, readModelConfig } from '../../model/model-files.js';
import { samplingFrameCorrelationOf } from '../../model/noise-schedule.js';
import {
  type SampleBaseClipsOptions,
  type SampleRequest,
  sampleBaseClips,
} from '../../model/sample-base-clips.js';
import type { SampleClipsPayload } from '../../model/sample-base-clips-task.js';
import { readRenderDefaults } from '../../pipeline/resolve-model.js';
import { CascadeError } from '../../util/cascade-error.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../on-interrupt.js';
import { intFlag, numberFlag, parseCliArgs } from '../parse-cli-args.js';

export const SAMPLE_HELP = `Usage: cascade sample --model DIR (--prompt TEXT [--prompt TEXT ...] | --heldout N) [options]

Samples clips from a base model (its saved EMA weights) at the base resolution: one clip per
(prompt, seed) pair. Writes a contact sheet (one row per clip, labelled "seed: prompt") and the
raw clips as a shapes set (${SHAPES_SET_EXTENSION}, readable with loadShapesSet and \`cascade eval\`;
its "scene" entries are scenes that satisfy each prompt, for reference only, not what the model
drew). A (prompt, seed) pair gives the same clip whatever the batch or worker count.

Prompts:
  --prompt TEXT      a prompt in the shapes vocabulary (repeatable)
  --seeds LIST       comma-separated seeds, e.g. 1,2,3 (default 1); every prompt with every seed
  --heldout N        instead of --prompt: the prompts of the first N scenes of the held-out
                     split (\`cascade data export --split heldout\`), each sampled with its
                     scene seed; then \`cascade eval --clips OUT/samples${SHAPES_SET_EXTENSION}\`
                     scores them against their prompts
  --heldout-seed S   seed of that held-out set (default 1)

Options:
  --model DIR        model folder (model.safetensors + config.json), e.g. presets/models/shapes-base
  --out DIR          output folder (default samples): samples.png and samples${SHAPES_SET_EXTENSION}
  --steps N          sampler steps (default 50)
  --sampler NAME     ddim | dpm-solver (also spelt dpm-solver++, as in jobs; default ddim)
  --eta X            DDIM stochasticity in [0, 1] (default 0 = deterministic; ddim only): the
                     share of fresh noise each step adds, frames correlated like the start
  --guidance X       classifier-free guidance scale (default 3; 1 = off)
  --frame-correlation X
                     correlation in [0, 1) of the starting noise of two frames of a clip
                     (default: the model's schedule.samplingFrameCorrelation, else the
                     frameCorrelation it was trained with)
  --workers N        worker threads sampling in parallel (0 = in this thread; default 0)
  --frames N         frames shown per clip on the sheet (default 8)
  --sheet-clips N    clips shown on the sheet, the first N (default 64)
  --backend NAME     auto | tfjs-node-gpu | tfjs-node | wasm | cpu
  -h, --help         this help

--steps, --sampler, --eta, --guidance and --frame-correlation default first to the model
folder's render-defaults.json (the settings it recommends, which renders use too), then to the
values above.`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    model: { type: 'string' },
    prompt: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    heldout: { type: 'string' },
    'heldout-seed': { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    sampler: { type: 'string' },
    eta: { type: 'string' },
    guidance: { type: 'string' },
    'frame-correlation': { type: 'string' },
    workers: { type: 'string' },
    frames: { type: 'string' },
    'sheet-clips': { type: 'string' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${SAMPLE_HELP}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `sample takes no positional arguments, got "${positionals[0]}"; use --prompt.`,
    );
  }
  if (!values.model)
    throw new CascadeError('BAD_ARGUMENT', '--model DIR is required (a folder with config.json).', {
      path: 'model',
    });
  const samplerFlag = values.sampler === 'dpm-solver++' ? 'dpm-solver' : values.sampler;
  if (samplerFlag !== undefined && samplerFlag !== 'ddim' && samplerFlag !== 'dpm-solver') {
    throw new CascadeError('BAD_ARGUMENT', `--sampler is "${samplerFlag}", expected ddim or dpm-solver.`, {
      path: 'sampler',
    });
  }
  const etaFlag = numberFlag(values.eta, 'eta', 0, 1);
  const guidanceFlag = numberFlag(values.guidance, 'guidance', 0, 50);
  const frameCorrelationFlag = numberFlag(values['frame-correlation'], 'frame-correlation', 0, 0.999);
  const outDir = resolve(values.out ?? 'samples');
  const stepsFlag = intFlag(values.steps, 'steps', 1, 1000);
  const workers = intFlag(values.workers, 'workers', 0, 64) ?? 0;
  const framesShown = intFlag(values.frames, 'frames', 1, 64) ?? 8;
  const sheetClips = intFlag(values['sheet-clips'], 'sheet-clips', 1, 100_000) ?? 64;

  const requestsFor = sampleRequests(values);
  const modelDir = resolve(values.model);
  const config = await readModelConfig(modelDir);
  const { frames, height, width } = config.architecture;
  const requests = requestsFor({ frames, aspect: width / height });
  // Flags, then the model's recommended settings (render-defaults.json, as renders use them).
  const preset = await readRenderDefaults(modelDir);
  const sampler = samplerFlag ?? (preset.sampler === 'dpm-solver++' ? 'dpm-solver' : 'ddim');
  if (etaFlag !== undefined && etaFlag !== 0 && sampler !== 'ddim') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--eta ${etaFlag} needs --sampler ddim (${sampler} is deterministic).`,
      { path: 'eta' },
    );
  }
  const eta = sampler === 'ddim' ? (etaFlag ?? preset.eta ?? 0) : 0;
  const steps = stepsFlag ?? preset.steps ?? 50;
  const guidance = guidanceFlag ?? preset.guidance ?? 3;
  const frameCorrelation = frameCorrelationFlag ?? preset.frameCorrelation;
  const correlation = frameCorrelation ?? samplingFrameCorrelationOf(config.schedule);
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  let clips: Clip[];
  try {
    const compute = await startSampling(modelDir, config.weights.sha256, workers, values.backend);
    process.stdout.write(
      `Sampling ${requests.length} clip(s) of ${frames}x${height}x${width} with ${sampler}${eta !== 0 ? ` (eta ${eta})` : ''}, ${steps} steps, guidance ${guidance}, frame correlation ${correlation}, backend ${compute.backend}${workers > 0 ? `, ${workers} worker(s)` : ''}\n`,
    );
    const started = performance.now();
    try {
      clips = await compute.sample(requests, {
        steps,
        sampler,
        eta,
        guidanceScale: guidance,
        frameCorrelation,
        signal: controller.signal,
        onProgress: (done, total) => process.stdout.write(`  ${done}/${total} clips\n`),
      });
    } finally {
      await compute.close();
    }
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `Sampled ${clips.length} clip(s) in ${seconds.toFixed(1)} s: ${(seconds / clips.length).toFixed(2)} s per clip, ${((1000 * seconds) / (clips.length * steps)).toFixed(1)} ms per denoising step of one clip (wall clock)\n`,
    );
  } finally {
    release();
  }
  const sheetPath = join(outDir, 'samples.png');
  const shown = Math.min(sheetClips, clips.length);
  await writeContactSheet(sheetPath, clips.slice(0, shown), {
    framesPerClip: framesShown,
    labels: requests.slice(0, shown).map((r) => `${r.seed}: ${r.prompt}`),
  });
  const entries = requests.map(({ prompt, seed, scene }, index) => ({ index, seed, prompt, scene }));
  const set: ShapesSet = {
    split: 'heldout',
    seed: requests[0]!.seed,
    count: clips.length,
    frames,
    height,
    width,
    aspect: width / height,
    entries,
    samples: entries.map((entry, index) => ({ ...entry, tokens: new Int32Array(0), clip: clips[index]! })),
  };
  const setPath = join(outDir, `samples${SHAPES_SET_EXTENSION}`);
  await saveShapesSet(setPath, set);
  const sheetNote = shown < clips.length ? ` (first ${shown} of ${clips.length} clips)` : '';
  process.stdout.write(`Wrote ${sheetPath}${sheetNote}\n      ${setPath}\n`);
  return EXIT.OK;
}

interface SceneRequest extends SampleRequest {
  /** A scene satisfying the prompt (the held-out scene itself with --heldout). */
  readonly scene: Scene;
}

/**
 * The (prompt, seed) pairs to sample: --prompt x --seeds, or the held-out split's scenes. Checks
 * the flags and prompts now (before any model is read); the scenes follow the model's size.
 */
function sampleRequests(values: {
  prompt?: string[] | undefined;
  seeds?: string | undefined;
  heldout?: string | undefined;
  'heldout-seed'?: string | undefined;
}): (render: { frames: number; aspect: number }) => SceneRequest[] {
  const prompts = values.prompt ?? [];
  const heldout = intFlag(values.heldout, 'heldout', 1, 100_000);
  if (heldout !== undefined) {
    if (prompts.length > 0 || values.seeds !== undefined) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        '--heldout picks prompts and seeds itself; drop --prompt and --seeds.',
        {
          path: 'heldout',
        },
      );
    }
    const seed = intFlag(values['heldout-seed'], 'heldout-seed', 0, 0xffffffff) ?? 1;
    return (render) =>
      shapesSet({ seed, count: heldout, split: 'heldout', ...render }).entries.map((e) => ({
        prompt: e.prompt,
        seed: e.seed,
        scene: e.scene,
      }));
  }
  if (prompts.length === 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      'give at least one --prompt, e.g. --prompt "two red circles on a plain blue background", or --heldout N.',
      { path: 'prompt' },
    );
  }
  // Validate every prompt before loading anything.
  const constraints = prompts.map((p) => parsePrompt(p));
  const seeds = (values.seeds ?? '1').split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `--seeds has "${s}", expected whole numbers 0..4294967295 separated by commas.`,
        { path: 'seeds' },
      );
    }
    return n;
  });
  return (render) =>
    prompts.flatMap((prompt, p) =>
      seeds.map((seed) => ({
        prompt,
        seed,
        scene: sampleScene(seed, { ...render, constraints: constraints[p]! }),
      })),
    );
}

interface Sampling {
  readonly backend: string;
  sample(requests: readonly SampleRequest[], options: SampleBaseClipsOptions): Promise<Clip[]>;
  close(): Promise<void>;
}

/** Sampling in this thread (workers 0) or in chunks of CHUNK clips over a worker pool. */
async function startSampling(
  modelDir: string,
  sha256: string,
  workers: number,
  backendName: string | undefined,
): Promise<Sampling> {
  const request = backendName as BackendRequest | undefined;
  if (workers === 0) {
    const backend = await selectBackend({ backend: request });
    const { unet, schedule } = await loadModelDir(modelDir);
    return {
      backend: backend.name,
      sample: (requests, options) => sampleBaseClips(unet, schedule, requests, options),
      close: async () => unet.dispose(),
    };
  }
  const pool = await WorkerPool.create({ size: workers, backend: request });
  const backend = await pool.backendInfo();
  const task = {
    module: taskModuleUrl('../../model/sample-base-clips-task', import.meta.url),
    name: 'sampleClipsTask',
  };
  return {
    backend: backend.name,
    async sample(requests, options) {
      const { steps, sampler, eta, guidanceScale, frameCorrelation, signal, onProgress } = options;
      const chunks: SampleRequest[][] = [];
      for (let i = 0; i < requests.length; i += CHUNK) {
        chunks.push(requests.slice(i, i + CHUNK).map(({ prompt, seed }) => ({ prompt, seed })));
      }
      let done = 0;
      const results = await Promise.all(
        chunks.map(async (chunk) => {
          const payload: SampleClipsPayload = {
            modelDir,
            modelSha256: sha256,
            requests: chunk,
            options: { steps, sampler, eta, guidanceScale, frameCorrelation, batch: CHUNK },
          };
          const clips = await pool.run<Clip[]>(task, payload, { signal });
          done += clips.length;
          onProgress?.(done, requests.length);
          return clips;
        }),
      );
      return results.flat();
    },
    close: () => pool.close({ force: true }),
  };
}

/** Clips per worker task (and per denoising batch). */
const CHUNK = 4;
