import path from 'node:path';
import { CascadeError } from '../util/cascade-error.js';
import type { ColourTags, ResolvedEncodeSettings } from './encode-presets.js';
import { PNG_SEQUENCE_PATTERN } from './encode-presets.js';
import { formatRational, type Rational } from './rational.js';

/**
 * Pure argv builders for ffmpeg: no process, no file system, no defaults decided here (the
 * settings are already resolved). Every branch is unit-tested on the exact argv.
 *
 * Colour: rgb24 from the renderer is converted to YUV by an explicit `scale` filter with the
 * BT.709 matrix and limited range, and the stream is tagged BT.709. (swscale's default matrix
 * is BT.601: tagging BT.709 without converting with it shifts saturated colours by up to 30
 * levels on decode.) RGB-coded outputs (ffv1 bgr0, h264 rgb24) skip the conversion and are
 * tagged matrix "rgb", full range.
 */

export interface EncodeArgsOptions {
  /** Write `-progress pipe:1` key=value lines to stdout (default true). */
  progress?: boolean;
}

/** Global options shared by every invocation: quiet except errors, no stats on stderr. */
const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostats'];

/**
 * argv (without the binary) that reads raw rgb24 frames of the settings' size from stdin and
 * writes `outputPath` (a file, or for png-sequence a directory that must exist).
 */
