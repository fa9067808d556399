import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeVideo } from '../codecs/decode-video.js';
import { probeVideo, type VideoProbe } from '../codecs/probe-video.js';
import {
  formatRational,
  type Rational,
  type RationalInput,
  rationalValue,
  toRational,
} from '../codecs/rational.js';
import { CascadeError, isCascadeError, throwIfAborted } from '../util/cascade-error.js';
import { type Clip, createClip } from './clip.js';

/**
 * Reads a folder of the user's own footage into fixed-size training clips.
 *
 * Which files: every regular file in the folder (sub-folders with `recursive`), chosen by
 * probing with ffprobe, never by extension: anything ffmpeg decodes to a video stream counts.
 * Hidden files (names starting with ".") are ignored, so unfinished ".partial" outputs and
 * .DS_Store never show up. Files are read in name order, so the result is deterministic.
 *
 * Aspect policy: each frame is centre-cropped to the target aspect (measured on displayed
 * pixels, so anamorphic and rotated phone footage come out upright and undistorted), then
 * resized to width x height with area averaging (each output pixel is the mean of the source
 * pixels it covers, so fine detail does not alias). A source smaller than the target is
 * enlarged with bicubic instead. Frames are resampled to `fps` (dropping or repeating frames).
 * Colour: YUV is converted with the matrix the file is tagged with; untagged HD (>= 1280x720)
 * is taken as BT.709 rather than ffmpeg's BT.601 default.
 *
 * Clips: a file gives up to `clipsPerFile` non-overlapping clips of `frames` consecutive frames
 * from its start; a trailing remainder shorter than a clip is dropped.
 *
 * Errors: a file that is not a readable video, or too short for one clip at `fps`, is reported
 * in `skipped` by name with the reason (`onError: 'skip'`, the default), or fails the run with
 * CascadeError('FOOTAGE_UNREADABLE') naming it (`onError: 'fail'`). In fail mode every file is
 * probed before any is decoded, so an unreadable file fails the run before the long work.
 * Cancellation (ABORTED) and a missing ffmpeg always propagate.
 */

export interface ReadFootageOptions {
  height: number;
  width: number;
  /** Frames per clip. */
  frames: number;
  /** Frame rate of the clips (the footage is resampled to it). */
  fps: RationalInput;
  onError?: 'skip' | 'fail';
  /** Most clips taken from one file (default 1). */
  clipsPerFile?: number;
  /** Also read sub-folders (default false). */
  recursive?: boolean;
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: FootageProgress) => void) | undefined;
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
}

export interface FootageClip {
  /** The source file. */
  readonly path: string;
  /** Clip number within its file, from 0. */
  readonly index: number;
  /** First frame of the clip, counted at the target fps from the start of the file. */
  readonly startFrame: number;
  /** [frames, height, width, 3] float RGB in [0, 1]. */
  readonly clip: Clip;
}

export interface SkippedFootage {
  readonly path: string;
  readonly reason: string;
}

export interface FootageResult {
  readonly clips: readonly FootageClip[];
  readonly skipped: readonly SkippedFootage[];
  /** Every file considered, in reading order. */
  readonly files: readonly string[];
}

export interface FootageProgress {
  readonly stage: 'footage';
  readonly phase: 'probe' | 'decode';
  readonly path: string;
  /** Files finished in this phase. */
  readonly filesDone: number;
  readonly fileCount: number;
  readonly clips: number;
  /** Overall: probing counts for 10%, decoding for 90%. */
  readonly fraction: number;
}

interface Checked {
  height: number;
  width: number;
  frames: number;
  fps: Rational;
  onError: 'skip' | 'fail';
  clipsPerFile: number;
  recursive: boolean;
}

export async function readFootage(dir: string, options: ReadFootageOptions): Promise<FootageResult> {
  const o = checkOptions(options);
  const { signal } = options;
  throwIfAborted(signal);
  const files = await listFiles(dir, o.recursive);
  const skipped: SkippedFootage[] = [];
  const clips: FootageClip[] = [];
  const report = (phase: FootageProgress['phase'], file: string, filesDone: number): void => {
    const share = files.length === 0 ? 1 : filesDone / files.length;
    options.onProgress?.({
      stage: 'footage',
      phase,
      path: file,
      filesDone,
      fileCount: files.length,
      clips: clips.length,
      fraction: phase === 'probe' ? 0.1 * share : 0.1 + 0.9 * share,
    });
  };
  const reject = (file: string, reason: string, cause?: unknown): void => {
    if (o.onError === 'fail') {
      throw new CascadeError(
        'FOOTAGE_UNREADABLE',
        `${file}: ${reason}. (Use onError 'skip' to skip such files.)`,
        {
          path: file,
          cause,
        },
      );
    }
    skipped.push({ path: file, reason });
  };

  // Phase 1: probe everything (cheap), so fail mode stops before any long decode.
  const probes = new Map<string, VideoProbe>();
  for (const [i, file] of files.entries()) {
    throwIfAborted(signal);
    let problem: { reason: string; cause?: unknown } | undefined;
    try {
      const probe = await probeVideo(file, {
        countFrames: 'never',
        signal,
        ffprobePath: options.ffprobePath,
      });
      const estimate = estimatedFrames(probe, o.fps);
      // Only a clear shortfall is decided here; near the limit the decode below counts exactly.
      if (estimate !== null && estimate + 1 < o.frames) problem = { reason: tooShort(estimate, o, 'about') };
      else probes.set(file, probe);
    } catch (error) {
      if (!isFileProblem(error)) throw error;
      problem = { reason: reasonOf(error, file), cause: error };
    }
    if (problem) reject(file, problem.reason, problem.cause);
    report('probe', file, i + 1);
  }

  // Phase 2: decode the readable files into clips.
  for (const [i, file] of files.entries()) {
    const probe = probes.get(file);
    if (probe) {
      throwIfAborted(signal);
      let problem: { reason: string; cause?: unknown } | undefined;
      try {
        const got = await decodeClips(file, probe, o, options);
        if (got.length === 0) problem = { reason: tooShort(got.decodedFrames, o, 'only') };
        else clips.push(...got);
      } catch (error) {
        if (!isFileProblem(error)) throw error;
        problem = { reason: reasonOf(error, file), cause: error };
      }
      if (problem) reject(file, problem.reason, problem.cause);
    }
    report('decode', file, i + 1);
  }
  return { clips, skipped, files };
}

