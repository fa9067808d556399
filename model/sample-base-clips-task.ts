/** Worker-pool entry of `sampleBaseClips`: one chunk of requests on a worker's own model copy. */
import type { Clip } from '../data/clip.js';
import { type SampleBaseClipsOptions, type SampleRequest, sampleBaseClips } from './sample-base-clips.js';
import { workerModel } from './worker-model.js';

export interface SampleClipsPayload {
  readonly modelDir: string;
  readonly modelSha256: string;
  readonly requests: readonly SampleRequest[];
  readonly options: Pick<
    SampleBaseClipsOptions,
    'steps' | 'sampler' | 'eta' | 'guidanceScale' | 'frameCorrelation' | 'batch'
  >;
}

export async function sampleClipsTask(payload: SampleClipsPayload): Promise<Clip[]> {
  const { unet, schedule } = await workerModel(payload.modelDir, payload.modelSha256);
  return sampleBaseClips(unet, schedule, payload.requests, payload.options);
}
