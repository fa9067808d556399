import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type BackendRequest, selectBackend } from '../../backend/select-backend.js';
import { writeContactSheet } from '../../codecs/contact-sheet.js';
import type { Clip } from '../../data/clip.js';
import { loadShapesSet } from '../../data/load-shapes-set.js';
import { makeShapesSet } from '../../data/make-shapes-set.js';
import { readFootage } from '../../data/read-footage.js';
import { SHAPES_SET_EXTENSION } from '../../data/shapes-set-format.js';
import { type EvaluationReport, evaluateClips } from '../../eval/evaluate-clips.js';
import { defaultFeatureNetDir, FeatureNet } from '../../eval/feature-net.js';
import type { IntervalEstimate } from '../../eval/interval-estimate.js';
import { CascadeError } from '../../util/cascade-error.js';
import { writeFileAtomic } from '../../util/write-file-atomic.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../on-interrupt.js';
import { intFlag, parseCliArgs } from '../parse-cli-args.js';

export const EVAL_HELP = `Usage: cascade eval --clips PATH [options]

Evaluates a set of clips: composition against their prompts (count accuracy, repetition,
missing objects, colours, stability), FD/KD against real clips (whole frames and native-
resolution patches) with bootstrap intervals, FD_b against the base model's own samples,
flicker, warping error, detail, and the frame-consistency checks. See docs/metrics.md.

Inputs (a shapes set file ${SHAPES_SET_EXTENSION} from \`cascade data export\`, prompts included,
or a folder of video files read at --size/--frames/--fps):
  --clips PATH          the clips to evaluate (required)
  --prompts FILE        prompts for a video folder: one per line in file-name order, or a JSON
                        array, or a JSON object {"file name": "prompt"}
  --reference PATH      real clips at the same resolution (default: render the held-out split)
  --reference-seed S    seed of the rendered default reference (default 2)
  --reference-count N   clips in the rendered default reference (default: as many as --clips)
  --no-reference        no FD/KD and no reference-relative numbers
  --base PATH           the base model's own samples (FD_b, KD_b)
  --pivots PATH         each clip's pivot (previous stage output), same order: stage seam ratio
  --limit N             only the first N clips (and pivots)
  --size S, --frames T, --fps F   how video folders are read (default 32, 16, 8)

Metrics:
  --feature-net DIR     feature network folder (default ${defaultFeatureNetDir()})
  --bootstrap N         bootstrap replicates per interval (default 100)
  --patches N           32x32 patch crops per clip for the patch FD (default 4)
  --warp-clips N        clips per set for the warping error (default 64)
  --seed S              seed of bootstrap and crops (default 0)
  --backend NAME        auto | tfjs-node-gpu | tfjs-node | wasm | cpu

Output:
  --out DIR             writes DIR/eval-report.json and DIR/eval-sheet.png (default eval-out)
  --json                print the JSON report instead of the table
  -h, --help            this help`;

interface LoadedClips {
  readonly clips: Clip[];
  readonly prompts: string[] | undefined;
  readonly names: string[];
}

