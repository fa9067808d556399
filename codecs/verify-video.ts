import { CascadeError, isCascadeError } from '../util/cascade-error.js';
import type { ResolvedEncodeSettings } from './encode-presets.js';
import { probeVideo, type VideoProbe } from './probe-video.js';
import { formatRational, type RationalInput, rationalEquals, rationalValue, toRational } from './rational.js';

/** What an output must be. Omitted fields are not checked. */
export interface VideoExpectation {
  /** ffprobe codec name (h264, hevc, vp9, prores, ffv1, gif, png). */
  codec?: string;
  width?: number;
  height?: number;
  /** Exact number of decodable frames (counted by decoding). */
  frames?: number;
  fps?: RationalInput;
  /**
   * Allowed difference of the frame duration in seconds; 0 (default) demands the exact rational.
   * GIF stores delays in whole centiseconds, so its rate can only be approximate.
   */
  frameDurationTolerance?: number;
  /** Any of these (decoders of different ffmpeg versions report some formats differently). */
  pixelFormat?: string | readonly string[];
  /** ffprobe colour names, e.g. { space: 'bt709', primaries: 'bt709', transfer: 'bt709', range: 'tv' }. */
  colour?: Partial<Record<'space' | 'primaries' | 'transfer' | 'range', string>>;
}

export interface VerifyCheck {
  readonly field: string;
  readonly expected: string;
  readonly actual: string;
  readonly ok: boolean;
}

export interface VerifySummary {
  readonly path: string;
  readonly probe: VideoProbe;
  readonly checks: readonly VerifyCheck[];
}

export interface VerifyVideoOptions {
  signal?: AbortSignal | undefined;
  ffprobePath?: string | undefined;
  /** Rate to read png-sequence directories at (default: the expected fps, else 25). */
  sequenceFps?: RationalInput | undefined;
}

/** The expectation an encode's settings imply (fps is not checked for png sequences: PNG has no rate). */
export function expectationFor(settings: ResolvedEncodeSettings): VideoExpectation {
  return {
    codec: settings.expected.codec,
    width: settings.width,
    height: settings.height,
    frames: settings.frames,
    ...(settings.preset === 'png-sequence' ? {} : { fps: settings.fps }),
    ...(settings.preset === 'gif' ? { frameDurationTolerance: 0.01 } : {}),
    pixelFormat: settings.expected.pixelFormats,
    ...(settings.expected.colour === null ? {} : { colour: settings.expected.colour }),
  };
}

/**
 * Probes `file` (counting frames by decoding them) and compares codec, size, frame count, fps,
 * pixel format and colour tags with `expected`. Returns every check; throws
 * CascadeError('VERIFY_FAILED') listing every mismatch when any fails or the file is unreadable.
 */
export async function verifyVideo(
  file: string,
  expected: VideoExpectation,
  options: VerifyVideoOptions = {},
): Promise<VerifySummary> {
  let probe: VideoProbe;
  try {
    probe = await probeVideo(file, {
      countFrames: 'always',
      signal: options.signal,
      ffprobePath: options.ffprobePath,
      sequenceFps: options.sequenceFps ?? expected.fps ?? 25,
    });
  } catch (error) {
    if (isCascadeError(error, 'FOOTAGE_UNREADABLE')) {
      throw new CascadeError('VERIFY_FAILED', `Verification of ${file} failed: ${error.message}`, {
        path: file,
        cause: error,
      });
    }
    throw error;
  }

  const checks: VerifyCheck[] = [];
  const check = (field: string, want: string, got: string, ok: boolean): void => {
    checks.push({ field, expected: want, actual: got, ok });
  };
  if (expected.codec !== undefined)
    check('codec', expected.codec, probe.codec, probe.codec === expected.codec);
  if (expected.width !== undefined)
    check('width', String(expected.width), String(probe.width), probe.width === expected.width);
  if (expected.height !== undefined) {
    check('height', String(expected.height), String(probe.height), probe.height === expected.height);
  }
  if (expected.frames !== undefined) {
    const got = probe.frameCount;
    check('frames', String(expected.frames), got === null ? 'unknown' : String(got), got === expected.frames);
  }
  if (expected.fps !== undefined) {
    const want = toRational(expected.fps, 'expected.fps');
    const got = probe.fps;
    const tolerance = expected.frameDurationTolerance ?? 0;
    const ok =
      got !== null &&
      (tolerance > 0
        ? Math.abs(1 / rationalValue(got) - 1 / rationalValue(want)) <= tolerance + 1e-9
        : rationalEquals(got, want));
    check(
      'fps',
      `${formatRational(want)}${tolerance > 0 ? ` (frame duration +-${tolerance}s)` : ''}`,
      got === null ? 'unknown' : formatRational(got),
      ok,
    );
  }
  if (expected.pixelFormat !== undefined) {
    const allowed = typeof expected.pixelFormat === 'string' ? [expected.pixelFormat] : expected.pixelFormat;
    check('pixelFormat', allowed.join(' or '), probe.pixelFormat, allowed.includes(probe.pixelFormat));
  }
  for (const [key, want] of Object.entries(expected.colour ?? {})) {
    const got = probe.colour[key as keyof VideoProbe['colour']];
    check(`colour.${key}`, want, got ?? 'untagged', got === want);
  }

  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) {
    const list = failed.map((c) => `${c.field} is ${c.actual}, expected ${c.expected}`).join('; ');
    throw new CascadeError('VERIFY_FAILED', `Verification of ${file} failed: ${list}.`, {
      path: file,
      details: { mismatches: failed, checks },
    });
  }
  return { path: file, probe, checks };
}
