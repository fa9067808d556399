import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { isCascadeError } from '../util/cascade-error.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('selectBackend', () => {
  it('auto walks the ladder to wasm here and says why', async () => {
    const info = await selectBackend({ backend: 'auto' });
    expect(info.name).toBe('wasm');
    expect(info.tfBackend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toMatch(
      /^wasm \(auto; skipped tfjs-node-gpu: @tensorflow\/tfjs-node-gpu is not installed/,
    );
    expect(info.tfjsVersion).toBe(tf.version.tfjs);
  });

  it('reads CASCADE_BACKEND when no explicit choice is given', async () => {
    const info = await selectBackend({ env: { CASCADE_BACKEND: 'cpu' } });
    expect(info).toMatchObject({ name: 'cpu', tfBackend: 'cpu', reason: 'cpu (requested)' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('an explicit unavailable backend is an error naming what to install', async () => {
    const error = await selectBackend({ backend: 'tfjs-node-gpu' }).catch((e: unknown) => e);
    expect(isCascadeError(error, 'BACKEND_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('npm install @tensorflow/tfjs-node-gpu@4.22.0');
    expect((error as Error).message).toContain('CUDA');
    const native = await selectBackend({ backend: 'tfjs-node' }).catch((e: unknown) => e);
    expect((native as Error).message).toContain('npm install @tensorflow/tfjs-node@4.22.0');
  });

  it('rejects an unknown backend name, naming the source', () => {
    expect(() => selectBackend({ env: { CASCADE_BACKEND: 'cuda' } })).toThrow(/CASCADE_BACKEND is "cuda"/);
    expect(() => selectBackend({ backend: 'gpu' as never })).toThrow(/backend is "gpu", expected one of/);
  });
});

describe('importing the library', () => {
  it('prints nothing, even after tensor work on the cpu backend', () => {
    const script = `
      const lib = await import('./index.ts');
      await lib.selectBackend({ backend: 'cpu' });
      const { tf } = await import('./backend/tf.ts');
      tf.add(tf.tensor([1, 2]), tf.tensor([3, 4])).dataSync();
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('');
  });
});
