import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideo, decodeVideoToClip } from '../codecs/decode-video.js';
import { resolveEncodeSettings } from '../codecs/encode-presets.js';
import { encodeVideo } from '../codecs/encode-video.js';
import { findFfmpeg } from '../codecs/find-ffmpeg.js';
import { probeVideo } from '../codecs/probe-video.js';
import { startMediaTool } from '../codecs/run-media-tool.js';
import { createClip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';

const T = 16;
const H = 48;
const W = 64;
let dir: string;
/** ffv1 (exact) clip: blue 48x48 centre, red 8-pixel side bars; green channel = t / 15. */
let bars: string;

async function rejection(promise: Promise<unknown>): Promise<CascadeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CascadeError);
    return error as CascadeError;
  }
  throw new Error('expected a rejection');
}

/** Runs the real ffmpeg with argv (test fixtures only). */
async function ffmpeg(args: string[]): Promise<void> {
  const bin = await findFfmpeg();
  const exit = await startMediaTool(bin.path, ['-hide_banner', '-loglevel', 'error', '-y', ...args]).exited;
  expect(exit.code, exit.stderrTail.join('\n')).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cascade-decode-'));
  const clip = createClip(T, H, W);
  for (let t = 0; t < T; t++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = ((t * H + y) * W + x) * 3;
        const side = x < 8 || x >= W - 8;
        clip.data[i] = side ? 1 : 0;
        clip.data[i + 1] = t / (T - 1);
        clip.data[i + 2] = side ? 0 : 1;
      }
    }
  }
  bars = path.join(dir, 'bars.mkv');
  await encodeVideo(
    clip,
    resolveEncodeSettings({ preset: 'ffv1' }, { width: W, height: H, frames: T, fps: 24 }),
    bars,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('decodeVideo', () => {
  it('native decode gives every frame at the stored size', async () => {
    const video = await decodeVideo(bars);
    expect([video.width, video.height]).toEqual([W, H]);
    expect(video.fps).toEqual({ num: 24, den: 1 });
    const frames: Uint8Array[] = [];
    for await (const frame of video) frames.push(frame);
    expect(frames).toHaveLength(T);
    expect(frames[5]!.length).toBe(W * H * 3);
    // Pixel (0, 0) of frame 5: red bar, green = round(5/15 * 255).
    expect(Array.from(frames[5]!.subarray(0, 3))).toEqual([255, 85, 0]);
  });

  it('centre crop to square removes the side bars; area scale; fps halves the frames; maxFrames caps', async () => {
    const clip = await decodeVideoToClip(bars, { width: 16, height: 16, crop: 'centre', fps: 12 });
    expect([clip.frames, clip.height, clip.width]).toEqual([8, 16, 16]);
    let maxRed = 0;
    let minBlue = 1;
    for (let i = 0; i < clip.data.length; i += 3) {
      maxRed = Math.max(maxRed, clip.data[i]!);
      minBlue = Math.min(minBlue, clip.data[i + 2]!);
    }
    expect(maxRed).toBe(0);
    expect(minBlue).toBe(1);
    // Green rises over time: frames are in order.
    const green = (t: number): number => clip.data[t * 16 * 16 * 3 + 1]!;
    expect(green(7)).toBeGreaterThan(green(0));

    const capped = await decodeVideoToClip(bars, { width: 32, maxFrames: 5 });
    expect([capped.frames, capped.height, capped.width]).toEqual([5, 24, 32]);
    // Stretch (no crop) keeps the bars.
    const stretched = await decodeVideoToClip(bars, { width: 16, height: 16, maxFrames: 1 });
    expect(stretched.data[0]).toBeCloseTo(1, 2);
  });

  it('breaking out of the loop stops ffmpeg; abort throws ABORTED', async () => {
    const video = await decodeVideo(bars);
    let n = 0;
    for await (const _frame of video) {
      if (++n === 2) break;
    }
    expect(n).toBe(2);
    // The same video can be iterated again: a fresh decode.
    let again = 0;
    for await (const _frame of video) again++;
    expect(again).toBe(T);

    const controller = new AbortController();
    const aborting = await decodeVideo(bars, { signal: controller.signal });
    const error = await rejection(
      (async () => {
        for await (const _frame of aborting) controller.abort();
      })(),
    );
    expect(error.code).toBe('ABORTED');
  });

  it('honours rotation metadata: a 64x48 stream tagged rotate=90 decodes upright as 48x64', async () => {
    const plain = path.join(dir, 'plain.mp4');
    const rotated = path.join(dir, 'rotated.mp4');
    await ffmpeg(['-i', bars, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', plain]);
    // ffmpeg 4.1 keeps a rotate tag only on stream copy. (Versions disagree on the sign of the
    // display matrix, so only the quarter-turn matters here.)
    await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const probe = await probeVideo(rotated);
    expect([90, 270]).toContain(probe.rotation);
    expect([probe.width, probe.height]).toEqual([W, H]);
    const video = await decodeVideo(rotated, { maxFrames: 1 });
    expect([video.width, video.height]).toEqual([H, W]);
    const frames: Uint8Array[] = [];
    for await (const frame of video) frames.push(frame);
    expect(frames).toHaveLength(1);
    // Square crop of a portrait frame cuts top and bottom: the red bars (now top/bottom) go.
    const square = await decodeVideoToClip(rotated, { width: 16, height: 16, crop: 'centre', maxFrames: 1 });
    let maxRed = 0;
    for (let i = 0; i < square.data.length; i += 3) maxRed = Math.max(maxRed, square.data[i]!);
    expect(maxRed).toBeLessThan(0.1);
  });
});

describe('colour of untagged HD footage', () => {
  it('is decoded with the BT.709 matrix, not ffmpeg`s BT.601 default', async () => {
    const w = 1280;
    const h = 720;
    // Eight saturated colour bars: where a matrix mix-up shows most.
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const k = Math.floor((x * 8) / w);
        const i = (y * w + x) * 3;
        rgb[i] = k & 1 ? 230 : 20;
        rgb[i + 1] = k & 2 ? 230 : 20;
        rgb[i + 2] = k & 4 ? 220 : 30;
      }
    }
    const raw = path.join(dir, 'bars.rgb');
    await writeFile(raw, rgb);
    const untagged = path.join(dir, 'untagged-hd.mp4');
    // Converted with BT.709 but not tagged (no -colorspace): what many cameras and tools write.
    await ffmpeg([
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-s',
      `${w}x${h}`,
      '-r',
      '24',
      '-i',
      raw,
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv444p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '0',
      untagged,
    ]);
    const probe = await probeVideo(untagged);
    expect(probe.colour.space).toBeNull();
    const maxError = (clip: { data: Float32Array }): number => {
      let m = 0;
      for (let i = 0; i < rgb.length; i++)
        m = Math.max(m, Math.abs(Math.round(clip.data[i]! * 255) - rgb[i]!));
      return m;
    };
    const video = await decodeVideo(untagged);
    expect(video.plan.filters).toEqual([`scale=${w}:${h}:in_color_matrix=bt709`, 'format=rgb24']);
    expect(maxError(await decodeVideoToClip(untagged))).toBeLessThanOrEqual(2);
    // Control: trusting ffmpeg's default for the same file shifts the colours visibly.
    const asIfTagged = { ...probe, colour: { ...probe.colour, space: 'bt470bg' } };
    expect(maxError(await decodeVideoToClip(untagged, { probe: asIfTagged }))).toBeGreaterThan(10);
  });
});

describe('probeVideo and unreadable inputs', () => {
  it('reports frame count, fps, duration and colour of a real file', async () => {
    const probe = await probeVideo(bars);
    expect(probe).toMatchObject({
      codec: 'ffv1',
      width: W,
      height: H,
      pixelFormat: 'bgr0',
      fps: { num: 24, den: 1 },
      frameCount: T,
      rotation: 0,
      isSequence: false,
    });
    // Matroska has no frame count in its index: 'auto' counted.
    expect(probe.frameCountSource).toBe('counted');
    expect(probe.duration).toBeCloseTo(T / 24, 2);
    expect(probe.colour.primaries).toBe('bt709');
    const quick = await probeVideo(bars, { countFrames: 'never' });
    expect(quick.frameCountSource).toBe('estimated');
    expect(quick.frameCount).toBe(T);
  });

  it('missing, non-video and audio-only files are FOOTAGE_UNREADABLE naming the file', async () => {
    const missing = path.join(dir, 'missing.mp4');
    const e1 = await rejection(decodeVideo(missing));
    expect(e1.code).toBe('FOOTAGE_UNREADABLE');
    expect(e1.path).toBe(missing);
    expect(e1.message).toBe(`${missing} does not exist.`);

    const text = path.join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video, whatever its name says\n');
    const e2 = await rejection(decodeVideo(text));
    expect(e2.code).toBe('FOOTAGE_UNREADABLE');
    expect(e2.message).toContain(`${text} is not a readable video`);

    const audio = path.join(dir, 'tone.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.2', audio]);
    const e3 = await rejection(probeVideo(audio));
    expect(e3.message).toBe(`${audio} has no video stream (streams: audio).`);

    const e4 = await rejection(probeVideo(dir));
    expect(e4.message).toContain('is a directory without a png sequence');
  });
});
