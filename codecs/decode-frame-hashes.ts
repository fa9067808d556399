import { rgb24FrameHash } from './clip-to-rgb24-frames.js';
import { decodeVideo } from './decode-video.js';
import type { RationalInput } from './rational.js';

export interface DecodeFrameHashesOptions {
  signal?: AbortSignal | undefined;
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
  /** Rate for png-sequence directories (default 25; it does not change the frames). */
  sequenceFps?: RationalInput | undefined;
}

/**
 * sha256 (hex) of every frame of `file` decoded to rgb24 at its stored size, one entry per
 * decoded frame (no frame is dropped or repeated). For lossless outputs (ffv1 bgr0, png,
 * h264 rgb24 at crf 0) these equal `rgb24FrameHash` of the frames that were encoded, which is
 * how a render proves its file holds exactly what the model produced.
 */
export async function decodeFrameHashes(
  file: string,
  options: DecodeFrameHashesOptions = {},
): Promise<string[]> {
  const video = await decodeVideo(file, options);
  const hashes: string[] = [];
  for await (const frame of video) hashes.push(rgb24FrameHash(frame));
  return hashes;
}
