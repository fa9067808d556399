import { z } from 'zod';
import { CascadeError } from '../util/cascade-error.js';
import { type Rational, type RationalInput, rationalValue, toRational } from './rational.js';

/**
 * Encode presets: what each output format is, which knobs it has and their valid ranges.
 * `resolveEncodeSettings` turns a loose spec plus the clip geometry into a fully resolved,
 * validated settings object; `ffmpeg-args.ts` turns that into argv without any further choices.
 */
export const ENCODE_PRESET_NAMES = ['h264', 'h265', 'vp9', 'prores', 'ffv1', 'gif', 'png-sequence'] as const;
export type EncodePresetName = (typeof ENCODE_PRESET_NAMES)[number];

/** x264 and x265 share these speed presets (slower = smaller file at the same quality). */
export const X264_SPEEDS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
  'placebo',
] as const;
export type X264Speed = (typeof X264_SPEEDS)[number];
export const H264_PROFILES = ['baseline', 'main', 'high', 'high422', 'high444'] as const;
export type H264Profile = (typeof H264_PROFILES)[number];
export const H264_TUNES = ['film', 'animation', 'grain', 'stillimage', 'fastdecode', 'zerolatency'] as const;
export type H264Tune = (typeof H264_TUNES)[number];
/** ProRes profile numbers 0..5 as prores_ks counts them. */
export const PRORES_PROFILES = ['proxy', 'lt', 'standard', 'hq', '4444', '4444xq'] as const;
export type ProresProfileName = (typeof PRORES_PROFILES)[number];
export const GIF_DITHERS = ['none', 'bayer', 'heckbert', 'floyd_steinberg', 'sierra2', 'sierra2_4a'] as const;
export type GifDither = (typeof GIF_DITHERS)[number];

/** File name pattern of png-sequence outputs inside their directory; frame t is frame-<t>.png, from 0. */
export const PNG_SEQUENCE_PATTERN = 'frame-%06d.png';
export const PNG_SEQUENCE_FILE = /^frame-\d{6}\.png$/;

/** Static facts about a preset (for docs, CLIs and `cascade presets`). */
export interface EncodePresetInfo {
  readonly name: EncodePresetName;
  readonly description: string;
  /** ffmpeg muxer name. */
  readonly container: 'mp4' | 'webm' | 'mov' | 'matroska' | 'gif' | 'image2';
  /** Output extension ('' for png-sequence, whose output is a directory). */
  readonly extension: string;
  readonly output: 'file' | 'directory';
  readonly pixelFormats: readonly string[];
  readonly defaultPixelFormat: string;
}

export const ENCODE_PRESETS: Readonly<Record<EncodePresetName, EncodePresetInfo>> = {
  h264: {
    name: 'h264',
    description:
      'H.264 (libx264) in MP4 with faststart; plays everywhere in yuv420p. rgb24 + crf 0 is bit-exact lossless (libx264rgb).',
    container: 'mp4',
    extension: '.mp4',
    output: 'file',
    pixelFormats: ['yuv420p', 'yuv422p', 'yuv444p', 'rgb24'],
    defaultPixelFormat: 'yuv420p',
  },
  h265: {
    name: 'h265',
    description: 'HEVC (libx265) in MP4, tagged hvc1 for Apple players; about half the size of H.264.',
    container: 'mp4',
    extension: '.mp4',
    output: 'file',
    pixelFormats: ['yuv420p', 'yuv422p', 'yuv444p'],
    defaultPixelFormat: 'yuv420p',
  },
  vp9: {
    name: 'vp9',
    description: 'VP9 (libvpx-vp9) in WebM, constant quality (crf with -b:v 0).',
    container: 'webm',
    extension: '.webm',
    output: 'file',
    pixelFormats: ['yuv420p', 'yuv444p'],
    defaultPixelFormat: 'yuv420p',
  },
  prores: {
    name: 'prores',
    description:
      'Apple ProRes (prores_ks) in MOV, 10-bit: profiles proxy..hq are 4:2:2, 4444/4444xq are 4:4:4.',
    container: 'mov',
    extension: '.mov',
    output: 'file',
    pixelFormats: ['yuv422p10le', 'yuv444p10le'],
    defaultPixelFormat: 'yuv422p10le',
  },
  ffv1: {
    name: 'ffv1',
    description:
      'FFV1 level 3 in Matroska: lossless archive; bgr0 decodes back to exactly the rendered frames.',
    container: 'matroska',
    extension: '.mkv',
    output: 'file',
    pixelFormats: ['bgr0', 'yuv444p', 'yuv420p'],
    defaultPixelFormat: 'bgr0',
  },
  gif: {
    name: 'gif',
    description: 'Animated GIF with a palette computed over the whole clip (palettegen + paletteuse).',
    container: 'gif',
    extension: '.gif',
    output: 'file',
    pixelFormats: ['pal8'],
    defaultPixelFormat: 'pal8',
  },
  'png-sequence': {
    name: 'png-sequence',
    description: `A directory of numbered RGB PNGs (${PNG_SEQUENCE_PATTERN}, from 0); lossless.`,
    container: 'image2',
    extension: '',
    output: 'directory',
    pixelFormats: ['rgb24'],
    defaultPixelFormat: 'rgb24',
  },
};

