import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobInput } from '../pipeline/job-schema.js';
import { loadJobFile, validateJob } from '../pipeline/load-job.js';
import type { ModelDescriptor } from '../pipeline/model-descriptor.js';
import { planJob } from '../pipeline/plan.js';
import { CascadeError } from '../util/cascade-error.js';

const model: ModelDescriptor = {
  name: 'test-model',
  dir: '/models/test',
  height: 32,
  width: 32,
  frames: 16,
  domain: 'shapes',
  sha256: 'a'.repeat(64),
  samplingFrameCorrelation: 0.8,
  upsamplers: undefined,
  defaults: { fps: 12, guidance: 2.5 },
};

const dir = mkdtempSync(join(tmpdir(), 'cascade-plan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const good: JobInput = {
  seed: 7,
  defaults: { steps: 20, scale: 2 },
  clips: [
    { id: 'one', prompt: 'a red circle on a plain blue background', seed: 3 },
    { id: 'two', prompt: 'two yellow squares on a striped purple background', scale: 4, mode: 'upsample' },
  ],
  output: { dir: 'out', encode: [{ preset: 'h264', crf: 20 }, { preset: 'ffv1' }] },
};

function plan(job: unknown) {
  return planJob(validateJob(job), { model, baseDir: dir });
}

function errorOf(fn: () => unknown): CascadeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CascadeError) return error;
    throw error;
  }
  throw new Error('expected a CascadeError');
}

describe('planJob', () => {
  it('resolves every value and says where it came from', () => {
    const p = plan(good);
    const [one, two] = p.clips;
    expect(p.outputDir).toBe(join(dir, 'out'));
    expect(one).toMatchObject({
      id: 'one',
      seed: 3,
      frames: 16,
      fps: 12,
      scale: 2,
      steps: 20,
      guidance: 2.5,
      k: 700,
    });
    expect(one!.sources).toMatchObject({
      seed: 'clip',
      frames: 'preset',
      fps: 'preset',
      scale: 'defaults',
      steps: 'defaults',
      k: 'builtin',
    });
    expect(one!.stages.map((s) => [s.kind, s.height])).toEqual([
      ['base', 32],
      ['pivot-replacement', 64],
    ]);
    expect(two!.stages.map((s) => [s.kind, s.height])).toEqual([
      ['base', 32],
      ['resize', 128],
    ]);
    expect(two!.sources.seed).toBe('derived');
    expect(one!.outputs.map((o) => o.relativePath)).toEqual(['one.mp4', 'one.mkv']);
    expect(one!.outputs[1]!.settings.lossless).toBe(true);
    expect(one!.constraints.objects).toEqual([{ count: 1, colour: 'red', shape: 'circle' }]);
  });

  it('plans 4x tuning-free as two doubling stages with their own seeds, and direct as one big base run', () => {
    const p = plan({ ...good, defaults: { scale: 4 } });
    expect(p.clips[0]!.stages.map((s) => [s.kind, s.width])).toEqual([
      ['base', 32],
      ['pivot-replacement', 64],
      ['pivot-replacement', 128],
    ]);
    expect(new Set(p.clips[0]!.stages.map((s) => ('seed' in s ? s.seed : 0))).size).toBe(3);
    const direct = plan({ ...good, defaults: { scale: 4, mode: 'direct' } });
    expect(direct.clips[0]!.stages).toEqual([
      expect.objectContaining({ kind: 'base', height: 128, width: 128 }),
    ]);
  });

  it('is deterministic: the same job gives the same seeds and plan hashes, a changed value another hash', () => {
    const a = plan(good);
    const b = plan(good);
    expect(a.clips.map((c) => [c.seed, c.planHash])).toEqual(b.clips.map((c) => [c.seed, c.planHash]));
    const c = plan({ ...good, clips: [{ ...good.clips[0]!, steps: 21 }, good.clips[1]!] });
    expect(c.clips[0]!.planHash).not.toBe(a.clips[0]!.planHash);
    expect(c.clips[1]!.planHash).toBe(a.clips[1]!.planHash);
    // The frame correlation of the sampling noise: the model's unless a clip or the defaults set
    // one; it changes every affected clip's pixels, so their hashes.
    expect(a.clips.map((c) => [c.frameCorrelation, c.sources.frameCorrelation])).toEqual([
      [0.8, 'derived'],
      [0.8, 'derived'],
    ]);
    const retuned = planJob(validateJob(good), {
      model: { ...model, samplingFrameCorrelation: 0.98 },
      baseDir: dir,
    });
    expect(retuned.clips[0]!.frameCorrelation).toBe(0.98);
    for (let i = 0; i < a.clips.length; i++)
      expect(retuned.clips[i]!.planHash).not.toBe(a.clips[i]!.planHash);
    const perClip = plan({
      ...good,
      defaults: { ...good.defaults, frameCorrelation: 0.9 },
      clips: [{ ...good.clips[0]!, frameCorrelation: 0.95 }, good.clips[1]!],
    });
    expect(perClip.clips.map((c) => [c.frameCorrelation, c.sources.frameCorrelation])).toEqual([
      [0.95, 'clip'],
      [0.9, 'defaults'],
    ]);
    expect(perClip.clips[1]!.planHash).not.toBe(a.clips[1]!.planHash);
  });
});

