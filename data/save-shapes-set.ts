import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { CascadeError } from '../util/cascade-error.js';
import type { Clip } from './clip.js';
import type { ShapesSet } from './make-shapes-set.js';
import {
  SHAPES_SET_END,
  SHAPES_SET_MAGIC,
  SHAPES_SET_VERSION,
  type ShapesSetHeader,
} from './shapes-set-format.js';

/**
 * Writes a shapes set in the format of shapes-set-format.ts. Samples are consumed one at a time
 * (a lazy `shapesSet` is rendered while it is written, so big sets never sit in memory), the
 * output goes through gzip to a temporary file that is renamed into place when complete.
 * The header (scenes, prompts) comes from `set.entries`.
 */
export async function saveShapesSet(path: string, set: ShapesSet): Promise<{ bytes: number }> {
  const clipBytes = set.frames * set.height * set.width * 3;
  const items = set.entries;
  if (items.length !== set.count) {
    throw new CascadeError(
      'INTERNAL',
      `shapes set declares ${set.count} samples but has ${items.length} entries`,
    );
  }
  const header: ShapesSetHeader = {
    format: 'shapes-set',
    version: SHAPES_SET_VERSION,
    split: set.split,
    seed: set.seed,
    count: set.count,
    height: set.height,
    width: set.width,
    frames: set.frames,
    aspect: set.aspect,
    clipBytes,
    items: items.map(({ index, seed, prompt, scene }) => ({ index, seed, prompt, scene })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(16);
  preamble.write(SHAPES_SET_MAGIC, 0, 'ascii');
  preamble.writeUInt32LE(SHAPES_SET_VERSION, 8);
  preamble.writeUInt32LE(json.length, 12);

  async function* body(): AsyncGenerator<Uint8Array> {
    yield preamble;
    yield json;
    let n = 0;
    for (const sample of set.samples) {
      const clip = sample.clip;
      if (clip.frames !== set.frames || clip.height !== set.height || clip.width !== set.width) {
        throw new CascadeError(
          'INTERNAL',
          `sample ${sample.index} is ${clip.frames}x${clip.height}x${clip.width}, the set is ${set.frames}x${set.height}x${set.width}`,
        );
      }
      if (sample.seed !== items[n]?.seed) {
        throw new CascadeError(
          'INTERNAL',
          `sample ${n} has seed ${sample.seed}, its entry ${items[n]?.seed}`,
        );
      }
      yield clipToBytes(clip);
      n++;
    }
    if (n !== set.count)
      throw new CascadeError('INTERNAL', `shapes set yielded ${n} samples, expected ${set.count}`);
    yield Buffer.from(SHAPES_SET_END, 'ascii');
  }

  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await pipeline(Readable.from(body()), createGzip({ level: 6 }), createWriteStream(temp));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { bytes: (await stat(path)).size };
}

/** Float [0, 1] clip -> uint8 bytes, rounded and clamped. */
export function clipToBytes(clip: Clip): Uint8Array {
  const out = new Uint8Array(clip.data.length);
  const d = clip.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    out[i] = v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255);
  }
  return out;
}
