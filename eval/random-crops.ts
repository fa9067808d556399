import { type Clip, createClip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';
import { deriveSeed, Rng } from '../util/rng.js';

/**
 * `perClip` random size x size spatial crops of every clip (all frames), at native resolution:
 * the input of the patch FD (pFD), which sees the fine detail that the 32 x 32 feature-network
 * input of the whole-frame FD averages away. Crop corners come from Rng(deriveSeed(seed,
 * 'crop', clip index)), so a set of clips always gets the same crops.
 */
export function randomCrops(clips: readonly Clip[], size: number, perClip: number, seed: number): Clip[] {
  const out: Clip[] = [];
  clips.forEach((clip, index) => {
    if (clip.height < size || clip.width < size) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `Clip ${index} is ${clip.height}x${clip.width}, smaller than the ${size}x${size} patch crop; patch metrics need clips at least that large.`,
        { details: { index, height: clip.height, width: clip.width, size } },
      );
    }
    const rng = new Rng(deriveSeed(seed, 'crop', index));
    for (let k = 0; k < perClip; k++) {
      const y0 = rng.int(clip.height - size + 1);
      const x0 = rng.int(clip.width - size + 1);
      out.push(cropClip(clip, y0, x0, size, size));
    }
  });
  return out;
}

/** The [frames, h, w, 3] window of `clip` with top-left pixel (y0, x0). */
export function cropClip(clip: Clip, y0: number, x0: number, h: number, w: number): Clip {
  const out = createClip(clip.frames, h, w);
  const rowIn = clip.width * 3;
  for (let t = 0; t < clip.frames; t++) {
    for (let y = 0; y < h; y++) {
      const src = (t * clip.height + y0 + y) * rowIn + x0 * 3;
      out.data.set(clip.data.subarray(src, src + w * 3), (t * h + y) * w * 3);
    }
  }
  return out;
}
