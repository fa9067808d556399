import type { StageName } from '../stages/stage-context.js';
import type { VerifiedOutput } from '../stages/verify-output.js';

/**
 * Everything `render` reports, one union keyed by `type`. `overall` is the weighted fraction of
 * the whole job (model steps x pixels, plus encoding), `etaSeconds` its extrapolation.
 */
export type RenderEvent =
  | {
      readonly type: 'job-start';
      readonly clips: number;
      readonly skipped: number;
      readonly workers: number;
      readonly backend: string;
      readonly backendReason: string;
      readonly outputDir: string;
    }
  | { readonly type: 'clip-skipped'; readonly clipId: string; readonly reason: 'resume' }
  | { readonly type: 'clip-start'; readonly clipId: string }
  | {
      readonly type: 'stage';
      readonly clipId: string;
      readonly stage: StageName;
      /** 0..1 within the stage. */
      readonly fraction: number;
      readonly step?: number | undefined;
      readonly totalSteps?: number | undefined;
      readonly overall: number;
      readonly etaSeconds: number | null;
    }
  | {
      readonly type: 'clip-done';
      readonly clipId: string;
      readonly seconds: number;
      readonly outputs: readonly VerifiedOutput[];
      readonly checksPassed: boolean;
      /** Failed checks with their frame numbers, e.g. "flicker: frames 3, 4". */
      readonly checkFailures: readonly string[];
      readonly overall: number;
    }
  | {
      readonly type: 'clip-failed';
      readonly clipId: string;
      readonly code: string;
      readonly message: string;
      readonly overall: number;
    }
  | {
      readonly type: 'job-done';
      readonly done: number;
      readonly skipped: number;
      readonly failed: number;
      readonly checksFailed: number;
      readonly seconds: number;
      readonly manifest: string;
    };
