/**
 * A video clip as plain data, so it crosses worker boundaries and files without tensors:
 * `data` is float32 RGB in [0, 1], layout [frames, height, width, 3], row-major.
 */
export interface Clip {
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

export function createClip(frames: number, height: number, width: number, data?: Float32Array): Clip {
  const size = frames * height * width * 3;
  if (data && data.length !== size) {
    throw new RangeError(
      `clip data has ${data.length} values, expected ${frames}x${height}x${width}x3 = ${size}`,
    );
  }
  return { frames, height, width, data: data ?? new Float32Array(size) };
}

/** The values of frame `t` (a view, not a copy): [height, width, 3]. */
export function clipFrame(clip: Clip, t: number): Float32Array {
  const n = clip.height * clip.width * 3;
  return clip.data.subarray(t * n, (t + 1) * n);
}
