/**
 * The named colours of the shapes domain. Eight well-separated sRGB colours, values in [0, 1].
 * Objects and backgrounds both draw from this palette; an object colour is only allowed on a
 * background when it is far (Euclidean RGB distance) from both background tones, so every object
 * stays visible and its colour stays nameable from pixels.
 */
export const COLOUR_NAMES = ['red', 'orange', 'yellow', 'green', 'cyan', 'blue', 'purple', 'white'] as const;

export type ColourName = (typeof COLOUR_NAMES)[number];

export type Rgb = readonly [number, number, number];

export const PALETTE: Readonly<Record<ColourName, Rgb>> = {
  red: [0.86, 0.12, 0.12],
  orange: [0.98, 0.5, 0.05],
  yellow: [0.95, 0.9, 0.15],
  green: [0.15, 0.7, 0.22],
  cyan: [0.1, 0.78, 0.86],
  blue: [0.14, 0.28, 0.9],
  purple: [0.58, 0.2, 0.8],
  white: [0.94, 0.94, 0.94],
};

/** Darker tone of a background (second stripe/checker colour, far end of a gradient). */
export const BACKGROUND_SHADE = 0.6;

/** Minimum RGB distance between an object colour and either background tone. */
export const MIN_OBJECT_BACKGROUND_DISTANCE = 0.55;

/** Outline colour of every object: near black, darker than any palette tone. */
export const OUTLINE_RGB: Rgb = [0.05, 0.05, 0.07];

export function isColourName(word: string): word is ColourName {
  return (COLOUR_NAMES as readonly string[]).includes(word);
}

export function colourDistance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

export function scaleRgb(c: Rgb, k: number): Rgb {
  return [c[0] * k, c[1] * k, c[2] * k];
}

/** The two tones of a background of colour `name`: the colour itself and its darker shade. */
export function backgroundTones(name: ColourName): readonly [Rgb, Rgb] {
  const c = PALETTE[name];
  return [c, scaleRgb(c, BACKGROUND_SHADE)];
}

/**
 * The second tone of an object's fill pattern: a step toward white for dark colours and toward
 * black for bright ones, so a 50/50 pattern averages to a colour still nearest its own name.
 */
export function patternTone(name: ColourName): Rgb {
  const c = PALETTE[name];
  const luma = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  const k = 0.3;
  return luma > 0.55
    ? [c[0] * (1 - k), c[1] * (1 - k), c[2] * (1 - k)]
    : [c[0] + (1 - c[0]) * k, c[1] + (1 - c[1]) * k, c[2] + (1 - c[2]) * k];
}

/** Object colours allowed on a background of colour `background` (palette order). */
export function objectColoursFor(background: ColourName): ColourName[] {
  const [a, b] = backgroundTones(background);
  return COLOUR_NAMES.filter(
    (name) =>
      colourDistance(PALETTE[name], a) >= MIN_OBJECT_BACKGROUND_DISTANCE &&
      colourDistance(PALETTE[name], b) >= MIN_OBJECT_BACKGROUND_DISTANCE,
  );
}

/** The palette colour nearest to an RGB value (for colour accuracy on generated pixels). */
export function nearestColour(rgb: Rgb): ColourName {
  let best: ColourName = COLOUR_NAMES[0];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of COLOUR_NAMES) {
    const d = colourDistance(PALETTE[name], rgb);
    if (d < bestDistance) {
      bestDistance = d;
      best = name;
    }
  }
  return best;
}
