import type { LoadedModel } from '../model/model-files.js';
import type { ClipPlan } from '../pipeline/plan.js';

/** Names of the stages a clip goes through, in order (cascade stages are numbered from 1). */
export type StageName = 'latents' | 'base' | `cascade-${number}` | 'decode' | 'checks' | 'encode' | 'verify';

/** Progress inside one stage of one clip. */
export interface StageProgress {
  readonly stage: StageName;
  /** 0..1 within the stage. */
  readonly fraction: number;
  readonly step?: number;
  readonly totalSteps?: number;
}

/**
 * What every stage receives: the resolved clip plan (stages never read job files or options),
 * the one AbortSignal of the run, and a progress callback. Stages never dispose their input.
 */
export interface StageContext {
  readonly clip: ClipPlan;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: StageProgress) => void) | undefined;
}

/** Model stages also get the frozen base model (loaded once per worker). */
export interface ModelStageContext extends StageContext {
  readonly model: LoadedModel;
}
