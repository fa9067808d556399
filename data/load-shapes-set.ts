import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { CascadeError } from '../util/cascade-error.js';
import { type Clip, createClip } from './clip.js';
import { SHAPES_SPLITS, type ShapesSample } from './shapes-sample.js';
import {
  SHAPES_SET_END,
  SHAPES_SET_MAGIC,
  SHAPES_SET_VERSION,
  type ShapesSetHeader,
} from './shapes-set-format.js';
import { tokenizePrompt } from './tokenize-prompt.js';

/** A shapes set read from disk: clips stay uint8 until a sample is asked for. */
export interface LoadedShapesSet {
  readonly path: string;
  readonly header: ShapesSetHeader;
  readonly count: number;
  /** Sample i with its clip decoded to float [0, 1] (values k / 255). */
  sample(index: number): ShapesSample;
  samples(): IterableIterator<ShapesSample>;
  /** The uint8 frames of clip i, [frames, height, width, 3] (a view, not a copy). */
  clipBytes(index: number): Uint8Array;
}

/**
 * Reads a file written by saveShapesSet and validates it completely before returning: gzip
 * integrity, magic, version, header fields, exact payload length and the end magic. A missing
 * file throws FILE_NOT_FOUND; a truncated or corrupt one FOOTAGE_UNREADABLE naming the file,
 * what is wrong and that it should be exported again.
 */
export async function loadShapesSet(path: string): Promise<LoadedShapesSet> {
  let compressed: Buffer;
  try {
    compressed = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CascadeError(
        'FILE_NOT_FOUND',
        `shapes set ${path} does not exist; create it with \`cascade data export\``,
        {
          path,
          cause: error,
        },
      );
    }
    throw corrupt(path, `cannot be read (${(error as Error).message})`, error);
  }
  let body: Buffer;
  try {
    body = gunzipSync(compressed);
  } catch (error) {
    throw corrupt(
      path,
      `is not a complete gzip stream (${(error as Error).message}); the file is truncated or damaged`,
      error,
    );
  }
  if (body.length < 24 || body.toString('ascii', 0, 8) !== SHAPES_SET_MAGIC) {
    throw corrupt(path, `does not start with the "${SHAPES_SET_MAGIC}" magic; it is not a shapes set`);
  }
  const version = body.readUInt32LE(8);
  if (version !== SHAPES_SET_VERSION) {
    throw corrupt(path, `has format version ${version}; this build reads version ${SHAPES_SET_VERSION}`);
  }
  const headerLength = body.readUInt32LE(12);
  if (16 + headerLength > body.length)
    throw corrupt(path, `declares a ${headerLength}-byte header but holds ${body.length - 16} bytes`);
  let header: ShapesSetHeader;
  try {
    header = JSON.parse(body.toString('utf8', 16, 16 + headerLength)) as ShapesSetHeader;
  } catch (error) {
    throw corrupt(path, `has an unreadable JSON header (${(error as Error).message})`, error);
  }
  validateHeader(path, header);
  const dataStart = 16 + headerLength;
  const expected = dataStart + header.count * header.clipBytes + SHAPES_SET_END.length;
  if (body.length !== expected) {
    throw corrupt(
      path,
      `holds ${body.length} bytes after decompression, expected ${expected} for ${header.count} clips of ${header.clipBytes} bytes`,
    );
  }
  if (body.toString('ascii', body.length - SHAPES_SET_END.length) !== SHAPES_SET_END) {
    throw corrupt(path, `does not end with the "${SHAPES_SET_END}" magic`);
  }
  const frames = new Uint8Array(body.buffer, body.byteOffset + dataStart, header.count * header.clipBytes);
  const clipBytes = (index: number): Uint8Array => {
    if (!Number.isInteger(index) || index < 0 || index >= header.count) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `sample index ${index} is outside 0..${header.count - 1} of ${path}`,
        { path },
      );
    }
    return frames.subarray(index * header.clipBytes, (index + 1) * header.clipBytes);
  };
  const sample = (index: number): ShapesSample => {
    const item = header.items[index];
    const bytes = clipBytes(index);
    if (!item) throw corrupt(path, `has no header item ${index}`);
    return {
      index: item.index,
      seed: item.seed,
      scene: item.scene,
      prompt: item.prompt,
      tokens: tokenizePrompt(item.prompt),
      clip: bytesToClip(bytes, header.frames, header.height, header.width),
    };
  };
  return {
    path,
    header,
    count: header.count,
    sample,
    clipBytes,
    *samples() {
      for (let i = 0; i < header.count; i++) yield sample(i);
    },
  };
}

/** uint8 [frames, height, width, 3] -> float clip with values k / 255. */
export function bytesToClip(bytes: Uint8Array, frames: number, height: number, width: number): Clip {
  const data = new Float32Array(bytes.length);
  const inv = 1 / 255;
  for (let i = 0; i < bytes.length; i++) data[i] = bytes[i]! * inv;
  return createClip(frames, height, width, data);
}

function validateHeader(path: string, h: ShapesSetHeader): void {
  const positive = (name: keyof ShapesSetHeader): void => {
    const v = h[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw corrupt(path, `has header.${name} = ${String(v)}; expected a positive integer`);
  };
  if (h === null || typeof h !== 'object' || h.format !== 'shapes-set')
    throw corrupt(path, 'has a header that is not a shapes-set header');
  for (const name of ['count', 'height', 'width', 'frames', 'clipBytes'] as const) positive(name);
  if (!SHAPES_SPLITS.includes(h.split))
    throw corrupt(path, `has header.split = ${String(h.split)}; expected train or heldout`);
  if (h.clipBytes !== h.frames * h.height * h.width * 3) {
    throw corrupt(
      path,
      `has header.clipBytes = ${h.clipBytes}, but ${h.frames}x${h.height}x${h.width}x3 = ${h.frames * h.height * h.width * 3}`,
    );
  }
  if (!Array.isArray(h.items) || h.items.length !== h.count) {
    throw corrupt(
      path,
      `has ${Array.isArray(h.items) ? h.items.length : 'no'} header items for count ${h.count}`,
    );
  }
}

function corrupt(path: string, what: string, cause?: unknown): CascadeError {
  return new CascadeError(
    'FOOTAGE_UNREADABLE',
    `shapes set ${path} ${what}; export it again with \`cascade data export\``,
    {
      path,
      ...(cause === undefined ? {} : { cause }),
    },
  );
}
