import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend/select-backend.js';
import { tf } from '../backend/tf.js';
import { loadModelDir, MODEL_FORMAT_VERSION, readModelConfig, saveModelDir } from '../model/model-files.js';
import { readSafetensors, type SafetensorsInput, writeSafetensors } from '../model/safetensors.js';
import { VideoUNet } from '../model/video-unet.js';
import { parseVideoUNetConfig } from '../model/video-unet-config.js';
import { Rng } from '../util/rng.js';

const config = parseVideoUNetConfig({
  channels: [8, 16],
  resBlocksPerLevel: 1,
  groups: 4,
  attentionHeads: 2,
  temporalMixing: ['conv', 'attention'],
  vocabSize: 5,
  maxTokens: 4,
  textEmbedDim: 8,
  textLayers: 1,
  timeEmbedDim: 16,
  frames: 2,
  height: 8,
  width: 8,
});
const VOCAB = ['<pad>', 'red', 'circle', 'blue', 'square'];

let root: string;
let saved: string;
let unet: VideoUNet;

beforeAll(async () => {
  await selectBackend({ backend: 'cpu' });
  root = await mkdtemp(join(tmpdir(), 'model-files-'));
  saved = join(root, 'saved');
  unet = VideoUNet.create(config, { seed: 3 });
  // Make every value distinct from a fresh init so a load that re-initialised would show.
  for (const v of unet.params.values()) {
    tf.tidy(() => v.assign(tf.add(v, tf.tensor(new Rng(v.size).normals(v.size), v.shape))));
  }
  await saveModelDir(saved, unet, {
    schedule: { kind: 'cosine' },
    vocabulary: VOCAB,
    trainingCommand: 'cascade train --preset shapes-32',
    seed: 1234,
  });
});

afterAll(async () => {
  unet.dispose();
  await rm(root, { recursive: true, force: true });
});

let copies = 0;
async function copyOfSaved(): Promise<string> {
  const dir = join(root, `copy-${copies++}`);
  await cp(saved, dir, { recursive: true });
  return dir;
}

/** The fields of config.json the tests tamper with. */
interface EditableConfig {
  formatVersion: number;
  architecture: { groups: number };
  vocabulary: string[];
  weights: { sha256: string; parameterCount: number };
}

async function editConfig(dir: string, edit: (config: EditableConfig) => void): Promise<void> {
  const path = join(dir, 'config.json');
  const value = JSON.parse(await readFile(path, 'utf8')) as EditableConfig;
  edit(value);
  await writeFile(path, JSON.stringify(value));
}

/** Rewrites the weights with `edit` applied and fixes the checksum, so only the edit is wrong. */
async function editWeights(
  dir: string,
  edit: (tensors: Map<string, SafetensorsInput>) => void,
): Promise<void> {
  const path = join(dir, 'model.safetensors');
  const file = await readSafetensors(path);
  const tensors = new Map<string, SafetensorsInput>();
  for (const [name, e] of file.tensors) tensors.set(name, { shape: e.shape, data: e.data as Float32Array });
  edit(tensors);
  await writeSafetensors(path, tensors);
  const sha = createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
  await editConfig(dir, (c) => {
    c.weights.sha256 = sha;
  });
}

async function expectLoadError(dir: string, code: string, message: RegExp, path?: string): Promise<void> {
  await expect(loadModelDir(dir)).rejects.toMatchObject({
    code,
    message: expect.stringMatching(message),
    ...(path === undefined ? {} : { path }),
  });
}

