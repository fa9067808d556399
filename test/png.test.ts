import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32, decodePng, encodePng, PNG_SIGNATURE, type RgbImage, writePng } from '../codecs/write-png.js';
import { isCascadeError } from '../util/cascade-error.js';
import { Rng } from '../util/rng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'png-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function randomImage(width: number, height: number, seed: number): RgbImage {
  const rng = new Rng(seed);
  const data = new Uint8Array(width * height * 3);
  // Half smooth gradient, half noise: exercises every filter type.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width * 3; x++)
      data[y * width * 3 + x] = y < height / 2 ? (x * 7 + y * 3) & 0xff : rng.int(256);
  }
  return { width, height, data };
}

describe('PNG', () => {
  it('computes the standard CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('round-trips RGB images of odd sizes', () => {
    for (const [w, h] of [
      [1, 1],
      [3, 7],
      [64, 33],
    ] as const) {
      const image = randomImage(w, h, w * 100 + h);
      const png = encodePng(image);
      expect([...png.subarray(0, 8)]).toEqual([...PNG_SIGNATURE]);
      const back = decodePng(png);
      expect([back.width, back.height]).toEqual([w, h]);
      expect(back.data).toEqual(image.data);
    }
  });

  it('decodes greyscale and RGBA images written by another encoder layout', () => {
    // Hand-built 2x1 RGBA PNG with filter 0 rows.
    const raw = Uint8Array.from([0, 10, 20, 30, 255, 40, 50, 60, 128]);
    const ihdr = new Uint8Array(13);
    new DataView(ihdr.buffer).setUint32(0, 2);
    new DataView(ihdr.buffer).setUint32(4, 1);
    ihdr[8] = 8;
    ihdr[9] = 6;
    const chunk = (type: string, body: Uint8Array): Uint8Array => {
      const out = new Uint8Array(12 + body.length);
      const view = new DataView(out.buffer);
      view.setUint32(0, body.length);
      out.set(new TextEncoder().encode(type), 4);
      out.set(body, 8);
      view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
      return out;
    };
    const png = Buffer.concat([
      PNG_SIGNATURE,
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', new Uint8Array()),
    ]);
    expect(decodePng(png)).toEqual({ width: 2, height: 1, data: Uint8Array.from([10, 20, 30, 40, 50, 60]) });
  });

  it('rejects corrupt data with a clear error', () => {
    const png = encodePng(randomImage(8, 8, 1));
    const bad = Uint8Array.from(png);
    bad[40]! ^= 0xff;
    for (const [bytes, why] of [
      [bad, /CRC mismatch/],
      [png.subarray(0, png.length - 20), /truncated|IEND/],
      [Uint8Array.from([1, 2, 3]), /signature/],
    ] as const) {
      let error: unknown;
      try {
        decodePng(bytes, 'test.png');
      } catch (e) {
        error = e;
      }
      expect(isCascadeError(error, 'FOOTAGE_UNREADABLE')).toBe(true);
      expect((error as Error).message).toMatch(why);
    }
    expect(() => encodePng({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(/expected 2x2x3 = 12/);
  });

  it('writes files atomically that ffprobe reads as 8-bit RGB PNG', async () => {
    const path = join(dir, 'image.png');
    const image = randomImage(40, 30, 5);
    await writePng(path, image);
    expect(await readdir(dir)).toEqual(['image.png']);
    expect(decodePng(await readFile(path)).data).toEqual(image.data);
    const ffprobe = (createRequire(import.meta.url)('@ffprobe-installer/ffprobe') as { path: string }).path;
    const { stdout } = await promisify(execFile)(ffprobe, [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,width,height,pix_fmt',
      '-of',
      'json',
      path,
    ]);
    expect(JSON.parse(stdout).streams[0]).toEqual({
      codec_name: 'png',
      width: 40,
      height: 30,
      pix_fmt: 'rgb24',
    });
  });
});
