/**
 * Public library API: one entry point for media toolchains. Everything here is typed; errors
 * are CascadeError with a stable `code`.
 */

export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type BackendRequest,
  currentBackend,
  type SelectBackendOptions,
  selectBackend,
} from './backend/select-backend.js';
export { type RunOptions, type TaskRef, WorkerPool, type WorkerPoolOptions } from './backend/worker-pool.js';
export type { TaskContext } from './backend/worker-protocol.js';
// Media
export { type ContactSheetOptions, contactSheet, writeContactSheet } from './codecs/contact-sheet.js';
export { decodeFrameHashes } from './codecs/decode-frame-hashes.js';
export { type DecodeVideoOptions, decodeVideo, decodeVideoToClip } from './codecs/decode-video.js';
export {
  ENCODE_PRESET_NAMES,
  ENCODE_PRESETS,
  type EncodeSpec,
  encodeSpecSchema,
  type ResolvedEncodeSettings,
  resolveEncodeSettings,
} from './codecs/encode-presets.js';
export { type EncodeResult, type EncodeVideoOptions, encodeVideo } from './codecs/encode-video.js';
export { findFfmpeg, findFfprobe, type MediaBinary } from './codecs/find-ffmpeg.js';
export { probeVideo, type VideoProbe } from './codecs/probe-video.js';
export { expectationFor, type VerifySummary, verifyVideo } from './codecs/verify-video.js';
export { decodePng, encodePng, type RgbImage, writePng } from './codecs/write-png.js';
// Data
export { areaDownsample } from './data/area-downsample.js';
export { type Clip, clipFrame, createClip } from './data/clip.js';
export { loadShapesSet } from './data/load-shapes-set.js';
export { makeShapesSet, shapesSet } from './data/make-shapes-set.js';
export { parsePrompt } from './data/parse-prompt.js';
export type { PromptConstraints } from './data/prompt-constraints.js';
export { promptForScene } from './data/prompt-for-scene.js';
export { type FootageResult, type ReadFootageOptions, readFootage } from './data/read-footage.js';
export { renderScene } from './data/render-scene.js';
export { type ResampleFilter, resampleClip } from './data/resample-clip.js';
export { sampleScene } from './data/sample-scene.js';
export { saveShapesSet } from './data/save-shapes-set.js';
export type { Scene } from './data/scene.js';
export { sceneGroundTruth } from './data/scene-ground-truth.js';
export { shapesStream } from './data/shapes-stream.js';
export { tokenizePrompt } from './data/tokenize-prompt.js';
export { VOCABULARY } from './data/vocabulary.js';
// Evaluation
export { type EvaluationReport, evaluateClips } from './eval/evaluate-clips.js';
export {
  checkFrameConsistency,
  DEFAULT_FRAME_CHECK_THRESHOLDS,
  type FrameCheckThresholds,
  type FrameConsistencyResult,
} from './eval/frame-consistency.js';
export { measureComposition } from './eval/measure-composition.js';
export { scoreComposition, summariseComposition } from './eval/score-composition.js';
// Model
export { ddimSample } from './model/ddim-sampler.js';
export { dpmSolverSample } from './model/dpm-solver-sampler.js';
export { type GuidedDenoiserOptions, guidedDenoiser, type InjectionsFor } from './model/guided-denoiser.js';
export { type LoadedModel, loadModelDir, readModelConfig, saveModelDir } from './model/model-files.js';
export { NoiseSchedule } from './model/noise-schedule.js';
export {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
} from './model/safetensors.js';
export { sampleBaseClips } from './model/sample-base-clips.js';
export type { Denoiser, SamplerOptions } from './model/sample-options.js';
export { type TrainBaseOptions, type TrainBaseResult, trainBase } from './model/train-base.js';
export { VideoUNet } from './model/video-unet.js';
export { parseVideoUNetConfig, VideoUNetConfig } from './model/video-unet-config.js';
// Pipeline
export { type ComputedClip, computeClip } from './pipeline/compute-clip.js';
export { type ClipSettings, type Job, type JobInput, jobSchema } from './pipeline/job-schema.js';
export { type LoadedJob, loadJobFile, parseJobText, validateJob } from './pipeline/load-job.js';
export type { Manifest } from './pipeline/manifest.js';
export type { ModelDescriptor } from './pipeline/model-descriptor.js';
export { type ClipPlan, type JobPlan, planJob, type StagePlan } from './pipeline/plan.js';
export { preflight } from './pipeline/preflight.js';
export { prepareRender, type RenderOptions, type RenderResult, render } from './pipeline/render.js';
export type { RenderEvent } from './pipeline/render-events.js';
export { listModelPresets, resolveModel } from './pipeline/resolve-model.js';
// Stages
export { baseDenoise } from './stages/base-denoise.js';
export { cascadeStage, registerCascadeUpscaler } from './stages/cascade-stage.js';
export type { CascadeStagePlan, CascadeUpscaler } from './stages/cascade-upscaler.js';
export { checkFrames } from './stages/check-frames.js';
export { decodeFrames } from './stages/decode-frames.js';
export { encodeOutput } from './stages/encode-output.js';
export { type Latents, prepareLatents } from './stages/prepare-latents.js';
export type { ModelStageContext, StageContext, StageName, StageProgress } from './stages/stage-context.js';
export { type VerifiedOutput, verifyOutput } from './stages/verify-output.js';
// Errors and seeds
export { CascadeError, type CascadeErrorCode, isCascadeError } from './util/cascade-error.js';
export { deriveSeed, Rng, type RngState } from './util/rng.js';
