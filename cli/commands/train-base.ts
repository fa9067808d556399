import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BackendRequest } from '../../backend/select-backend.js';
import { readModelConfig } from '../../model/model-files.js';
import { type TrainBaseProgress, trainBase } from '../../model/train-base.js';
import { DEFAULT_NOISE_SCHEDULE, type TrainBaseConfigInput } from '../../model/train-config.js';
import {
  SHAPES_BASE_ARCHITECTURE,
  SHAPES_BASE_TRAINING,
  TRAIN_ARCHITECTURES,
  trainArchitecture,
} from '../../model/train-presets.js';
import { CascadeError } from '../../util/cascade-error.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration } from '../format-duration.js';
import { onInterrupt } from '../on-interrupt.js';
import { intFlag, numberFlag, parseCliArgs } from '../parse-cli-args.js';
import { progressBar, terminalLines } from '../terminal-lines.js';

export const TRAIN_BASE_HELP = `Usage: cascade train-base [options]

Trains the base video diffusion model (v or epsilon prediction) from scratch or from a saved
model (--init), data-parallel over worker threads, with checkpoints for exact resume. Defaults
are the shipped shapes preset (architecture ${SHAPES_BASE_ARCHITECTURE}, ${SHAPES_BASE_TRAINING.steps} steps, batch ${SHAPES_BASE_TRAINING.batchSize}).

Output folder (--out): checkpoint.safetensors, loss.csv, loss.png, and at the end model/
(model.safetensors with the EMA weights, config.json, training.json).

Options:
  --out DIR             run folder (default runs/shapes-base)
  --resume              continue the run in --out from its checkpoint (its config is reused)
  --init DIR            start from the weights of the model in DIR (fine-tuning, e.g.
                        presets/models/shapes-base on --data footage:DIR); the architecture and
                        noise schedule are the model's (flags below may change the schedule)
  --arch NAME|FILE      architecture preset (${Object.keys(TRAIN_ARCHITECTURES).join(', ')})
                        or a JSON file with a video UNet config
  --config FILE         JSON training config (model/train-config.ts); flags below override it
  --prediction eps|v    what the network predicts (overrides the architecture's; preset: v)
  --min-snr-gamma X     min-SNR-gamma loss weighting (0 = plain MSE; preset: ${SHAPES_BASE_TRAINING.minSnrGamma ?? 0})
  --frame-curriculum F:S[:B][,F:S[:B]...] | none
                        train on F-frame windows of each clip (B clips per step; default
                        --batch) until step S, then on whole clips (e.g. 4:2000 = 4 frames for
                        steps 0-1999; 1:1000:32,4:3000 = single frames of 32 clips first;
                        preset: ${curriculumText(SHAPES_BASE_TRAINING.frameCurriculum)})
  --frame-noise-correlation X
                        correlation in [0, 1) of the noise of two frames of a clip (a mixed
                        noise prior; sampling and the cascade draw the same; preset: ${SHAPES_BASE_TRAINING.schedule?.frameCorrelation ?? 0})
  --steps N             total optimiser steps (with --resume: extend or shorten the run)
  --batch N             clips per step over all workers
  --lr X                peak learning rate (linear warmup, then cosine decay)
  --warmup N            warmup steps
  --min-lr-ratio X      floor of the cosine decay as a fraction of --lr (preset: ${SHAPES_BASE_TRAINING.learningRate?.minRatio ?? 0.1})
  --ema-decay X         EMA decay of the saved weights (e.g. 0.995)
  --seed N              run seed (weights, data order, noise)
  --data SPEC           shapes | shapes-set:FILE | footage:DIR | module:FILE (default shapes)
  --checkpoint-every N  steps between checkpoints
  --time-budget MIN     new runs without a frame curriculum: time the first steps (within
                        warmup) and set --steps to what fits in MIN minutes of wall time
  --until-step N        stop (with a checkpoint) after step N; resume later with --resume
  --workers N           worker threads, one model replica each (0 = this thread; default 2)
  --micro-batch N       most clips per forward/backward pass in a worker (default 2; bounds memory)
  --backend NAME        auto | tfjs-node-gpu | tfjs-node | wasm | cpu (default: CASCADE_BACKEND or auto)
  --json                progress as NDJSON events on stdout
  -h, --help            this help

Ctrl-C (or SIGTERM) finishes the current step, writes a checkpoint and exits with 130; run the
same command with --resume to continue exactly where it stopped.`;

