import type { Clip } from '../data/clip.js';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import { rgb24FramesToClip } from './clip-to-rgb24-frames.js';
import {
  buildDecodeArgs,
  type DecodePlan,
  type DecodeRequest,
  type DecodeSource,
  planDecode,
} from './ffmpeg-args.js';
import { findFfmpeg } from './find-ffmpeg.js';
import { probeVideo, type VideoProbe } from './probe-video.js';
import { type Rational, type RationalInput, toRational } from './rational.js';
import { describeExit, startMediaTool } from './run-media-tool.js';

export interface DecodeVideoOptions {
  /** Output size; with only one of them the other follows the display aspect. Default: stored size. */
  width?: number | undefined;
  height?: number | undefined;
  /** 'centre': crop the middle to the output aspect before scaling; otherwise the frame is stretched. */
  crop?: 'centre' | undefined;
  /** Resample to this rate (frames dropped or repeated); default: every decoded frame. */
  fps?: RationalInput | undefined;
  maxFrames?: number | undefined;
  /** Rate for png-sequence directories, which carry none (default 25). */
  sequenceFps?: RationalInput | undefined;
  signal?: AbortSignal | undefined;
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
  /** Reuse a probe made earlier (skips running ffprobe again). */
  probe?: VideoProbe | undefined;
}

/**
 * A decodable video with its output geometry known up front. Iterating it runs ffmpeg and
 * yields rgb24 frames ([height, width, 3] uint8, a fresh array each), with backpressure: ffmpeg
 * pauses while the consumer is busy. Breaking out of the loop stops ffmpeg. Each iteration is
 * a new decode.
 */
export interface DecodedVideo extends AsyncIterable<Uint8Array> {
  readonly path: string;
  readonly probe: VideoProbe;
  readonly width: number;
  readonly height: number;
  /** Rate of the frames yielded: the requested fps, else the source's (null if unknown). */
  readonly fps: Rational | null;
  readonly plan: DecodePlan;
  readonly args: readonly string[];
}

/**
 * Probes `file` (ffprobe) and prepares its decode to rgb24. A missing, unreadable or non-video
 * file is CascadeError('FOOTAGE_UNREADABLE') naming it, before any frame is produced; a decode
 * that fails later (corrupt data) throws the same code from the iterator.
 */
export async function decodeVideo(file: string, options: DecodeVideoOptions = {}): Promise<DecodedVideo> {
  throwIfAborted(options.signal);
  const fps = options.fps === undefined ? undefined : toRational(options.fps, 'fps');
  const probe =
    options.probe ??
    (await probeVideo(file, {
      countFrames: 'never',
      signal: options.signal,
      ffprobePath: options.ffprobePath,
      sequenceFps: options.sequenceFps,
    }));
  const ffmpeg = await findFfmpeg({ path: options.ffmpegPath });
  const source: DecodeSource = {
    path: file,
    isSequence: probe.isSequence,
    sequenceFps: toRational(options.sequenceFps ?? 25, 'sequenceFps'),
    width: probe.width,
    height: probe.height,
    sampleAspectRatio: probe.sampleAspectRatio,
    rotation: probe.rotation,
    streamIndex: probe.streamIndex,
    untaggedMatrix:
      probe.colour.space === null &&
      probe.pixelFormat.startsWith('yuv') &&
      (probe.width >= 1280 || probe.height >= 720)
        ? 'bt709'
        : null,
  };
  const request: DecodeRequest = {
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.height === undefined ? {} : { height: options.height }),
    ...(options.crop === undefined ? {} : { crop: options.crop }),
    ...(fps === undefined ? {} : { fps }),
    ...(options.maxFrames === undefined ? {} : { maxFrames: options.maxFrames }),
  };
  const plan = planDecode(source, request);
  const args = buildDecodeArgs(source, plan, request, { fpsModeOption: ffmpeg.fpsModeOption });
  const { signal } = options;

  async function* frames(): AsyncGenerator<Uint8Array> {
    throwIfAborted(signal);
    const proc = startMediaTool(ffmpeg.path, args, { signal });
    const frameBytes = plan.width * plan.height * 3;
    let frame = new Uint8Array(frameBytes);
    let filled = 0;
    let finished = false;
    try {
      for await (const chunk of proc.child.stdout! as AsyncIterable<Buffer>) {
        let offset = 0;
        while (offset < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - offset);
          frame.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === frameBytes) {
            const done = frame;
            frame = new Uint8Array(frameBytes);
            filled = 0;
            yield done;
          }
        }
      }
      const exit = await proc.exited;
      finished = true;
      if (signal?.aborted) {
        throw new CascadeError('ABORTED', `Decoding ${file} was cancelled.`, {
          path: file,
          cause: signal.reason,
        });
      }
      if (exit.code !== 0) {
        throw new CascadeError(
          'FOOTAGE_UNREADABLE',
          `${file} could not be decoded: ffmpeg ${describeExit(exit)}.` +
            (exit.stderrTail.length > 0
              ? `\nffmpeg stderr (last lines):\n${exit.stderrTail.join('\n')}`
              : ''),
          { path: file, details: { exitCode: exit.code, stderrTail: exit.stderrTail } },
        );
      }
      if (filled !== 0) {
        throw new CascadeError(
          'FOOTAGE_UNREADABLE',
          `${file}: ffmpeg ended in the middle of a frame (${filled} of ${frameBytes} bytes).`,
          { path: file },
        );
      }
    } finally {
      if (!finished) {
        // The consumer stopped early (break, throw): ffmpeg has nothing more to do.
        proc.stop(500);
        await proc.exited;
      }
    }
  }

  return {
    path: file,
    probe,
    width: plan.width,
    height: plan.height,
    fps: fps ?? probe.fps,
    plan,
    args,
    [Symbol.asyncIterator]: frames,
  };
}

/** Decodes a whole file (bounded by `maxFrames`) into a float Clip, [frames, h, w, 3] in [0, 1]. */
export async function decodeVideoToClip(file: string, options: DecodeVideoOptions = {}): Promise<Clip> {
  const video = await decodeVideo(file, options);
  const frames: Uint8Array[] = [];
  for await (const frame of video) frames.push(frame);
  return rgb24FramesToClip(frames, video.height, video.width);
}
