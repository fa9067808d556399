/**
 * Shapes-domain render benchmark (one core): clips per second for sampling + rendering a scene
 * at 32x32x16, 64x64x16 and 128x128x16, plus scene sampling alone. Prints a table and writes
 * bench-results/data.json. Run: `npx tsx eval/bench-data.ts [--seconds S]`.
 * Targets: >= 200 clips/s at 32x32x16 and >= 10 clips/s at 128x128x16.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { renderScene } from '../data/render-scene.js';
import { sampleScene } from '../data/sample-scene.js';
import { shapesSceneSeed } from '../data/shapes-sample.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' } }, strict: true });
const seconds = Number(values.seconds ?? '2');
if (!(seconds > 0)) throw new Error(`--seconds must be positive, got ${values.seconds}`);

const FRAMES = 16;
const TARGETS: Record<number, number> = { 32: 200, 128: 10 };

interface Row {
  readonly case: string;
  readonly clips: number;
  readonly seconds: number;
  readonly clipsPerSecond: number;
  readonly msPerClip: number;
  readonly megapixelsPerSecond: number;
  readonly target?: number;
  readonly meetsTarget?: boolean;
}

function measure(label: string, size: number | undefined, budget: number): Row {
  let i = 0;
  const once = (): void => {
    const scene = sampleScene(shapesSceneSeed(7, 'train', i++), { frames: FRAMES });
    if (size !== undefined) renderScene(scene, { height: size, width: size, frames: FRAMES });
  };
  for (let w = 0; w < 20; w++) once(); // warm-up: JIT the hot loops
  i = 0;
  let clips = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budget * 1000) {
    for (let k = 0; k < 10; k++) once();
    clips += 10;
    elapsed = performance.now() - start;
  }
  const s = elapsed / 1000;
  const rate = clips / s;
  const target = size === undefined ? undefined : TARGETS[size];
  return {
    case: label,
    clips,
    seconds: s,
    clipsPerSecond: rate,
    msPerClip: 1000 / rate,
    megapixelsPerSecond: size === undefined ? 0 : (rate * size * size * FRAMES) / 1e6,
    ...(target === undefined ? {} : { target, meetsTarget: rate >= target }),
  };
}

const rows: Row[] = [
  measure('sampleScene only', undefined, seconds / 2),
  measure(`32x32x${FRAMES}`, 32, seconds),
  measure(`64x64x${FRAMES}`, 64, seconds),
  measure(`128x128x${FRAMES}`, 128, seconds),
];

const header = ['case', 'clips/s', 'ms/clip', 'Mpx/s', 'target', 'ok'];
const lines = rows.map((r) => [
  r.case,
  r.clipsPerSecond.toFixed(1),
  r.msPerClip.toFixed(2),
  r.megapixelsPerSecond.toFixed(1),
  r.target === undefined ? '' : `>= ${r.target}`,
  r.meetsTarget === undefined ? '' : r.meetsTarget ? 'yes' : 'NO',
]);
const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
const fmt = (cells: string[]): string =>
  cells.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  ');
console.log(fmt(header));
for (const l of lines) console.log(fmt(l));

const result = {
  benchmark: 'data',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  threads: 1,
  secondsPerCase: seconds,
  rows,
};
await mkdir('bench-results', { recursive: true });
await writeFile('bench-results/data.json', `${JSON.stringify(result, null, 2)}\n`);
console.log('wrote bench-results/data.json');
