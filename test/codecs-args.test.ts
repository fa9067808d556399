import { describe, expect, it } from 'vitest';
import { clipFrameToRgb24, clipToRgb24Frames, rgb24FramesToClip } from '../codecs/clip-to-rgb24-frames.js';
import { ENCODE_PRESET_NAMES, type EncodeSpec, resolveEncodeSettings } from '../codecs/encode-presets.js';
import { buildDecodeArgs, buildEncodeArgs, planDecode } from '../codecs/ffmpeg-args.js';
import { parseVersionOutput } from '../codecs/find-ffmpeg.js';
import { parseProbeRational, toRational } from '../codecs/rational.js';
import { createClip } from '../data/clip.js';
import { CascadeError } from '../util/cascade-error.js';

const geometry = { width: 64, height: 48, frames: 16, fps: 24 };
const INPUT = [
  '-hide_banner',
  '-loglevel',
  'error',
  '-nostats',
  '-progress',
  'pipe:1',
  '-y',
  '-f',
  'rawvideo',
  '-pix_fmt',
  'rgb24',
  '-s',
  '64x48',
  '-r',
  '24/1',
  '-i',
  'pipe:0',
];
const BT709 = [
  '-colorspace',
  'bt709',
  '-color_primaries',
  'bt709',
  '-color_trc',
  'bt709',
  '-color_range',
  'tv',
];
const RGB709 = [
  '-colorspace',
  'rgb',
  '-color_primaries',
  'bt709',
  '-color_trc',
  'bt709',
  '-color_range',
  'pc',
];

function args(spec: EncodeSpec, out = '/out/clip'): string[] {
  return buildEncodeArgs(resolveEncodeSettings(spec, geometry), out);
}

/** Runs `fn`, expects a CascadeError and returns it. */
function caught(fn: () => unknown): CascadeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CascadeError);
    return error as CascadeError;
  }
  throw new Error('expected a CascadeError');
}

