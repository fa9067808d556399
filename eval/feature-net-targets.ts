import { COLOUR_NAMES } from '../data/palette.js';
import { BACKGROUND_KINDS, type Scene, SHAPE_KINDS } from '../data/scene.js';

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