/** Each malformed job: what it is, the job (text or value), and the expected code and field path. */
const malformed: [string, string | unknown, string, string][] = [
  ['malformed YAML', 'clips: [\n  - id: a\noutput: {dir: out', 'INVALID_JOB', 'job.yaml'],
  ['unknown top-level field', { ...good, colour: 'red' }, 'INVALID_JOB', 'colour'],
  [
    'misspelt clip field',
    { ...good, clips: [{ id: 'a', prompt: 'a red circle on a plain blue background', stepz: 3 }] },
    'INVALID_JOB',
    'clips.0.stepz',
  ],
  ['wrong type', { ...good, defaults: { steps: 'fifty' } }, 'INVALID_JOB', 'defaults.steps'],
  [
    'out-of-range number',
    { ...good, clips: [{ ...good.clips[0]!, guidance: 99 }] },
    'INVALID_JOB',
    'clips.0.guidance',
  ],
  ['non-power-of-two scale', { ...good, defaults: { scale: 3 } }, 'INVALID_JOB', 'defaults.scale'],
  [
    'unknown mode',
    { ...good, clips: [good.clips[0], { ...good.clips[1]!, mode: 'fast' }] },
    'INVALID_JOB',
    'clips.1.mode',
  ],
  [
    'unknown codec preset',
    { ...good, output: { dir: 'out', encode: { preset: 'mpeg2' } } },
    'INVALID_JOB',
    'output.encode.0.preset',
  ],
  [
    'CRF out of range',
    { ...good, output: { dir: 'out', encode: { preset: 'vp9', crf: 70 } } },
    'INVALID_JOB',
    'output.encode.0.crf',
  ],
  ['missing output', { clips: good.clips }, 'INVALID_JOB', 'output'],
  ['no clips', { ...good, clips: [] }, 'INVALID_JOB', 'clips'],
  [
    'duplicate clip ids',
    { ...good, clips: [good.clips[0], { ...good.clips[1]!, id: 'one' }] },
    'INVALID_JOB',
    'clips.1.id',
  ],
  ['bad clip id', { ...good, clips: [{ ...good.clips[0]!, id: '../x' }] }, 'INVALID_JOB', 'clips.0.id'],
  [
    'unknown prompt word',
    { ...good, clips: [{ ...good.clips[0]!, prompt: 'a red dragon on a plain blue background' }] },
    'INVALID_PROMPT',
    'clips.0.prompt',
  ],
  [
    'prompt grammar error',
    { ...good, clips: [{ ...good.clips[0]!, prompt: 'red circle' }] },
    'INVALID_PROMPT',
    'clips.0.prompt',
  ],
  [
    'frames the model does not support',
    { ...good, defaults: { frames: 24 } },
    'INVALID_JOB',
    'clips.0.frames',
  ],
  ['absurd size', { ...good, limits: { maxPixelFrames: 100_000 } }, 'INVALID_JOB', 'clips.1.scale'],
  ['tuned mode without upsamplers', { ...good, defaults: { mode: 'tuned' } }, 'INVALID_JOB', 'clips.0.mode'],
  [
    'output escaping the output folder',
    { ...good, output: { dir: 'out', pattern: '../../{id}' } },
    'INVALID_JOB',
    'output.pattern',
  ],
  [
    'absolute output pattern',
    { ...good, output: { dir: 'out', pattern: '/tmp/{id}' } },
    'INVALID_JOB',
    'output.pattern',
  ],
  [
    'unknown pattern token',
    { ...good, output: { dir: 'out', pattern: '{name}' } },
    'INVALID_JOB',
    'output.pattern',
  ],
  [
    'colliding output names',
    { ...good, output: { dir: 'out', pattern: 'clip', encode: { preset: 'h264' } } },
    'INVALID_JOB',
    'output.pattern',
  ],
  [
    'odd size for 4:2:0 is impossible here, but a bad pixel format is caught',
    { ...good, output: { dir: 'out', encode: { preset: 'vp9', pixelFormat: 'rgb24' } } },
    'INVALID_JOB',
    'output.encode.0.pixelFormat',
  ],
];

describe('malformed job files', () => {
  it.each(malformed)('%s', async (_what, job, code, path) => {
    const file = join(dir, `job-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, typeof job === 'string' ? job : JSON.stringify(job));
    const error = await loadJobFile(file)
      .then((loaded) => planJob(loaded.job, { model, baseDir: loaded.baseDir }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CascadeError);
    const e = error as CascadeError;
    expect({ code: e.code, path: e.path === file ? 'job.yaml' : e.path }).toEqual({ code, path });
    expect(e.message.length).toBeGreaterThan(20);
  });

  it('reports a missing job file as FILE_NOT_FOUND with its path', async () => {
    const error = await loadJobFile(join(dir, 'nope.yaml')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'FILE_NOT_FOUND', path: join(dir, 'nope.yaml') });
  });

  it('lists the vocabulary when a prompt has an unknown word', () => {
    const e = errorOf(() =>
      plan({ ...good, clips: [{ ...good.clips[0]!, prompt: 'a red dragon on a plain blue background' }] }),
    );
    expect(e.message).toContain('dragon');
    expect(e.message).toContain('circle');
  });

  it('reads strict JSON job files', async () => {
    const file = join(dir, 'job.json');
    writeFileSync(file, '{"clips": [}');
    await expect(loadJobFile(file)).rejects.toMatchObject({ code: 'INVALID_JOB', path: file });
  });
});
