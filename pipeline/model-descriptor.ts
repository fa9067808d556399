import type { ClipSettings } from './job-schema.js';

/**
 * What planning needs to know about a model, read from its folder before any tensor exists.
 * `defaults` are the preset's recommended clip settings (source "preset" in `cascade plan`).
 */
export interface ModelDescriptor {
  /** Preset name, or the folder name for a model given by path. */
  readonly name: string;
  /** Absolute path of the model folder. */
  readonly dir: string;
  /** Training resolution d0 and frame count of the frozen base. */
  readonly height: number;
  readonly width: number;
  readonly frames: number;
  /** Prompt language the model was trained on ('shapes' prompts are parsed and validated). */
  readonly domain: 'shapes';
  /** sha256 of the weights file, recorded in manifests. */
  readonly sha256: string;
  /**
   * Frame correlation of the noise the samplers draw (config.json `schedule`): a clip's
   * `frameCorrelation` when neither the job nor the preset's defaults set one.
   */
  readonly samplingFrameCorrelation: number;
  /** Learned cascade upsamplers shipped beside the base, if any ('tuned' mode needs them). */
  readonly upsamplers: { readonly dir: string; readonly sha256: string } | undefined;
  readonly defaults: Readonly<ClipSettings>;
}
