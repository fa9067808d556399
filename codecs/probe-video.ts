import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CascadeError, throwIfAborted } from '../util/cascade-error.js';
import { PNG_SEQUENCE_PATTERN } from './encode-presets.js';
import { findFfprobe } from './find-ffmpeg.js';
import {
  formatRational,
  parseProbeRational,
  type Rational,
  type RationalInput,
  rationalValue,
  toRational,
} from './rational.js';
import { describeExit, startMediaTool } from './run-media-tool.js';

/** What ffprobe says about the first real video stream of a file (attached cover art is skipped). */
export interface VideoProbe {
  readonly path: string;
  /** Demuxer name ("mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "image2"). */
  readonly format: string;
  /** ffprobe codec name: h264, hevc, vp9, prores, ffv1, gif, png, ... */
  readonly codec: string;
  readonly profile: string | null;
  /** Stored size (before rotation). */
  readonly width: number;
  readonly height: number;
  readonly sampleAspectRatio: Rational;
  /** Clockwise display rotation in degrees, 0..359 (phones store portrait video rotated). */
  readonly rotation: 0 | 90 | 180 | 270;
  readonly pixelFormat: string;
  /** Average frame rate when the container knows it, else the base rate; null if unknown. */
  readonly fps: Rational | null;
  readonly fpsValue: number | null;
  readonly frameCount: number | null;
  /** counted: decoded every frame; container: from the index; estimated: duration x fps. */
  readonly frameCountSource: 'counted' | 'container' | 'estimated' | null;
  /** Seconds. */
  readonly duration: number | null;
  /** ffprobe names ("bt709", "gbr", "tv"); null when untagged. */
  readonly colour: {
    readonly space: string | null;
    readonly primaries: string | null;
    readonly transfer: string | null;
    readonly range: string | null;
  };
  readonly streamIndex: number;
  /** A png-sequence directory (read with the image2 demuxer). */
  readonly isSequence: boolean;
}

export interface ProbeVideoOptions {
  /**
   * 'auto' (default): the container's frame count, counting only when it has none;
   * 'always': decode and count (exact; verification uses it); 'never': container or estimate.
   */
  countFrames?: 'auto' | 'always' | 'never';
  /** Rate assumed for png-sequence directories (default 25). */
  sequenceFps?: RationalInput;
  signal?: AbortSignal | undefined;
  ffprobePath?: string | undefined;
}

interface ProbeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_frames?: string;
  duration?: string;
  color_space?: string;
  color_primaries?: string;
  color_transfer?: string;
  color_range?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: { rotation?: number }[];
}

interface ProbeJson {
  streams?: ProbeStream[];
  format?: { format_name?: string; duration?: string };
}

/**
 * Probes a video file (or a png-sequence directory). A missing file, a file ffprobe cannot
 * read, or one without a video stream is CascadeError('FOOTAGE_UNREADABLE') naming the file.
 */
