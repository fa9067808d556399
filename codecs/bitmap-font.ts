import type { RgbImage } from './write-png.js';

/**
 * A built-in 5x7 bitmap font (plus one descender row) for labels on contact sheets, covering
 * printable ASCII 32..126. Each glyph is 8 rows of 5 bits written as 16 hex digits, two per
 * row, top row first; bit 4 is the leftmost column. Characters outside the range draw as '?'.
 */
const GLYPHS: readonly string[] = [
  '0000000000000000',
  '0404040404000400',
  '0a0a0a0000000000',
  '0a0a1f0a1f0a0a00',
  '040f140e051e0400',
  '1819020408130300',
  '0c12140815120d00',
  '0404080000000000',
  '0204080808040200',
  '0804020202040800',
  '0004150e15040000',
  '0004041f04040000',
  '0000000000060408',
  '0000001f00000000',
  '00000000000c0c00',
  '0101020408101000',
  '0e11131519110e00',
  '040c040404040e00',
  '0e11010204081f00',
  '1f02040201110e00',
  '02060a121f020200',
  '1f101e0101110e00',
  '0608101e11110e00',
  '1f01020408080800',
  '0e11110e11110e00',
  '0e11110f01020c00',
  '000c0c000c0c0000',
  '000c0c000c040800',
  '0204081008040200',
  '00001f001f000000',
  '0804020102040800',
  '0e11010204000400',
  '0e11010d15150e00',
  '0e11111f11111100',
  '1e11111e11111e00',
  '0e11101010110e00',
  '1c12111111121c00',
  '1f10101e10101f00',
  '1f10101e10101000',
  '0e11101711110f00',
  '1111111f11111100',
  '0e04040404040e00',
  '0702020202120c00',
  '1112141814121100',
  '1010101010101f00',
  '111b151511111100',
  '1111191513111100',
  '0e11111111110e00',
  '1e11111e10101000',
  '0e11111115120d00',
  '1e11111e14121100',
  '0f10100e01011e00',
  '1f04040404040400',
  '1111111111110e00',
  '11111111110a0400',
  '1111111515150a00',
  '11110a040a111100',
  '11110a0404040400',
  '1f01020408101f00',
  '0e08080808080e00',
  '1010080402010100',
  '0e02020202020e00',
  '040a110000000000',
  '0000000000001f00',
  '0804000000000000',
  '00000e010f110f00',
  '1010161911111e00',
  '00000e1010110e00',
  '01010d1311110f00',
  '00000e111f100e00',
  '0609081c08080800',
  '00000f11110f010e',
  '1010161911111100',
  '04000c0404040e00',
  '020006020202120c',
  '1010121418141200',
  '0c04040404040e00',
  '00001a1515111100',
  '0000161911111100',
  '00000e1111110e00',
  '00001e11111e1010',
  '00000f11110f0101',
  '0000161910101000',
  '00000f100e011e00',
  '08081c0808090600',
  '0000111111130d00',
  '00001111110a0400',
  '0000111115150a00',
  '0000110a040a1100',
  '00001111110f010e',
  '00001f0204081f00',
  '0204040804040200',
  '0404040404040400',
  '0804040204040800',
  '0000081502000000',
];

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 8;
/** Horizontal advance per character in font pixels (glyph + 1 column of spacing). */
export const GLYPH_ADVANCE = 6;

export interface DrawTextOptions {
  /** Integer upscaling of the font pixels (default 1). */
  readonly scale?: number;
  /** Text colour, 0..255 RGB (default white). */
  readonly colour?: readonly [number, number, number];
}

/** Width and height in image pixels that `text` takes at `scale`. */
export function measureText(text: string, scale = 1): { width: number; height: number } {
  const n = text.length;
  return { width: n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * scale, height: GLYPH_HEIGHT * scale };
}

/** Draws `text` with its top-left corner at (x, y); pixels outside the image are clipped. */
export function drawText(
  image: RgbImage,
  text: string,
  x: number,
  y: number,
  options: DrawTextOptions = {},
): void {
  const scale = options.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 1)
    throw new RangeError(`font scale must be a positive integer, got ${scale}`);
  const [r, g, b] = options.colour ?? [255, 255, 255];
  const { width, height, data } = image;
  for (let n = 0; n < text.length; n++) {
    const code = text.charCodeAt(n);
    const glyph = GLYPHS[code >= 32 && code <= 126 ? code - 32 : 63 - 32]!;
    const gx = x + n * GLYPH_ADVANCE * scale;
    for (let row = 0; row < GLYPH_HEIGHT; row++) {
      const bits = Number.parseInt(glyph.slice(2 * row, 2 * row + 2), 16);
      if (bits === 0) continue;
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        if (((bits >> (GLYPH_WIDTH - 1 - col)) & 1) === 0) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + row * scale + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = gx + col * scale + dx;
            if (px < 0 || px >= width) continue;
            const o = 3 * (py * width + px);
            data[o] = r;
            data[o + 1] = g;
            data[o + 2] = b;
          }
        }
      }
    }
  }
}