export async function trainBaseCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    out: { type: 'string' },
    resume: { type: 'boolean' },
    init: { type: 'string' },
    arch: { type: 'string' },
    config: { type: 'string' },
    prediction: { type: 'string' },
    'min-snr-gamma': { type: 'string' },
    'frame-curriculum': { type: 'string' },
    'frame-noise-correlation': { type: 'string' },
    'min-lr-ratio': { type: 'string' },
    steps: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    warmup: { type: 'string' },
    'ema-decay': { type: 'string' },
    seed: { type: 'string' },
    data: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'until-step': { type: 'string' },
    'time-budget': { type: 'string' },
    workers: { type: 'string' },
    'micro-batch': { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${TRAIN_BASE_HELP}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `train-base takes no positional arguments, got "${positionals[0]}".`,
    );
  }
  const outDir = resolve(values.out ?? 'runs/shapes-base');
  const steps = intFlag(values.steps, 'steps', 1, 10_000_000);
  let config: TrainBaseConfigInput | undefined;
  if (values.resume) {
    const fixed = [
      'init',
      'arch',
      'config',
      'prediction',
      'min-snr-gamma',
      'frame-curriculum',
      'frame-noise-correlation',
      'min-lr-ratio',
      'batch',
      'lr',
      'warmup',
      'ema-decay',
      'seed',
      'data',
      'checkpoint-every',
    ] as const;
    const given = fixed.filter((f) => values[f] !== undefined);
    if (given.length > 0) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `--resume continues with the checkpoint's own config; --${given[0]} cannot change it (only --steps can). Start a new run in another --out folder instead.`,
        { path: given[0] },
      );
    }
  } else {
    config = await buildConfig(values, steps);
  }

  const mode = values.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain';
  const reporter = trainReporter(mode);
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  try {
    const result = await trainBase({
      config,
      outDir,
      resume: values.resume,
      totalSteps: values.resume ? steps : undefined,
      untilStep: intFlag(values['until-step'], 'until-step', 1, 10_000_000),
      timeBudgetMinutes: numberFlag(
        values['time-budget'] as string | undefined,
        'time-budget',
        0.001,
        100_000,
      ),
      workers: intFlag(values.workers, 'workers', 0, 64),
      microBatch: intFlag(values['micro-batch'], 'micro-batch', 1, 4096) ?? 2,
      backend: values.backend as BackendRequest | undefined,
      signal: controller.signal,
      command: commandLine(argv),
      onProgress: (event) => reporter.event(event),
    });
    reporter.close();
    if (mode === 'json') {
      process.stdout.write(`${JSON.stringify({ stage: 'result', ...result })}\n`);
    } else {
      const loss = result.finalLoss === undefined ? '' : `, final loss ${result.finalLoss.toFixed(4)}`;
      const head = `${result.status === 'completed' ? 'Finished' : result.status === 'paused' ? 'Paused' : 'Interrupted'} at step ${result.step}/${result.totalSteps} after ${formatDuration(result.elapsedSeconds)}${loss}.`;
      const lines = [
        head,
        `  checkpoint: ${result.checkpointPath}`,
        `  loss log:   ${result.lossLogPath}`,
        `  loss plot:  ${result.lossPlotPath}`,
      ];
      if (result.modelDir) lines.push(`  model:      ${result.modelDir}`);
      if (result.status !== 'completed')
        lines.push(`Continue with: cascade train-base --out ${quote(outDir)} --resume`);
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return result.status === 'interrupted' ? EXIT.CANCELLED : EXIT.OK;
  } finally {
    reporter.close();
    release();
  }
}

type Values = Record<string, string | boolean | undefined>;

