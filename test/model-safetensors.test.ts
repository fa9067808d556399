import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_FORMAT, readCheckpoint, writeCheckpoint } from '../model/checkpoint.js';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  toFloat32,
  writeSafetensors,
} from '../model/safetensors.js';
import { Rng } from '../util/rng.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-safetensors-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A float32 array with awkward values: NaN with a payload, -0, infinities, a denormal. */
function awkwardFloats(n: number, seed: number): Float32Array {
  const out = new Rng(seed).normals(n);
  const bits = new Uint32Array(out.buffer);
  bits[0] = 0x7fc01234; // NaN with payload
  out[1] = -0;
  out[2] = Number.POSITIVE_INFINITY;
  out[3] = Number.NEGATIVE_INFINITY;
  bits[4] = 0x00000001; // smallest denormal
  return out;
}

function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Builds a file by hand from a header object and a data section. */
function handmade(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectInvalid(bytes: Uint8Array, message: RegExp): void {
  expect(() => decodeSafetensors(bytes, 'w.safetensors')).toThrow(
    expect.objectContaining({
      code: 'INVALID_WEIGHTS',
      path: 'w.safetensors',
      message: expect.stringMatching(message),
    }),
  );
}

describe('safetensors', () => {
  it('round-trips F32 and I32 tensors and metadata bit-exactly through a file', async () => {
    const a = awkwardFloats(24, 1);
    const b = new Int32Array([-2147483648, -1, 0, 1, 2147483647]);
    const scalar = new Float32Array([3.5]);
    const path = join(dir, 'round.safetensors');
    await writeSafetensors(
      path,
      new Map([
        ['layer.a', { shape: [2, 3, 4], data: a }],
        ['ids', { dtype: 'I32' as const, shape: [5], data: b }],
        ['scalar', { shape: [], data: scalar }],
        ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      ]),
      { note: 'hello', ünïcode: '✓' },
    );
    const file = await readSafetensors(path);
    expect([...file.tensors.keys()]).toEqual(['layer.a', 'ids', 'scalar', 'empty']);
    expect(file.metadata).toEqual({ note: 'hello', ünïcode: '✓' });
    const ra = file.tensors.get('layer.a')!;
    expect(ra.dtype).toBe('F32');
    expect(ra.shape).toEqual([2, 3, 4]);
    expect(sameBits(ra.data, a)).toBe(true);
    expect(file.tensors.get('ids')!.dtype).toBe('I32');
    expect(Array.from(file.tensors.get('ids')!.data)).toEqual(Array.from(b));
    expect(file.tensors.get('scalar')!.shape).toEqual([]);
    expect(file.tensors.get('empty')!.data.length).toBe(0);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('writes the standard layout: u64 LE header length, JSON header padded to 8, then data', () => {
    const bytes = encodeSafetensors({ w: { shape: [2], data: new Float32Array([1, -2]) } });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLength)).toString('utf8'));
    expect(header).toEqual({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } });
    expect(Array.from(bytes.subarray(8 + headerLength))).toEqual([0, 0, 128, 63, 0, 0, 0, 192]);
  });

  it('reads F16 and BF16 tensors written by other tools and converts them to float32', () => {
    // F16: 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf; BF16: 1, -0.5.
    const half = new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00]);
    const bf16 = new Uint16Array([0x3f80, 0xbf00]);
    const data = new Uint8Array(14);
    data.set(new Uint8Array(half.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 10);
    const bytes = handmade(
      {
        h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] },
        b: { dtype: 'BF16', shape: [2], data_offsets: [10, 14] },
      },
      data,
    );
    const file = decodeSafetensors(bytes);
    expect(Array.from(toFloat32(file.tensors.get('h')!))).toEqual([
      1,
      -2,
      65504,
      2 ** -24,
      Number.POSITIVE_INFINITY,
    ]);
    expect(Array.from(toFloat32(file.tensors.get('b')!))).toEqual([1, -0.5]);
  });

  it('rejects malformed files with INVALID_WEIGHTS naming the file and the defect', () => {
    const f32 = (n: number) => new Uint8Array(4 * n);
    const entry = (begin: number, end: number, shape = [(end - begin) / 4]) => ({
      dtype: 'F32',
      shape,
      data_offsets: [begin, end],
    });
    expectInvalid(new Uint8Array(5), /fewer than the 8-byte header length/);
    const tooLong = handmade({}, new Uint8Array(0));
    new DataView(tooLong.buffer).setBigUint64(0, 1000n, true);
    expectInvalid(tooLong, /header length 1000 exceeds the file/);
    expectInvalid(handmade(null, f32(0), '{"a":'), /not UTF-8 JSON/);
    expectInvalid(handmade([1], f32(0)), /not a JSON object/);
    expectInvalid(handmade({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, f32(2)), /dtype "F64"/);
    expectInvalid(handmade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)), /shape/);
    expectInvalid(handmade({ a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32(1)), /data_offsets/);
    expectInvalid(handmade({ a: entry(0, 8, [3]) }, f32(2)), /needs 12/);
    expectInvalid(
      handmade({ a: entry(0, 4), b: entry(8, 12) }, f32(3)),
      /bytes 4\.\.8 before tensor "b" belong to no tensor/,
    );
    expectInvalid(handmade({ a: entry(0, 8), b: entry(4, 8) }, f32(2)), /overlaps/);
    expectInvalid(handmade({ a: entry(0, 4) }, f32(2)), /4 trailing data bytes/);
    expectInvalid(handmade({ a: entry(0, 16) }, f32(2)), /truncated/);
    expectInvalid(handmade({ __metadata__: { a: 1 } }, f32(0)), /__metadata__\.a is not a string/);
    // A valid hand-made file with out-of-order offsets and metadata decodes in offset order.
    const ok = decodeSafetensors(
      handmade(
        { b: entry(4, 8), __metadata__: { k: 'v' }, a: entry(0, 4) },
        new Uint8Array(new Float32Array([1, 2]).buffer),
      ),
    );
    expect([...ok.tensors.keys()]).toEqual(['a', 'b']);
    expect(Array.from(ok.tensors.get('b')!.data)).toEqual([2]);
  });

  it('refuses to write inconsistent tensors (BAD_ARGUMENT) and reports missing files (FILE_NOT_FOUND)', async () => {
    expect(() => encodeSafetensors({ w: { shape: [3], data: new Float32Array(2) } })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT', path: 'w' }),
    );
    expect(() => encodeSafetensors({ __metadata__: { shape: [1], data: new Float32Array(1) } })).toThrow(
      expect.objectContaining({ code: 'BAD_ARGUMENT' }),
    );
    const missing = join(dir, 'nope.safetensors');
    await expect(readSafetensors(missing)).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', path: missing });
  });
});

