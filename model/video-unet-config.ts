import { z } from 'zod';
import { CascadeError } from '../util/cascade-error.js';

export const TEMPORAL_MIXING_KINDS = ['conv', 'attention'] as const;
export type TemporalMixingKind = (typeof TEMPORAL_MIXING_KINDS)[number];

const positiveInt = z.number().int().positive();

/**
 * Architecture of the base video UNet (see video-unet.ts). `height`, `width` and `frames` are
 * the training resolution, recorded for the cascade; the network itself runs at any H, W
 * divisible by `levelScale(config, levels - 1)` (patchSize * 2^(levels - 1)) and any T.
 */
export const VideoUNetConfig = z
  .strictObject({
    /** Channel width per level, e.g. [32, 64, 128] for 3 levels (resolution halves per level). */
    channels: z.array(positiveInt).min(1).max(6),
    /**
     * Pixels per side folded into channels before the first level (space-to-depth) and
     * unfolded after the output conv: 2 runs level 0 at H/2 x W/2 with 12 input channels.
     * Moves a conv net's cost from many narrow full-resolution positions to fewer wide ones
     * (as patch size 2 in pixel-space DiT / U-ViT). Default 1 (models saved before it existed).
     */
    patchSize: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(1),
    resBlocksPerLevel: positiveInt.max(8),
    /** GroupNorm groups; every channel width must be divisible by it. */
    groups: positiveInt,
    /** Heads of every attention layer (spatial, cross, temporal, text). */
    attentionHeads: positiveInt,
    /** Temporal mixing after every spatial block, applied in the listed order. */
    temporalMixing: z.array(z.enum(TEMPORAL_MIXING_KINDS)).max(2).default(['conv', 'attention']),
    /**
     * Spatial self-attention and prompt cross-attention run in the blocks of the lowest
     * `attentionLevels` levels (and in the mid block); 1 = the lowest level only.
     */
    attentionLevels: positiveInt.max(6).default(1),
    /**
     * When `temporalMixing` lists 'attention': the number of lowest levels that run it (the mid
     * block always does); default every level. A temporal conv, when listed, runs everywhere.
     */
    temporalAttentionLevels: positiveInt.max(6).optional(),
    /** Vocabulary size including id 0 = PAD. */
    vocabSize: z.number().int().min(2),
    maxTokens: positiveInt,
    textEmbedDim: positiveInt,
    /** Transformer layers over the prompt tokens before conditioning (0 = bag of embeddings). */
    textLayers: z.number().int().min(0).max(8).default(1),
    /** Width of the timestep (+ pooled prompt) embedding fed to every residual block; even. */
    timeEmbedDim: positiveInt,
    frames: positiveInt,
    height: positiveInt,
    width: positiveInt,
    /**
     * What the network outputs: 'eps' (the noise) or 'v' (sqrt(abar) eps - sqrt(1 - abar) x0).
     * With 'eps', x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar) multiplies any error by up to
     * 1e4 at the noisiest steps of the cosine schedule (abar ~ 1e-8 at t = 999), so the steps
     * that choose a clip's layout and colours come out as noise; with 'v' the network predicts
     * x0 itself there. Default 'eps' (models saved before this field existed).
     */
    prediction: z.enum(['eps', 'v']).default('eps'),
  })
  .superRefine((c, ctx) => {
    const issue = (path: (string | number)[], message: string): void => {
      ctx.addIssue({ code: 'custom', path, message });
    };
    const levels = c.channels.length;
    if (c.attentionLevels > levels) {
      issue(['attentionLevels'], `${c.attentionLevels} is more than the ${levels} levels`);
    }
    if (c.temporalAttentionLevels !== undefined && c.temporalAttentionLevels > levels) {
      issue(['temporalAttentionLevels'], `${c.temporalAttentionLevels} is more than the ${levels} levels`);
    }
    c.channels.forEach((ch, i) => {
      if (ch % c.groups !== 0) issue(['channels', i], `${ch} is not divisible by groups (${c.groups})`);
      if (ch % c.attentionHeads !== 0 && (hasSpatialAttention(c, i) || hasTemporalAttention(c, i))) {
        issue(['channels', i], `${ch} is not divisible by attentionHeads (${c.attentionHeads})`);
      }
    });
    if (c.textEmbedDim % c.attentionHeads !== 0) {
      issue(['textEmbedDim'], `${c.textEmbedDim} is not divisible by attentionHeads (${c.attentionHeads})`);
    }
    if (c.timeEmbedDim % 2 !== 0) issue(['timeEmbedDim'], `${c.timeEmbedDim} must be even`);
    if (new Set(c.temporalMixing).size !== c.temporalMixing.length) {
      issue(['temporalMixing'], 'lists a kind twice');
    }
    const factor = levelScale(c, levels - 1);
    if (c.height % factor !== 0)
      issue(['height'], `${c.height} is not divisible by patchSize * 2^(levels-1) = ${factor}`);
    if (c.width % factor !== 0)
      issue(['width'], `${c.width} is not divisible by patchSize * 2^(levels-1) = ${factor}`);
  });
export type VideoUNetConfig = z.output<typeof VideoUNetConfig>;
export type VideoUNetConfigInput = z.input<typeof VideoUNetConfig>;

/** Pixels per position side at level n (0 = the first level): patchSize * 2^n. */
export function levelScale(c: Pick<VideoUNetConfig, 'patchSize'>, n: number): number {
  return c.patchSize * 2 ** n;
}

type AttentionLayout = Pick<
  VideoUNetConfig,
  'channels' | 'attentionLevels' | 'temporalMixing' | 'temporalAttentionLevels'
>;

/** Whether the blocks of level n (0 = full resolution) run spatial self- and cross-attention. */
export function hasSpatialAttention(c: AttentionLayout, n: number): boolean {
  return n >= c.channels.length - c.attentionLevels;
}

/** Whether the blocks of level n run temporal attention (the mid block: level channels.length - 1). */
export function hasTemporalAttention(c: AttentionLayout, n: number): boolean {
  const levels = c.channels.length;
  return c.temporalMixing.includes('attention') && n >= levels - (c.temporalAttentionLevels ?? levels);
}

/** Validates a config; BAD_ARGUMENT naming the first offending field otherwise. */
export function parseVideoUNetConfig(input: unknown, where = 'architecture'): VideoUNetConfig {
  const result = VideoUNetConfig.safeParse(input);
  if (result.success) return result.data;
  const first = result.error.issues[0]!;
  const field = [where, ...first.path.map(String)].join('.');
  throw new CascadeError(
    'BAD_ARGUMENT',
    `${field}: ${first.message}. Fix the video UNet config (see model/video-unet-config.ts).`,
    { path: field, details: { issues: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } },
  );
}

/** Number of feature taps / injection points: one per encoder level plus the mid block. */
export function tapCount(config: VideoUNetConfig): number {
  return config.channels.length + 1;
}

/**
 * Shape of tap n for a clip batch [B, T, H, W, 3]: [B*T, H/s, W/s, channels[n]] with
 * s = levelScale(n) = patchSize * 2^n for the encoder levels n < levels, and the lowest level's
 * shape for the mid block (n = levels).
 */
export function tapShapes(
  config: VideoUNetConfig,
  batch: number,
  frames: number,
  height: number,
  width: number,
): [number, number, number, number][] {
  const levels = config.channels.length;
  const shapes: [number, number, number, number][] = [];
  for (let n = 0; n <= levels; n++) {
    const level = Math.min(n, levels - 1);
    const f = levelScale(config, level);
    shapes.push([batch * frames, height / f, width / f, config.channels[level]!]);
  }
  return shapes;
}