export async function probeVideo(file: string, options: ProbeVideoOptions = {}): Promise<VideoProbe> {
  throwIfAborted(options.signal);
  const isSequence = await checkInput(file);
  const ffprobe = await findFfprobe({ path: options.ffprobePath });
  const mode = options.countFrames ?? 'auto';
  const sequenceFps = toRational(options.sequenceFps ?? 25, 'sequenceFps');

  const run = async (count: boolean): Promise<ProbeJson> => {
    const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
    if (count) args.push('-count_frames', '-select_streams', 'v');
    if (isSequence) {
      args.push('-f', 'image2', '-framerate', formatRational(sequenceFps), '-start_number', '0');
      args.push('-i', path.join(file, PNG_SEQUENCE_PATTERN));
    } else {
      args.push('-i', file);
    }
    const proc = startMediaTool(ffprobe.path, args, { signal: options.signal });
    const chunks: Buffer[] = [];
    proc.child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    const exit = await proc.exited;
    throwIfAborted(options.signal);
    if (exit.code !== 0) {
      const reason = exit.stderrTail.at(-1)?.replace(`${file}: `, '') ?? describeExit(exit);
      throw new CascadeError(
        'FOOTAGE_UNREADABLE',
        `${file} is not a readable video: ffprobe ${describeExit(exit)} (${reason}).`,
        { path: file, details: { stderrTail: exit.stderrTail } },
      );
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as ProbeJson;
    } catch (error) {
      throw new CascadeError('FOOTAGE_UNREADABLE', `${file}: ffprobe printed output that is not JSON.`, {
        path: file,
        cause: error,
      });
    }
  };

  let json = await run(mode === 'always');
  let stream = pickVideoStream(json);
  if (!stream) {
    const kinds = (json.streams ?? []).map((s) => s.codec_type ?? 'unknown');
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `${file} has no video stream (${kinds.length === 0 ? 'no streams at all' : `streams: ${kinds.join(', ')}`}).`,
      { path: file },
    );
  }
  if (mode === 'auto' && positiveInt(stream.nb_frames) === null) {
    json = await run(true);
    stream = pickVideoStream(json) ?? stream;
  }
  const width = stream.width ?? 0;
  const height = stream.height ?? 0;
  if (width <= 0 || height <= 0) {
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `${file}: the video stream has no frame size (${width}x${height}).`,
      {
        path: file,
      },
    );
  }

  const fps = parseProbeRational(stream.avg_frame_rate) ?? parseProbeRational(stream.r_frame_rate);
  const duration = positiveFloat(stream.duration) ?? positiveFloat(json.format?.duration);
  let frameCount: number | null = null;
  let frameCountSource: VideoProbe['frameCountSource'] = null;
  const counted = positiveInt(stream.nb_read_frames);
  const container = positiveInt(stream.nb_frames);
  if (counted !== null) {
    frameCount = counted;
    frameCountSource = 'counted';
  } else if (container !== null) {
    frameCount = container;
    frameCountSource = 'container';
  } else if (duration !== null && fps !== null) {
    frameCount = Math.round(duration * rationalValue(fps));
    frameCountSource = 'estimated';
  }
  if (mode === 'always' && stream.nb_read_frames === '0') {
    frameCount = 0;
    frameCountSource = 'counted';
  }

  return {
    path: file,
    format: json.format?.format_name ?? 'unknown',
    codec: stream.codec_name ?? 'unknown',
    profile: stream.profile ?? null,
    width,
    height,
    sampleAspectRatio: parseProbeRational(stream.sample_aspect_ratio) ?? { num: 1, den: 1 },
    rotation: rotationOf(stream),
    pixelFormat: stream.pix_fmt ?? 'unknown',
    fps,
    fpsValue: fps === null ? null : rationalValue(fps),
    frameCount,
    frameCountSource,
    duration,
    colour: {
      space: tag(stream.color_space),
      primaries: tag(stream.color_primaries),
      transfer: tag(stream.color_transfer),
      range: tag(stream.color_range),
    },
    streamIndex: stream.index ?? 0,
    isSequence,
  };
}

/** Existence check with clear messages; true for a png-sequence directory. */
async function checkInput(file: string): Promise<boolean> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      code === 'ENOENT' ? `${file} does not exist.` : `${file} cannot be read (${code ?? String(error)}).`,
      { path: file, cause: error },
    );
  }
  if (info.isFile()) return false;
  if (info.isDirectory()) {
    const names = await readdir(file).catch(() => [] as string[]);
    if (names.includes('frame-000000.png')) return true;
    throw new CascadeError(
      'FOOTAGE_UNREADABLE',
      `${file} is a directory without a png sequence (expected ${PNG_SEQUENCE_PATTERN} starting at frame-000000.png).`,
      { path: file },
    );
  }
  throw new CascadeError('FOOTAGE_UNREADABLE', `${file} is not a regular file.`, { path: file });
}

function pickVideoStream(json: ProbeJson): ProbeStream | undefined {
  return (json.streams ?? []).find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
}

function rotationOf(stream: ProbeStream): VideoProbe['rotation'] {
  // Older ffprobe: tags.rotate (clockwise). Newer: display-matrix side data (counter-clockwise).
  const fromTag = stream.tags?.rotate === undefined ? undefined : Number(stream.tags.rotate);
  const fromMatrix = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const degrees = fromTag ?? (fromMatrix === undefined ? 0 : -fromMatrix);
  const quarter = ((((Math.round(degrees / 90) * 90) % 360) + 360) % 360) as VideoProbe['rotation'];
  return Number.isFinite(quarter) ? quarter : 0;
}

function tag(value: string | undefined): string | null {
  return value === undefined || value === 'unknown' || value === '' ? null : value;
}

function positiveInt(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

function positiveFloat(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : null;
}
