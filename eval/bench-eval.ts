/**
 * Times FD and KD for two sets of clips, feature extraction included (the acceptance bound is
 * 2 minutes for 2 x 512 clips):
 *
 *   npx tsx eval/bench-eval.ts [--count 512] [--size 32] [--bootstrap 100] [--backend wasm]
 *
 * The two sets are the held-out shapes split at seeds 1 and 2 (real vs held-out real), rendered
 * first (rendering is reported but not part of the FD/KD time).
 */
import { parseArgs } from 'node:util';
import { type BackendRequest, selectBackend } from '../backend/select-backend.js';
import { makeShapesSet } from '../data/make-shapes-set.js';
import { FeatureNet } from './feature-net.js';
import { frechetDistance } from './frechet-distance.js';
import { kernelDistance } from './kernel-distance.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '512' },
      size: { type: 'string', default: '32' },
      bootstrap: { type: 'string', default: '100' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const count = Number(values.count);
  const size = Number(values.size);
  const replicates = Number(values.bootstrap);
  const info = await selectBackend({ backend: values.backend as BackendRequest });
  console.log(`backend: ${info.reason}`);
  let t = performance.now();
  const render = (seed: number) =>
    makeShapesSet({ seed, count, split: 'heldout', height: size, width: size, frames: 16 }).samples.map(
      (s) => s.clip,
    );
  const a = render(1);
  const b = render(2);
  console.log(
    `render 2 x ${count} clips at ${size}x${size}x16: ${((performance.now() - t) / 1000).toFixed(1)} s (not counted)`,
  );

  const start = performance.now();
  const net = await FeatureNet.load();
  t = performance.now();
  const fa = await net.features(a);
  const fb = await net.features(b);
  const featureSeconds = (performance.now() - t) / 1000;
  net.dispose();
  t = performance.now();
  const fd = frechetDistance(fa, fb, { replicates, seed: 1 });
  const fdSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const kd = kernelDistance(fa, fb, { replicates, seed: 1 });
  const kdSeconds = (performance.now() - t) / 1000;
  const total = (performance.now() - start) / 1000;
  console.log(
    `features 2 x ${count} clips: ${featureSeconds.toFixed(1)} s (${((1000 * featureSeconds) / (2 * count)).toFixed(1)} ms/clip)`,
  );
  console.log(
    `FD ${fd.value.toFixed(4)} [${fd.low.toFixed(4)}, ${fd.high.toFixed(4)}] with ${replicates} bootstrap replicates: ${fdSeconds.toFixed(1)} s`,
  );
  console.log(
    `KD ${kd.value.toExponential(3)} [${kd.low.toExponential(3)}, ${kd.high.toExponential(3)}] with ${replicates} bootstrap replicates: ${kdSeconds.toFixed(1)} s`,
  );
  console.log(`FD + KD total (load, features, distances): ${total.toFixed(1)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
