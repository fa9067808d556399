import { deflateSync, inflateSync } from 'node:zlib';
import { CascadeError } from '../util/cascade-error.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';

/** An 8-bit RGB image, row-major [height, width, 3]. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export const PNG_SIGNATURE: Uint8Array = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Encodes an RGB image as a PNG (8-bit truecolour, non-interlaced). Each row gets the PNG filter
 * (None, Sub, Up, Average, Paeth) with the smallest sum of absolute filtered bytes, the usual
 * heuristic that makes flat synthetic images compress well.
 */
export function encodePng(image: RgbImage): Uint8Array {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `PNG size ${width}x${height} is invalid; expected positive integers`,
    );
  }
  if (data.length !== width * height * 3) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `PNG data has ${data.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`,
    );
  }
  const stride = width * 3;
  const filtered = new Uint8Array(height * (stride + 1));
  const candidates = Array.from({ length: 5 }, () => new Uint8Array(stride));
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? data.subarray((y - 1) * stride, y * stride) : zero;
    let best = 0;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let f = 0; f < 5; f++) {
      const out = candidates[f]!;
      let score = 0;
      for (let i = 0; i < stride; i++) {
        const a = i >= 3 ? row[i - 3]! : 0;
        const b = up[i]!;
        const c = i >= 3 ? up[i - 3]! : 0;
        const predictor = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, c);
        const v = (row[i]! - predictor) & 0xff;
        out[i] = v;
        score += v < 128 ? v : 256 - v;
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    filtered[y * (stride + 1)] = best;
    filtered.set(candidates[best]!, y * (stride + 1) + 1);
  }
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  // compression 0, filter method 0, interlace 0
  const chunks = [
    chunk('IHDR', ihdr),
    chunk('IDAT', new Uint8Array(deflateSync(filtered, { level: 9 }))),
    chunk('IEND', new Uint8Array(0)),
  ];
  const total = PNG_SIGNATURE.length + chunks.reduce((n, c) => n + c.length, 0);
  const png = new Uint8Array(total);
  png.set(PNG_SIGNATURE, 0);
  let offset = PNG_SIGNATURE.length;
  for (const c of chunks) {
    png.set(c, offset);
    offset += c.length;
  }
  return png;
}

/** Encodes and writes a PNG atomically (temporary name, then rename). */
export async function writePng(path: string, image: RgbImage): Promise<void> {
  await writeFileAtomic(path, encodePng(image));
}

/**
 * Decodes an 8-bit, non-interlaced PNG (greyscale, RGB or RGBA; alpha is dropped) to RGB.
 * Checks the signature and every chunk CRC. Throws CascadeError('FOOTAGE_UNREADABLE') otherwise.
 */
export function decodePng(bytes: Uint8Array, source = 'PNG data'): RgbImage {
  const fail = (why: string): never => {
    throw new CascadeError('FOOTAGE_UNREADABLE', `${source} is not a readable PNG: ${why}`, { path: source });
  };
  if (bytes.length < 8 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) fail('missing PNG signature');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let colourType = -1;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset < bytes.length && !ended) {
    if (offset + 12 > bytes.length) fail(`truncated chunk header at byte ${offset}`);
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    if (offset + 12 + length > bytes.length) fail(`chunk ${type} at byte ${offset} is truncated`);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    const crc = view.getUint32(offset + 8 + length);
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== crc)
      fail(`CRC mismatch in chunk ${type} at byte ${offset}`);
    if (type === 'IHDR') {
      const h = new DataView(body.buffer, body.byteOffset, body.byteLength);
      width = h.getUint32(0);
      height = h.getUint32(4);
      const depth = body[8];
      colourType = body[9] ?? -1;
      if (depth !== 8) fail(`bit depth ${depth} (only 8 is supported)`);
      if (colourType !== 0 && colourType !== 2 && colourType !== 6)
        fail(`colour type ${colourType} (only 0, 2, 6)`);
      if (body[12] !== 0) fail('interlaced images are not supported');
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      ended = true;
    }
    offset += 12 + length;
  }
  if (!ended) fail('no IEND chunk (file truncated?)');
  if (width < 1 || height < 1) fail('no IHDR chunk');
  const channels = colourType === 0 ? 1 : colourType === 2 ? 3 : 4;
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  } catch (error) {
    return fail(`image data does not inflate (${(error as Error).message})`);
  }
  const stride = width * channels;
  if (raw.length !== height * (stride + 1))
    fail(`image data has ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    if (filter > 4) fail(`unknown filter ${filter} on row ${y}`);
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[dst + i - channels]! : 0;
      const b = y > 0 ? pixels[dst - stride + i]! : 0;
      const c = y > 0 && i >= channels ? pixels[dst - stride + i - channels]! : 0;
      const predictor =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      pixels[dst + i] = (raw[src + i]! + predictor) & 0xff;
    }
  }
  if (channels === 3) return { width, height, data: pixels };
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < 3; k++) rgb[3 * p + k] = pixels[p * channels + (channels === 1 ? 0 : k)]!;
  }
  return { width, height, data: rgb };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO-HDLC, the PNG and gzip polynomial) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