function intIn(min: number, max: number, hint = ''): z.ZodInt {
  const message = `must be an integer from ${min} to ${max}${hint}`;
  return z.int({ error: message }).min(min, { error: message }).max(max, { error: message });
}

function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
): z.ZodEnum<{ [K in T[number]]: K }> {
  return z.enum(values, { error: `must be one of: ${values.join(', ')}` });
}

const extraArgs = z
  .array(z.string({ error: 'must be an array of strings' }), { error: 'must be an array of strings' })
  .optional();

const h264Spec = z.strictObject({
  preset: z.literal('h264'),
  crf: intIn(0, 51, ' (0 = lossless, 18 = visually transparent, 23 = x264 default)').optional(),
  pixelFormat: oneOf(['yuv420p', 'yuv422p', 'yuv444p', 'rgb24']).optional(),
  speed: oneOf(X264_SPEEDS).optional(),
  profile: oneOf(H264_PROFILES).optional(),
  tune: oneOf(H264_TUNES).optional(),
  faststart: z.boolean({ error: 'must be true or false' }).optional(),
  extraArgs,
});

const h265Spec = z.strictObject({
  preset: z.literal('h265'),
  crf: intIn(0, 51, ' (28 = x265 default; about crf-6 of x264 for similar quality)').optional(),
  pixelFormat: oneOf(['yuv420p', 'yuv422p', 'yuv444p']).optional(),
  speed: oneOf(X264_SPEEDS).optional(),
  faststart: z.boolean({ error: 'must be true or false' }).optional(),
  extraArgs,
});

const vp9Spec = z.strictObject({
  preset: z.literal('vp9'),
  crf: intIn(0, 63, ' (31 is a good default for HD)').optional(),
  pixelFormat: oneOf(['yuv420p', 'yuv444p']).optional(),
  /** libvpx cpu-used with deadline=good: 0 slowest/best .. 5 fastest. */
  speed: intIn(0, 5, ' (libvpx cpu-used: 0 slowest and best, 5 fastest)').optional(),
  extraArgs,
});

const proresSpec = z.strictObject({
  preset: z.literal('prores'),
  profile: z
    .union([intIn(0, 5), oneOf(PRORES_PROFILES)], {
      error: `must be 0..5 or one of: ${PRORES_PROFILES.join(', ')}`,
    })
    .optional(),
  pixelFormat: oneOf(['yuv422p10le', 'yuv444p10le']).optional(),
  extraArgs,
});

const ffv1Spec = z.strictObject({
  preset: z.literal('ffv1'),
  pixelFormat: oneOf(['bgr0', 'yuv444p', 'yuv420p']).optional(),
  extraArgs,
});

const gifSpec = z.strictObject({
  preset: z.literal('gif'),
  maxColors: intIn(4, 256).optional(),
  dither: oneOf(GIF_DITHERS).optional(),
  bayerScale: intIn(0, 5, ' (only used with dither "bayer")').optional(),
  statsMode: oneOf(['full', 'diff']).optional(),
  /** 0 = loop forever, -1 = play once, n = repeat n times. */
  loop: intIn(-1, 65535, ' (0 loops forever, -1 plays once)').optional(),
  extraArgs,
});