async function buildConfig(values: Values, steps: number | undefined): Promise<TrainBaseConfigInput> {
  let config: TrainBaseConfigInput = {
    ...SHAPES_BASE_TRAINING,
    architecture: { ...trainArchitecture(SHAPES_BASE_ARCHITECTURE) },
  };
  if (typeof values.config === 'string') {
    const fromFile = (await readJson(values.config, '--config')) as Partial<TrainBaseConfigInput>;
    config = { ...config, ...fromFile };
  }
  if (typeof values.init === 'string') {
    const conflict = (['arch', 'prediction'] as const).find((f) => values[f] !== undefined);
    if (conflict) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `--init takes the architecture from the model; drop --${conflict} (a fine-tuned model keeps the architecture of the weights it starts from).`,
        { path: conflict },
      );
    }
    const model = resolve(values.init);
    const modelConfig = await readModelConfig(model);
    config = {
      ...config,
      architecture: { ...modelConfig.architecture },
      schedule: modelConfig.schedule,
      init: { model, sha256: modelConfig.weights.sha256 },
    };
  }
  if (typeof values.arch === 'string') {
    config.architecture =
      values.arch in TRAIN_ARCHITECTURES
        ? { ...trainArchitecture(values.arch) }
        : ((await readJson(values.arch, '--arch')) as Record<string, unknown>);
  }
  if (typeof values.prediction === 'string') {
    if (values.prediction !== 'eps' && values.prediction !== 'v') {
      throw new CascadeError('BAD_ARGUMENT', `--prediction is "${values.prediction}"; use eps or v.`, {
        path: 'prediction',
      });
    }
    config.architecture = { ...config.architecture, prediction: values.prediction };
  }
  const gamma = numberFlag(values['min-snr-gamma'] as string | undefined, 'min-snr-gamma', 0, 1e6);
  if (gamma !== undefined) {
    const { minSnrGamma: _, ...rest } = config;
    config = gamma > 0 ? { ...rest, minSnrGamma: gamma } : rest;
  }
  if (typeof values['frame-curriculum'] === 'string') {
    const text = values['frame-curriculum'];
    config = { ...config, frameCurriculum: text === 'none' ? [] : frameCurriculum(text) };
  }
  const lr = { ...(config.learningRate ?? { peak: 2e-4 }) };
  const peak = numberFlag(values.lr as string | undefined, 'lr', 1e-7, 1);
  if (peak !== undefined) lr.peak = peak;
  const warmup = intFlag(values.warmup as string | undefined, 'warmup', 0, 10_000_000);
  if (warmup !== undefined) lr.warmupSteps = warmup;
  const minRatio = numberFlag(values['min-lr-ratio'] as string | undefined, 'min-lr-ratio', 0, 1);
  if (minRatio !== undefined) lr.minRatio = minRatio;
  const correlation = numberFlag(
    values['frame-noise-correlation'] as string | undefined,
    'frame-noise-correlation',
    0,
    0.99,
  );
  if (correlation !== undefined) {
    config = {
      ...config,
      schedule: { ...(config.schedule ?? DEFAULT_NOISE_SCHEDULE), frameCorrelation: correlation },
    };
  }
  const emaDecay = numberFlag(values['ema-decay'] as string | undefined, 'ema-decay', 0, 0.999999);
  return {
    ...config,
    learningRate: lr,
    ...(steps === undefined ? {} : { steps }),
    ...optional('batchSize', intFlag(values.batch as string | undefined, 'batch', 1, 100_000)),
    ...optional('seed', intFlag(values.seed as string | undefined, 'seed', 0, 0xffffffff)),
    ...optional(
      'checkpointEvery',
      intFlag(values['checkpoint-every'] as string | undefined, 'checkpoint-every', 1, 10_000_000),
    ),
    ...(emaDecay === undefined ? {} : { ema: { ...(config.ema ?? {}), decay: emaDecay } }),
    ...(typeof values.data === 'string' ? { data: dataSpec(values.data) } : {}),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

function curriculumText(phases: TrainBaseConfigInput['frameCurriculum']): string {
  if (!phases || phases.length === 0) return 'none';
  return phases
    .map((p) => `${p.frames}:${p.untilStep}${p.batchSize === undefined ? '' : `:${p.batchSize}`}`)
    .join(',');
}

/** `F:S[:B][,...]` -> curriculum phases (the config validates frames and order). */
function frameCurriculum(text: string): NonNullable<TrainBaseConfigInput['frameCurriculum']> {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+):(\d+)(?::(\d+))?\s*$/.exec(part);
    if (!match) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `--frame-curriculum part "${part}" is not FRAMES:UNTIL_STEP[:BATCH] (e.g. 4:2000, or 1:1000:32,4:2000).`,
        { path: 'frame-curriculum' },
      );
    }
    const phase = { frames: Number(match[1]), untilStep: Number(match[2]) };
    return match[3] === undefined ? phase : { ...phase, batchSize: Number(match[3]) };
  });
}

