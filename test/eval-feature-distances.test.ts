import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { type Clip, createClip } from '../data/clip.js';
import { makeShapesSet } from '../data/make-shapes-set.js';
import { areaResize } from '../eval/area-resize.js';
import { addNoise, blurClip, shuffleFrames } from '../eval/corrupt-clip.js';
import { defaultFeatureNetDir, FEATURE_NET_WEIGHTS_FILE, FeatureNet } from '../eval/feature-net.js';
import type { FeatureSet } from '../eval/feature-set.js';
import { frechetDistance } from '../eval/frechet-distance.js';
import { kernelDistance } from '../eval/kernel-distance.js';

const COUNT = 96;

function heldout(seed: number, size = 32): Clip[] {
  return makeShapesSet({
    seed,
    count: COUNT,
    split: 'heldout',
    height: size,
    width: size,
    frames: 16,
  }).samples.map((s) => s.clip);
}

describe('feature network distances on real rendered clips', () => {
  let net: FeatureNet;
  let real: FeatureSet;
  let realClips: Clip[];
  /** Features of another held-out set, as is and perturbed. */
  const sets: Record<'same' | 'blur' | 'shuffle' | 'noise', FeatureSet> = {} as never;

  beforeAll(async () => {
    await selectBackend({ backend: 'wasm' });
    net = await FeatureNet.load();
    realClips = heldout(101);
    const other = heldout(102);
    real = await net.features(realClips);
    sets.same = await net.features(other);
    sets.blur = await net.features(other.map(blurClip));
    sets.shuffle = await net.features(other.map((c, i) => shuffleFrames(c, i)));
    sets.noise = await net.features(other.map((c, i) => addNoise(c, i)));
  });

  afterAll(() => {
    net.dispose();
  });

  it('ships weights under 2 MB with their config', async () => {
    const size = (await stat(join(defaultFeatureNetDir(), FEATURE_NET_WEIGHTS_FILE))).size;
    expect(size).toBeLessThan(2 * 1024 * 1024);
    expect(net.featureDim).toBe(256);
    expect(net.metadata.seed).toBeDefined();
  });

  it('FD(real, held-out real) is small next to blurred, frame-shuffled and noised real clips', async () => {
    const opts = { replicates: 10, seed: 7 };
    const same = frechetDistance(real, sets.same, opts);
    const blur = frechetDistance(real, sets.blur, opts);
    const shuffle = frechetDistance(real, sets.shuffle, opts);
    const noise = frechetDistance(real, sets.noise, opts);
    // Measured (96 clips): same 44, blurred 98, shuffled 1105, noised 1381 (docs/metrics.md).
    expect(blur.value).toBeGreaterThan(1.7 * same.value);
    expect(shuffle.value).toBeGreaterThan(5 * same.value);
    expect(noise.value).toBeGreaterThan(5 * same.value);
    for (const worse of [blur, shuffle, noise]) {
      // Non-overlapping intervals: the ordering is not a bootstrap accident.
      expect(worse.low).toBeGreaterThan(same.high);
    }
    expect(same.replicates).toBe(10);
    expect(same.low).toBeLessThanOrEqual(same.value);
    expect(same.high).toBeGreaterThanOrEqual(same.value);
  });

  it('KD orders the same sets, with intervals', async () => {
    const opts = { replicates: 10, seed: 7 };
    const same = kernelDistance(real, sets.same, opts);
    expect(same.low).toBeLessThan(0.05);
    for (const name of ['blur', 'shuffle', 'noise'] as const) {
      const worse = kernelDistance(real, sets[name], opts);
      expect(worse.value).toBeGreaterThan(same.high);
      expect(worse.low).toBeLessThanOrEqual(worse.value);
    }
  });

  it('area-resizes larger clips to its 32x32 input, and leaks no tensors', async () => {
    const big = makeShapesSet({
      seed: 101,
      count: 4,
      split: 'heldout',
      height: 64,
      width: 64,
      frames: 16,
    }).samples.map((s) => s.clip);
    const before = tf.memory().numTensors;
    const fromBig = await net.features(big);
    expect(tf.memory().numTensors).toBe(before);
    const fromSmall = await net.features(big.map((c) => areaResize(c, 32, 32)));
    expect(Array.from(fromBig.data)).toEqual(Array.from(fromSmall.data));
    // A clip of another length is sampled to 16 frames.
    const eight = createClip(8, 32, 32, realClips[0]!.data.slice(0, 8 * 32 * 32 * 3));
    expect((await net.features([eight])).count).toBe(1);
  });

  it('saves and loads the same weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'feature-net-'));
    try {
      await net.save(dir, { note: 'roundtrip' });
      const again = await FeatureNet.load(dir);
      try {
        const a = await net.features(realClips.slice(0, 3));
        const b = await again.features(realClips.slice(0, 3));
        expect(Array.from(b.data)).toEqual(Array.from(a.data));
        expect(again.metadata.note).toBe('roundtrip');
      } finally {
        again.dispose();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