const pngSequenceSpec = z.strictObject({
  preset: z.literal('png-sequence'),
  compressionLevel: intIn(0, 9, ' (zlib level)').optional(),
  extraArgs,
});

/**
 * A loose encode spec, as it appears in job files: `{ preset: 'h264', crf: 18 }`. Unknown
 * fields are errors (a typo must not silently fall back to a default). `extraArgs` are appended
 * to the output options unchecked, for experts.
 */
export const encodeSpecSchema = z.discriminatedUnion('preset', [
  h264Spec,
  h265Spec,
  vp9Spec,
  proresSpec,
  ffv1Spec,
  gifSpec,
  pngSequenceSpec,
]);
export type EncodeSpec = z.input<typeof encodeSpecSchema>;

/** What the pixels are tagged as: ffmpeg option values for -colorspace/-color_primaries/... */
export interface ColourTags {
  /** 'rgb' for RGB-coded streams (ffprobe reports it as "gbr"). */
  readonly matrix: 'bt709' | 'rgb';
  readonly primaries: 'bt709';
  readonly transfer: 'bt709';
  /** tv = limited (16-235) for YUV, pc = full for RGB. */
  readonly range: 'tv' | 'pc';
}

/** The clip the settings are for. */
export interface EncodeGeometry {
  width: number;
  height: number;
  frames: number;
  fps: RationalInput;
}

interface SettingsBase {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  readonly fps: Rational;
  readonly container: EncodePresetInfo['container'];
  readonly extension: string;
  readonly output: 'file' | 'directory';
  readonly encoder: string;
  /** The encoder's input pixel format (after our explicit RGB -> YUV conversion). */
  readonly pixelFormat: string;
  /** True when decoding the output to rgb24 gives back exactly the frames that went in. */
  readonly lossless: boolean;
  /** null for formats without colour signalling (gif, png). */
  readonly colour: ColourTags | null;
  /**
   * What ffprobe should report for the output: pixel formats (any of; decoders of different
   * versions differ) and the colour tags the container/bitstream can carry, in ffprobe's names.
   */
  readonly expected: {
    readonly codec: string;
    readonly pixelFormats: readonly string[];
    readonly colour: Readonly<Partial<Record<'space' | 'primaries' | 'transfer' | 'range', string>>> | null;
  };
  readonly extraArgs: readonly string[];
}

export interface H264Settings extends SettingsBase {
  readonly preset: 'h264';
  readonly crf: number;
  readonly speed: X264Speed;
  readonly profile: H264Profile | null;
  readonly tune: H264Tune | null;
  readonly faststart: boolean;
}
export interface H265Settings extends SettingsBase {
  readonly preset: 'h265';
  readonly crf: number;
  readonly speed: X264Speed;
  readonly faststart: boolean;
}
export interface Vp9Settings extends SettingsBase {
  readonly preset: 'vp9';
  readonly crf: number;
  readonly speed: number;
}
export interface ProresSettings extends SettingsBase {
  readonly preset: 'prores';
  readonly profile: number;
  readonly profileName: ProresProfileName;
}
export interface Ffv1Settings extends SettingsBase {
  readonly preset: 'ffv1';
}
export interface GifSettings extends SettingsBase {
  readonly preset: 'gif';
  readonly maxColors: number;
  readonly dither: GifDither;
  readonly bayerScale: number;
  readonly statsMode: 'full' | 'diff';
  readonly loop: number;
}
export interface PngSequenceSettings extends SettingsBase {
  readonly preset: 'png-sequence';
  readonly compressionLevel: number;
}

export type ResolvedEncodeSettings =
  | H264Settings
  | H265Settings
  | Vp9Settings
  | ProresSettings
  | Ffv1Settings
  | GifSettings
  | PngSequenceSettings;

/** Chroma subsampling divisors [horizontal, vertical] of the pixel formats we encode to. */
const CHROMA_DIVISORS: Readonly<Record<string, readonly [number, number]>> = {
  yuv420p: [2, 2],
  yuv422p: [2, 1],
  yuv444p: [1, 1],
  yuv422p10le: [2, 1],
  yuv444p10le: [1, 1],
  rgb24: [1, 1],
  bgr0: [1, 1],
  pal8: [1, 1],
};

