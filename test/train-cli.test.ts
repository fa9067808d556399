import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sampleCommand } from '../cli/commands/sample.js';
import { trainBaseCommand } from '../cli/commands/train-base.js';
import { decodePng } from '../codecs/write-png.js';
import { loadShapesSet } from '../data/load-shapes-set.js';
import { shapesSet } from '../data/make-shapes-set.js';
import { readModelConfig } from '../model/model-files.js';
import { isCascadeError } from '../util/cascade-error.js';
import { TINY_ARCHITECTURE } from './support/train-tiny-config.js';

/** Runs a command with stdout captured. */
async function run(
  command: (argv: string[]) => Promise<number>,
  argv: string[],
): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    return { code: await command(argv), out };
  } finally {
    spy.mockRestore();
  }
}

describe('cascade train-base and cascade sample (cpu, tiny model)', () => {
  let dir: string;
  let arch: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'train-cli-'));
    arch = join(dir, 'arch.json');
    await writeFile(arch, JSON.stringify(TINY_ARCHITECTURE));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains in two sessions (--until-step, then --resume), records the command, and samples a contact sheet', async () => {
    const out = join(dir, 'run');
    const common = ['--out', out, '--workers', '0', '--backend', 'cpu'];
    const args = [
      ...common,
      '--arch',
      arch,
      '--steps',
      '3',
      '--batch',
      '2',
      '--lr',
      '1e-3',
      '--warmup',
      '1',
      '--seed',
      '4',
      '--prediction',
      'v',
      '--min-snr-gamma',
      '5',
      '--frame-curriculum',
      '1:1:4',
      '--frame-noise-correlation',
      '0.5',
      '--min-lr-ratio',
      '0.3',
    ];
    const first = await run(trainBaseCommand, [...args, '--until-step', '2']);
    expect(first.code).toBe(0);
    expect(first.out).toContain('Paused at step 2/3');
    expect(first.out).toContain('--resume');

    const rejected = await trainBaseCommand([...common, '--resume', '--lr', '1']).catch((e: unknown) => e);
    expect(isCascadeError(rejected, 'BAD_ARGUMENT')).toBe(true);

    const second = await run(trainBaseCommand, [...common, '--resume', '--json']);
    expect(second.code).toBe(0);
    const events = second.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { stage: string; step?: number; status?: string });
    expect(events[0]).toMatchObject({ stage: 'start', step: 2, resumed: true });
    expect(events.filter((e) => e.stage === 'step').map((e) => e.step)).toEqual([3]);
    expect(events.at(-1)).toMatchObject({ stage: 'result', status: 'completed', step: 3 });

    const model = join(out, 'model');
    const config = await readModelConfig(model);
    expect(config.training.command).toContain('cascade train-base');
    expect(config.training.command).toContain('--until-step 2');
    expect(config.training.seed).toBe('4');
    // TINY_ARCHITECTURE has no prediction field: the flag set it.
    expect(config.architecture.prediction).toBe('v');
    const report = JSON.parse(await readFile(join(model, 'training.json'), 'utf8')) as {
      seconds: number;
      metrics: { finalLoss: number };
      config: {
        minSnrGamma?: number;
        frameCurriculum: unknown;
        learningRate: { minRatio: number };
        schedule: { frameCorrelation: number };
      };
    };
    expect(report.config.minSnrGamma).toBe(5);
    expect(report.config.learningRate.minRatio).toBe(0.3);
    expect(report.config.schedule.frameCorrelation).toBe(0.5);
    // The model's schedule carries the prior, so sampling and the cascade draw the same noise.
    expect(config.schedule).toMatchObject({ frameCorrelation: 0.5 });
    expect(report.config.frameCurriculum).toEqual([{ frames: 1, untilStep: 1, batchSize: 4 }]);
    expect(report.seconds).toBeGreaterThan(0);
    expect(Number.isFinite(report.metrics.finalLoss)).toBe(true);
    expect(existsSync(join(out, 'loss.png'))).toBe(true);

    // Fine-tuning from that model: its architecture and schedule (here with another noise
    // correlation), and the run's config names the weights it started from.
    const fineTuned = join(dir, 'tuned');
    const tuning = await run(trainBaseCommand, [
      '--out',
      fineTuned,
      '--workers',
      '0',
      '--backend',
      'cpu',
      '--init',
      model,
      '--steps',
      '1',
      '--batch',
      '2',
      '--frame-curriculum',
      'none',
      '--frame-noise-correlation',
      '0.7',
    ]);
    expect(tuning.code).toBe(0);
    const tunedConfig = await readModelConfig(join(fineTuned, 'model'));
    expect(tunedConfig.architecture).toEqual(config.architecture);
    expect(tunedConfig.schedule).toMatchObject({ frameCorrelation: 0.7 });
    const tunedReport = JSON.parse(await readFile(join(fineTuned, 'model', 'training.json'), 'utf8')) as {
      config: { init?: unknown };
    };
    expect(tunedReport.config.init).toEqual({ model, sha256: config.weights.sha256 });

    const samples = join(dir, 'samples');
    const sampled = await run(sampleCommand, [
      '--model',
      model,
      '--prompt',
      'a red circle on a plain blue background',
      '--prompt',
      'two green squares on a striped white background',
      '--seeds',
      '1,2',
      '--steps',
      '2',
      '--out',
      samples,
      '--backend',
      'cpu',
    ]);
    expect(sampled.code).toBe(0);
    const sheet = decodePng(await readFile(join(samples, 'samples.png')));
    expect(sheet.width).toBeGreaterThan(0);
    const set = await loadShapesSet(join(samples, 'samples.shapes.gz'));
    expect(set.count).toBe(4);
    expect(set.sample(2).prompt).toBe('two green squares on a striped white background');
    expect(set.header.frames).toBe(2);

    // Held-out prompts over two workers: the same clips as in this thread (noise per seed).
    const pooled = join(dir, 'pooled');
    const heldout = ['--model', model, '--heldout', '3', '--steps', '2', '--backend', 'cpu'];
    expect((await run(sampleCommand, [...heldout, '--workers', '2', '--out', pooled])).code).toBe(0);
    expect((await run(sampleCommand, [...heldout, '--out', join(dir, 'inline')])).code).toBe(0);
    const a = await loadShapesSet(join(pooled, 'samples.shapes.gz'));
    const b = await loadShapesSet(join(dir, 'inline', 'samples.shapes.gz'));
    const expected = shapesSet({ seed: 1, count: 3, split: 'heldout', frames: 2 }).entries;
    expect(a.count).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(a.sample(i).prompt).toBe(expected[i]!.prompt);
      expect(a.sample(i).seed).toBe(expected[i]!.seed);
      expect(a.sample(i).clip.data).toEqual(b.sample(i).clip.data);
    }

    // --frame-correlation overrides the starting noise's correlation (the model's is 0.5), in
    // this thread and on workers alike.
    const same = await run(sampleCommand, [
      ...heldout,
      '--frame-correlation',
      '0.5',
      '--out',
      join(dir, 'same'),
    ]);
    expect(same.out).toContain('frame correlation 0.5,');
    const tunedDir = join(dir, 'tuned');
    const tuned = await run(sampleCommand, [
      ...heldout,
      '--frame-correlation',
      '0.95',
      '--workers',
      '2',
      '--out',
      tunedDir,
    ]);
    expect(tuned.out).toContain('frame correlation 0.95,');
    const tunedInline = join(dir, 'tuned-inline');
    expect(
      (await run(sampleCommand, [...heldout, '--frame-correlation', '0.95', '--out', tunedInline])).code,
    ).toBe(0);
    const s = await loadShapesSet(join(dir, 'same', 'samples.shapes.gz'));
    const t = await loadShapesSet(join(tunedDir, 'samples.shapes.gz'));
    const u = await loadShapesSet(join(tunedInline, 'samples.shapes.gz'));
    for (let i = 0; i < 3; i++) {
      expect(s.sample(i).clip.data).toEqual(b.sample(i).clip.data);
      expect(t.sample(i).clip.data).toEqual(u.sample(i).clip.data);
      expect(t.sample(i).clip.data).not.toEqual(b.sample(i).clip.data);
    }

    // --eta adds per-step noise drawn per clip: the same clips on workers as in this thread.
    const etaPooled = join(dir, 'eta-pooled');
    const etaRun = await run(sampleCommand, [...heldout, '--eta', '1', '--workers', '2', '--out', etaPooled]);
    expect(etaRun.out).toContain('with ddim (eta 1),');
    const etaInline = join(dir, 'eta-inline');
    expect((await run(sampleCommand, [...heldout, '--eta', '1', '--out', etaInline])).code).toBe(0);
    const e = await loadShapesSet(join(etaPooled, 'samples.shapes.gz'));
    const f = await loadShapesSet(join(etaInline, 'samples.shapes.gz'));
    for (let i = 0; i < 3; i++) {
      expect(e.sample(i).clip.data).toEqual(f.sample(i).clip.data);
      expect(e.sample(i).clip.data).not.toEqual(b.sample(i).clip.data);
    }

    // A model folder's render-defaults.json sets the defaults; flags still win.
    const recommended = join(dir, 'recommended');
    await cp(model, recommended, { recursive: true });
    await writeFile(join(recommended, 'render-defaults.json'), JSON.stringify({ eta: 1, steps: 2 }));
    const byPreset = join(dir, 'by-preset');
    const presetRun = await run(sampleCommand, [
      ...heldout.filter((a) => a !== '--steps' && a !== '2').map((a) => (a === model ? recommended : a)),
      '--out',
      byPreset,
    ]);
    expect(presetRun.out).toContain('with ddim (eta 1), 2 steps,');
    const p = await loadShapesSet(join(byPreset, 'samples.shapes.gz'));
    for (let i = 0; i < 3; i++) expect(p.sample(i).clip.data).toEqual(f.sample(i).clip.data);
    const deterministic = await run(sampleCommand, [
      ...heldout.map((a) => (a === model ? recommended : a)),
      '--sampler',
      'dpm-solver',
      '--out',
      join(dir, 'by-flags'),
    ]);
    expect(deterministic.out).toContain('with dpm-solver, 2 steps,');
  });

  it('rejects bad flags with the flag named, before training', async () => {
    const error = await trainBaseCommand(['--out', join(dir, 'bad'), '--batch', 'zero']).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
    expect(String((error as Error).message)).toContain('--batch');
    const data = await trainBaseCommand(['--out', join(dir, 'bad'), '--data', 'webcam']).catch(
      (e: unknown) => e,
    );
    expect(String((data as Error).message)).toContain('shapes-set:FILE');
    const prediction = await trainBaseCommand(['--out', join(dir, 'bad'), '--prediction', 'x0']).catch(
      (e: unknown) => e,
    );
    expect(String((prediction as Error).message)).toMatch(/--prediction .*eps or v/);
    const curriculum = await trainBaseCommand([
      '--out',
      join(dir, 'bad'),
      '--frame-curriculum',
      '4@200',
    ]).catch((e: unknown) => e);
    expect(String((curriculum as Error).message)).toMatch(/--frame-curriculum part "4@200"/);
    // The preset's curriculum makes the first steps unrepresentative of the run: no time budget.
    const budget = await trainBaseCommand(['--out', join(dir, 'bad'), '--time-budget', '5']).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(budget, 'BAD_ARGUMENT')).toBe(true);
    expect(String((budget as Error).message)).toMatch(/frame curriculum .*--steps/);
    const init = await trainBaseCommand(['--out', join(dir, 'bad'), '--init', dir, '--arch', 'tiny']).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(init, 'BAD_ARGUMENT')).toBe(true);
    expect(String((init as Error).message)).toMatch(/--init .*drop --arch/);
    const prompt = await sampleCommand(['--model', dir, '--prompt', 'a purple elephant']).catch(
      (e: unknown) => e,
    );
    expect(isCascadeError(prompt, 'INVALID_PROMPT')).toBe(true);
    const model = join(dir, 'run', 'model');
    const eta = await sampleCommand([
      '--model',
      model,
      '--heldout',
      '1',
      '--sampler',
      'dpm-solver',
      '--eta',
      '0.5',
    ]).catch((e: unknown) => e);
    expect(isCascadeError(eta, 'BAD_ARGUMENT')).toBe(true);
    expect(String((eta as Error).message)).toMatch(/--eta 0.5 needs --sampler ddim/);
  });
});
