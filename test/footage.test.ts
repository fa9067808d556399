import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveEncodeSettings } from '../codecs/encode-presets.js';
import { encodeVideo } from '../codecs/encode-video.js';
import { probeVideo } from '../codecs/probe-video.js';
import { type Clip, createClip } from '../data/clip.js';
import { type FootageProgress, readFootage } from '../data/read-footage.js';
import { CascadeError } from '../util/cascade-error.js';

let dir: string;
let folder: string;

/** 96x64 (3:2) footage at 24 fps: a bright square moving right over a gradient. */
function footage(frames: number): Clip {
  const height = 64;
  const width = 96;
  const clip = createClip(frames, height, width);
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = ((t * height + y) * width + x) * 3;
        const inSquare = x >= 20 + t && x < 36 + t && y >= 24 && y < 40;
        clip.data[i] = inSquare ? 1 : x / width;
        clip.data[i + 1] = inSquare ? 1 : 0.2;
        clip.data[i + 2] = inSquare ? 1 : y / height;
      }
    }
  }
  return clip;
}

async function writeMp4(file: string, frames: number): Promise<void> {
  const settings = resolveEncodeSettings(
    { preset: 'h264', crf: 12, speed: 'ultrafast' },
    { width: 96, height: 64, frames, fps: 24 },
  );
  await encodeVideo(footage(frames), settings, file);
}

async function rejection(promise: Promise<unknown>): Promise<CascadeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CascadeError);
    return error as CascadeError;
  }
  throw new Error('expected a rejection');
}

const options = { width: 32, height: 32, frames: 16, fps: 12 };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cascade-footage-'));
  folder = path.join(dir, 'footage');
  await mkdir(folder);
  // 72 frames at 24 fps = 3 s = 36 frames at 12 fps: two whole 16-frame clips.
  await writeMp4(path.join(folder, 'long.mp4'), 72);
  // 6 frames at 24 fps = 3 frames at 12 fps: too short for one clip.
  await writeMp4(path.join(folder, 'short.mp4'), 6);
  // A video whose name says nothing: chosen by probing, not by extension.
  await writeMp4(path.join(dir, 'take-3.mp4'), 40);
  await rename(path.join(dir, 'take-3.mp4'), path.join(folder, 'take-3.bin'));
  await writeFile(path.join(folder, 'notes.txt'), 'shot list\n');
  await writeFile(path.join(folder, '.DS_Store'), 'ignored');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fixtures/media', () => {
  it('moving-square.mp4 is what its README says', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/media/moving-square.mp4', import.meta.url));
    const probe = await probeVideo(fixture);
    expect(probe).toMatchObject({
      codec: 'h264',
      width: 96,
      height: 64,
      frameCount: 48,
      pixelFormat: 'yuv420p',
    });
    expect(probe.fps).toEqual({ num: 24, den: 1 });
    const sample = await readFootage(path.dirname(fixture), options);
    expect(sample.clips.map((c) => path.basename(c.path))).toEqual(['moving-square.mp4']);
    expect(sample.skipped.map((s) => [path.basename(s.path), s.reason.split(':')[0]])).toEqual([
      ['README.md', 'not a readable video'],
    ]);
  });
});

describe('readFootage', () => {
  it('skip mode: clips of the expected size and count; bad files reported by name', async () => {
    const progress: FootageProgress[] = [];
    const result = await readFootage(folder, {
      ...options,
      clipsPerFile: 3,
      onProgress: (p) => progress.push(p),
    });
    expect(result.files.map((f) => path.basename(f))).toEqual([
      'long.mp4',
      'notes.txt',
      'short.mp4',
      'take-3.bin',
    ]);
    expect(result.clips.map((c) => [path.basename(c.path), c.index, c.startFrame])).toEqual([
      ['long.mp4', 0, 0],
      ['long.mp4', 1, 16],
      ['take-3.bin', 0, 0],
    ]);
    for (const { clip } of result.clips) {
      expect([clip.frames, clip.height, clip.width]).toEqual([16, 32, 32]);
      expect(clip.data.length).toBe(16 * 32 * 32 * 3);
    }
    expect(result.skipped.map((s) => path.basename(s.path))).toEqual(['notes.txt', 'short.mp4']);
    expect(result.skipped[0]!.reason).toMatch(
      /^not a readable video: ffprobe exited with code 1 \(Invalid data/,
    );
    expect(result.skipped[1]!.reason).toMatch(/^too short: (about|only) 3 frames at 12 fps, need 16$/);
    expect(progress.at(-1)).toMatchObject({ stage: 'footage', phase: 'decode', fraction: 1, clips: 3 });

    // The moving square (2 source frames = 1 target frame apart, 1 px each) really moves.
    const first = result.clips[0]!.clip;
    const frameSize = 32 * 32 * 3;
    let diff = 0;
    for (let i = 0; i < frameSize; i++) diff += Math.abs(first.data[i]! - first.data[15 * frameSize + i]!);
    expect(diff / frameSize).toBeGreaterThan(0.01);
  });

  it('centre crop: the 3:2 frame loses its sides, so the square sits in the middle', async () => {
    const result = await readFootage(folder, { ...options, onError: 'skip' });
    const clip = result.clips[0]!.clip;
    // Frame 0: square at x 20..35 of 96 -> after cropping 16 px each side (64x64) it spans
    // x 4..19 of 64 -> 2..9.5 at 32 px; y 24..39 -> 12..19.5. Centre pixel (y 16, x 6) is white.
    const at = (y: number, x: number, c: number): number => clip.data[(y * 32 + x) * 3 + c]!;
    expect(at(16, 6, 1)).toBeGreaterThan(0.9);
    expect(at(16, 28, 1)).toBeLessThan(0.4);
    expect(result.clips).toHaveLength(2);
  });

  it('fail mode: the run fails naming the first bad file, before decoding anything', async () => {
    const error = await rejection(readFootage(folder, { ...options, onError: 'fail' }));
    expect(error.code).toBe('FOOTAGE_UNREADABLE');
    expect(error.path).toBe(path.join(folder, 'notes.txt'));
    expect(error.message).toMatch(/notes\.txt: not a readable video: .*Use onError 'skip'/);

    const shortOnly = path.join(dir, 'short-only');
    await mkdir(shortOnly);
    await writeMp4(path.join(shortOnly, 'short.mp4'), 6);
    const tooShort = await rejection(readFootage(shortOnly, { ...options, onError: 'fail' }));
    expect(tooShort.path).toBe(path.join(shortOnly, 'short.mp4'));
    expect(tooShort.message).toMatch(/short\.mp4: too short/);
  });

  it('bad options, a missing folder and cancellation', async () => {
    expect((await rejection(readFootage(folder, { ...options, frames: 0 }))).path).toBe('frames');
    expect((await rejection(readFootage(folder, { ...options, clipsPerFile: 1.5 }))).path).toBe(
      'clipsPerFile',
    );
    expect((await rejection(readFootage(folder, { ...options, fps: 'fast' }))).path).toBe('fps');
    const missing = await rejection(readFootage(path.join(dir, 'nope'), options));
    expect(missing.code).toBe('FOOTAGE_UNREADABLE');
    expect(missing.message).toContain('does not exist');
    const controller = new AbortController();
    const cancelled = await rejection(
      readFootage(folder, {
        ...options,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'probe') controller.abort();
        },
      }),
    );
    expect(cancelled.code).toBe('ABORTED');
  });
});