const BT709_YUV: ColourTags = { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709', range: 'tv' };
const BT709_RGB: ColourTags = { matrix: 'rgb', primaries: 'bt709', transfer: 'bt709', range: 'pc' };

/** The tags as ffprobe names them ("gbr" for the RGB matrix), minus fields the format cannot store. */
function probeColour(
  tags: ColourTags,
  omit: readonly ('space' | 'primaries' | 'transfer' | 'range')[] = [],
): Partial<Record<'space' | 'primaries' | 'transfer' | 'range', string>> {
  const all = {
    space: tags.matrix === 'rgb' ? 'gbr' : tags.matrix,
    primaries: tags.primaries,
    transfer: tags.transfer,
    range: tags.range,
  };
  for (const key of omit) delete all[key];
  return all;
}

/**
 * Validates a loose encode spec against the clip geometry and fills every default.
 * Throws CascadeError('BAD_ARGUMENT') whose `path` names the offending field (prefixed by
 * `options.path`, e.g. "clips.0.encode.crf") and whose message lists every problem found.
 */
export function resolveEncodeSettings(
  spec: unknown,
  geometry: EncodeGeometry,
  options: { path?: string } = {},
): ResolvedEncodeSettings {
  const prefix = options.path ? `${options.path}.` : '';
  const parsed = encodeSpecSchema.safeParse(spec);
  if (!parsed.success) throw zodToError(parsed.error, spec, prefix);
  const s = parsed.data;
  const g = checkGeometry(geometry);
  const extra = s.extraArgs ?? [];
  const info = ENCODE_PRESETS[s.preset];
  const base = {
    width: g.width,
    height: g.height,
    frames: g.frames,
    fps: g.fps,
    container: info.container,
    extension: info.extension,
    output: info.output,
    extraArgs: extra,
  };
  const fail = (field: string, message: string): never => {
    throw new CascadeError('BAD_ARGUMENT', `${prefix}${field} ${message}`, { path: `${prefix}${field}` });
  };

  let settings: ResolvedEncodeSettings;
  switch (s.preset) {
    case 'h264': {
      const pixelFormat = s.pixelFormat ?? 'yuv420p';
      const crf = s.crf ?? 18;
      const rgb = pixelFormat === 'rgb24';
      const profile = s.profile ?? null;
      if (profile !== null) {
        if (rgb) {
          fail(
            'profile',
            `is "${profile}", but rgb24 always encodes as High 4:4:4 Predictive; omit profile.`,
          );
        }
        const allowed: Record<H264Profile, readonly string[]> = {
          baseline: ['yuv420p'],
          main: ['yuv420p'],
          high: ['yuv420p'],
          high422: ['yuv420p', 'yuv422p'],
          high444: ['yuv420p', 'yuv422p', 'yuv444p'],
        };
        if (!allowed[profile].includes(pixelFormat)) {
          fail(
            'profile',
            `is "${profile}", which cannot carry pixel format ${pixelFormat}; use ${pixelFormat === 'yuv422p' ? 'high422 or high444' : 'high444'} or omit profile.`,
          );
        }
        if (crf === 0 && profile !== 'high444') {
          fail(
            'profile',
            `is "${profile}", but crf 0 (lossless) needs high444; use high444 or omit profile.`,
          );
        }
      }
      settings = {
        ...base,
        preset: 'h264',
        encoder: rgb ? 'libx264rgb' : 'libx264',
        pixelFormat,
        crf,
        speed: s.speed ?? 'medium',
        profile,
        tune: s.tune ?? null,
        faststart: s.faststart ?? true,
        // x264 at crf 0 is mathematically lossless on its input; only an RGB input makes the
        // whole RGB -> file -> RGB trip exact (YUV conversion rounds).
        lossless: rgb && crf === 0,
        colour: rgb ? BT709_RGB : BT709_YUV,
        expected: {
          codec: 'h264',
          pixelFormats: rgb ? ['gbrp'] : [pixelFormat],
          colour: probeColour(rgb ? BT709_RGB : BT709_YUV),
        },
      };
      break;
    }
    case 'h265': {
      const pixelFormat = s.pixelFormat ?? 'yuv420p';
      settings = {
        ...base,
        preset: 'h265',
        encoder: 'libx265',
        pixelFormat,
        crf: s.crf ?? 23,
        speed: s.speed ?? 'medium',
        faststart: s.faststart ?? true,
        lossless: false,
        colour: BT709_YUV,
        expected: { codec: 'hevc', pixelFormats: [pixelFormat], colour: probeColour(BT709_YUV) },
      };
      break;
    }
    case 'vp9': {
      const pixelFormat = s.pixelFormat ?? 'yuv420p';
      settings = {
        ...base,
        preset: 'vp9',
        encoder: 'libvpx-vp9',
        pixelFormat,
        crf: s.crf ?? 31,
        speed: s.speed ?? 4,
        lossless: false,
        colour: BT709_YUV,
        expected: { codec: 'vp9', pixelFormats: [pixelFormat], colour: probeColour(BT709_YUV) },
      };
      break;
    }
    case 'prores': {
      const raw = s.profile ?? 'hq';
      const profile = typeof raw === 'number' ? raw : PRORES_PROFILES.indexOf(raw);
      const profileName = PRORES_PROFILES[profile]!;
      const needed = profile >= 4 ? 'yuv444p10le' : 'yuv422p10le';
      if (s.pixelFormat !== undefined && s.pixelFormat !== needed) {
        fail(
          'pixelFormat',
          `is "${s.pixelFormat}", but ProRes profile ${profileName} (${profile}) is coded as ${needed}; omit pixelFormat or change profile.`,
        );
      }
      settings = {
        ...base,
        preset: 'prores',
        encoder: 'prores_ks',
        pixelFormat: needed,
        profile,
        profileName,
        lossless: false,
        colour: BT709_YUV,
        // Newer ProRes decoders output 4444 at 12 bits.
        expected: {
          codec: 'prores',
          pixelFormats: profile >= 4 ? ['yuv444p10le', 'yuv444p12le'] : ['yuv422p10le'],
          // The mov colr (nclc) atom has no range field and ProRes frames do not carry one.
          colour: probeColour(BT709_YUV, ['range']),
        },
      };
      break;
    }
    case 'ffv1': {
      const pixelFormat = s.pixelFormat ?? 'bgr0';
      const rgb = pixelFormat === 'bgr0';
      settings = {
        ...base,
        preset: 'ffv1',
        encoder: 'ffv1',
        pixelFormat,
        lossless: rgb,
        colour: rgb ? BT709_RGB : BT709_YUV,
        expected: {
          codec: 'ffv1',
          pixelFormats: [pixelFormat],
          colour: probeColour(rgb ? BT709_RGB : BT709_YUV),
        },
      };
      break;
    }
    case 'gif': {
      // GIF frame delays are whole centiseconds and browsers clamp delays under 2 cs to 10 cs.
      if (rationalValue(g.fps) > 50) {
        throw new CascadeError(
          'BAD_ARGUMENT',
          `fps is ${rationalValue(g.fps)}, but GIF plays at most 50 fps (frame delays are whole centiseconds, and browsers slow down anything faster); render at <= 50 fps or choose another preset.`,
          { path: 'fps' },
        );
      }
      settings = {
        ...base,
        preset: 'gif',
        encoder: 'gif',
        pixelFormat: 'pal8',
        maxColors: s.maxColors ?? 256,
        dither: s.dither ?? 'sierra2_4a',
        bayerScale: s.bayerScale ?? 2,
        statsMode: s.statsMode ?? 'full',
        loop: s.loop ?? 0,
        lossless: false,
        colour: null,
        expected: { codec: 'gif', pixelFormats: ['bgra', 'pal8'], colour: null },
      };
      break;
    }
    case 'png-sequence': {
      settings = {
        ...base,
        preset: 'png-sequence',
        encoder: 'png',
        pixelFormat: 'rgb24',
        compressionLevel: s.compressionLevel ?? 6,
        lossless: true,
        colour: null,
        expected: { codec: 'png', pixelFormats: ['rgb24'], colour: null },
      };
      break;
    }
  }
  checkEvenSize(settings);
  return settings;
}

/** Subsampled formats need dimensions divisible by the subsampling; never rescale silently. */
function checkEvenSize(settings: ResolvedEncodeSettings): void {
  const [dx, dy] = CHROMA_DIVISORS[settings.pixelFormat] ?? [1, 1];
  const problems: { field: 'width' | 'height'; value: number; divisor: number }[] = [];
  if (settings.width % dx !== 0) problems.push({ field: 'width', value: settings.width, divisor: dx });
  if (settings.height % dy !== 0) problems.push({ field: 'height', value: settings.height, divisor: dy });
  const first = problems[0];
  if (!first) return;
  const fix =
    settings.preset === 'h264' || settings.preset === 'h265' || settings.preset === 'vp9'
      ? ", or choose pixelFormat 'yuv444p'"
      : settings.preset === 'ffv1'
        ? ", or choose pixelFormat 'bgr0'"
        : settings.preset === 'prores'
          ? ", or choose profile '4444'"
          : '';
  const what = problems.map((p) => `${p.field} is ${p.value}`).join(' and ');
  const need = problems.map((p) => `${p.field} divisible by ${p.divisor}`).join(' and ');
  const sizes = problems.map((p) => `${p.field} ${p.value - 1} or ${p.value + 1}`).join(', ');
  throw new CascadeError(
    'BAD_ARGUMENT',
    `${what}, but pixel format ${settings.pixelFormat} (${settings.preset}) subsamples chroma and needs ${need}. ` +
      `Fix: render at ${sizes}${fix}. (Frames are never rescaled silently.)`,
    { path: first.field, details: { problems } },
  );
}

function checkGeometry(geometry: EncodeGeometry): {
  width: number;
  height: number;
  frames: number;
  fps: Rational;
} {
  if (geometry === null || typeof geometry !== 'object') {
    throw new CascadeError('BAD_ARGUMENT', 'geometry must be { width, height, frames, fps }.', {
      path: 'geometry',
    });
  }
  const positiveInt = (field: 'width' | 'height' | 'frames', max: number): number => {
    const value = geometry[field];
    if (!Number.isSafeInteger(value) || value < 1 || value > max) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `${field} is ${JSON.stringify(value)}, expected an integer from 1 to ${max}.`,
        { path: field },
      );
    }
    return value;
  };
  const width = positiveInt('width', 16384);
  const height = positiveInt('height', 16384);
  const frames = positiveInt('frames', 10_000_000);
  const fps = toRational(geometry.fps, 'fps');
  if (rationalValue(fps) > 1000) {
    throw new CascadeError('BAD_ARGUMENT', `fps is ${rationalValue(fps)}, expected at most 1000.`, {
      path: 'fps',
    });
  }
  return { width, height, frames, fps };
}