describe('buildEncodeArgs: exact argv per preset', () => {
  it('h264 defaults: BT.709 conversion, tags, faststart', () => {
    expect(args({ preset: 'h264' }, '/out/a.mp4')).toEqual([
      ...INPUT,
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'medium',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      ...BT709,
      '-movflags',
      '+faststart+write_colr',
      '-fflags',
      '+bitexact',
      '-f',
      'mp4',
      '/out/a.mp4',
    ]);
  });

  it('h264 with every knob, and rgb24 lossless through libx264rgb', () => {
    expect(
      args(
        {
          preset: 'h264',
          crf: 23,
          speed: 'veryslow',
          tune: 'animation',
          profile: 'high444',
          pixelFormat: 'yuv444p',
          faststart: false,
        },
        '/o.mp4',
      ),
    ).toEqual([
      ...INPUT,
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv444p',
      '-c:v',
      'libx264',
      '-preset',
      'veryslow',
      '-tune',
      'animation',
      '-crf',
      '23',
      '-profile:v',
      'high444',
      '-pix_fmt',
      'yuv444p',
      ...BT709,
      '-movflags',
      '+write_colr',
      '-fflags',
      '+bitexact',
      '-f',
      'mp4',
      '/o.mp4',
    ]);
    const rgb = resolveEncodeSettings({ preset: 'h264', crf: 0, pixelFormat: 'rgb24' }, geometry);
    expect(rgb.lossless).toBe(true);
    expect(buildEncodeArgs(rgb, '/o.mp4')).toEqual([
      ...INPUT,
      '-c:v',
      'libx264rgb',
      '-preset',
      'medium',
      '-crf',
      '0',
      '-pix_fmt',
      'rgb24',
      ...RGB709,
      '-movflags',
      '+faststart+write_colr',
      '-fflags',
      '+bitexact',
      '-f',
      'mp4',
      '/o.mp4',
    ]);
    // crf 0 in YUV is lossless inside the codec, but the RGB -> YUV step rounds.
    expect(resolveEncodeSettings({ preset: 'h264', crf: 0, pixelFormat: 'yuv444p' }, geometry).lossless).toBe(
      false,
    );
  });

  it('h265', () => {
    expect(args({ preset: 'h265', crf: 28, speed: 'fast' }, '/o.mp4')).toEqual([
      ...INPUT,
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv420p',
      '-c:v',
      'libx265',
      '-preset',
      'fast',
      '-crf',
      '28',
      '-x265-params',
      'log-level=error',
      '-pix_fmt',
      'yuv420p',
      ...BT709,
      '-tag:v',
      'hvc1',
      '-movflags',
      '+faststart+write_colr',
      '-fflags',
      '+bitexact',
      '-f',
      'mp4',
      '/o.mp4',
    ]);
  });

  it('vp9', () => {
    expect(args({ preset: 'vp9', crf: 40, speed: 2, pixelFormat: 'yuv444p' }, '/o.webm')).toEqual([
      ...INPUT,
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv444p',
      '-c:v',
      'libvpx-vp9',
      '-crf',
      '40',
      '-b:v',
      '0',
      '-deadline',
      'good',
      '-cpu-used',
      '2',
      '-row-mt',
      '1',
      '-pix_fmt',
      'yuv444p',
      ...BT709,
      '-fflags',
      '+bitexact',
      '-f',
      'webm',
      '/o.webm',
    ]);
  });

  it('prores: profile by name or number picks the pixel format', () => {
    const expected = (profile: string, pix: string): string[] => [
      ...INPUT,
      '-vf',
      `scale=out_color_matrix=bt709:out_range=tv,format=${pix}`,
      '-c:v',
      'prores_ks',
      '-profile:v',
      profile,
      '-vendor',
      'apl0',
      '-pix_fmt',
      pix,
      ...BT709,
      '-movflags',
      '+write_colr',
      '-fflags',
      '+bitexact',
      '-f',
      'mov',
      '/o.mov',
    ];
    expect(args({ preset: 'prores' }, '/o.mov')).toEqual(expected('3', 'yuv422p10le'));
    expect(args({ preset: 'prores', profile: '4444xq' }, '/o.mov')).toEqual(expected('5', 'yuv444p10le'));
    expect(args({ preset: 'prores', profile: 0 }, '/o.mov')).toEqual(expected('0', 'yuv422p10le'));
  });

  it('ffv1: bgr0 by default (exact), yuv with conversion', () => {
    const settings = resolveEncodeSettings({ preset: 'ffv1' }, geometry);
    expect(settings.lossless).toBe(true);
    expect(buildEncodeArgs(settings, '/o.mkv')).toEqual([
      ...INPUT,
      '-c:v',
      'ffv1',
      '-level',
      '3',
      '-g',
      '1',
      '-slicecrc',
      '1',
      '-pix_fmt',
      'bgr0',
      ...RGB709,
      '-fflags',
      '+bitexact',
      '-f',
      'matroska',
      '/o.mkv',
    ]);
    const yuv = resolveEncodeSettings({ preset: 'ffv1', pixelFormat: 'yuv444p' }, geometry);
    expect(yuv.lossless).toBe(false);
    expect(buildEncodeArgs(yuv, '/o.mkv').slice(INPUT.length, INPUT.length + 2)).toEqual([
      '-vf',
      'scale=out_color_matrix=bt709:out_range=tv,format=yuv444p',
    ]);
  });

  it('gif: one palette per clip, dither options', () => {
    expect(args({ preset: 'gif' }, '/o.gif')).toEqual([
      ...INPUT,
      '-filter_complex',
      '[0:v]split[a][b];[a]palettegen=max_colors=256:stats_mode=full:reserve_transparent=0[p];[b][p]paletteuse=dither=sierra2_4a[out]',
      '-map',
      '[out]',
      '-c:v',
      'gif',
      '-loop',
      '0',
      '-fflags',
      '+bitexact',
      '-f',
      'gif',
      '/o.gif',
    ]);
    const bayer = args({
      preset: 'gif',
      maxColors: 64,
      dither: 'bayer',
      bayerScale: 3,
      statsMode: 'diff',
      loop: -1,
    });
    expect(bayer).toContain(
      '[0:v]split[a][b];[a]palettegen=max_colors=64:stats_mode=diff:reserve_transparent=0[p];[b][p]paletteuse=dither=bayer:bayer_scale=3:diff_mode=rectangle[out]',
    );
    expect(bayer.slice(-7)).toEqual(['-loop', '-1', '-fflags', '+bitexact', '-f', 'gif', '/out/clip']);
    expect(args({ preset: 'gif', dither: 'none' }).join(' ')).toContain('paletteuse=dither=0[out]');
  });

  it('png-sequence writes numbered files into the directory, from 0', () => {
    expect(args({ preset: 'png-sequence', compressionLevel: 1 }, '/out/frames')).toEqual([
      ...INPUT,
      '-c:v',
      'png',
      '-pix_fmt',
      'rgb24',
      '-compression_level',
      '1',
      '-start_number',
      '0',
      '-fflags',
      '+bitexact',
      '-f',
      'image2',
      '/out/frames/frame-%06d.png',
    ]);
  });

  it('extraArgs go last before the output, and NTSC rates stay exact', () => {
    const settings = resolveEncodeSettings(
      { preset: 'ffv1', extraArgs: ['-slices', '4'] },
      { ...geometry, fps: 29.97 },
    );
    const argv = buildEncodeArgs(settings, '/o.mkv', { progress: false });
    expect(argv).not.toContain('-progress');
    expect(argv[argv.indexOf('-r') + 1]).toBe('30000/1001');
    expect(argv.slice(-7)).toEqual(['-fflags', '+bitexact', '-slices', '4', '-f', 'matroska', '/o.mkv']);
  });
});