describe('checkpoints', () => {
  it('write a set of arrays plus a JSON state atomically and read them back bit-exactly', async () => {
    const path = join(dir, 'step-100.ckpt.safetensors');
    const weights = awkwardFloats(1000, 2);
    const moment = new Float32Array(new Rng(3).normals(6));
    const rng = new Rng(42);
    rng.next();
    const state = {
      step: 100,
      rngState: rng.getState(),
      optimizer: { name: 'adamw', lr: 2e-4, betas: [0.9, 0.999], weightDecay: 0.01 },
      note: 'résumé',
    };
    await writeCheckpoint(
      path,
      new Map<string, Float32Array | { data: Float32Array; shape: number[] }>([
        ['params.w', weights],
        ['adam.m.w', { data: moment, shape: [2, 3] }],
      ]),
      state,
    );
    const back = await readCheckpoint<typeof state>(path);
    expect(back.state).toEqual(state);
    expect([...back.arrays.keys()]).toEqual(['params.w', 'adam.m.w']);
    expect(sameBits(back.arrays.get('params.w')!, weights)).toBe(true);
    expect(sameBits(back.arrays.get('adam.m.w')!, moment)).toBe(true);
    expect(back.shapes.get('adam.m.w')).toEqual([2, 3]);
    expect(back.shapes.get('params.w')).toEqual([1000]);
    expect(Rng.fromState(back.state.rngState).next()).toBe(rng.next());

    // Overwriting replaces the file in one rename and leaves no temp files.
    await writeCheckpoint(path, { 'params.w': new Float32Array([1]) }, { step: 101 });
    expect((await readCheckpoint(path)).state).toEqual({ step: 101 });
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('rejects non-checkpoint files, bad state and non-finite state numbers', async () => {
    const plain = join(dir, 'plain.safetensors');
    await writeSafetensors(plain, { w: { shape: [1], data: new Float32Array(1) } });
    await expect(readCheckpoint(plain)).rejects.toMatchObject({ code: 'INVALID_WEIGHTS', path: plain });
    const broken = join(dir, 'broken.safetensors');
    await writeSafetensors(
      broken,
      { w: { shape: [1], data: new Float32Array(1) } },
      { format: CHECKPOINT_FORMAT, state: '{' },
    );
    await expect(readCheckpoint(broken)).rejects.toMatchObject({ code: 'INVALID_WEIGHTS' });
    await expect(writeCheckpoint(join(dir, 'x.safetensors'), {}, { lr: Number.NaN })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
    });
    await writeFile(join(dir, 'garbage.safetensors'), 'not a safetensors file at all');
    await expect(readCheckpoint(join(dir, 'garbage.safetensors'))).rejects.toMatchObject({
      code: 'INVALID_WEIGHTS',
    });
  });
});
