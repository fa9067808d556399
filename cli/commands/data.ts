import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeContactSheet } from '../../codecs/contact-sheet.js';
import type { Clip } from '../../data/clip.js';
import { shapesSet } from '../../data/make-shapes-set.js';
import { renderScene } from '../../data/render-scene.js';
import { saveShapesSet } from '../../data/save-shapes-set.js';
import { type SceneStatistics, sceneStatistics } from '../../data/scene-statistics.js';
import { SHAPES_SPLITS, type ShapesSplit } from '../../data/shapes-sample.js';
import { SHAPES_SET_EXTENSION, SHAPES_SET_VERSION } from '../../data/shapes-set-format.js';
import { CascadeError } from '../../util/cascade-error.js';
import { writeFileAtomic } from '../../util/write-file-atomic.js';
import { intFlag } from '../parse-cli-args.js';

const USAGE = `Usage: cascade data <preview|export|stats> [options]

  preview   contact sheet (PNG) of random shapes scenes
    --count N         scenes (default 8)
    --size S          32, 64, ... or HxW (default 32)
    --frames T        frames per clip (default 16)
    --seed S          set seed (default 1)
    --split NAME      train | heldout (default train)
    --scales LIST     render every scene at these multiples of --size, side by side (default 1)
    --per-clip N      frames shown per clip (default 4)
    --out FILE        output PNG (default shapes-preview.png)

  export    write a fixed set to DIR/<split>${SHAPES_SET_EXTENSION} (+ <split>.json, <split>-preview.png)
    --out DIR         output directory (required)
    --count N         clips (default 256)
    --split NAME      train | heldout (default train)
    --size S, --frames T, --seed S   as for preview

  stats     distribution of counts, shapes, colours and backgrounds over sampled scenes
    --count N         scenes (default 10000)
    --seed S, --split NAME, --frames T
    --json            print JSON instead of markdown tables
`;

/** `cascade data ...`: returns the exit status; errors are thrown as CascadeError for main to print. */
export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  switch (sub) {
    case 'preview':
      return preview(rest);
    case 'export':
      return exportSet(rest);
    case 'stats':
      return stats(rest);
    default:
      throw new CascadeError(
        'BAD_ARGUMENT',
        `unknown data subcommand "${sub}"; expected preview, export or stats (see \`cascade data --help\`)`,
        {
          path: 'subcommand',
        },
      );
  }
}

const COMMON = {
  count: { type: 'string' },
  size: { type: 'string' },
  frames: { type: 'string' },
  seed: { type: 'string' },
  split: { type: 'string' },
  out: { type: 'string' },
} as const;

async function preview(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...COMMON, scales: { type: 'string' }, 'per-clip': { type: 'string' } });
  const count = intFlag(values.count, 'count', 1, 1000) ?? 8;
  const size = parseSize(values.size ?? '32');
  const frames = intFlag(values.frames, 'frames', 1, 256) ?? 16;
  const seed = intFlag(values.seed, 'seed', 0, 0xffffffff) ?? 1;
  const split = parseSplit(values.split);
  const perClip = intFlag(values['per-clip'], 'per-clip', 1, 64) ?? 4;
  const scales = parseScales(values.scales ?? '1');
  const out = resolve(values.out ?? 'shapes-preview.png');
  const set = shapesSet({
    seed,
    count,
    split,
    height: size.height,
    width: size.width,
    frames,
    aspect: size.width / size.height,
  });
  const rows: Clip[][] = [];
  const labels: string[] = [];
  for (const entry of set.entries) {
    rows.push(
      scales.map((s) => renderScene(entry.scene, { height: size.height * s, width: size.width * s, frames })),
    );
    const sizes =
      scales.length > 1 ? `  [${scales.map((s) => `${size.height * s}x${size.width * s}`).join(' | ')}]` : '';
    labels.push(`${entry.index}: ${entry.prompt}${sizes}`);
  }
  const image = await writeContactSheet(out, rows, { framesPerClip: perClip, labels });
  process.stdout.write(
    `wrote ${out} (${image.width}x${image.height}): ${count} ${split} scenes, seed ${seed}, ` +
      `${scales.map((s) => `${size.height * s}x${size.width * s}`).join(', ')}, ${frames} frames, ${perClip} shown per clip\n`,
  );
  return 0;
}