describe('resolveEncodeSettings: validation names the field', () => {
  it('odd sizes with 4:2:0 / 4:2:2 are errors, never rescaled', () => {
    const odd = caught(() => resolveEncodeSettings({ preset: 'h264' }, { ...geometry, width: 63 }));
    expect(odd.code).toBe('BAD_ARGUMENT');
    expect(odd.path).toBe('width');
    expect(odd.message).toMatch(/width is 63.*yuv420p.*divisible by 2.*62 or 64.*yuv444p/);
    const oddH = caught(() => resolveEncodeSettings({ preset: 'vp9' }, { ...geometry, height: 47 }));
    expect(oddH.path).toBe('height');
    // 4:2:2 only needs an even width; 4:4:4 and RGB take any size.
    expect(resolveEncodeSettings({ preset: 'prores' }, { ...geometry, height: 47 }).height).toBe(47);
    expect(caught(() => resolveEncodeSettings({ preset: 'prores' }, { ...geometry, width: 63 })).path).toBe(
      'width',
    );
    expect(
      resolveEncodeSettings({ preset: 'h264', pixelFormat: 'yuv444p' }, { ...geometry, width: 63 }).width,
    ).toBe(63);
    expect(resolveEncodeSettings({ preset: 'ffv1' }, { ...geometry, width: 63, height: 47 }).width).toBe(63);
  });

  it('crf out of range, per codec', () => {
    const e = caught(() => resolveEncodeSettings({ preset: 'h264', crf: 52 }, geometry));
    expect(e.path).toBe('crf');
    expect(e.message).toMatch(/crf is 52: must be an integer from 0 to 51/);
    expect(resolveEncodeSettings({ preset: 'vp9', crf: 63 }, geometry).preset).toBe('vp9');
    expect(caught(() => resolveEncodeSettings({ preset: 'vp9', crf: 64 }, geometry)).message).toMatch(
      /0 to 63/,
    );
    expect(caught(() => resolveEncodeSettings({ preset: 'h265', crf: -1 }, geometry)).path).toBe('crf');
    expect(caught(() => resolveEncodeSettings({ preset: 'h264', crf: 17.5 }, geometry)).path).toBe('crf');
  });

  it('unknown preset, unknown fields and bad enums, with a path prefix', () => {
    const e = caught(() => resolveEncodeSettings({ preset: 'h266' }, geometry, { path: 'clips.0.encode' }));
    expect(e.path).toBe('clips.0.encode.preset');
    expect(e.message).toContain(
      'clips.0.encode.preset is "h266", expected one of: h264, h265, vp9, prores, ffv1, gif, png-sequence',
    );
    const missing = caught(() => resolveEncodeSettings({}, geometry));
    expect(missing.path).toBe('preset');
    expect(missing.message).toContain('preset is missing');
    const typo = caught(() => resolveEncodeSettings({ preset: 'h264', crff: 18 }, geometry));
    expect(typo.path).toBe('crff');
    expect(typo.message).toMatch(/unknown field.*known fields: preset, crf/);
    const speed = caught(() => resolveEncodeSettings({ preset: 'h264', speed: 'quick' }, geometry));
    expect(speed.path).toBe('speed');
    expect(speed.message).toContain('ultrafast');
    expect(caught(() => resolveEncodeSettings({ preset: 'prores', profile: 6 }, geometry)).path).toBe(
      'profile',
    );
    expect(caught(() => resolveEncodeSettings({ preset: 'gif', maxColors: 2 }, geometry)).path).toBe(
      'maxColors',
    );
    expect(caught(() => resolveEncodeSettings('h264', geometry)).message).toMatch(/must be an object/);
  });

  it('cross-field rules: profiles vs pixel formats, prores format, gif fps', () => {
    expect(
      caught(() =>
        resolveEncodeSettings({ preset: 'h264', profile: 'main', pixelFormat: 'yuv444p' }, geometry),
      ).path,
    ).toBe('profile');
    expect(
      caught(() => resolveEncodeSettings({ preset: 'h264', profile: 'high', crf: 0 }, geometry)).message,
    ).toMatch(/lossless.*high444/);
    expect(
      caught(() =>
        resolveEncodeSettings({ preset: 'h264', profile: 'high444', pixelFormat: 'rgb24' }, geometry),
      ).path,
    ).toBe('profile');
    expect(
      caught(() =>
        resolveEncodeSettings({ preset: 'prores', profile: 'hq', pixelFormat: 'yuv444p10le' }, geometry),
      ).path,
    ).toBe('pixelFormat');
    expect(caught(() => resolveEncodeSettings({ preset: 'gif' }, { ...geometry, fps: 60 })).path).toBe('fps');
  });

  it('geometry is validated too', () => {
    expect(caught(() => resolveEncodeSettings({ preset: 'ffv1' }, { ...geometry, frames: 0 })).path).toBe(
      'frames',
    );
    expect(caught(() => resolveEncodeSettings({ preset: 'ffv1' }, { ...geometry, fps: -1 })).path).toBe(
      'fps',
    );
    expect(caught(() => resolveEncodeSettings({ preset: 'ffv1' }, { ...geometry, width: 1.5 })).path).toBe(
      'width',
    );
  });

  it('every preset resolves with defaults', () => {
    for (const preset of ENCODE_PRESET_NAMES) {
      const s = resolveEncodeSettings({ preset }, geometry);
      expect(s.preset).toBe(preset);
      expect(s.fps).toEqual({ num: 24, den: 1 });
    }
  });
});

