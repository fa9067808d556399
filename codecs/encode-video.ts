import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Clip } from '../data/clip.js';
import { CascadeError, isCascadeError, throwIfAborted } from '../util/cascade-error.js';
import { clipToRgb24Frames, rgb24FrameHash } from './clip-to-rgb24-frames.js';
import { PNG_SEQUENCE_FILE, type ResolvedEncodeSettings } from './encode-presets.js';
import { buildEncodeArgs } from './ffmpeg-args.js';
import { findFfmpeg } from './find-ffmpeg.js';
import { describeExit, type MediaToolExit, startMediaTool } from './run-media-tool.js';

/** Progress of one encode; `fraction` follows frames ffmpeg has encoded, not frames queued. */
export interface EncodeProgress {
  readonly stage: 'encode';
  readonly framesSent: number;
  readonly framesEncoded: number;
  readonly totalFrames: number;
  readonly fraction: number;
}

export interface EncodeVideoOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((progress: EncodeProgress) => void) | undefined;
  /** Explicit ffmpeg binary (otherwise FFMPEG_PATH, then the packages, then PATH). */
  ffmpegPath?: string | undefined;
  /** sha256 of every input frame, to compare with `decodeFrameHashes` (default: when lossless). */
  hashFrames?: boolean | undefined;
}

export interface EncodeResult {
  readonly path: string;
  readonly preset: ResolvedEncodeSettings['preset'];
  readonly frames: number;
  /** File size, or the total of the PNG files for png-sequence. */
  readonly bytes: number;
  /** sha256 per input rgb24 frame, or null when not requested. */
  readonly frameHashes: readonly string[] | null;
  readonly ffmpeg: { readonly path: string; readonly version: string; readonly source: string };
  /** The argv used (output path is the temporary one that was renamed). */
  readonly args: readonly string[];
  readonly elapsedMs: number;
}

type FrameSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/**
 * Encodes rgb24 frames ([h, w, 3] uint8, one array per frame) or a float Clip through ffmpeg.
 *
 * - Frames stream to ffmpeg's stdin with backpressure (one pipe buffer in flight), so memory
 *   stays flat for long clips. A yielded frame must not be modified afterwards.
 * - ffmpeg writes a hidden temporary file (or directory for png-sequence) next to `outPath`,
 *   renamed over `outPath` only after ffmpeg succeeded: readers never see a partial file.
 * - On failure or abort the temporary is removed. Abort stops ffmpeg (SIGTERM, SIGKILL after a
 *   grace period) and throws ABORTED; a non-zero exit throws FFMPEG_FAILED with the last lines
 *   of ffmpeg's stderr; a full disk is FFMPEG_FAILED saying so.
 * - The source must yield exactly `settings.frames` frames of the settings' size (BAD_ARGUMENT
 *   otherwise, and nothing is written).
 */
