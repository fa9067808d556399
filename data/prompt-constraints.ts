import type { ColourName } from './palette.js';
import type { BackgroundKind, Scene, ShapeKind } from './scene.js';

/** What a prompt says about a scene: grouped objects (first-appearance order) and the background. */
export interface PromptConstraints {
  readonly objects: readonly {
    readonly count: number;
    readonly colour: ColourName;
    readonly shape: ShapeKind;
  }[];
  readonly background: { readonly kind: BackgroundKind; readonly colour: ColourName };
}

/** The constraints a scene satisfies: objects with the same colour and shape form one group. */
export function sceneConstraints(scene: Scene): PromptConstraints {
  const groups: { count: number; colour: ColourName; shape: ShapeKind }[] = [];
  for (const o of scene.objects) {
    const g = groups.find((x) => x.colour === o.colour && x.shape === o.shape);
    if (g) g.count += 1;
    else groups.push({ count: 1, colour: o.colour, shape: o.shape });
  }
  return { objects: groups, background: { kind: scene.background.kind, colour: scene.background.colour } };
}

/** Same background and the same multiset of (colour, shape, count) groups, in any order. */
export function sameConstraints(a: PromptConstraints, b: PromptConstraints): boolean {
  if (a.background.kind !== b.background.kind || a.background.colour !== b.background.colour) return false;
  const key = (c: PromptConstraints): string =>
    c.objects
      .map((g) => `${g.count} ${g.colour} ${g.shape}`)
      .sort()
      .join('|');
  return key(a) === key(b);
}

/** Total number of objects the constraints ask for. */
export function constraintObjectCount(c: PromptConstraints): number {
  return c.objects.reduce((n, g) => n + g.count, 0);
}
