import { createHash } from 'node:crypto';
import { type Clip, clipFrame, createClip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';

/**
 * Conversions between the float Clip ([frames, h, w, 3] in [0, 1]) and the rgb24 frames ffmpeg
 * reads and writes ([h, w, 3] uint8 each). Pure.
 */

/** One frame, float [0,1] -> uint8 with rounding to nearest; out-of-range and NaN values clamp (NaN -> 0). */
export function clipFrameToRgb24(clip: Clip, t: number, out?: Uint8Array): Uint8Array {
  const src = clipFrame(clip, t);
  const dst = out ?? new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i]! * 255 + 0.5;
    // NaN compares false everywhere, so it falls through to 0.
    dst[i] = v >= 255 ? 255 : v > 0 ? v | 0 : 0;
  }
  return dst;
}

/** Every frame of the clip as rgb24, lazily (one frame of memory at a time). */
export function* clipToRgb24Frames(clip: Clip): Generator<Uint8Array> {
  for (let t = 0; t < clip.frames; t++) yield clipFrameToRgb24(clip, t);
}

/** Packs rgb24 frames ([h, w, 3] uint8 each) into a float Clip (v / 255). */
export function rgb24FramesToClip(frames: readonly Uint8Array[], height: number, width: number): Clip {
  const size = height * width * 3;
  const clip = createClip(frames.length, height, width);
  frames.forEach((frame, t) => {
    if (frame.length !== size) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `frame ${t} has ${frame.length} bytes, expected ${width}x${height}x3 = ${size}.`,
        { path: `frames.${t}` },
      );
    }
    const dst = clip.data.subarray(t * size, (t + 1) * size);
    for (let i = 0; i < size; i++) dst[i] = frame[i]! / 255;
  });
  return clip;
}

/** sha256 (hex) of one rgb24 frame's bytes: the unit of lossless verification. */
export function rgb24FrameHash(frame: Uint8Array): string {
  return createHash('sha256').update(frame).digest('hex');
}
