import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipToRgb24Frames, rgb24FrameHash } from '../codecs/clip-to-rgb24-frames.js';
import { decodeFrameHashes } from '../codecs/decode-frame-hashes.js';
import {
  ENCODE_PRESET_NAMES,
  type EncodeSpec,
  type ResolvedEncodeSettings,
  resolveEncodeSettings,
} from '../codecs/encode-presets.js';
import { type EncodeProgress, encodeVideo, ffmpegFailed } from '../codecs/encode-video.js';
import { buildEncodeArgs } from '../codecs/ffmpeg-args.js';
import { findFfmpeg } from '../codecs/find-ffmpeg.js';
import { startMediaTool } from '../codecs/run-media-tool.js';
import { expectationFor, verifyVideo } from '../codecs/verify-video.js';
import { type Clip, createClip } from '../data/clip.js';
import { CascadeError, isCascadeError } from '../util/cascade-error.js';

const T = 16;
const H = 48;
const W = 64;
const FPS = 24;
let dir: string;

/** Moving gradients: every frame differs, colours cover the cube (a good codec workout). */
function gradientClip(frames = T, height = H, width = W): Clip {
  const clip = createClip(frames, height, width);
  for (let t = 0; t < frames; t++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = ((t * height + y) * width + x) * 3;
        clip.data[i] = ((x + 2 * t) % width) / (width - 1);
        clip.data[i + 1] = y / (height - 1);
        clip.data[i + 2] = 0.5 + 0.5 * Math.sin((x + y + 3 * t) / 5);
      }
    }
  }
  return clip;
}

const settingsFor = (spec: EncodeSpec, frames = T): ResolvedEncodeSettings =>
  resolveEncodeSettings(spec, { width: W, height: H, frames, fps: FPS });

async function rejection(promise: Promise<unknown>): Promise<CascadeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CascadeError);
    return error as CascadeError;
  }
  throw new Error('expected a rejection');
}

