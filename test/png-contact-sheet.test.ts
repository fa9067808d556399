import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drawText, GLYPH_HEIGHT, measureText } from '../codecs/bitmap-font.js';
import { contactSheet, evenlySpaced, writeContactSheet } from '../codecs/contact-sheet.js';
import { decodePng, type RgbImage } from '../codecs/write-png.js';
import { type Clip, createClip } from '../data/clip.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sheet-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A clip whose frame t is a flat grey of value t / (frames - 1), with a white top-left pixel. */
function rampClip(frames: number, size: number): Clip {
  const clip = createClip(frames, size, size);
  for (let t = 0; t < frames; t++) {
    const v = frames > 1 ? t / (frames - 1) : 0;
    clip.data.fill(v, t * size * size * 3, (t + 1) * size * size * 3);
    clip.data.fill(1, t * size * size * 3, t * size * size * 3 + 3);
  }
  return clip;
}

function pixel(image: RgbImage, x: number, y: number): number[] {
  const o = 3 * (y * image.width + x);
  return [image.data[o]!, image.data[o + 1]!, image.data[o + 2]!];
}

describe('bitmap font', () => {
  it('draws every printable ASCII glyph, each distinct, and clips at the image edge', () => {
    const seen = new Set<string>();
    for (let code = 33; code < 127; code++) {
      const image: RgbImage = { width: 6, height: GLYPH_HEIGHT, data: new Uint8Array(6 * GLYPH_HEIGHT * 3) };
      drawText(image, String.fromCharCode(code), 0, 0);
      const bits = [...image.data].map((v) => (v > 0 ? 1 : 0)).join('');
      expect(bits).toContain('1');
      seen.add(bits);
    }
    expect(seen.size).toBe(94);
    const tiny: RgbImage = { width: 3, height: 3, data: new Uint8Array(27) };
    drawText(tiny, 'WWW', -2, -2, { scale: 2 });
    expect(measureText('abc', 2)).toEqual({ width: (3 * 6 - 1) * 2, height: GLYPH_HEIGHT * 2 });
  });
});

describe('contactSheet', () => {
  it('picks evenly spaced frames including the first and last', () => {
    expect(evenlySpaced(16, 4)).toEqual([0, 5, 10, 15]);
    expect(evenlySpaced(16, 1)).toEqual([0]);
    expect(evenlySpaced(3, 3)).toEqual([0, 1, 2]);
  });

  it('shows small clips enlarged by an integer factor with nearest sampling', () => {
    const image = contactSheet([rampClip(5, 8)], { framesPerClip: 5, cellHeight: 32 });
    // 8 px clips are enlarged 4x: 5 frames of 32 px, 4 gaps of 2 px, 6 px margins.
    expect(image.width).toBe(6 + 5 * 32 + 4 * 2 + 6);
    expect(image.height).toBe(6 + 32 + 6);
    // The white top-left pixel of frame 0 covers a 4x4 block; the frame is black elsewhere.
    expect(pixel(image, 6, 6)).toEqual([255, 255, 255]);
    expect(pixel(image, 9, 9)).toEqual([255, 255, 255]);
    expect(pixel(image, 10, 10)).toEqual([0, 0, 0]);
    // Last frame (t = 4) is white; the middle one (t = 2) mid grey.
    expect(pixel(image, 6 + 4 * 34 + 20, 20)).toEqual([255, 255, 255]);
    expect(pixel(image, 6 + 2 * 34 + 20, 20)).toEqual([128, 128, 128]);
  });

  it('puts a legible label above each row and lines up clips of different sizes', () => {
    const rows = [[rampClip(4, 16), rampClip(4, 32), rampClip(4, 64)], rampClip(4, 16)];
    const image = contactSheet(rows, { framesPerClip: 2, labels: ['scales 16 32 64', 'second'] });
    // Every clip is brought to 64 px tall (16 x4, 32 x2, 64 x1).
    const labelHeight = GLYPH_HEIGHT + 3;
    expect(image.height).toBe(6 + (labelHeight + 64) * 2 + 8 + 6);
    // Label text pixels are light; the label strip has some.
    let lit = 0;
    for (let y = 6; y < 6 + GLYPH_HEIGHT; y++)
      for (let x = 6; x < 6 + measureText('scales').width; x++) if (pixel(image, x, y)[0]! > 200) lit++;
    expect(lit).toBeGreaterThan(20);
    // Third clip of row 0 starts after two clips of 2 frames (64 + 2 + 64 px each) and two 10 px gaps.
    const x3 = 6 + 2 * (64 + 2 + 64) + 2 * 10;
    expect(pixel(image, x3, 6 + labelHeight)).toEqual([255, 255, 255]);
    expect(pixel(image, x3 + 1, 6 + labelHeight + 1)).toEqual([0, 0, 0]);
  });

  it('writes a PNG and validates options', async () => {
    const path = join(dir, 'sheet.png');
    const size = await writeContactSheet(path, [rampClip(3, 8)], { labels: ['x'], scale: 2 });
    const image = decodePng(await readFile(path));
    expect([image.width, image.height]).toEqual([size.width, size.height]);
    expect(() => contactSheet([])).toThrow(/at least one clip/);
    expect(() => contactSheet([rampClip(2, 4)], { framesPerClip: 0 })).toThrow(/framesPerClip/);
    expect(() => contactSheet([rampClip(2, 4)], { labels: ['a', 'b'] })).toThrow(/2 labels for 1 rows/);
  });
});