function dataSpec(text: string): TrainBaseConfigInput['data'] {
  if (text === 'shapes') return { kind: 'shapes' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  const target = colon < 0 ? '' : text.slice(colon + 1);
  if (target.length > 0) {
    if (kind === 'shapes-set') return { kind: 'shapes-set', path: resolve(target) };
    if (kind === 'footage') return { kind: 'footage', dir: resolve(target) };
    if (kind === 'module') return { kind: 'module', module: resolve(target) };
  }
  throw new CascadeError(
    'BAD_ARGUMENT',
    `--data is "${text}", expected shapes, shapes-set:FILE, footage:DIR or module:FILE (for footage options such as fps or prompt, use --config).`,
    { path: 'data' },
  );
}

async function readJson(path: string, flag: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CascadeError(
      'FILE_NOT_FOUND',
      `${flag} file ${path} cannot be read (${(error as Error).message}).`,
      {
        path,
        cause: error,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `${flag} file ${path} is not valid JSON (${(error as Error).message}).`,
      {
        path,
        cause: error,
      },
    );
  }
}

/** The command as typed (shell-quoted), recorded in the model's config.json. */
function commandLine(argv: readonly string[]): string {
  return ['cascade', 'train-base', ...argv].map(quote).join(' ');
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** Progress output: NDJSON; one updating line on a TTY; otherwise a plain line every 10 steps or 30 s. */
function trainReporter(mode: 'json' | 'tty' | 'plain', out: NodeJS.WritableStream = process.stdout) {
  let lastPlain = 0;
  const { line, status, clear } = terminalLines(out);
  return {
    event(e: TrainBaseProgress): void {
      if (mode === 'json') {
        out.write(`${JSON.stringify(e)}\n`);
        return;
      }
      switch (e.stage) {
        case 'start':
          line(
            `${e.resumed ? 'Resuming' : 'Training'} from step ${e.step} of ${e.totalSteps}: ${(e.parameters / 1e6).toFixed(2)}M parameters, ${e.workers || 'no'} worker(s), backend ${e.backend}`,
          );
          break;
        case 'step': {
          const text = `step ${e.step}/${e.totalSteps}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  grad ${e.gradNorm.toFixed(3)}  ${e.secondsPerStep.toFixed(2)} s/step  elapsed ${formatDuration(e.elapsedSeconds)}  ETA ${formatDuration(e.etaSeconds)}`;
          if (mode === 'tty') {
            status(`${progressBar(e.fraction, 20)} ${text}`);
          } else {
            const now = Date.now();
            if (e.step % 10 === 0 || now - lastPlain > 30_000) {
              lastPlain = now;
              line(text);
            }
          }
          break;
        }
        case 'budget':
          line(
            `Time budget ${e.minutes} min at ${e.secondsPerStep.toFixed(2)} s/step: the run is set to ${e.totalSteps} steps`,
          );
          break;
        case 'checkpoint':
          if (mode === 'tty') line(`  checkpoint at step ${e.step}: ${e.path}`);
          else line(`checkpoint at step ${e.step}: ${e.path}`);
          break;
        case 'model':
          line(`model saved: ${e.path}`);
          break;
      }
    },
    close(): void {
      clear();
    },
  };
}
