import { objectCentre } from './object-centre.js';
import { type ColourName, PALETTE, type Rgb } from './palette.js';
import { type PromptConstraints, sceneConstraints } from './prompt-constraints.js';
import type { BackgroundKind, Scene, ShapeKind } from './scene.js';
import { shapeCode, shapeDistanceByCode, shapeExtent } from './shape-distance.js';

export interface GroundTruthOptions {
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  /** Also return a per-object mask per frame (pixel centre inside the shape). Default false. */
  readonly masks?: boolean;
}

/** Pixel-space box: x to the right, y down, pixel i covering [i, i + 1). */
export interface PixelBox {
  /** Exact shape bounds in pixel units (not rounded). */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  /** Inclusive integer range of pixels the shape touches, clipped to the frame. */
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

export interface ObjectTruth {
  /** Index into scene.objects (stable over frames). */
  readonly index: number;
  readonly shape: ShapeKind;
  readonly colour: ColourName;
  readonly rgb: Rgb;
  /** Centre in pixel units. */
  readonly centre: { readonly x: number; readonly y: number };
  readonly box: PixelBox;
  /** [height, width], 1 where the pixel centre lies inside the shape (outline included). */
  readonly mask?: Uint8Array;
}

export interface SceneGroundTruth {
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  readonly background: { readonly kind: BackgroundKind; readonly colour: ColourName; readonly rgb: Rgb };
  /** The grouped objects a correct generation must show (what the prompt says). */
  readonly constraints: PromptConstraints;
  readonly objectCount: number;
  /** perFrame[t].objects[k] is object k at frame t. */
  readonly perFrame: readonly { readonly frame: number; readonly objects: readonly ObjectTruth[] }[];
}

/** Per-frame ground truth of a scene rendered at a size: boxes, shapes, colours, background. */
export function sceneGroundTruth(scene: Scene, options: GroundTruthOptions): SceneGroundTruth {
  const { height, width, frames } = options;
  const sx = width / scene.aspect;
  const sy = height;
  const perFrame = [];
  for (let t = 0; t < frames; t++) {
    const objects: ObjectTruth[] = scene.objects.map((o, index) => {
      const c = objectCentre(o, t, scene.aspect);
      const [ex, ey] = shapeExtent(o.shape);
      const x0 = (c.x - ex * o.size) * sx;
      const x1 = (c.x + ex * o.size) * sx;
      const y0 = (c.y - ey * o.size) * sy;
      const y1 = (c.y + ey * o.size) * sy;
      const box: PixelBox = {
        x0,
        y0,
        x1,
        y1,
        left: clamp(Math.floor(x0), 0, width - 1),
        top: clamp(Math.floor(y0), 0, height - 1),
        right: clamp(Math.ceil(x1) - 1, 0, width - 1),
        bottom: clamp(Math.ceil(y1) - 1, 0, height - 1),
      };
      const truth: ObjectTruth = {
        index,
        shape: o.shape,
        colour: o.colour,
        rgb: PALETTE[o.colour],
        centre: { x: c.x * sx, y: c.y * sy },
        box,
      };
      if (!options.masks) return truth;
      const mask = new Uint8Array(height * width);
      const code = shapeCode(o.shape);
      for (let j = box.top; j <= box.bottom; j++) {
        for (let i = box.left; i <= box.right; i++) {
          if (shapeDistanceByCode(code, (i + 0.5) / sx - c.x, (j + 0.5) / sy - c.y, o.size) <= 0)
            mask[j * width + i] = 1;
        }
      }
      return { ...truth, mask };
    });
    perFrame.push({ frame: t, objects });
  }
  const bg = scene.background;
  return {
    height,
    width,
    frames,
    background: { kind: bg.kind, colour: bg.colour, rgb: PALETTE[bg.colour] },
    constraints: sceneConstraints(scene),
    objectCount: scene.objects.length,
    perFrame,
  };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : Math.min(v, hi);
}