function zodToError(error: z.ZodError, input: unknown, prefix: string): CascadeError {
  const lines: string[] = [];
  let firstPath: string | undefined;
  for (const issue of error.issues) {
    const keys = issue.path.map(String);
    let field = keys.join('.');
    let line: string;
    if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'preset') {
      field = 'preset';
      const value = valueAt(input, ['preset']);
      line = `${prefix}preset is ${value === undefined ? 'missing' : JSON.stringify(value)}, expected one of: ${ENCODE_PRESET_NAMES.join(', ')}.`;
    } else if (issue.code === 'unrecognized_keys') {
      const preset = valueAt(input, ['preset']);
      const known = Object.keys(
        encodeSpecSchema.options.find((o) => o.shape.preset.value === preset)?.shape ?? {},
      ).join(', ');
      field = [...keys, issue.keys[0] ?? ''].filter((k) => k !== '').join('.');
      line = `${prefix}${field}: unknown field${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''} for preset ${JSON.stringify(preset)}; known fields: ${known}.`;
    } else if (keys.length === 0) {
      line = `${prefix.replace(/\.$/, '') || 'encode spec'} must be an object like { preset: 'h264', crf: 18 }; got ${JSON.stringify(input)}.`;
      field = prefix.replace(/\.$/, '');
    } else {
      line = `${prefix}${field} is ${JSON.stringify(valueAt(input, keys))}: ${issue.message}.`;
    }
    firstPath ??= `${prefix}${field}`.replace(/\.$/, '');
    lines.push(line);
  }
  return new CascadeError('BAD_ARGUMENT', lines.join(' '), {
    path: firstPath ?? prefix.replace(/\.$/, ''),
    details: { issues: error.issues },
  });
}

function valueAt(input: unknown, keys: readonly string[]): unknown {
  let value = input;
  for (const key of keys) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