/** Command names of this process's live children, from /proc (Linux, where CI runs). */
async function childCommands(): Promise<string[]> {
  const names: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...
    const m = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
    if (m && Number(m[2]) === process.pid) names.push(m[1]!);
  }
  return names;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cascade-encode-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('encodeVideo + verifyVideo, every preset', () => {
  const clip = gradientClip();
  for (const preset of ENCODE_PRESET_NAMES) {
    it(`${preset}: ffprobe sees the codec, size, ${T} frames, ${FPS} fps, pixel format and colour tags`, async () => {
      const settings = settingsFor({ preset });
      const out = path.join(dir, `all-${preset}${settings.extension}`);
      const progress: EncodeProgress[] = [];
      const result = await encodeVideo(clip, settings, out, { onProgress: (p) => progress.push(p) });
      expect(result.path).toBe(out);
      expect(result.frames).toBe(T);
      expect(result.bytes).toBeGreaterThan(0);
      expect(result.ffmpeg.version.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({
        stage: 'encode',
        framesSent: T,
        framesEncoded: T,
        fraction: 1,
      });
      expect(progress.filter((p) => p.framesSent === T).length).toBeGreaterThan(0);

      const summary = await verifyVideo(out, expectationFor(settings));
      expect(summary.probe.width).toBe(W);
      expect(summary.probe.height).toBe(H);
      expect(summary.probe.frameCount).toBe(T);
      expect(summary.probe.frameCountSource).toBe('counted');
      expect(summary.checks.every((c) => c.ok)).toBe(true);
      const fields = summary.checks.map((c) => c.field);
      expect(fields).toEqual(expect.arrayContaining(['codec', 'width', 'height', 'frames', 'pixelFormat']));
      if (preset !== 'png-sequence') expect(fields).toContain('fps');
      if (settings.colour) expect(fields).toContain('colour.primaries');
      // Nothing but the output is left in the directory.
      expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    });
  }
});

describe('non-default variants verify too', () => {
  const clip = gradientClip();
  const variants: { spec: EncodeSpec; ext: string; fps?: number }[] = [
    { spec: { preset: 'h264', pixelFormat: 'rgb24', crf: 0 }, ext: '.mp4' },
    {
      spec: { preset: 'h264', pixelFormat: 'yuv422p', profile: 'high422', speed: 'ultrafast' },
      ext: '.mp4',
      fps: 29.97,
    },
    { spec: { preset: 'h265', pixelFormat: 'yuv444p', speed: 'ultrafast' }, ext: '.mp4' },
    { spec: { preset: 'vp9', pixelFormat: 'yuv444p', speed: 5 }, ext: '.webm' },
    { spec: { preset: 'prores', profile: '4444xq' }, ext: '.mov' },
    { spec: { preset: 'ffv1', pixelFormat: 'yuv420p' }, ext: '.mkv' },
    {
      spec: { preset: 'gif', maxColors: 16, dither: 'bayer', statsMode: 'diff', loop: -1 },
      ext: '.gif',
      fps: 10,
    },
  ];
  for (const [i, { spec, ext, fps }] of variants.entries()) {
    it(`${JSON.stringify(spec)}${fps ? ` at ${fps} fps` : ''}`, async () => {
      const settings = resolveEncodeSettings(spec, { width: W, height: H, frames: T, fps: fps ?? FPS });
      const out = path.join(dir, `variant-${i}${ext}`);
      await encodeVideo(clip, settings, out);
      const summary = await verifyVideo(out, expectationFor(settings));
      expect(summary.checks.every((c) => c.ok)).toBe(true);
      if (fps === 29.97) expect(summary.probe.fps).toEqual({ num: 30000, den: 1001 });
    });
  }
});

describe('lossless presets decode back to the exact frames', () => {
  const clip = gradientClip();
  const expected = [...clipToRgb24Frames(clip)].map(rgb24FrameHash);
  for (const spec of [
    { preset: 'ffv1' },
    { preset: 'png-sequence' },
    { preset: 'h264', pixelFormat: 'rgb24', crf: 0 },
  ] as const) {
    it(`${spec.preset}${'pixelFormat' in spec ? ` ${spec.pixelFormat}` : ''}: sha256 per frame matches`, async () => {
      const settings = settingsFor(spec);
      expect(settings.lossless).toBe(true);
      const out = path.join(dir, `lossless-${spec.preset}${settings.extension}`);
      const result = await encodeVideo(clip, settings, out);
      expect(result.frameHashes).toEqual(expected);
      expect(await decodeFrameHashes(out)).toEqual(expected);
    });
  }

  it('a lossy preset does not (the check has teeth)', async () => {
    const settings = settingsFor({ preset: 'h264' });
    const out = path.join(dir, 'lossy.mp4');
    const result = await encodeVideo(clip, settings, out, { hashFrames: true });
    const decoded = await decodeFrameHashes(out);
    expect(decoded).toHaveLength(T);
    expect(decoded).not.toEqual(result.frameHashes);
  });
});

describe('failures leave nothing behind', () => {
  it('abort mid-encode: ABORTED, no file at the final path, no temporary', async () => {
    const sub = path.join(dir, 'abort');
    await mkdir(sub);
    const frames = 400;
    const settings = settingsFor({ preset: 'h264', speed: 'veryslow' }, frames);
    const controller = new AbortController();
    const frame = new Uint8Array(W * H * 3).fill(90);
    async function* slowFrames(): AsyncGenerator<Uint8Array> {
      for (let t = 0; t < frames; t++) {
        if (t % 10 === 0) await new Promise((r) => setTimeout(r, 5));
        yield frame.slice();
      }
    }
    const out = path.join(sub, 'aborted.mp4');
    const started = performance.now();
    const error = await rejection(
      encodeVideo(slowFrames(), settings, out, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.framesSent === 20) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await readdir(sub)).toEqual([]);
    // ffmpeg is gone, not left running in the background.
    expect(await childCommands()).not.toContain('ffmpeg');
  });

  it('abort while the producer is stuck: ABORTED at once, and the producer is told to stop', async () => {
    const sub = path.join(dir, 'abort-stuck');
    await mkdir(sub);
    const controller = new AbortController();
    let release: () => void = () => {};
    let producerFinished = false;
    async function* stuck(): AsyncGenerator<Uint8Array> {
      try {
        for (let t = 0; t < 3; t++) yield new Uint8Array(W * H * 3);
        await new Promise<void>((r) => {
          release = r;
        });
        yield new Uint8Array(W * H * 3);
      } finally {
        producerFinished = true;
      }
    }
    const encoding = encodeVideo(stuck(), settingsFor({ preset: 'ffv1' }), path.join(sub, 'x.mkv'), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.framesSent === 3) setTimeout(() => controller.abort(), 20);
      },
    });
    const error = await rejection(encoding);
    expect(error.code).toBe('ABORTED');
    expect(await readdir(sub)).toEqual([]);
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(producerFinished).toBe(true);
  });

  it('ffmpeg silently writing fewer frames than it was given is FFMPEG_FAILED', async () => {
    const sub = path.join(dir, 'dropped');
    await mkdir(sub);
    const settings = settingsFor({ preset: 'ffv1', extraArgs: ['-frames:v', '5'] });
    const error = await rejection(encodeVideo(gradientClip(), settings, path.join(sub, 'x.mkv')));
    expect(error.code).toBe('FFMPEG_FAILED');
    expect(error.message).toMatch(/ffmpeg (wrote 5 frames, expected 16|stopped reading frames after)/);
    expect(await readdir(sub)).toEqual([]);
  });

  it('an already-aborted signal starts nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const out = path.join(dir, 'never.mkv');
    const error = await rejection(
      encodeVideo(gradientClip(), settingsFor({ preset: 'ffv1' }), out, {
        signal: controller.signal,
      }),
    );
    expect(error.code).toBe('ABORTED');
    await expect(stat(out)).rejects.toThrow();
  });

  it('ffmpeg exiting non-zero: FFMPEG_FAILED with the stderr tail, no partial output', async () => {
    const sub = path.join(dir, 'fail');
    await mkdir(sub);
    // Forced through extraArgs: baseline cannot carry 4:4:4, which only x264 notices.
    const settings = settingsFor({
      preset: 'h264',
      pixelFormat: 'yuv444p',
      extraArgs: ['-profile:v', 'baseline'],
    });
    const out = path.join(sub, 'bad.mp4');
    const error = await rejection(encodeVideo(gradientClip(), settings, out));
    expect(error.code).toBe('FFMPEG_FAILED');
    expect(error.path).toBe(out);
    expect(error.message).toContain('ffmpeg exited with code');
    expect(error.message).toMatch(/ffmpeg stderr \(last \d+ lines\):/);
    expect(error.message).toContain("baseline profile doesn't support 4:4:4");
    const tail = error.details?.stderrTail as string[];
    expect(tail.length).toBeGreaterThan(0);
    expect(tail.length).toBeLessThanOrEqual(20);
    expect(await readdir(sub)).toEqual([]);
  });

  it('a full disk is reported as such (real ffmpeg writing to /dev/full)', async () => {
    const ffmpeg = await findFfmpeg();
    const settings = settingsFor({ preset: 'ffv1' }, 4);
    const proc = startMediaTool(ffmpeg.path, buildEncodeArgs(settings, '/dev/full'), {
      stdin: 'pipe',
      onStdoutLine: () => {},
    });
    for (const frame of clipToRgb24Frames(gradientClip(4))) proc.child.stdin!.write(frame);
    proc.child.stdin!.end();
    const exit = await proc.exited;
    expect(exit.code).not.toBe(0);
    const error = ffmpegFailed(exit, '/data/out.mkv', settings);
    expect(error.code).toBe('FFMPEG_FAILED');
    expect(error.message).toMatch(/^The disk is full: ffmpeg could not write \/data\/out.mkv/);
    expect(error.details?.reason).toBe('ENOSPC');
  });

  it('the wrong number or size of frames is BAD_ARGUMENT and writes nothing', async () => {
    const sub = path.join(dir, 'count');
    await mkdir(sub);
    const settings = settingsFor({ preset: 'ffv1' });
    const frames = [...clipToRgb24Frames(gradientClip())];
    const out = path.join(sub, 'x.mkv');
    const short = await rejection(encodeVideo(frames.slice(0, 10), settings, out));
    expect(short.code).toBe('BAD_ARGUMENT');
    expect(short.message).toContain('ended after 10 frames');
    const long = await rejection(encodeVideo([...frames, frames[0]!], settings, out));
    expect(long.message).toContain('more than the 16 frames');
    const wrong = await rejection(encodeVideo([new Uint8Array(10)], settings, out));
    expect(wrong.path).toBe('frames.0');
    const clipMismatch = await rejection(encodeVideo(gradientClip(8), settings, out));
    expect(clipMismatch.path).toBe('clip');
    expect(await readdir(sub)).toEqual([]);
  });

  it('the output path must match the container, and foreign directories are never replaced', async () => {
    const wrongExt = await rejection(
      encodeVideo(gradientClip(), settingsFor({ preset: 'vp9' }), path.join(dir, 'x.mp4')),
    );
    expect(wrongExt.code).toBe('BAD_ARGUMENT');
    expect(wrongExt.message).toContain('does not end in .webm');
    const foreign = path.join(dir, 'not-frames');
    await mkdir(foreign);
    await writeFile(path.join(foreign, 'notes.txt'), 'keep me');
    const error = await rejection(
      encodeVideo(gradientClip(), settingsFor({ preset: 'png-sequence' }), foreign),
    );
    expect(error.message).toContain('will not be replaced');
    expect(await readdir(foreign)).toEqual(['notes.txt']);
  });
});

