import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dataCommand } from '../cli/commands/data.js';
import { decodePng } from '../codecs/write-png.js';
import { loadShapesSet } from '../data/load-shapes-set.js';
import { type CascadeError, isCascadeError } from '../util/cascade-error.js';

let dir: string;
let stdout: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cascade-data-'));
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
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

describe('cascade data', () => {
  it('preview writes a contact sheet of the same scenes at several scales', async () => {
    const out = join(dir, 'preview.png');
    expect(
      await dataCommand([
        'preview',
        '--count',
        '2',
        '--scales',
        '1,2',
        '--per-clip',
        '2',
        '--frames',
        '4',
        '--out',
        out,
      ]),
    ).toBe(0);
    const image = decodePng(await readFile(out));
    // Two rows; each row: 2 frames of a 32x32 clip shown at 64 and 2 frames of the 64x64 clip.
    expect(image.width).toBeGreaterThanOrEqual(4 * 64);
    expect(image.height).toBeGreaterThanOrEqual(2 * 64);
    expect(stdout.join('')).toContain('32x32, 64x64');
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('export writes a loadable set, a summary and a preview', async () => {
    const out = join(dir, 'set');
    expect(
      await dataCommand([
        'export',
        '--out',
        out,
        '--count',
        '3',
        '--split',
        'heldout',
        '--size',
        '16x32',
        '--frames',
        '2',
        '--seed',
        '4',
      ]),
    ).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['heldout-preview.png', 'heldout.json', 'heldout.shapes.gz']);
    const summary = JSON.parse(await readFile(join(out, 'heldout.json'), 'utf8'));
    expect(summary).toMatchObject({ count: 3, split: 'heldout', seed: 4, height: 16, width: 32, frames: 2 });
    const set = await loadShapesSet(join(out, 'heldout.shapes.gz'));
    expect(set.count).toBe(3);
    expect(set.sample(2).clip.width).toBe(32);
  });

  it('stats prints the distribution', async () => {
    stdout.length = 0;
    expect(await dataCommand(['stats', '--count', '200', '--json'])).toBe(0);
    const stats = JSON.parse(stdout.join(''));
    expect(stats.scenes).toBe(200);
    expect(Object.values(stats.objectsPerScene as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(
      200,
    );
  });

  it('rejects bad flags and values with BAD_ARGUMENT', async () => {
    for (const argv of [
      ['preview', '--bogus'],
      ['preview', '--count', 'x'],
      ['preview', '--size', '7x'],
      ['preview', '--scales', '1,0'],
      ['export', '--count', '3'],
      ['export', '--out', dir, '--split', 'test'],
      ['frobnicate'],
    ]) {
      expect((await rejection(dataCommand(argv))).code).toBe('BAD_ARGUMENT');
    }
  });
});
