import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadShapesSet } from '../data/load-shapes-set.js';
import { makeShapesSet, shapesSet } from '../data/make-shapes-set.js';
import { saveShapesSet } from '../data/save-shapes-set.js';
import { shapesSceneSeed } from '../data/shapes-sample.js';
import { shapesStream } from '../data/shapes-stream.js';
import { PROMPT_TOKENS } from '../data/vocabulary.js';
import { type CascadeError, isCascadeError } from '../util/cascade-error.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shapes-set-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<CascadeError> {
  try {
    await promise;
  } catch (error) {
    if (isCascadeError(error)) return error;
    throw error;
  }
  throw new Error('expected a CascadeError');
}

describe('shapes sets', () => {
  it('are reproducible and sized as asked', () => {
    const a = makeShapesSet({ seed: 3, count: 4, split: 'train', height: 16, width: 24, frames: 5 });
    const b = makeShapesSet({ seed: 3, count: 4, split: 'train', height: 16, width: 24, frames: 5 });
    expect(a.samples.map((s) => s.prompt)).toEqual(b.samples.map((s) => s.prompt));
    expect(a.aspect).toBeCloseTo(1.5);
    for (let i = 0; i < 4; i++) {
      const s = a.samples[i]!;
      expect([s.clip.frames, s.clip.height, s.clip.width]).toEqual([5, 16, 24]);
      expect(s.tokens.length).toBe(PROMPT_TOKENS);
      expect(s.clip.data).toEqual(b.samples[i]!.clip.data);
      expect(s.scene.aspect).toBeCloseTo(1.5);
    }
  });

  it('never share scene seeds between train and held-out splits', () => {
    const train = new Set<number>();
    for (let seed = 0; seed < 4; seed++) {
      for (let i = 0; i < 2000; i++) {
        train.add(shapesSceneSeed(seed, 'train', i));
        train.add(shapesSceneSeed(seed, 'train', i, 'stream'));
      }
    }
    for (let seed = 0; seed < 4; seed++) {
      for (let i = 0; i < 2000; i++) expect(train.has(shapesSceneSeed(seed, 'heldout', i))).toBe(false);
    }
    const heldout = shapesSet({ seed: 1, count: 50, split: 'heldout' });
    const trainSet = shapesSet({ seed: 1, count: 50, split: 'train' });
    const trainSeeds = new Set(trainSet.entries.map((e) => e.seed));
    expect(heldout.entries.some((e) => trainSeeds.has(e.seed))).toBe(false);
  });

  it('stream endlessly and resume exactly at startIndex', () => {
    const stream = shapesStream(9, { frames: 4 });
    const first = Array.from({ length: 5 }, () => stream.next().value);
    const resumed = shapesStream(9, { frames: 4, startIndex: 3 }).next().value;
    expect(resumed.index).toBe(3);
    expect(resumed.prompt).toBe(first[3]!.prompt);
    expect(resumed.clip.data).toEqual(first[3]!.clip.data);
    expect(new Set(first.map((s) => s.seed)).size).toBe(5);
    expect(first.every((s) => s.seed % 2 === 0)).toBe(true);
  });

  it('round-trip through the file format (uint8 quantised)', async () => {
    const set = makeShapesSet({ seed: 5, count: 3, split: 'heldout', height: 32, frames: 4 });
    const path = join(dir, 'heldout.shapes.gz');
    const { bytes } = await saveShapesSet(path, set);
    expect(bytes).toBeGreaterThan(100);
    const loaded = await loadShapesSet(path);
    expect(loaded.count).toBe(3);
    expect(loaded.header).toMatchObject({
      split: 'heldout',
      seed: 5,
      height: 32,
      width: 32,
      frames: 4,
      version: 1,
    });
    for (let i = 0; i < 3; i++) {
      const original = set.samples[i]!;
      const back = loaded.sample(i);
      expect(back.prompt).toBe(original.prompt);
      expect(back.tokens).toEqual(original.tokens);
      expect(back.scene).toEqual(original.scene);
      let worst = 0;
      for (let k = 0; k < original.clip.data.length; k++)
        worst = Math.max(worst, Math.abs(back.clip.data[k]! - original.clip.data[k]!));
      expect(worst).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    }
    expect([...loaded.samples()].map((s) => s.index)).toEqual([0, 1, 2]);
  });

  it('stream a lazy set to disk without holding it', async () => {
    const path = join(dir, 'lazy.shapes.gz');
    await saveShapesSet(path, shapesSet({ seed: 2, count: 5, split: 'train', height: 16, frames: 3 }));
    const loaded = await loadShapesSet(path);
    expect(loaded.count).toBe(5);
    expect(loaded.clipBytes(4).length).toBe(3 * 16 * 16 * 3);
  });

  it('fail clearly on missing, truncated and corrupt files', async () => {
    const missing = await rejection(loadShapesSet(join(dir, 'nope.shapes.gz')));
    expect(missing.code).toBe('FILE_NOT_FOUND');

    const path = join(dir, 'good.shapes.gz');
    await saveShapesSet(path, shapesSet({ seed: 1, count: 2, split: 'train', height: 16, frames: 2 }));
    const good = await readFile(path);

    const truncatedPath = join(dir, 'truncated.shapes.gz');
    await writeFile(truncatedPath, good.subarray(0, Math.floor(good.length * 0.6)));
    const truncated = await rejection(loadShapesSet(truncatedPath));
    expect(truncated.code).toBe('FOOTAGE_UNREADABLE');
    expect(truncated.message).toContain(truncatedPath);
    expect(truncated.message).toContain('truncated');

    const flipped = Buffer.from(good);
    flipped[Math.floor(flipped.length / 2)]! ^= 0xff;
    const flippedPath = join(dir, 'flipped.shapes.gz');
    await writeFile(flippedPath, flipped);
    expect((await rejection(loadShapesSet(flippedPath))).code).toBe('FOOTAGE_UNREADABLE');

    const notSet = join(dir, 'other.shapes.gz');
    await writeFile(notSet, gzipSync(Buffer.from('hello world, this is not a shapes set at all')));
    expect((await rejection(loadShapesSet(notSet))).message).toContain('SHAPESET');

    // A well-formed gzip holding a set whose payload lost its last clip bytes.
    const { gunzipSync } = await import('node:zlib');
    const body = gunzipSync(good);
    const short = join(dir, 'short.shapes.gz');
    await writeFile(
      short,
      gzipSync(Buffer.concat([body.subarray(0, body.length - 100), body.subarray(body.length - 8)])),
    );
    expect((await rejection(loadShapesSet(short))).message).toMatch(/expected \d+ for 2 clips/);
  });

  it('validate set options', () => {
    expect(() => makeShapesSet({ seed: 1, count: 0, split: 'train' })).toThrow(/count is 0/);
    expect(() => makeShapesSet({ seed: 1, count: 1, split: 'test' as 'train' })).toThrow(/split is "test"/);
  });
});
