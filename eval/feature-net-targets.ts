import { COLOUR_NAMES } from '../data/palette.js';
import { BACKGROUND_KINDS, type Scene, SHAPE_KINDS } from '../data/scene.js';
import { sceneGroundTruth } from '../data/scene-ground-truth.js';

/**
 * Training targets of the feature network for one scene: class indices for the softmax groups
 * of FEATURE_NET_HEADS (7 shape counts, 8 colour counts, background kind, background colour:
 * 17 indices) and the regression value (mean object speed, d0 pixels per frame: the scene's
 * speeds are in frame heights per frame, times 32).
 */
export interface FeatureNetTargets {
  readonly classes: Int32Array;
  readonly speed: number;
}

export const TARGET_GROUPS = SHAPE_KINDS.length + COLOUR_NAMES.length + 2;

export function featureNetTargets(scene: Scene): FeatureNetTargets {
  const classes = new Int32Array(TARGET_GROUPS);
  for (const o of scene.objects) {
    classes[SHAPE_KINDS.indexOf(o.shape)]! += 1;
    classes[SHAPE_KINDS.length + COLOUR_NAMES.indexOf(o.colour)]! += 1;
  }
  classes[SHAPE_KINDS.length + COLOUR_NAMES.length] = BACKGROUND_KINDS.indexOf(scene.background.kind);
  classes[SHAPE_KINDS.length + COLOUR_NAMES.length + 1] = COLOUR_NAMES.indexOf(scene.background.colour);
  const speed =
    (scene.objects.reduce((s, o) => s + Math.hypot(o.vx, o.vy), 0) / Math.max(1, scene.objects.length)) * 32;
  return { classes, speed };
}

/** Side of the per-pixel auxiliary maps (the trunk's 16 x 16 level) and of the centre map (8 x 8). */
export const SEGMENT_SIZE = 16;
export const CENTRE_SIZE = 8;

/**
 * Dense auxiliary targets for training the trunk (never used for evaluation), per frame t:
 * - `colour[t, y, x]` at 16 x 16: 0 = background, 1 + palette index where the cell centre lies
 *   inside an object; `shape[t, y, x]`: 0 or 1 + shape index;
 * - `centre[t, y, x]` at 8 x 8: 1 where an object's centre falls in the cell.
 * Per-pixel labels give thousands of supervised positions per clip, so the trunk learns colour
 * and shape detectors far faster than from the clip-level counts alone; the centre map teaches
 * "one response per object", which is what counting needs.
 */
export interface DenseTargets {
  readonly colour: Uint8Array;
  readonly shape: Uint8Array;
  readonly centre: Uint8Array;
}

export function featureNetDenseTargets(scene: Scene, frames: number): DenseTargets {
  const s = SEGMENT_SIZE;
  const c = CENTRE_SIZE;
  const truth = sceneGroundTruth(scene, { height: s, width: s, frames, masks: true });
  const colour = new Uint8Array(frames * s * s);
  const shape = new Uint8Array(frames * s * s);
  const centre = new Uint8Array(frames * c * c);
  for (const { frame, objects } of truth.perFrame) {
    for (const o of objects) {
      const mask = o.mask!;
      for (let p = 0; p < s * s; p++) {
        if (!mask[p]) continue;
        colour[frame * s * s + p] = 1 + COLOUR_NAMES.indexOf(o.colour);
        shape[frame * s * s + p] = 1 + SHAPE_KINDS.indexOf(o.shape);
      }
      const cx = Math.min(c - 1, Math.max(0, Math.floor((o.centre.x / s) * c)));
      const cy = Math.min(c - 1, Math.max(0, Math.floor((o.centre.y / s) * c)));
      centre[frame * c * c + cy * c + cx] = 1;
    }
  }
  return { colour, shape, centre };
}
