import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrameHashes } from '../codecs/decode-frame-hashes.js';
import { resolveEncodeSettings } from '../codecs/encode-presets.js';
import { encodeVideo } from '../codecs/encode-video.js';
import { createClip } from '../data/clip.js';
import { writeTinyModel } from '../eval/tiny-model.js';
import type { JobInput } from '../pipeline/job-schema.js';
import type { Manifest } from '../pipeline/manifest.js';
import { render } from '../pipeline/render.js';
import type { RenderEvent } from '../pipeline/render-events.js';
import { isCascadeError } from '../util/cascade-error.js';

const dir = mkdtempSync(join(tmpdir(), 'cascade-render-'));
beforeAll(async () => {
  await writeTinyModel(join(dir, 'tiny'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function job(out: string, extra: Partial<JobInput> = {}): JobInput {
  return {
    model: './tiny',
    seed: 1,
    workers: 0,
    defaults: { steps: 3, scale: 2, fps: 8 },
    clips: [
      { id: 'a', prompt: 'a red circle on a plain blue background' },
      { id: 'b', prompt: 'two yellow squares on a striped purple background', scale: 4 },
    ],
    output: { dir: out, encode: [{ preset: 'h264' }, { preset: 'ffv1' }] },
    ...extra,
  };
}

const leftovers = (folder: string) => readdirSync(folder).filter((f) => f.startsWith('.'));

describe('render', () => {
  let manifest: Manifest;
  const events: RenderEvent[] = [];

  beforeAll(async () => {
    const result = await render(job('out'), { baseDir: dir, onProgress: (e) => events.push(e) });
    manifest = result.manifest!;
    expect(result).toMatchObject({ done: 2, failed: 0, skipped: 0 });
  });

  it('writes verified outputs and a manifest saying how each was made', () => {
    const out = join(dir, 'out');
    expect(
      readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
    ).toEqual(['a.mkv', 'a.mp4', 'b.mkv', 'b.mp4', 'manifest.json']);
    expect(leftovers(out)).toEqual([]);
    const onDisk = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    expect(onDisk.clips.a!.status).toBe('done');
    expect(onDisk.model.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(onDisk.ffmpeg.version.length).toBeGreaterThan(0);
    expect(onDisk.backend.reason.length).toBeGreaterThan(0);
    const b = onDisk.clips.b!;
    expect(
      b.outputs.map((o) => [o.path, o.probe.codec, o.probe.width, o.probe.height, o.probe.frames]),
    ).toEqual([
      ['b.mp4', 'h264', 32, 32, 4],
      ['b.mkv', 'ffv1', 32, 32, 4],
    ]);
    expect(Object.keys(b.timings)).toEqual(
      expect.arrayContaining(['base', 'cascade-1', 'cascade-2', 'encode', 'verify']),
    );
    expect(b.checks?.checks.length).toBeGreaterThan(0);
    expect(manifest.clips.b!.outputs[1]!.decodedFramesMatch).toBe(true);
  });

  it('lossless outputs decode back to exactly the frames hashed in the manifest', async () => {
    for (const id of ['a', 'b']) {
      const record = manifest.clips[id]!;
      const mkv = record.outputs.find((o) => o.preset === 'ffv1')!;
      expect(await decodeFrameHashes(join(dir, 'out', mkv.path))).toEqual(mkv.frameHashes);
    }
  });

  it('reports progress with a weighted overall fraction that reaches 1', () => {
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('job-start');
    expect(types.at(-1)).toBe('job-done');
    const overall = events.flatMap((e) => ('overall' in e ? [e.overall] : []));
    expect(overall.at(-1)).toBeCloseTo(1, 6);
    const steps = events.filter((e) => e.type === 'stage' && e.stage === 'base');
    expect(steps.length).toBeGreaterThanOrEqual(3);
  });

  it('--resume skips clips whose outputs verify, and redoes a clip whose output was damaged', async () => {
    const again = await render(job('out'), { baseDir: dir, resume: true });
    expect(again).toMatchObject({ done: 0, skipped: 2 });
    writeFileSync(join(dir, 'out', 'a.mp4'), 'damaged');
    const repaired = await render(job('out'), { baseDir: dir, resume: true });
    expect(repaired).toMatchObject({ done: 1, skipped: 1 });
    expect(repaired.manifest!.clips.a!.outputs[0]!.sha256).toBe(manifest.clips.a!.outputs[0]!.sha256);
  });

  it('removes temporaries a killed run left, also in the folders of an output pattern', async () => {
    const spec = job('nested');
    spec.clips = [spec.clips[0]!];
    spec.output = { ...spec.output, pattern: '{id}/clip', encode: [{ preset: 'h264' }] };
    const stale = [
      join(dir, 'nested', '.manifest.json.123.0123456789ab.tmp'),
      join(dir, 'nested', 'a', '.clip.part-0badc0de.mp4'),
    ];
    mkdirSync(join(dir, 'nested', 'a'), { recursive: true });
    for (const path of stale) writeFileSync(path, 'left by a killed run');
    writeFileSync(join(dir, 'nested', 'a', '.keep-me'), 'not ours');
    const result = await render(spec, { baseDir: dir });
    expect(result).toMatchObject({ done: 1, failed: 0 });
    expect(stale.filter((path) => existsSync(path))).toEqual([]);
    expect(readdirSync(join(dir, 'nested', 'a')).sort()).toEqual(['.keep-me', 'clip.mp4']);
  });

  it('runs model compute on the worker pool with the same pixels as in-process', async () => {
    const pooled = await render(job('pooled', { workers: 1 }), { baseDir: dir });
    expect(Object.values(pooled.manifest!.clips).map((c) => c.error)).toEqual([null, null]);
    for (const id of ['a', 'b']) {
      expect(pooled.manifest!.clips[id]!.outputs[1]!.frameHashes).toEqual(
        manifest.clips[id]!.outputs[1]!.frameHashes,
      );
    }
  });
});

describe('render failures', () => {
  it('a failed clip is recorded and does not lose finished ones', async () => {
    // A one-frame input video cannot feed a 4-frame clip.
    const settings = resolveEncodeSettings({ preset: 'ffv1' }, { width: 16, height: 16, frames: 1, fps: 8 });
    await encodeVideo(
      createClip(1, 16, 16, new Float32Array(16 * 16 * 3).fill(0.5)),
      settings,
      join(dir, 'one-frame.mkv'),
    );
    const spec = job('partial');
    spec.clips[1] = { ...spec.clips[1]!, input: { path: 'one-frame.mkv', strength: 0.5 } };
    const result = await render(spec, { baseDir: dir });
    expect(result).toMatchObject({ done: 1, failed: 1 });
    expect(result.manifest!.clips.b).toMatchObject({
      status: 'failed',
      error: { code: 'FOOTAGE_UNREADABLE' },
    });
    expect(existsSync(join(dir, 'partial', 'a.mp4'))).toBe(true);
    expect(existsSync(join(dir, 'partial', 'b.mp4'))).toBe(false);
    expect(leftovers(join(dir, 'partial'))).toEqual([]);
  });

  it('cancelling stops the job, keeps finished clips and leaves no partial files', async () => {
    const controller = new AbortController();
    const done: string[] = [];
    const error = await render(job('cancelled'), {
      baseDir: dir,
      signal: controller.signal,
      onProgress: (e) => {
        if (e.type !== 'clip-done') return;
        done.push(e.clipId);
        controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(isCascadeError(error, 'ABORTED')).toBe(true);
    const out = join(dir, 'cancelled');
    expect(leftovers(out)).toEqual([]);
    const saved = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Manifest;
    // The clip whose completion triggered the abort is kept; a clip still encoding is dropped
    // whole (no file of it remains), one that had already finished is kept with its entry.
    expect(Object.keys(saved.clips)).toContain(done[0]);
    expect(Object.keys(saved.clips).sort()).toEqual([...done].sort());
    for (const id of ['a', 'b']) {
      expect(existsSync(join(out, `${id}.mp4`))).toBe(done.includes(id));
      expect(existsSync(join(out, `${id}.mkv`))).toBe(done.includes(id));
    }
  });

  it('refuses bad inputs before any work, writing nothing', async () => {
    const missing = job('never');
    missing.clips[0] = { ...missing.clips[0]!, input: { path: 'nope.mp4' } };
    await expect(render(missing, { baseDir: dir })).rejects.toMatchObject({
      code: 'FOOTAGE_UNREADABLE',
      path: 'clips.0.input.path',
    });
    writeFileSync(join(dir, 'not-a-video.mp4'), 'hello');
    const bogus = job('never');
    bogus.clips[1] = { ...bogus.clips[1]!, input: { path: 'not-a-video.mp4' } };
    await expect(render(bogus, { baseDir: dir })).rejects.toMatchObject({
      code: 'FOOTAGE_UNREADABLE',
      path: 'clips.1.input.path',
    });
    writeFileSync(join(dir, 'a-file'), '');
    await expect(render(job('a-file/out'), { baseDir: dir })).rejects.toMatchObject({
      code: 'INVALID_JOB',
      path: 'output.dir',
    });
    await expect(render(job('never', { model: 'no-such-preset' }), { baseDir: dir })).rejects.toMatchObject({
      code: 'INVALID_JOB',
      path: 'model',
    });
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });
});