async function exportSet(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMON);
  if (values.out === undefined)
    throw new CascadeError('BAD_ARGUMENT', 'export needs --out DIR (the directory to write the set to)', {
      path: 'out',
    });
  const count = intFlag(values.count, 'count', 1, 10_000_000) ?? 256;
  const size = parseSize(values.size ?? '32');
  const frames = intFlag(values.frames, 'frames', 1, 256) ?? 16;
  const seed = intFlag(values.seed, 'seed', 0, 0xffffffff) ?? 1;
  const split = parseSplit(values.split);
  const dir = resolve(values.out);
  const set = shapesSet({
    seed,
    count,
    split,
    height: size.height,
    width: size.width,
    frames,
    aspect: size.width / size.height,
  });
  const file = join(dir, `${split}${SHAPES_SET_EXTENSION}`);
  const started = performance.now();
  const { bytes } = await saveShapesSet(file, set);
  const seconds = (performance.now() - started) / 1000;
  const sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
  const previewCount = Math.min(8, count);
  const previewFile = join(dir, `${split}-preview.png`);
  await writeContactSheet(
    previewFile,
    set.entries
      .slice(0, previewCount)
      .map((e) => renderScene(e.scene, { height: size.height, width: size.width, frames })),
    { labels: set.entries.slice(0, previewCount).map((e) => `${e.index}: ${e.prompt}`) },
  );
  const summary = {
    format: 'shapes-set',
    version: SHAPES_SET_VERSION,
    file: `${split}${SHAPES_SET_EXTENSION}`,
    bytes,
    sha256,
    split,
    seed,
    count,
    height: size.height,
    width: size.width,
    frames,
    preview: `${split}-preview.png`,
  };
  await writeFileAtomic(join(dir, `${split}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(
    `wrote ${file}: ${count} ${split} clips ${size.height}x${size.width}x${frames}, seed ${seed}, ` +
      `${(bytes / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s (+ ${split}.json, ${split}-preview.png)\n`,
  );
  return 0;
}

async function stats(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    count: COMMON.count,
    seed: COMMON.seed,
    split: COMMON.split,
    frames: COMMON.frames,
    json: { type: 'boolean' },
  });
  const count = intFlag(values.count, 'count', 1, 10_000_000) ?? 10_000;
  const seed = intFlag(values.seed, 'seed', 0, 0xffffffff) ?? 1;
  const frames = intFlag(values.frames, 'frames', 1, 256) ?? 16;
  const split = parseSplit(values.split);
  const s = sceneStatistics({ seed, count, split, frames });
  process.stdout.write(values.json ? `${JSON.stringify(s, null, 2)}\n` : statsMarkdown(s, seed, split));
  return 0;
}

function statsMarkdown(s: SceneStatistics, seed: number, split: ShapesSplit): string {
  const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(1)}%`;
  const table = (title: string, h: Readonly<Record<string, number>>, of: number): string =>
    [
      `| ${title} | count | share |`,
      '|---|---:|---:|',
      ...Object.entries(h).map(([k, n]) => `| ${k} | ${n} | ${pct(n, of)} |`),
      '',
    ].join('\n');
  return [
    `${s.scenes} ${split} scenes (seed ${seed}), ${s.objects} objects, ${s.distinctPrompts} distinct prompts.`,
    `Scenes with a repeated group ("two red circles"): ${s.scenesWithRepeatedGroup} (${pct(s.scenesWithRepeatedGroup, s.scenes)}).`,
    `Static objects: ${s.staticObjects} (${pct(s.staticObjects, s.objects)}). Object half-extent at 32 rows: ` +
      `${s.sizePixelsAt32.min.toFixed(1)} to ${s.sizePixelsAt32.max.toFixed(1)} px (mean ${s.sizePixelsAt32.mean.toFixed(1)}).`,
    '',
    table('objects per scene', s.objectsPerScene, s.scenes),
    table('object shape', s.objectShapes, s.objects),
    table('object colour', s.objectColours, s.objects),
    table('fill pattern', s.fillPatterns, s.objects),
    table('background kind', s.backgroundKinds, s.scenes),
    table('background colour', s.backgroundColours, s.scenes),
  ].join('\n');
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: options as O & Options, strict: true, allowPositionals: false });
  } catch (error) {
    throw new CascadeError('BAD_ARGUMENT', `${(error as Error).message}; see \`cascade data --help\``, {
      cause: error,
    });
  }
}

function parseSize(raw: string): { height: number; width: number } {
  const m = /^(\d+)(?:x(\d+))?$/.exec(raw.trim());
  const height = m ? Number(m[1]) : Number.NaN;
  const width = m?.[2] !== undefined ? Number(m[2]) : height;
  if (
    !m ||
    height < 4 ||
    width < 4 ||
    height > 1024 ||
    width > 1024 ||
    width / height < 0.5 ||
    width / height > 4
  ) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--size is "${raw}"; expected N (square) or HxW with sides 4..1024 and width/height in 0.5..4, e.g. 32 or 32x64`,
      { path: 'size' },
    );
  }
  return { height, width };
}

function parseScales(raw: string): number[] {
  const scales = raw.split(',').map((s) => Number(s.trim()));
  if (
    scales.length === 0 ||
    scales.length > 4 ||
    scales.some((s) => !Number.isInteger(s) || s < 1 || s > 8)
  ) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--scales is "${raw}"; expected 1 to 4 comma-separated integers in 1..8, e.g. 1,2,4`,
      {
        path: 'scales',
      },
    );
  }
  return scales;
}

function parseSplit(raw: string | undefined): ShapesSplit {
  const split = raw ?? 'train';
  if (!SHAPES_SPLITS.includes(split as ShapesSplit)) {
    throw new CascadeError('BAD_ARGUMENT', `--split is "${split}"; expected ${SHAPES_SPLITS.join(' or ')}`, {
      path: 'split',
    });
  }
  return split as ShapesSplit;
}