async function decodeClips(
  file: string,
  probe: VideoProbe,
  o: Checked,
  options: ReadFootageOptions,
): Promise<FootageClip[] & { decodedFrames: number }> {
  const video = await decodeVideo(file, {
    width: o.width,
    height: o.height,
    crop: 'centre',
    fps: o.fps,
    maxFrames: o.frames * o.clipsPerFile,
    probe,
    signal: options.signal,
    ffmpegPath: options.ffmpegPath,
  });
  const frameSize = o.height * o.width * 3;
  const out: FootageClip[] = [];
  let current: Clip | undefined;
  let filled = 0;
  let decoded = 0;
  // Frames go straight into the clip's float buffer: no list of uint8 frames is kept.
  for await (const frame of video) {
    current ??= createClip(o.frames, o.height, o.width);
    const dst = current.data.subarray(filled * frameSize, (filled + 1) * frameSize);
    for (let k = 0; k < frameSize; k++) dst[k] = frame[k]! / 255;
    filled++;
    decoded++;
    if (filled === o.frames) {
      out.push({ path: file, index: out.length, startFrame: out.length * o.frames, clip: current });
      current = undefined;
      filled = 0;
    }
  }
  return Object.assign(out, { decodedFrames: decoded });
}

function estimatedFrames(probe: VideoProbe, fps: Rational): number | null {
  if (probe.frameCount === 1) return 1;
  if (probe.duration === null) return null;
  return Math.floor(probe.duration * rationalValue(fps) + 1e-6);
}

function tooShort(have: number, o: Checked, qualifier: 'about' | 'only'): string {
  const rate = o.fps.den === 1 ? String(o.fps.num) : formatRational(o.fps);
  return `too short: ${qualifier} ${have} frame${have === 1 ? '' : 's'} at ${rate} fps, need ${o.frames}`;
}

/** Per-file problems are skippable; cancellation, a missing ffmpeg and bugs are not. */
function isFileProblem(error: unknown): boolean {
  if (isCascadeError(error)) return error.code === 'FOOTAGE_UNREADABLE';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EISDIR' || code === 'ENOENT' || code === 'EIO';
}

function reasonOf(error: unknown, file: string): string {
  const message = error instanceof Error ? error.message : String(error);
  // The file is named separately: "x.mp4 is not a readable video: ..." -> "not a readable video: ...".
  return message
    .split('\n')[0]!
    .replace(`${file}: `, '')
    .replace(`${file} `, '')
    .replace(/^(is|has) /, '')
    .replace(/\.$/, '');
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  let names: string[];
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `footage folder ${dir} ${code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : `cannot be read (${code ?? String(error)})`}.`,
      { path: dir, cause: error },
    );
  }
  const files: string[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const full = path.join(dir, name);
    const info = await stat(full).catch(() => undefined);
    if (info?.isFile()) files.push(full);
    else if (info?.isDirectory() && recursive) files.push(...(await listFiles(full, true)));
  }
  return files;
}

function checkOptions(options: ReadFootageOptions): Checked {
  if (options === null || typeof options !== 'object') {
    throw new CascadeError('BAD_ARGUMENT', 'readFootage needs options { width, height, frames, fps }.', {
      path: 'options',
    });
  }
  const int = (
    field: 'width' | 'height' | 'frames' | 'clipsPerFile',
    value: unknown,
    max: number,
  ): number => {
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > max) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${field} is ${JSON.stringify(value)}, expected an integer from 1 to ${max}.`,
        { path: field },
      );
    }
    return value as number;
  };
  const onError = options.onError ?? 'skip';
  if (onError !== 'skip' && onError !== 'fail') {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `onError is ${JSON.stringify(onError)}, expected "skip" or "fail".`,
      {
        path: 'onError',
      },
    );
  }
  return {
    width: int('width', options.width, 16384),
    height: int('height', options.height, 16384),
    frames: int('frames', options.frames, 1_000_000),
    fps: toRational(options.fps, 'fps'),
    onError,
    clipsPerFile: int('clipsPerFile', options.clipsPerFile ?? 1, 1_000_000),
    recursive: options.recursive ?? false,
  };
}
