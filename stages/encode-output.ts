import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { type EncodeResult, encodeVideo } from '../codecs/encode-video.js';
import type { Clip } from '../data/clip.js';
import type { PlannedOutput } from '../pipeline/plan.js';
import type { StageContext } from './stage-context.js';

/** An encoded output still under its temporary name, waiting for verification. */
export interface EncodedOutput {
  readonly output: PlannedOutput;
  /** Hidden temporary path beside the final one; renamed only once verified. */
  readonly tempPath: string;
  readonly result: EncodeResult;
}

/**
 * Temporary name of an output: hidden, unique, same folder (so the final rename is atomic),
 * same extension (ffmpeg picks the container by it): out/clip.mp4 -> out/.clip.part-1a2b3c4d.mp4.
 */
export function temporaryOutputPath(finalPath: string, extension: string): string {
  const name = basename(finalPath);
  const stem = extension && name.endsWith(extension) ? name.slice(0, -extension.length) : name;
  return join(dirname(finalPath), `.${stem}.part-${randomBytes(4).toString('hex')}${extension}`);
}

/**
 * Streams the frames through ffmpeg into a temporary file (folder for PNG sequences) beside the
 * final path, hashing every frame. Nothing appears at the final path until `verifyOutput`.
 */
export async function encodeOutput(
  frames: Clip,
  output: PlannedOutput,
  context: StageContext,
): Promise<EncodedOutput> {
  const tempPath = temporaryOutputPath(output.path, output.settings.extension);
  const result = await encodeVideo(frames, output.settings, tempPath, {
    signal: context.signal,
    hashFrames: true,
    onProgress: (p) => context.onProgress?.({ stage: 'encode', fraction: p.fraction }),
  });
  return { output, tempPath, result };
}