describe('rationals', () => {
  it('keeps broadcast rates exact', () => {
    expect(toRational(29.97)).toEqual({ num: 30000, den: 1001 });
    expect(toRational(23.976)).toEqual({ num: 24000, den: 1001 });
    expect(toRational('30000/1001')).toEqual({ num: 30000, den: 1001 });
    expect(toRational(12.5)).toEqual({ num: 25, den: 2 });
    expect(toRational({ num: 48, den: 2 })).toEqual({ num: 24, den: 1 });
    expect(parseProbeRational('0/0')).toBeNull();
    expect(parseProbeRational('24000/1001')).toEqual({ num: 24000, den: 1001 });
    expect(caught(() => toRational('fast', 'job.fps')).path).toBe('job.fps');
  });
});

describe('planDecode / buildDecodeArgs', () => {
  const src = { path: '/in/a.mp4', width: 1920, height: 1080 };
  const opts = { fpsModeOption: '-vsync' as const };

  it('centre-crops 16:9 to square, area-downsamples, changes fps, limits frames', () => {
    const request = {
      width: 64,
      height: 64,
      crop: 'centre' as const,
      fps: { num: 8, den: 1 },
      maxFrames: 32,
    };
    const plan = planDecode(src, request);
    expect(plan.crop).toEqual({ x: 420, y: 0, width: 1080, height: 1080 });
    expect(buildDecodeArgs(src, plan, request, opts)).toEqual([
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostats',
      '-i',
      '/in/a.mp4',
      '-map',
      '0:v:0',
      '-vf',
      'fps=fps=8/1,crop=1080:1080:420:0,scale=64:64:flags=area,setsar=1',
      '-frames:v',
      '32',
      '-vsync',
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
    ]);
  });

  it('native size decodes add no filter; fps_mode on new ffmpeg; stream index and sequences', () => {
    const plan = planDecode({ ...src, streamIndex: 2 });
    expect(plan.filters).toEqual([]);
    expect(buildDecodeArgs({ ...src, streamIndex: 2 }, plan, {}, { fpsModeOption: '-fps_mode' })).toEqual([
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostats',
      '-i',
      '/in/a.mp4',
      '-map',
      '0:2',
      '-fps_mode',
      'passthrough',
      '-pix_fmt',
      'rgb24',
      '-f',
      'rawvideo',
      'pipe:1',
    ]);
    const seq = {
      path: '/out/frames',
      isSequence: true,
      sequenceFps: { num: 12, den: 1 },
      width: 64,
      height: 48,
    };
    expect(buildDecodeArgs(seq, planDecode(seq), {}, opts).slice(5, 13)).toEqual([
      '-f',
      'image2',
      '-framerate',
      '12/1',
      '-start_number',
      '0',
      '-i',
      '/out/frames/frame-%06d.png',
    ]);
  });

  it('tall targets crop height; rotation and anamorphic pixels count as displayed', () => {
    expect(planDecode(src, { width: 48, height: 64, crop: 'centre' }).crop).toEqual({
      x: 555,
      y: 0,
      width: 810,
      height: 1080,
    });
    // A phone clip stored 1920x1080 with rotate=90 decodes as 1080x1920 (portrait).
    const phone = planDecode({ ...src, rotation: 90 }, { width: 64, height: 64, crop: 'centre' });
    expect(phone.crop).toEqual({ x: 0, y: 420, width: 1080, height: 1080 });
    // DV widescreen: 720x480 stored with 32:27 pixels shows as 853x480.
    const dv = planDecode(
      { path: 'dv.mov', width: 720, height: 480, sampleAspectRatio: { num: 32, den: 27 } },
      { width: 64, height: 64, crop: 'centre' },
    );
    expect(dv.crop).toEqual({ x: 157, y: 0, width: 405, height: 480 });
    // Only a width: height follows the displayed aspect.
    expect(planDecode(src, { width: 64 })).toMatchObject({
      width: 64,
      height: 36,
      crop: null,
      scaleFlags: 'area',
    });
    // Enlarging uses bicubic; stretching without crop keeps the whole frame.
    expect(planDecode({ path: 'x', width: 32, height: 24 }, { width: 64, height: 64 })).toMatchObject({
      crop: null,
      scaleFlags: 'bicubic',
    });
    expect(caught(() => planDecode(src, { width: 0 })).path).toBe('width');
    // Untagged HD YUV: the resize also does the YUV -> RGB step, with the BT.709 matrix.
    expect(planDecode({ ...src, untaggedMatrix: 'bt709' }, { width: 64, height: 36 }).filters).toEqual([
      'scale=64:36:flags=area:in_color_matrix=bt709',
      'setsar=1',
      'format=rgb24',
    ]);
  });
});