export function buildEncodeArgs(
  settings: ResolvedEncodeSettings,
  outputPath: string,
  options: EncodeArgsOptions = {},
): string[] {
  const args = [...QUIET];
  if (options.progress ?? true) args.push('-progress', 'pipe:1');
  args.push(
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${settings.width}x${settings.height}`,
    '-r',
    formatRational(settings.fps),
    '-i',
    'pipe:0',
  );

  const yuv = (pixelFormat: string): string[] => [
    '-vf',
    `scale=out_color_matrix=bt709:out_range=tv,format=${pixelFormat}`,
  ];

  switch (settings.preset) {
    case 'h264': {
      const rgb = settings.pixelFormat === 'rgb24';
      if (!rgb) args.push(...yuv(settings.pixelFormat));
      args.push('-c:v', settings.encoder, '-preset', settings.speed);
      if (settings.tune !== null) args.push('-tune', settings.tune);
      args.push('-crf', String(settings.crf));
      if (settings.profile !== null) args.push('-profile:v', settings.profile);
      args.push('-pix_fmt', settings.pixelFormat, ...colourArgs(settings.colour));
      args.push('-movflags', settings.faststart ? '+faststart+write_colr' : '+write_colr');
      break;
    }
    case 'h265': {
      args.push(...yuv(settings.pixelFormat));
      args.push('-c:v', 'libx265', '-preset', settings.speed, '-crf', String(settings.crf));
      // x265 logs to stderr by itself; keep stderr for errors so failure tails stay readable.
      args.push('-x265-params', 'log-level=error', '-pix_fmt', settings.pixelFormat);
      args.push(...colourArgs(settings.colour));
      // hvc1 (parameter sets in the sample entry) is what Apple players require.
      args.push('-tag:v', 'hvc1');
      args.push('-movflags', settings.faststart ? '+faststart+write_colr' : '+write_colr');
      break;
    }
    case 'vp9': {
      args.push(...yuv(settings.pixelFormat));
      // -b:v 0 makes crf a pure constant-quality target rather than a cap under a bitrate.
      args.push('-c:v', 'libvpx-vp9', '-crf', String(settings.crf), '-b:v', '0');
      args.push('-deadline', 'good', '-cpu-used', String(settings.speed), '-row-mt', '1');
      args.push('-pix_fmt', settings.pixelFormat, ...colourArgs(settings.colour));
      break;
    }
    case 'prores': {
      args.push(...yuv(settings.pixelFormat));
      args.push('-c:v', 'prores_ks', '-profile:v', String(settings.profile), '-vendor', 'apl0');
      args.push('-pix_fmt', settings.pixelFormat, ...colourArgs(settings.colour));
      // ffmpeg < 4.4 writes the mov colr atom only when asked.
      args.push('-movflags', '+write_colr');
      break;
    }
    case 'ffv1': {
      if (settings.pixelFormat !== 'bgr0') args.push(...yuv(settings.pixelFormat));
      // Level 3 with slice CRCs and all-intra frames: the archival configuration (seekable,
      // damage stays local).
      args.push('-c:v', 'ffv1', '-level', '3', '-g', '1', '-slicecrc', '1');
      args.push('-pix_fmt', settings.pixelFormat, ...colourArgs(settings.colour));
      break;
    }
    case 'gif': {
      const dither =
        settings.dither === 'none'
          ? // ffmpeg < 5 has no name for "no dithering", but 0 means it in every version.
            'dither=0'
          : settings.dither === 'bayer'
            ? `dither=bayer:bayer_scale=${settings.bayerScale}`
            : `dither=${settings.dither}`;
      const diff = settings.statsMode === 'diff' ? ':diff_mode=rectangle' : '';
      // One palette for the whole clip (a per-frame palette flickers); no transparent slot,
      // so all maxColors entries hold colours.
      const graph =
        `[0:v]split[a][b];[a]palettegen=max_colors=${settings.maxColors}:stats_mode=${settings.statsMode}` +
        `:reserve_transparent=0[p];[b][p]paletteuse=${dither}${diff}[out]`;
      args.push('-filter_complex', graph, '-map', '[out]', '-c:v', 'gif', '-loop', String(settings.loop));
      break;
    }
    case 'png-sequence': {
      args.push('-c:v', 'png', '-pix_fmt', 'rgb24', '-compression_level', String(settings.compressionLevel));
      args.push('-start_number', '0');
      break;
    }
  }
  // No creation dates or version tags in the container: the same frames and settings give
  // byte-identical files, so a resumed render matches an uninterrupted one.
  args.push('-fflags', '+bitexact');
  args.push(...settings.extraArgs);
  const target = settings.output === 'directory' ? path.join(outputPath, PNG_SEQUENCE_PATTERN) : outputPath;
  args.push('-f', settings.container, target);
  return args;
}

function colourArgs(colour: ColourTags | null): string[] {
  if (colour === null) return [];
  return [
    '-colorspace',
    colour.matrix,
    '-color_primaries',
    colour.primaries,
    '-color_trc',
    colour.transfer,
    '-color_range',
    colour.range,
  ];
}

/** The source as ffprobe saw it. */
export interface DecodeSource {
  /** A video file, or a png-sequence directory (then `sequenceFps` applies). */
  readonly path: string;
  readonly isSequence?: boolean;
  /** Frame rate to read a png sequence at (image files carry none); default 25. */
  readonly sequenceFps?: Rational;
  /** Stored size, before rotation metadata. */
  readonly width: number;
  readonly height: number;
  /** Stored pixel aspect (1:1 unless anamorphic). */
  readonly sampleAspectRatio?: Rational;
  /**
   * YCbCr matrix to assume for a YUV stream that carries no colour tags. ffmpeg assumes BT.601
   * for untagged input; HD footage is nearly always BT.709, so `decodeVideo` passes 'bt709' for
   * untagged YUV sources of 1280x720 and up (what players do). null/absent: trust ffmpeg.
   */
  readonly untaggedMatrix?: 'bt709' | null;
  /** Display rotation in degrees from the container; ffmpeg applies it while decoding. */
  readonly rotation?: number;
  /** Index of the video stream to decode (default: the first video stream). */
  readonly streamIndex?: number;
}

export interface DecodeRequest {
  /** Output size. With one of them, the other follows the display aspect. */
  readonly width?: number;
  readonly height?: number;
  /** 'centre': crop the middle of the frame to the output aspect before scaling. Otherwise the frame is stretched. */
  readonly crop?: 'centre';
  /** Resample to this frame rate (drops or repeats frames); default: every decoded frame. */
  readonly fps?: Rational;
  readonly maxFrames?: number;
}

export interface DecodePlan {
  readonly width: number;
  readonly height: number;
  /** Crop in decoded (rotated) pixels, or null. */
  readonly crop: {
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
  } | null;
  readonly scaleFlags: 'area' | 'bicubic' | null;
  readonly filters: readonly string[];
}

/**
 * Works out crop and scale. Aspect is measured on displayed pixels (stored width x sample aspect
 * ratio, after rotation), so anamorphic and rotated phone footage crop correctly. Shrinking uses
 * area averaging (no aliasing of fine stripes); enlarging uses bicubic.
 */
export function planDecode(source: DecodeSource, request: DecodeRequest = {}): DecodePlan {
  const rotation = (((Math.round((source.rotation ?? 0) / 90) * 90) % 360) + 360) % 360;
  const swap = rotation === 90 || rotation === 270;
  const srcW = swap ? source.height : source.width;
  const srcH = swap ? source.width : source.height;
  const sarIn = source.sampleAspectRatio ?? { num: 1, den: 1 };
  const sar = swap ? sarIn.den / sarIn.num : sarIn.num / sarIn.den;
  for (const field of ['width', 'height', 'maxFrames'] as const) {
    const value = request[field];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${field} is ${JSON.stringify(value)}, expected a positive integer.`,
        {
          path: field,
        },
      );
    }
  }

  let outW = srcW;
  let outH = srcH;
  let crop: DecodePlan['crop'] = null;
  if (request.width !== undefined && request.height !== undefined) {
    outW = request.width;
    outH = request.height;
    if (request.crop === 'centre') {
      const target = outW / outH;
      let cw = srcW;
      let ch = srcH;
      if ((srcW * sar) / srcH > target) cw = Math.min(srcW, Math.max(1, Math.round((srcH * target) / sar)));
      else ch = Math.min(srcH, Math.max(1, Math.round((srcW * sar) / target)));
      if (cw !== srcW || ch !== srcH) {
        crop = { x: Math.floor((srcW - cw) / 2), y: Math.floor((srcH - ch) / 2), width: cw, height: ch };
      }
    }
  } else if (request.width !== undefined) {
    outW = request.width;
    outH = Math.max(1, Math.round((outW * srcH) / (srcW * sar)));
  } else if (request.height !== undefined) {
    outH = request.height;
    outW = Math.max(1, Math.round((outH * srcW * sar) / srcH));
  }

  const filters: string[] = [];
  if (request.fps) filters.push(`fps=fps=${formatRational(request.fps)}`);
  if (crop) filters.push(`crop=${crop.width}:${crop.height}:${crop.x}:${crop.y}`);
  const inW = crop ? crop.width : srcW;
  const inH = crop ? crop.height : srcH;
  let scaleFlags: DecodePlan['scaleFlags'] = null;
  const matrix = source.untaggedMatrix ? `:in_color_matrix=${source.untaggedMatrix}` : '';
  if (inW !== outW || inH !== outH) {
    scaleFlags = outW > inW || outH > inH ? 'bicubic' : 'area';
    filters.push(`scale=${outW}:${outH}:flags=${scaleFlags}${matrix}`, 'setsar=1');
  } else if (matrix !== '') {
    filters.push(`scale=${inW}:${inH}${matrix}`);
  }
  // The explicit format makes the scale above do the YUV -> RGB step (with its matrix) instead
  // of a converter ffmpeg would insert after it with default settings.
  if (matrix !== '') filters.push('format=rgb24');
  return { width: outW, height: outH, crop, scaleFlags, filters };
}

