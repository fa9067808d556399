import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { evalCommand } from '../cli/commands/eval.js';
import type { Clip } from '../data/clip.js';
import { makeShapesSet, shapesSet } from '../data/make-shapes-set.js';
import { saveShapesSet } from '../data/save-shapes-set.js';
import { evaluateClips } from '../eval/evaluate-clips.js';
import { FeatureNet } from '../eval/feature-net.js';
import { DEFAULT_FRAME_CHECK_THRESHOLDS } from '../eval/frame-consistency.js';
import { isCascadeError } from '../util/cascade-error.js';

describe('evaluateClips', () => {
  let net: FeatureNet;
  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
    net = await FeatureNet.load();
  });
  afterAll(() => net.dispose());

  it('reports composition, distances with intervals, temporal, detail and checks for real clips', async () => {
    const set = makeShapesSet({ seed: 201, count: 12, split: 'heldout', height: 64, width: 64, frames: 16 });
    const reference = makeShapesSet({
      seed: 202,
      count: 12,
      split: 'heldout',
      height: 64,
      width: 64,
      frames: 16,
    });
    const pivots = makeShapesSet({
      seed: 201,
      count: 12,
      split: 'heldout',
      height: 32,
      width: 32,
      frames: 16,
    });
    const phases: string[] = [];
    const report = await evaluateClips({
      clips: set.samples.map((s) => s.clip),
      prompts: set.samples.map((s) => s.prompt),
      reference: reference.samples.map((s) => s.clip),
      baseSamples: pivots.samples.map((s) => s.clip),
      pivots: pivots.samples.map((s) => s.clip),
      featureNet: net,
      bootstrap: 10,
      patchesPerClip: 2,
      warpClips: 4,
      onProgress: (p) => phases.push(p.phase),
    });
    expect(report.clips).toBe(12);
    expect([report.height, report.width, report.frames]).toEqual([64, 64, 16]);
    expect(report.composition?.countAccuracy).toBe(1);
    expect(report.composition?.repetitionRate).toBe(0);
    const whole = report.distances!.whole;
    expect(whole.fd.replicates).toBe(10);
    expect(whole.fd.low).toBeLessThanOrEqual(whole.fd.value);
    expect(whole.samples).toEqual([12, 12]);
    expect(report.distances!.patch!.samples).toEqual([24, 24]);
    expect(report.base!.fd.value).toBeGreaterThanOrEqual(0);
    // Real against real: ratios near 1, pivots are the true downsampled clips.
    expect(report.temporal.flicker!).toBeGreaterThan(0.5);
    expect(report.temporal.flicker!).toBeLessThan(2);
    expect(report.detail.ratio!).toBeGreaterThan(0.5);
    expect(report.detail.ratio!).toBeLessThan(2);
    expect(report.temporal.objectSpeed!).toBeGreaterThan(0.1);
    expect(report.temporal.objectSpeedRatio!).toBeGreaterThan(0.5);
    expect(report.temporal.objectSpeedRatio!).toBeLessThan(2);
    expect(report.temporal.stageSeamRatio!).toBeLessThan(0.5);
    expect(report.perClip).toHaveLength(12);
    for (const clip of report.perClip) {
      // Each clip's worst statistic per check, consistent with its verdict.
      const jump = clip.checkValues.colour!;
      expect(jump).toBeGreaterThanOrEqual(0);
      expect(clip.failedChecks.includes('colour')).toBe(jump > DEFAULT_FRAME_CHECK_THRESHOLDS.maxColourJump);
    }
    expect(report.frameChecks.passed + Object.values(report.frameChecks.failures).length).toBeGreaterThan(0);
    expect(phases).toContain('features');
    expect(phases).toContain('temporal');
  });

  it('rejects mismatched inputs before any tensor work', async () => {
    const clips = makeShapesSet({ seed: 1, count: 2, split: 'heldout' }).samples.map((s) => s.clip);
    await expect(
      evaluateClips({ clips, prompts: ['a red circle on a plain blue background'], featureNet: net }),
    ).rejects.toThrow(/1 prompts for 2 clips/);
    const big: Clip[] = makeShapesSet({
      seed: 1,
      count: 2,
      split: 'heldout',
      height: 64,
      width: 64,
    }).samples.map((s) => s.clip);
    try {
      await evaluateClips({ clips, reference: big, featureNet: net });
      expect.unreachable();
    } catch (error) {
      expect(isCascadeError(error, 'BAD_ARGUMENT')).toBe(true);
      expect((error as Error).message).toContain('same resolution');
    }
    await expect(
      evaluateClips({ clips, prompts: ['two purple blobs', 'x'], featureNet: net }),
    ).rejects.toThrow();
  });
});

describe('cascade eval', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cascade-eval-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('evaluates a shapes set file and writes a JSON report and a contact sheet', async () => {
    const path = join(dir, 'clips.shapes.gz');
    await saveShapesSet(
      path,
      shapesSet({ seed: 301, count: 6, split: 'heldout', height: 32, width: 32, frames: 16 }),
    );
    const out = join(dir, 'out');
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await evalCommand([
        '--clips',
        path,
        '--bootstrap',
        '5',
        '--warp-clips',
        '2',
        '--out',
        out,
        '--backend',
        'wasm',
      ]);
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(0);
    const text = written.join('');
    expect(text).toContain('count accuracy');
    expect(text).toContain('FD vs reference');
    const report = JSON.parse(await readFile(join(out, 'eval-report.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(report.clips).toBe(6);
    expect(report.reference).toContain('held-out shapes split');
    expect((report.composition as { countAccuracy: number }).countAccuracy).toBe(1);
    expect((await stat(join(out, 'eval-sheet.png'))).size).toBeGreaterThan(1000);
  });

  it('fails with a usage error naming the missing flag', async () => {
    await expect(evalCommand([])).rejects.toThrow(/--clips is required/);
    await expect(evalCommand(['--clips', join(dir, 'nope.shapes.gz')])).rejects.toThrow(/does not exist/);
  });
});
