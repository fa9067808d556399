import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFfmpeg, findFfprobe, findMediaTool } from '../codecs/find-ffmpeg.js';
import { isCascadeError } from '../util/cascade-error.js';

const require = createRequire(import.meta.url);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cascade-find-ffmpeg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('findFfmpeg / findFfprobe', () => {
  it('finds the bundled binaries (no ffmpeg on PATH here), runs -version once and caches', async () => {
    const env = { PATH: '' };
    const ffmpeg = await findFfmpeg({ env });
    // ffmpeg-static is not installed on this machine, so the installer package wins.
    expect(ffmpeg.source).toBe('installer-package');
    expect(ffmpeg.sourceLabel).toBe('@ffmpeg-installer/ffmpeg');
    expect(ffmpeg.path).toBe((require('@ffmpeg-installer/ffmpeg') as { path: string }).path);
    expect(ffmpeg.version.length).toBeGreaterThan(0);
    expect(ffmpeg.libraries.libavcodec?.[0]).toBeGreaterThan(50);
    expect(await findFfmpeg({ env })).toBe(ffmpeg);
    const ffprobe = await findFfprobe({ env });
    expect(ffprobe.tool).toBe('ffprobe');
    expect(ffprobe.sourceLabel).toBe('@ffprobe-installer/ffprobe');
  });

  it('FFMPEG_PATH and an explicit setting win, and never silently fall back when broken', async () => {
    const real = (await findFfmpeg({ env: { PATH: '' } })).path;
    const viaEnv = await findFfmpeg({ env: { FFMPEG_PATH: real, PATH: '' } });
    expect(viaEnv.source).toBe('env');
    const missing = path.join(dir, 'no-such-ffmpeg');
    const e1 = await rejection(findFfmpeg({ env: { FFMPEG_PATH: missing, PATH: '' } }));
    expect(isCascadeError(e1, 'FFMPEG_NOT_FOUND')).toBe(true);
    expect(e1.message).toContain(`FFMPEG_PATH is "${missing}"`);
    expect(e1.message).toContain('does not exist');
    const e2 = await rejection(findFfmpeg({ path: missing, env: { PATH: '' } }));
    expect(e2.message).toMatch(/the ffmpeg path setting is .*does not exist/);
    // An ffprobe where ffmpeg is expected is caught by the -version check.
    const probePath = (await findFfprobe({ env: { PATH: '' } })).path;
    const e3 = await rejection(findFfmpeg({ path: probePath, env: { PATH: '' } }));
    expect(e3.message).toMatch(/it is ffprobe, not ffmpeg/);
  });

  it('not found: names every place tried and how to fix it', async () => {
    const empty = path.join(dir, 'empty-bin');
    await mkdir(empty, { recursive: true });
    const error = await rejection(
      findMediaTool('ffmpeg', { env: { PATH: empty }, sources: ['env', 'static-package', 'path'] }),
    );
    expect(isCascadeError(error, 'FFMPEG_NOT_FOUND')).toBe(true);
    expect(error.message).toContain('1) FFMPEG_PATH: not set');
    expect(error.message).toContain('2) ffmpeg-static: not installed');
    expect(error.message).toContain(`3) PATH: no working executable named ffmpeg in ${empty}`);
    expect(error.message).toContain('set FFMPEG_PATH=');
    expect(error.message).toContain('apt-get install ffmpeg');
    expect(error.message).toContain('npm i @ffmpeg-installer/ffmpeg');
  });

  it('restores a lost executable bit inside node_modules, and finds ffmpeg on PATH', async () => {
    const pkgBin = path.join(dir, 'node_modules', 'fake-ffmpeg');
    await mkdir(pkgBin, { recursive: true });
    const script = path.join(pkgBin, 'ffmpeg');
    await writeFile(script, '#!/bin/sh\necho "ffmpeg version 9.9-test"\necho "libavutil      59. 39.100"\n');
    await chmod(script, 0o644);
    const found = await findFfmpeg({ path: script, env: { PATH: '' } });
    expect(found.version).toBe('9.9-test');
    expect(found.fpsModeOption).toBe('-fps_mode');
    expect((await stat(script)).mode & 0o100).toBe(0o100);

    // Outside node_modules the bit is not touched: the error says to chmod.
    const loose = path.join(dir, 'ffmpeg');
    await writeFile(loose, '#!/bin/sh\necho "ffmpeg version 9.9-test"\n');
    await chmod(loose, 0o644);
    const error = await rejection(findFfmpeg({ path: loose, env: { PATH: '' } }));
    expect(error.message).toContain(`chmod u+x ${loose}`);

    await chmod(loose, 0o755);
    const onPath = await findMediaTool('ffmpeg', { env: { PATH: dir }, sources: ['path'] });
    expect(onPath.source).toBe('path');
    expect(onPath.path).toBe(loose);
  });
});
