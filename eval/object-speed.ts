import { COLOUR_NAMES } from '../data/palette.js';
import type { MeasuredComposition } from './measure-composition.js';

/**
 * Object motion measured from the frames: between two consecutive frames with the same objects
 * per colour (none appeared, vanished, split or merged), each object's centroid distance to the
 * nearest object of its colour in the next frame, in base pixels (rows / 32 pixels). Summed per
 * clip so a set's mean weighs every matched object-step alike.
 *
 * Why: the mean frame difference counts a glitch (an object splitting for a few frames) as
 * change just like motion, so a model that glitches can match real clips' frame difference
 * while its objects barely move; this separates the two.
 */
export interface ObjectMotion {
  /** Sum of the matched objects' per-frame displacements, base pixels. */
  readonly distance: number;
  /** Matched object-steps. */
  readonly steps: number;
}

export function objectMotion(measured: MeasuredComposition, height: number): ObjectMotion {
  const scale = 32 / height;
  let distance = 0;
  let steps = 0;
  for (let t = 0; t + 1 < measured.frames.length; t++) {
    const a = measured.frames[t]!;
    const b = measured.frames[t + 1]!;
    if (COLOUR_NAMES.some((c) => a.counts[c] !== b.counts[c])) continue;
    for (const o of a.objects) {
      let nearest = Number.POSITIVE_INFINITY;
      for (const p of b.objects) {
        if (p.colour === o.colour) {
          nearest = Math.min(nearest, Math.hypot(p.centroid.x - o.centroid.x, p.centroid.y - o.centroid.y));
        }
      }
      distance += nearest * scale;
      steps += 1;
    }
  }
  return { distance, steps };
}

/** Mean object speed of a set, base pixels per frame; undefined when no object could be matched. */
export function meanObjectSpeed(motions: readonly ObjectMotion[]): number | undefined {
  const steps = motions.reduce((s, m) => s + m.steps, 0);
  return steps === 0 ? undefined : motions.reduce((s, m) => s + m.distance, 0) / steps;
}