export async function encodeVideo(
  frames: FrameSource | Clip,
  settings: ResolvedEncodeSettings,
  outPath: string,
  options: EncodeVideoOptions = {},
): Promise<EncodeResult> {
  const started = performance.now();
  const { signal } = options;
  throwIfAborted(signal);
  const source = toFrameSource(frames, settings);
  const target = path.resolve(outPath);
  await prepareTarget(target, settings);
  const ffmpeg = await findFfmpeg({ path: options.ffmpegPath });
  throwIfAborted(signal);

  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(6).toString('hex')}.partial${settings.extension}`,
  );
  const cleanup = (): Promise<void> => rm(temp, { recursive: true, force: true }).catch(() => {});
  if (settings.output === 'directory')
    await fsStep(() => mkdir(temp), temp, 'create the temporary directory');

  const args = buildEncodeArgs(settings, temp);
  const total = settings.frames;
  let framesSent = 0;
  let framesEncoded = 0;
  /** ffmpeg's own count from its final progress block: catches an encoder that drops frames. */
  let ffmpegFrames = 0;
  let progressEnded = false;
  const report = (): void => {
    options.onProgress?.({
      stage: 'encode',
      framesSent,
      framesEncoded,
      totalFrames: total,
      fraction: Math.min(1, framesEncoded / total),
    });
  };
  const proc = startMediaTool(ffmpeg.path, args, {
    signal,
    stdin: 'pipe',
    onStdoutLine: (line) => {
      // -progress blocks: frame=N ... progress=continue|end
      const m = /^frame=(\d+)$/.exec(line);
      if (m) {
        ffmpegFrames = Number(m[1]);
        if (Math.min(ffmpegFrames, total) !== framesEncoded) {
          framesEncoded = Math.min(ffmpegFrames, total);
          report();
        }
      } else if (line === 'progress=end') {
        progressEnded = true;
      }
    },
  });

  const hashes: string[] | null = (options.hashFrames ?? settings.lossless) ? [] : null;
  let sourceError: unknown;
  let pipeClosed = false;
  const iterator = iterate(source);
  let exhausted = false;
  try {
    const frameBytes = settings.width * settings.height * 3;
    const stdin = proc.child.stdin!;
    for (;;) {
      // A slow producer (a model rendering frames) must not delay cancellation.
      const step = await nextOrAbort(iterator, signal);
      if (step.done) {
        exhausted = true;
        break;
      }
      const frame = step.value;
      if (!(frame instanceof Uint8Array) || frame.length !== frameBytes) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `frame ${framesSent} has ${frame instanceof Uint8Array ? `${frame.length} bytes` : `type ${typeof frame}`}, expected a Uint8Array of ${settings.width}x${settings.height}x3 = ${frameBytes} bytes (rgb24).`,
          { path: `frames.${framesSent}` },
        );
      }
      if (framesSent === total) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `the frame source yielded more than the ${total} frames the encode settings were resolved for; resolve the settings with the real frame count.`,
          { path: 'frames' },
        );
      }
      hashes?.push(rgb24FrameHash(frame));
      // false: ffmpeg closed its input (it failed or stopped early); its exit status explains why.
      if (!(await writeWithBackpressure(stdin, frame))) {
        pipeClosed = true;
        break;
      }
      framesSent++;
      report();
    }
    if (framesSent < total && !pipeClosed) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `the frame source ended after ${framesSent} frames, but the encode settings were resolved for ${total}; resolve the settings with the real frame count.`,
        { path: 'frames' },
      );
    }
    stdin.end();
  } catch (error) {
    sourceError = error;
    proc.stop();
  } finally {
    // Let the producer clean up (its finally blocks); not awaited, it may still be mid-step.
    if (!exhausted) Promise.resolve(iterator.return?.()).catch(() => {});
  }

  const exit = await proc.exited;
  if (signal?.aborted) {
    await cleanup();
    throw new CascadeError('ABORTED', `Encoding ${target} was cancelled; no output was written.`, {
      path: target,
      cause: signal.reason,
    });
  }
  if (sourceError !== undefined) {
    await cleanup();
    throw sourceError;
  }
  if (exit.code !== 0) {
    await cleanup();
    throw ffmpegFailed(exit, target, settings);
  }
  if (pipeClosed) {
    await cleanup();
    throw ffmpegFailed(exit, target, settings, `stopped reading frames after ${framesSent} of ${total}`);
  }
  if (progressEnded && ffmpegFrames !== total) {
    await cleanup();
    throw ffmpegFailed(exit, target, settings, `wrote ${ffmpegFrames} frames, expected ${total}`);
  }

  try {
    const bytes = await checkOutput(temp, settings, exit);
    await moveIntoPlace(temp, target, settings);
    framesEncoded = total;
    report();
    return {
      path: target,
      preset: settings.preset,
      frames: total,
      bytes,
      frameHashes: hashes,
      ffmpeg: { path: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.sourceLabel },
      args,
      elapsedMs: performance.now() - started,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function isClip(value: unknown): value is Clip {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Clip).data instanceof Float32Array &&
    typeof (value as Clip).frames === 'number'
  );
}

function toFrameSource(frames: FrameSource | Clip, settings: ResolvedEncodeSettings): FrameSource {
  if (!isClip(frames)) return frames;
  const clip = frames;
  if (clip.width !== settings.width || clip.height !== settings.height || clip.frames !== settings.frames) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `the clip is ${clip.frames} frames of ${clip.width}x${clip.height}, but the encode settings were resolved for ${settings.frames} frames of ${settings.width}x${settings.height}.`,
      { path: 'clip' },
    );
  }
  return clipToRgb24Frames(clip);
}

function iterate(source: FrameSource): AsyncIterator<Uint8Array> | Iterator<Uint8Array> {
  return Symbol.asyncIterator in source
    ? (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    : (source as Iterable<Uint8Array>)[Symbol.iterator]();
}

/** The iterator's next step, or ABORTED as soon as the signal fires (without waiting for the step). */
function nextOrAbort(
  iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<Uint8Array>> {
  throwIfAborted(signal);
  const next = Promise.resolve(iterator.next());
  if (!signal) return next;
  return new Promise((resolve, reject) => {
    const onAbort = (): void =>
      reject(new CascadeError('ABORTED', 'The operation was cancelled.', { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    next.then(
      (step) => {
        signal.removeEventListener('abort', onAbort);
        resolve(step);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Resolves true once `data` is accepted (after 'drain' when the pipe is full), false if the pipe closed. */
function writeWithBackpressure(stdin: Writable, data: Uint8Array): Promise<boolean> {
  if (stdin.destroyed || stdin.writableEnded) return Promise.resolve(false);
  if (stdin.write(data)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      stdin.off('drain', onDrain);
      stdin.off('close', onClose);
      stdin.off('error', onClose);
      resolve(ok);
    };
    const onDrain = (): void => finish(true);
    const onClose = (): void => finish(false);
    stdin.on('drain', onDrain);
    stdin.on('close', onClose);
    stdin.on('error', onClose);
  });
}

/** Checks the target before any process exists: right extension, parent creatable, no clobbering of foreign directories. */
async function prepareTarget(target: string, settings: ResolvedEncodeSettings): Promise<void> {
  if (settings.output === 'file' && path.extname(target).toLowerCase() !== settings.extension) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `output path ${target} does not end in ${settings.extension}, the container of preset ${settings.preset}; name it *${settings.extension} or choose another preset.`,
      { path: target },
    );
  }
  const existing = await stat(target).catch(() => undefined);
  if (existing) {
    if (settings.output === 'file' && !existing.isFile()) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `output path ${target} exists and is not a file; choose a file path.`,
        {
          path: target,
        },
      );
    }
    if (settings.output === 'directory') {
      if (!existing.isDirectory()) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `output path ${target} exists and is not a directory; png-sequence writes a directory of frames.`,
          { path: target },
        );
      }
      const foreign = (await readdir(target)).filter((name) => !PNG_SEQUENCE_FILE.test(name));
      if (foreign.length > 0) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `output directory ${target} holds files that are not frames of a png sequence (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); it will not be replaced. Choose a new or empty directory.`,
          { path: target },
        );
      }
    }
  }
  await fsStep(
    () => mkdir(path.dirname(target), { recursive: true }),
    path.dirname(target),
    'create the output directory',
  );
}

async function checkOutput(
  temp: string,
  settings: ResolvedEncodeSettings,
  exit: MediaToolExit,
): Promise<number> {
  if (settings.output === 'directory') {
    const names = (await readdir(temp)).filter((n) => PNG_SEQUENCE_FILE.test(n));
    if (names.length !== settings.frames) {
      throw ffmpegFailed(
        exit,
        temp,
        settings,
        `ffmpeg wrote ${names.length} PNG files, expected ${settings.frames}`,
      );
    }
    let bytes = 0;
    for (const name of names) bytes += (await stat(path.join(temp, name))).size;
    return bytes;
  }
  const info = await stat(temp).catch(() => undefined);
  if (!info || info.size === 0)
    throw ffmpegFailed(exit, temp, settings, 'ffmpeg exited 0 but wrote no output');
  return info.size;
}

/** rename() is atomic within a directory; for a directory target the old one is swapped out first. */
async function moveIntoPlace(temp: string, target: string, settings: ResolvedEncodeSettings): Promise<void> {
  if (settings.output === 'file') {
    await fsStep(() => rename(temp, target), target, 'move the finished file into place');
    return;
  }
  const existing = await stat(target).catch(() => undefined);
  if (!existing) {
    await fsStep(() => rename(temp, target), target, 'move the finished directory into place');
    return;
  }
  const old = `${temp}.old`;
  await fsStep(() => rename(target, old), target, 'move the previous sequence aside');
  try {
    await rename(temp, target);
  } catch (error) {
    await rename(old, target).catch(() => {});
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

async function fsStep<T>(step: () => Promise<T>, file: string, what: string): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isCascadeError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC') {
      throw new CascadeError(
        'FFMPEG_FAILED',
        `The disk is full: could not ${what} (${file}). Free space and retry.`,
        {
          path: file,
          details: { reason: 'ENOSPC' },
          cause: error,
        },
      );
    }
    throw new CascadeError('FFMPEG_FAILED', `Could not ${what} (${file}): ${(error as Error).message}`, {
      path: file,
      cause: error,
    });
  }
}

/** FFMPEG_FAILED with the stderr tail; disk-full gets its own wording. Exported for tests. */
export function ffmpegFailed(
  exit: MediaToolExit,
  target: string,
  settings: Pick<ResolvedEncodeSettings, 'preset'>,
  summary?: string,
): CascadeError {
  const tail = exit.stderrTail;
  const diskFull = tail.some((line) => /No space left on device|ENOSPC/i.test(line));
  const head = diskFull
    ? `The disk is full: ffmpeg could not write ${target} (No space left on device). Free space or choose another output directory, then retry.`
    : `ffmpeg ${summary ?? describeExit(exit)} while encoding ${target} with preset ${settings.preset}.`;
  const shown = tail.length > 0 ? `\nffmpeg stderr (last ${tail.length} lines):\n${tail.join('\n')}` : '';
  return new CascadeError('FFMPEG_FAILED', `${head}${shown}`, {
    path: target,
    details: {
      exitCode: exit.code,
      signal: exit.signal,
      stderrTail: tail,
      reason: diskFull ? 'ENOSPC' : 'exit',
    },
  });
}
