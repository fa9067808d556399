import { join, resolve } from 'node:path';
import type { BackendRequest } from '../../backend/select-backend.js';
import { selectBackend } from '../../backend/select-backend.js';
import { writeContactSheet } from '../../codecs/contact-sheet.js';
import type { Clip } from '../../data/clip.js';
import type { ShapesSet } from '../../data/make-shapes-set.js';
import { parsePrompt } from '../../data/parse-prompt.js';
import { sampleScene } from '../../data/sample-scene.js';
import { saveShapesSet } from '../../data/save-shapes-set.js';
import { SHAPES_SET_EXTENSION } from '../../data/shapes-set-format.js';
import { loadModelDir } from '../../model/model-files.js';
import { sampleBaseClips } from '../../model/sample-base-clips.js';
import { CascadeError } from '../../util/cascade-error.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../on-interrupt.js';
import { intFlag, numberFlag, parseCliArgs } from '../parse-cli-args.js';

export const SAMPLE_HELP = `Usage: cascade sample --model DIR --prompt TEXT [--prompt TEXT ...] [options]

Samples clips from a base model (its saved EMA weights) at the base resolution: one clip per
(prompt, seed) pair. Writes a contact sheet (one row per clip, labelled "seed: prompt") and the
raw clips as a shapes set (${SHAPES_SET_EXTENSION}, readable with loadShapesSet; its "scene" entries
are scenes that satisfy each prompt, for reference only, not what the model drew).

Options:
  --model DIR        model folder (model.safetensors + config.json), e.g. presets/models/shapes-base
  --prompt TEXT      a prompt in the shapes vocabulary (repeatable)
  --seeds LIST       comma-separated seeds, e.g. 1,2,3 (default 1)
  --out DIR          output folder (default samples): samples.png and samples${SHAPES_SET_EXTENSION}
  --steps N          sampler steps (default 50)
  --sampler NAME     ddim | dpm-solver (default ddim)
  --guidance X       classifier-free guidance scale (default 3; 1 = off)
  --frames N         frames shown per clip on the sheet (default 8)
  --backend NAME     auto | tfjs-node-gpu | tfjs-node | wasm | cpu
  -h, --help         this help`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    model: { type: 'string' },
    prompt: { type: 'string', multiple: true },
    seeds: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    sampler: { type: 'string' },
    guidance: { type: 'string' },
    frames: { type: 'string' },
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
  const prompts = values.prompt ?? [];
  if (prompts.length === 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      'give at least one --prompt, e.g. --prompt "two red circles on a plain blue background".',
      {
        path: 'prompt',
      },
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
        {
          path: 'seeds',
        },
      );
    }
    return n;
  });
  const sampler = values.sampler ?? 'ddim';
  if (sampler !== 'ddim' && sampler !== 'dpm-solver') {
    throw new CascadeError('BAD_ARGUMENT', `--sampler is "${sampler}", expected ddim or dpm-solver.`, {
      path: 'sampler',
    });
  }
  const guidance = numberFlag(values.guidance, 'guidance', 0, 50) ?? 3;
  const outDir = resolve(values.out ?? 'samples');
  const steps = intFlag(values.steps, 'steps', 1, 1000) ?? 50;
  const framesShown = intFlag(values.frames, 'frames', 1, 64) ?? 8;

  const backend = await selectBackend({ backend: values.backend as BackendRequest | undefined });
  const { unet, schedule, config } = await loadModelDir(resolve(values.model));
  const requests = prompts.flatMap((prompt, p) => seeds.map((seed) => ({ prompt, seed, p })));
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  let clips: Clip[];
  try {
    process.stdout.write(
      `Sampling ${requests.length} clip(s) of ${config.architecture.frames}x${config.architecture.height}x${config.architecture.width} with ${sampler}, ${steps} steps, guidance ${guidance}, backend ${backend.name}\n`,
    );
    clips = await sampleBaseClips(unet, schedule, requests, {
      steps,
      sampler,
      guidanceScale: guidance,
      signal: controller.signal,
      onProgress: (done, total) => process.stdout.write(`  ${done}/${total} clips\n`),
    });
  } finally {
    release();
    unet.dispose();
  }
  const sheetPath = join(outDir, 'samples.png');
  await writeContactSheet(sheetPath, clips, {
    framesPerClip: framesShown,
    labels: requests.map((r) => `${r.seed}: ${r.prompt}`),
  });
  const { frames, height, width } = config.architecture;
  const set: ShapesSet = {
    split: 'heldout',
    seed: seeds[0]!,
    count: clips.length,
    frames,
    height,
    width,
    aspect: width / height,
    entries: requests.map((r, index) => ({
      index,
      seed: r.seed,
      prompt: r.prompt,
      scene: sampleScene(r.seed, { frames, aspect: width / height, constraints: constraints[r.p]! }),
    })),
    samples: requests.map((r, index) => ({
      index,
      seed: r.seed,
      prompt: r.prompt,
      scene: sampleScene(r.seed, { frames, aspect: width / height, constraints: constraints[r.p]! }),
      tokens: new Int32Array(0),
      clip: clips[index]!,
    })),
  };
  const setPath = join(outDir, `samples${SHAPES_SET_EXTENSION}`);
  await saveShapesSet(setPath, set);
  process.stdout.write(`Wrote ${sheetPath}\n      ${setPath}\n`);
  return EXIT.OK;
}