describe('replacing outputs', () => {
  it('a second encode replaces a file and a png sequence atomically', async () => {
    const out = path.join(dir, 'replace.mkv');
    await writeFile(out, 'old');
    await encodeVideo(gradientClip(), settingsFor({ preset: 'ffv1' }), out);
    expect((await stat(out)).size).toBeGreaterThan(3);

    const seq = path.join(dir, 'replace-frames');
    const first = await encodeVideo(gradientClip(), settingsFor({ preset: 'png-sequence' }), seq);
    expect((await readdir(seq)).length).toBe(T);
    const shorter = gradientClip(4);
    const second = await encodeVideo(shorter, settingsFor({ preset: 'png-sequence' }, 4), seq);
    expect((await readdir(seq)).sort()).toEqual([
      'frame-000000.png',
      'frame-000001.png',
      'frame-000002.png',
      'frame-000003.png',
    ]);
    expect(second.bytes).toBeLessThan(first.bytes);
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('accepts an async iterable of frames', async () => {
    const clip = gradientClip();
    async function* frames(): AsyncGenerator<Uint8Array> {
      yield* clipToRgb24Frames(clip);
    }
    const out = path.join(dir, 'async.webm');
    const result = await encodeVideo(frames(), settingsFor({ preset: 'vp9', speed: 5 }), out);
    expect(result.frames).toBe(T);
    const verify = await verifyVideo(out, { codec: 'vp9', frames: T, fps: FPS, width: W, height: H });
    expect(verify.checks).toHaveLength(5);
  });
});

describe('verifyVideo mismatches', () => {
  it('lists every mismatch', async () => {
    const out = path.join(dir, 'verify.mkv');
    await encodeVideo(gradientClip(), settingsFor({ preset: 'ffv1' }), out);
    let error: unknown;
    try {
      await verifyVideo(out, { codec: 'h264', width: 32, frames: 17, fps: 25, pixelFormat: 'yuv420p' });
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'VERIFY_FAILED')).toBe(true);
    const message = (error as CascadeError).message;
    for (const part of [
      'codec is ffv1, expected h264',
      'width is 64, expected 32',
      'frames is 16, expected 17',
      'fps is 24/1, expected 25/1',
      'pixelFormat is bgr0, expected yuv420p',
    ]) {
      expect(message).toContain(part);
    }
    expect((error as CascadeError).details?.mismatches).toHaveLength(5);
    const missing = await verifyVideo(path.join(dir, 'missing.mp4'), {}).catch((e: unknown) => e);
    expect(isCascadeError(missing, 'VERIFY_FAILED')).toBe(true);
  });
});