describe('model files', () => {
  it('round-trips: weights bit-exact, config complete, the loaded model frozen and equivalent', async () => {
    const config = await readModelConfig(saved);
    expect(config.formatVersion).toBe(MODEL_FORMAT_VERSION);
    expect(config.architecture).toEqual(unet.config);
    // The saved schedule is complete, defaults included (i.i.d. noise: frameCorrelation 0).
    expect(config.schedule).toEqual({
      kind: 'cosine',
      steps: 1000,
      offset: 0.008,
      maxBeta: 0.999,
      frameCorrelation: 0,
    });
    expect(config.training).toEqual({
      height: 8,
      width: 8,
      frames: 2,
      command: 'cascade train --preset shapes-32',
      seed: '1234',
    });
    expect(config.vocabulary).toEqual(VOCAB);
    expect(config.weights.parameterCount).toBe(unet.parameterCount());
    const bytes = await readFile(join(saved, 'model.safetensors'));
    expect(config.weights.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));

    const loaded = await loadModelDir(saved);
    expect(loaded.schedule.config.kind).toBe('cosine');
    expect(loaded.unet.trainableVariables()).toEqual([]);
    expect([...loaded.unet.params.keys()]).toEqual([...unet.params.keys()]);
    for (const [name, v] of unet.params) {
      const a = new Uint32Array((v.dataSync() as Float32Array).buffer);
      const b = new Uint32Array((loaded.unet.params.get(name)!.dataSync() as Float32Array).buffer);
      expect(a).toEqual(b);
    }
    const [x, tokens] = [
      tf.tensor(new Rng(9).normals(2 * 8 * 8 * 3), [1, 2, 8, 8, 3]) as tf.Tensor5D,
      tf.tensor2d([[1, 2, 0]], [1, 3], 'int32'),
    ];
    const a = unet.apply(x, 400, tokens).prediction!;
    const b = loaded.unet.apply(x, 400, tokens).prediction!;
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    tf.dispose([x, tokens, a, b]);
    loaded.unet.dispose();
    const trainable = await loadModelDir(saved, { trainable: true });
    expect(trainable.unet.trainableVariables().length).toBe(unet.params.size);
    trainable.unet.dispose();
  });

  it('refuses a vocabulary that does not match vocabSize', async () => {
    await expect(
      saveModelDir(join(root, 'bad-vocab'), unet, {
        schedule: { kind: 'linear' },
        vocabulary: VOCAB.slice(1),
        trainingCommand: '',
        seed: 1,
      }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', path: 'vocabulary' });
  });

  it('FILE_NOT_FOUND with the path for a missing directory or weights file', async () => {
    const nowhere = join(root, 'does-not-exist');
    await expectLoadError(nowhere, 'FILE_NOT_FOUND', /does not exist/, join(nowhere, 'config.json'));
    const dir = await copyOfSaved();
    await rm(join(dir, 'model.safetensors'));
    await expectLoadError(
      dir,
      'FILE_NOT_FOUND',
      /model\.safetensors does not exist/,
      join(dir, 'model.safetensors'),
    );
  });

  it('INVALID_WEIGHTS for a checksum mismatch', async () => {
    const dir = await copyOfSaved();
    const path = join(dir, 'model.safetensors');
    const bytes = await readFile(path);
    bytes[bytes.length - 1]! ^= 1;
    await writeFile(path, bytes);
    await expectLoadError(dir, 'INVALID_WEIGHTS', /sha256/, path);
  });

  it('INVALID_WEIGHTS for an unknown format version, bad JSON or an invalid config field', async () => {
    const future = await copyOfSaved();
    await editConfig(future, (c) => {
      c.formatVersion = 2;
    });
    await expectLoadError(
      future,
      'INVALID_WEIGHTS',
      /formatVersion 2.*reads format 1/,
      join(future, 'config.json'),
    );
    const garbled = await copyOfSaved();
    await writeFile(join(garbled, 'config.json'), '{"formatVersion": 1,');
    await expectLoadError(garbled, 'INVALID_WEIGHTS', /not valid JSON/);
    const badField = await copyOfSaved();
    await editConfig(badField, (c) => {
      c.architecture.groups = 3;
    });
    await expectLoadError(badField, 'INVALID_WEIGHTS', /architecture\.channels\.0/);
    const badCount = await copyOfSaved();
    await editConfig(badCount, (c) => {
      c.weights.parameterCount += 1;
    });
    await expectLoadError(badCount, 'INVALID_WEIGHTS', /parameterCount/);
    const badVocab = await copyOfSaved();
    await editConfig(badVocab, (c) => {
      c.vocabulary.pop();
    });
    await expectLoadError(badVocab, 'INVALID_WEIGHTS', /vocabulary has 4 words/);
  });

  it('INVALID_WEIGHTS for tensors with wrong shapes, missing or unexpected names', async () => {
    const reshaped = await copyOfSaved();
    await editWeights(reshaped, (t) => {
      const k = t.get('time.mlp1.kernel')!;
      t.set('time.mlp1.kernel', { ...k, shape: [k.data.length] });
    });
    await expectLoadError(
      reshaped,
      'INVALID_WEIGHTS',
      /"time\.mlp1\.kernel".*shape \[256\].*needs \[16, 16\]/,
    );
    const resized = await copyOfSaved();
    await editWeights(resized, (t) => {
      t.set('in.conv.bias', { shape: [4], data: new Float32Array(4) });
    });
    await expectLoadError(resized, 'INVALID_WEIGHTS', /"in\.conv\.bias".*4 values, expected 8/);
    const missing = await copyOfSaved();
    await editWeights(missing, (t) => {
      t.delete('out.conv.kernel');
    });
    await expectLoadError(missing, 'INVALID_WEIGHTS', /"out\.conv\.kernel" is missing/);
    const extra = await copyOfSaved();
    await editWeights(extra, (t) => {
      t.set('lora.a', { shape: [1], data: new Float32Array(1) });
    });
    await expectLoadError(extra, 'INVALID_WEIGHTS', /"lora\.a".*not a parameter/);
  });
});