describe('clip <-> rgb24', () => {
  it('rounds to nearest and clamps out-of-range and NaN values', () => {
    const clip = createClip(1, 1, 3, new Float32Array([0, 0.5, 1, -0.2, 1.7, Number.NaN, 0.2, 0.498, 0.502]));
    expect(Array.from(clipFrameToRgb24(clip, 0))).toEqual([0, 128, 255, 0, 255, 0, 51, 127, 128]);
    const frames = [...clipToRgb24Frames(clip)];
    expect(frames).toHaveLength(1);
    const back = rgb24FramesToClip(frames, 1, 3);
    expect(back.data[1]).toBeCloseTo(128 / 255, 6);
    expect(caught(() => rgb24FramesToClip([new Uint8Array(5)], 1, 3)).path).toBe('frames.0');
  });
});

describe('parseVersionOutput', () => {
  it('reads the version and picks -fps_mode from libavutil 57.28 on', () => {
    const old = parseVersionOutput(
      'ffmpeg',
      '/x/ffmpeg',
      'path',
      'PATH',
      'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com\nlibavutil      56. 24.101 / 56. 24.101\n',
    );
    expect(old.version).toBe('N-47683-g0e8eb07980-static');
    expect(old.libraries.libavutil).toEqual([56, 24, 101]);
    expect(old.fpsModeOption).toBe('-vsync');
    const modern = parseVersionOutput(
      'ffmpeg',
      '/x',
      'path',
      'PATH',
      'ffmpeg version 6.1.1\nlibavutil      58. 29.100\n',
    );
    expect(modern.fpsModeOption).toBe('-fps_mode');
    expect(() => parseVersionOutput('ffmpeg', '/x', 'path', 'PATH', 'ffprobe version 6.0\n')).toThrow(
      /not ffmpeg/,
    );
  });
});
