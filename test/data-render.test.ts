import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { areaDownsample } from '../data/area-downsample.js';
import { type Clip, createClip } from '../data/clip.js';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import type { Scene } from '../data/scene.js';
import { makeShapesSample } from '../data/shapes-sample.js';
import { isCascadeError } from '../util/cascade-error.js';

function psnr(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return 10 * Math.log10(1 / (s / a.length));
}

function sha256(clip: Clip): string {
  return createHash('sha256')
    .update(new Uint8Array(clip.data.buffer, clip.data.byteOffset, clip.data.byteLength))
    .digest('hex');
}

/** Bilinear upsampling with half-pixel centres and edge clamping (like tf.image.resizeBilinear with halfPixelCenters). */
function bilinearUp(c: Clip, f: number): Clip {
  const H = c.height * f;
  const W = c.width * f;
  const out = createClip(c.frames, H, W);
  for (let t = 0; t < c.frames; t++) {
    for (let y = 0; y < H; y++) {
      const sy = Math.min(Math.max((y + 0.5) / f - 0.5, 0), c.height - 1);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, c.height - 1);
      const wy = sy - y0;
      for (let x = 0; x < W; x++) {
        const sx = Math.min(Math.max((x + 0.5) / f - 0.5, 0), c.width - 1);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, c.width - 1);
        const wx = sx - x0;
        for (let k = 0; k < 3; k++) {
          const g = (yy: number, xx: number): number => c.data[((t * c.height + yy) * c.width + xx) * 3 + k]!;
          out.data[((t * H + y) * W + x) * 3 + k] =
            (1 - wy) * ((1 - wx) * g(y0, x0) + wx * g(y0, x1)) + wy * ((1 - wx) * g(y1, x0) + wx * g(y1, x1));
        }
      }
    }
  }
  return out;
}

/** Mean squared 5-point Laplacian over interior pixels and channels: energy of the finest spatial detail. */
function laplacianEnergy(c: Clip): number {
  let s = 0;
  let n = 0;
  const { frames: T, height: H, width: W, data } = c;
  for (let t = 0; t < T; t++) {
    for (let y = 1; y < H - 1; y++) {
      for (let x = 1; x < W - 1; x++) {
        for (let k = 0; k < 3; k++) {
          const g = (yy: number, xx: number): number => data[((t * H + yy) * W + xx) * 3 + k]!;
          const l = 4 * g(y, x) - g(y - 1, x) - g(y + 1, x) - g(y, x - 1) - g(y, x + 1);
          s += l * l;
          n++;
        }
      }
    }
  }
  return s / n;
}

describe('renderScene', () => {
  it('gives values in [0, 1] with the requested shape', () => {
    const clip = renderScene(sampleScene(1), { height: 24, width: 40, frames: 5 });
    expect([clip.frames, clip.height, clip.width, clip.data.length]).toEqual([5, 24, 40, 5 * 24 * 40 * 3]);
    expect(Math.min(...clip.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...clip.data)).toBeLessThanOrEqual(1);
  });

  it('is anti-aliased consistently: the 4x render area-downsampled by 4 matches the 1x render (PSNR >= 35 dB)', () => {
    for (const seed of [0, 1, 2, 3, 4, 5]) {
      const scene = sampleScene(seed);
      const low = renderScene(scene, { height: 32, width: 32, frames: 4 });
      const high = renderScene(scene, { height: 128, width: 128, frames: 4 });
      const mid = renderScene(scene, { height: 64, width: 64, frames: 4 });
      expect(psnr(areaDownsample(high, 4).data, low.data)).toBeGreaterThanOrEqual(35);
      expect(psnr(areaDownsample(mid, 2).data, low.data)).toBeGreaterThanOrEqual(35);
    }
  });

  it('holds fine detail at 4 d0 that the d0 render lacks (Laplacian energy >= 10x the bilinearly upsampled d0 render)', () => {
    for (const seed of [0, 1, 2, 3]) {
      const scene = sampleScene(seed);
      const low = renderScene(scene, { height: 32, width: 32, frames: 2 });
      const high = renderScene(scene, { height: 128, width: 128, frames: 2 });
      expect(laplacianEnergy(high) / laplacianEnergy(bilinearUp(low, 4))).toBeGreaterThan(10);
    }
  });

  it('averages fill stripes away at d0 and resolves them at 4 d0', () => {
    const scene: Scene = {
      version: 1,
      aspect: 1,
      background: { kind: 'solid', colour: 'blue' },
      objects: [
        {
          shape: 'square',
          colour: 'yellow',
          size: 0.3,
          x: 0.5,
          y: 0.5,
          vx: 0,
          vy: 0,
          pattern: 'hstripes',
          patternPhase: 0.003,
        },
      ],
    };
    // The central 0.3 x 0.3 of the square, well inside the outline, at each size.
    const interiorStd = (size: number): number => {
      const clip = renderScene(scene, { height: size, width: size, frames: 1 });
      const values: number[] = [];
      for (let y = Math.ceil(0.35 * size); y < Math.floor(0.65 * size); y++) {
        for (let x = Math.ceil(0.35 * size); x < Math.floor(0.65 * size); x++)
          values.push(clip.data[(y * size + x) * 3]!);
      }
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    };
    expect(interiorStd(32)).toBeLessThan(1e-4);
    expect(interiorStd(128)).toBeGreaterThan(0.08);
  });

  it('is byte-identical for the same seed in another process', async () => {
    const sample = makeShapesSample(0, 12345, { height: 32, frames: 8 });
    const script = [
      "import { createHash } from 'node:crypto';",
      "import { makeShapesSample } from './data/shapes-sample.js';",
      'const s = makeShapesSample(0, 12345, { height: 32, frames: 8 });',
      "process.stdout.write(createHash('sha256').update(new Uint8Array(s.clip.data.buffer)).digest('hex') + ' ' + s.prompt);",
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('..', import.meta.url).pathname,
      },
    );
    expect(stdout).toBe(`${sha256(sample.clip)} ${sample.prompt}`);
    expect(sha256(makeShapesSample(0, 12345, { height: 32, frames: 8 }).clip)).toBe(sha256(sample.clip));
  });

  it('rejects invalid sizes', () => {
    let error: unknown;
    try {
      renderScene(sampleScene(1), { height: 0, width: 32, frames: 1 });
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
  });
});

describe('areaDownsample', () => {
  it('averages factor x factor blocks per frame and channel', () => {
    const clip = createClip(2, 2, 4);
    clip.data.forEach((_, i) => {
      clip.data[i] = i;
    });
    const out = areaDownsample(clip, 2);
    expect([out.frames, out.height, out.width]).toEqual([2, 1, 2]);
    // Frame 0, output pixel 0, channel 0: inputs (0,0),(0,1),(1,0),(1,1) -> 0, 3, 12, 15.
    expect(out.data[0]).toBeCloseTo((0 + 3 + 12 + 15) / 4);
    expect(out.data[3]).toBeCloseTo((6 + 9 + 18 + 21) / 4);
    expect(out.data[6]).toBeCloseTo((24 + 27 + 36 + 39) / 4);
  });

  it('rejects factors that do not divide the size', () => {
    let error: unknown;
    try {
      areaDownsample(createClip(1, 6, 6), 4);
    } catch (e) {
      error = e;
    }
    expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
  });
});