export interface DecodeArgsOptions {
  /** From the found binary (`MediaBinary.fpsModeOption`). */
  readonly fpsModeOption: '-fps_mode' | '-vsync';
}

/** argv that decodes `source` to raw rgb24 frames of `plan`'s size on stdout. */
export function buildDecodeArgs(
  source: DecodeSource,
  plan: DecodePlan,
  request: DecodeRequest,
  options: DecodeArgsOptions,
): string[] {
  const args = ['-nostdin', ...QUIET];
  if (source.isSequence) {
    args.push('-f', 'image2', '-framerate', formatRational(source.sequenceFps ?? { num: 25, den: 1 }));
    args.push('-start_number', '0', '-i', path.join(source.path, PNG_SEQUENCE_PATTERN));
  } else {
    args.push('-i', source.path);
  }
  args.push('-map', source.streamIndex === undefined ? '0:v:0' : `0:${source.streamIndex}`);
  if (plan.filters.length > 0) args.push('-vf', plan.filters.join(','));
  if (request.maxFrames !== undefined) args.push('-frames:v', String(request.maxFrames));
  // Passthrough: one output frame per decoded (or fps-filtered) frame, never a duplicate
  // inserted to pad a timestamp gap; frame hashes depend on it.
  args.push(options.fpsModeOption, 'passthrough');
  args.push('-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1');
  return args;
}
