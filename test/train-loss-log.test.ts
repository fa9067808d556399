import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../codecs/write-png.js';
import { renderLossPlot, writeLossPlot } from '../model/loss-plot.js';
import { appendLossLog, LOSS_LOG_HEADER, readLossLog, truncateLossLog } from '../model/train-loss-log.js';

describe('loss log', () => {
  it('appends, reads back, skips a torn last line and truncates to a checkpoint step', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'train-log-'));
    try {
      const path = join(dir, 'loss.csv');
      await appendLossLog(path, [], true);
      const rows = [1, 2, 3, 4].map((step) => ({
        step,
        loss: 1 / step,
        lr: 1e-4 * step,
        gradNorm: 0.5,
        seconds: step * 1.5,
      }));
      await appendLossLog(path, rows.slice(0, 2), false);
      await appendLossLog(path, rows.slice(2), false);
      const text = await readFile(path, 'utf8');
      expect(text.split('\n')[0]).toBe(LOSS_LOG_HEADER);
      expect(text.split('\n')[1]).toBe('1,1.00000,0.000100000,0.500000,1.500');
      const back = await readLossLog(path);
      expect(back.map((r) => r.step)).toEqual([1, 2, 3, 4]);
      expect(back[2]!.loss).toBeCloseTo(1 / 3, 5);
      await appendLossLog(path, [], false);
      await (await import('node:fs/promises')).appendFile(path, '5,0.2');
      expect((await readLossLog(path)).length).toBe(4);
      const kept = await truncateLossLog(path, 2);
      expect(kept.map((r) => r.step)).toEqual([1, 2]);
      expect((await readLossLog(path)).map((r) => r.step)).toEqual([1, 2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('loss plot', () => {
  it('draws the raw and smoothed curves onto an RGB image and writes a PNG', async () => {
    const points = Array.from({ length: 500 }, (_, i) => ({ step: i + 1, loss: 0.05 + Math.exp(-i / 50) }));
    const image = renderLossPlot(points, { width: 320, height: 200 });
    expect(image.width).toBe(320);
    expect(image.height).toBe(200);
    const count = (rgb: [number, number, number]): number => {
      let n = 0;
      for (let i = 0; i < image.data.length; i += 3) {
        if (image.data[i] === rgb[0] && image.data[i + 1] === rgb[1] && image.data[i + 2] === rgb[2]) n++;
      }
      return n;
    };
    // The smoothed curve spans the plot width; the curve falls, so its left end is higher (smaller y).
    expect(count([20, 60, 160])).toBeGreaterThan(250);
    const column = (x: number): number => {
      for (let y = 0; y < image.height; y++) {
        const i = (y * image.width + x) * 3;
        if (image.data[i] === 20 && image.data[i + 1] === 60 && image.data[i + 2] === 160) return y;
      }
      return -1;
    };
    expect(column(70)).toBeGreaterThanOrEqual(0);
    expect(column(70)).toBeLessThan(column(280));

    const dir = await mkdtemp(join(tmpdir(), 'train-plot-'));
    try {
      const path = join(dir, 'loss.png');
      await writeLossPlot(path, points);
      const png = decodePng(await readFile(path));
      expect([png.width, png.height]).toEqual([640, 360]);
      // An empty log still gives a valid (blank) plot.
      expect(renderLossPlot([]).data.length).toBe(640 * 360 * 3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