/** `cascade eval`: returns the exit status; errors are thrown for main to print. */
export async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    clips: { type: 'string' },
    prompts: { type: 'string' },
    reference: { type: 'string' },
    'reference-seed': { type: 'string' },
    'reference-count': { type: 'string' },
    'no-reference': { type: 'boolean' },
    base: { type: 'string' },
    pivots: { type: 'string' },
    limit: { type: 'string' },
    size: { type: 'string' },
    frames: { type: 'string' },
    fps: { type: 'string' },
    'feature-net': { type: 'string' },
    bootstrap: { type: 'string' },
    patches: { type: 'string' },
    'warp-clips': { type: 'string' },
    seed: { type: 'string' },
    backend: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${EVAL_HELP}\n`);
    return EXIT.OK;
  }
  if (positionals.length > 0) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `eval takes no positional arguments, got "${positionals[0]}"; use --clips PATH.`,
    );
  }
  if (!values.clips) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      '--clips is required: a shapes set file or a folder of videos. Run with --help.',
      {
        path: 'clips',
      },
    );
  }
  const size = intFlag(values.size, 'size', 4, 1024) ?? 32;
  const read = {
    height: size,
    width: size,
    frames: intFlag(values.frames, 'frames', 1, 1024) ?? 16,
    fps: values.fps ?? '8',
  };
  const limit = intFlag(values.limit, 'limit', 1, 1_000_000);
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  try {
    const info = await selectBackend({ backend: values.backend as BackendRequest | undefined });
    const loaded = await loadClips(values.clips, read, controller.signal, limit);
    const prompts = values.prompts ? await readPrompts(values.prompts, loaded.names) : loaded.prompts;
    const first = loaded.clips[0]!;
    let reference: Clip[] | undefined;
    let referenceNote = 'none (--no-reference)';
    if (!values['no-reference']) {
      if (values.reference) {
        reference = (await loadClips(values.reference, read, controller.signal)).clips;
        referenceNote = values.reference;
      } else {
        const seed = intFlag(values['reference-seed'], 'reference-seed', 0, 0xffffffff) ?? 2;
        const count =
          intFlag(values['reference-count'], 'reference-count', 2, 100_000) ??
          Math.max(2, loaded.clips.length);
        reference = makeShapesSet({
          seed,
          count,
          split: 'heldout',
          height: first.height,
          width: first.width,
          frames: first.frames,
        }).samples.map((s) => s.clip);
        referenceNote = `held-out shapes split, seed ${seed}, ${count} clips rendered at ${first.height}x${first.width}x${first.frames}`;
      }
    }
    const base = values.base ? (await loadClips(values.base, read, controller.signal)).clips : undefined;
    const pivots = values.pivots
      ? (await loadClips(values.pivots, read, controller.signal, limit)).clips
      : undefined;
    const featureNet = await FeatureNet.load(values['feature-net'] ?? defaultFeatureNetDir());
    let report: EvaluationReport;
    try {
      report = await evaluateClips({
        clips: loaded.clips,
        prompts,
        reference,
        baseSamples: base,
        pivots,
        featureNet,
        seed: intFlag(values.seed, 'seed', 0, 0xffffffff) ?? 0,
        bootstrap: intFlag(values.bootstrap, 'bootstrap', 0, 10_000),
        patchesPerClip: intFlag(values.patches, 'patches', 1, 64),
        warpClips: intFlag(values['warp-clips'], 'warp-clips', 0, 1_000_000),
        signal: controller.signal,
      });
    } finally {
      featureNet.dispose();
    }
    const out = values.out ?? 'eval-out';
    const reportPath = join(out, 'eval-report.json');
    const sheetPath = join(out, 'eval-sheet.png');
    const full = { clipsPath: values.clips, reference: referenceNote, backend: info.reason, ...report };
    await writeFileAtomic(reportPath, `${JSON.stringify(full, null, 2)}\n`);
    const shown = loaded.clips.slice(0, 8);
    await writeContactSheet(sheetPath, shown, {
      labels: shown.map((_, i) => sheetLabel(i, loaded.names[i]!, prompts?.[i], report)),
      framesPerClip: 4,
    });
    if (values.json) process.stdout.write(`${JSON.stringify(full, null, 2)}\n`);
    else
      process.stdout.write(`${formatReport(report, referenceNote)}\nWrote ${reportPath} and ${sheetPath}\n`);
    return EXIT.OK;
  } finally {
    release();
  }
}

async function loadClips(
  path: string,
  read: { height: number; width: number; frames: number; fps: string },
  signal: AbortSignal,
  limit?: number,
): Promise<LoadedClips> {
  let isDir = false;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (error) {
    throw new CascadeError(
      'FILE_NOT_FOUND',
      `${path} does not exist; give a ${SHAPES_SET_EXTENSION} file or a folder of videos.`,
      {
        path,
        cause: error,
      },
    );
  }
  if (!isDir) {
    const set = await loadShapesSet(path);
    const n = Math.min(set.count, limit ?? set.count);
    const samples = Array.from({ length: n }, (_, i) => set.sample(i));
    return {
      clips: samples.map((s) => s.clip),
      prompts: samples.map((s) => s.prompt),
      names: samples.map((s) => `${basename(path)}#${s.index}`),
    };
  }
  const result = await readFootage(path, { ...read, onError: 'skip', signal });
  const items = result.clips.slice(0, limit ?? result.clips.length);
  if (items.length === 0) {
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `No readable video clips of ${read.frames} frames at ${read.fps} fps in ${path}${result.skipped.length > 0 ? ` (skipped: ${result.skipped.map((s) => `${basename(s.path)}: ${s.reason}`).join('; ')})` : ''}.`,
      { path },
    );
  }
  return { clips: items.map((c) => c.clip), prompts: undefined, names: items.map((c) => basename(c.path)) };
}

/** One prompt per line, a JSON array, or a JSON object keyed by file name. */
async function readPrompts(path: string, names: readonly string[]): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CascadeError('FILE_NOT_FOUND', `Prompts file ${path} cannot be read.`, { path, cause: error });
  }
  let prompts: string[];
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as unknown;
    if (Array.isArray(parsed)) prompts = parsed.map(String);
    else {
      const map = parsed as Record<string, unknown>;
      prompts = names.map((n) => {
        const p = map[n];
        if (typeof p !== 'string') {
          throw new CascadeError(
            'BAD_ARGUMENT',
            `Prompts file ${path} has no prompt for "${n}"; add a "${n}": "..." entry.`,
            {
              path,
            },
          );
        }
        return p;
      });
    }
  } else {
    prompts = trimmed
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  }
  if (prompts.length < names.length) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `Prompts file ${path} has ${prompts.length} prompts for ${names.length} clips; give one per clip.`,
      {
        path,
      },
    );
  }
  return prompts.slice(0, names.length);
}

function sheetLabel(i: number, name: string, prompt: string | undefined, report: EvaluationReport): string {
  const c = report.perClip[i]!;
  const parts = [name];
  if (prompt) parts.push(prompt);
  if (c.countCorrect !== undefined)
    parts.push(c.countCorrect ? 'counts ok' : `extra ${c.extra} missing ${c.missing}`);
  parts.push(c.checksPassed ? 'checks ok' : `failed: ${c.failedChecks.join(',')}`);
  return parts.join(' | ');
}

function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(digits);
}

function ci(e: IntervalEstimate): string {
  return e.replicates > 0 ? `${fmt(e.value)}  [${fmt(e.low)}, ${fmt(e.high)}]` : fmt(e.value);
}

/** The printed table: one metric per line, intervals at their level. */
export function formatReport(r: EvaluationReport, referenceNote: string): string {
  const rows: [string, string][] = [];
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
  rows.push(['clips', `${r.clips} at ${r.height}x${r.width}, ${r.frames} frames`]);
  rows.push(['reference', referenceNote]);
  if (r.composition) {
    const c = r.composition;
    rows.push(['count accuracy (clip / frame)', `${pct(c.countAccuracy)} / ${pct(c.frameCountAccuracy)}`]);
    rows.push(['total-count accuracy', pct(c.totalCountAccuracy)]);
    rows.push(['repetition rate (mean extra)', `${pct(c.repetitionRate)} (${c.meanExtra.toFixed(2)})`]);
    rows.push(['missing rate', pct(c.missingRate)]);
    rows.push(['colour accuracy (exact set)', `${pct(c.colourAccuracy)} (${pct(c.colourSetAccuracy)})`]);
    rows.push(['count stable (all / >=90% frames)', `${pct(c.stableAllFrames)} / ${pct(c.stable90)}`]);
    rows.push([
      'total count stable (all / >=90%)',
      `${pct(c.totalStableAllFrames)} / ${pct(c.totalStable90)}`,
    ]);
  }
  const level = r.distances?.whole.fd.level ?? r.base?.fd.level;
  if (r.distances) {
    rows.push([`FD vs reference (${level ?? 0.95} CI)`, ci(r.distances.whole.fd)]);
    rows.push(['KD vs reference', ci(r.distances.whole.kd)]);
    if (r.distances.patch) {
      rows.push(['patch FD (32x32 crops)', ci(r.distances.patch.fd)]);
      rows.push(['patch KD', ci(r.distances.patch.kd)]);
    }
  }
  if (r.base) {
    rows.push(['FD_b vs base samples', ci(r.base.fd)]);
    rows.push(['KD_b vs base samples', ci(r.base.kd)]);
  }
  const t = r.temporal;
  rows.push(['frame difference (ref)', `${fmt(t.frameDifference)} (${fmt(t.referenceFrameDifference)})`]);
  if (t.flicker !== undefined) rows.push(['flicker (vs ref)', fmt(t.flicker, 3)]);
  if (t.objectSpeed !== undefined) {
    rows.push([
      'object speed, px/frame at 32 (ref)',
      `${fmt(t.objectSpeed, 3)} (${fmt(t.referenceObjectSpeed, 3)})`,
    ]);
  }
  rows.push([
    'warping error masked / unmasked',
    `${fmt(t.warpingError)} / ${fmt(t.warpingErrorUnmasked)} (kept ${pct(t.warpValidFraction)})`,
  ]);
  if (t.warpingRatio !== undefined) {
    rows.push([
      'warping ratio vs ref (masked / unmasked)',
      `${fmt(t.warpingRatio, 3)} / ${fmt(t.warpingUnmaskedRatio, 3)}`,
    ]);
  }
  if (t.stageSeamRatio !== undefined) rows.push(['stage seam ratio', fmt(t.stageSeamRatio, 3)]);
  rows.push(['detail energy (ref)', `${fmt(r.detail.energy)} (${fmt(r.detail.referenceEnergy)})`]);
  if (r.detail.ratio !== undefined) rows.push(['detail ratio vs ref', fmt(r.detail.ratio, 3)]);
  const failed = Object.entries(r.frameChecks.failures)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  rows.push([
    'frame checks passed',
    `${pct(r.frameChecks.passRate)}${failed.length > 0 ? ` (failed: ${failed.join(', ')})` : ''}`,
  ]);
  rows.push(['time', `${r.seconds.toFixed(1)} s`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
