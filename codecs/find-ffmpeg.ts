import { execFile } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { CascadeError } from '../util/cascade-error.js';

export type MediaTool = 'ffmpeg' | 'ffprobe';

/**
 * Where a binary can come from, in lookup order: an explicit setting, the FFMPEG_PATH /
 * FFPROBE_PATH environment variable, the `ffmpeg-static` / `ffprobe-static` package (optional:
 * its install downloads a binary), the `@ffmpeg-installer/*` package (binary shipped inside the
 * npm package), then `ffmpeg` / `ffprobe` on PATH.
 */
export const MEDIA_TOOL_SOURCES = ['setting', 'env', 'static-package', 'installer-package', 'path'] as const;
export type MediaToolSource = (typeof MEDIA_TOOL_SOURCES)[number];

/** A working binary: what manifests record. */
export interface MediaBinary {
  readonly tool: MediaTool;
  readonly path: string;
  /** The version token of `-version` ("4.4.2-0ubuntu0.22.04.1", "N-47683-g0e8eb07980-static"). */
  readonly version: string;
  readonly source: MediaToolSource;
  /** Human name of the source: "FFMPEG_PATH", "@ffmpeg-installer/ffmpeg", "PATH", ... */
  readonly sourceLabel: string;
  /** Library versions from `-version` ("libavutil" -> [56, 24, 101]); snapshot builds have no release number. */
  readonly libraries: Readonly<Record<string, readonly [number, number, number]>>;
  /**
   * `-fps_mode` exists from FFmpeg 5.1 (libavutil 57.28); older builds (the 4.1 inside
   * @ffmpeg-installer) only know `-vsync`, which newer builds deprecate.
   */
  readonly fpsModeOption: '-fps_mode' | '-vsync';
}

export interface FindMediaToolOptions {
  /** Explicit binary path; wins over everything and never falls back when it is broken. */
  path?: string | undefined;
  /** Environment to read FFMPEG_PATH / FFPROBE_PATH / PATH from (defaults to `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Which sources to search, in the fixed order above (default: all). */
  sources?: readonly MediaToolSource[];
}

interface ToolNames {
  envVar: string;
  staticPackage: string;
  installerPackage: string;
}

const NAMES: Record<MediaTool, ToolNames> = {
  ffmpeg: {
    envVar: 'FFMPEG_PATH',
    staticPackage: 'ffmpeg-static',
    installerPackage: '@ffmpeg-installer/ffmpeg',
  },
  ffprobe: {
    envVar: 'FFPROBE_PATH',
    staticPackage: 'ffprobe-static',
    installerPackage: '@ffprobe-installer/ffprobe',
  },
};

const cache = new Map<string, Promise<MediaBinary>>();
const require = createRequire(import.meta.url);

/** Finds a working ffmpeg once per (setting, environment) and caches it. See MEDIA_TOOL_SOURCES. */
export function findFfmpeg(options: FindMediaToolOptions = {}): Promise<MediaBinary> {
  return findMediaTool('ffmpeg', options);
}

/** Finds a working ffprobe once per (setting, environment) and caches it. */
export function findFfprobe(options: FindMediaToolOptions = {}): Promise<MediaBinary> {
  return findMediaTool('ffprobe', options);
}

export function findMediaTool(tool: MediaTool, options: FindMediaToolOptions = {}): Promise<MediaBinary> {
  const env = options.env ?? process.env;
  const sources = options.sources ?? MEDIA_TOOL_SOURCES;
  const key = JSON.stringify([tool, options.path, env[NAMES[tool].envVar], env.PATH, sources]);
  const hit = cache.get(key);
  if (hit) return hit;
  const found = locate(tool, options.path, env, sources);
  cache.set(key, found);
  // A failed lookup is not cached: the user may install ffmpeg and retry in the same process.
  found.catch(() => {
    if (cache.get(key) === found) cache.delete(key);
  });
  return found;
}

interface Attempt {
  label: string;
  outcome: string;
}

async function locate(
  tool: MediaTool,
  explicit: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  sources: readonly MediaToolSource[],
): Promise<MediaBinary> {
  const names = NAMES[tool];
  const tried: Attempt[] = [];

  // Explicit choices are authoritative: silently using another binary would hide a typo.
  if (sources.includes('setting') && explicit !== undefined) {
    return await mustWork(tool, explicit, 'setting', `the ${tool} path setting`);
  }
  const fromEnv = env[names.envVar];
  if (sources.includes('env')) {
    if (fromEnv !== undefined && fromEnv.trim() !== '') {
      return await mustWork(tool, fromEnv, 'env', names.envVar);
    }
    tried.push({ label: names.envVar, outcome: 'not set' });
  }

  if (sources.includes('static-package')) {
    const candidate = resolveStaticPackage(tool);
    const found = await tryCandidate(tool, candidate, 'static-package', names.staticPackage, tried);
    if (found) return found;
  }
  if (sources.includes('installer-package')) {
    const candidate = resolveInstallerPackage(tool);
    const found = await tryCandidate(tool, candidate, 'installer-package', names.installerPackage, tried);
    if (found) return found;
  }
  if (sources.includes('path')) {
    const dirs = (env.PATH ?? '').split(path.delimiter).filter((d) => d !== '');
    const exe = process.platform === 'win32' ? `${tool}.exe` : tool;
    let found: MediaBinary | undefined;
    for (const dir of dirs) {
      const file = path.join(dir, exe);
      if (!(await isExecutableFile(file))) continue;
      try {
        found = await describe(tool, file, 'path', 'PATH');
        break;
      } catch (error) {
        tried.push({ label: `PATH (${file})`, outcome: errorText(error) });
      }
    }
    if (found) return found;
    tried.push({
      label: 'PATH',
      outcome:
        dirs.length === 0
          ? 'PATH is empty'
          : `no working executable named ${exe} in ${dirs.join(path.delimiter)}`,
    });
  }

  const list = tried.map((a, i) => `${i + 1}) ${a.label}: ${a.outcome}`).join('; ');
  throw new CascadeError(
    'FFMPEG_NOT_FOUND',
    `${tool} was not found. Tried ${list || 'nothing (no sources enabled)'}. Fix: set ${names.envVar}=/path/to/${tool}, ` +
      `install it with your package manager (\`apt-get install ffmpeg\`), or \`npm i ${names.installerPackage}\`.`,
    { details: { tool, tried } },
  );
}

type Candidate = { file: string } | { missing: string };

function resolveStaticPackage(tool: MediaTool): Candidate {
  const name = NAMES[tool].staticPackage;
  try {
    // ffmpeg-static exports the path (null on unsupported platforms); ffprobe-static exports { path }.
    const mod = require(name) as unknown;
    const file =
      typeof mod === 'string'
        ? mod
        : mod !== null && typeof mod === 'object' && typeof (mod as { path?: unknown }).path === 'string'
          ? (mod as { path: string }).path
          : undefined;
    return file === undefined ? { missing: 'installed, but it has no binary for this platform' } : { file };
  } catch {
    return { missing: 'not installed (optional: its install step downloads the binary)' };
  }
}

function resolveInstallerPackage(tool: MediaTool): Candidate {
  const name = NAMES[tool].installerPackage;
  try {
    const mod = require(name) as { path?: unknown };
    return typeof mod.path === 'string'
      ? { file: mod.path }
      : { missing: 'installed, but it exports no path' };
  } catch (error) {
    const text = errorText(error);
    return {
      missing: /Cannot find module/.test(text)
        ? `not installed, or no binary package for ${process.platform}-${process.arch}`
        : text,
    };
  }
}

async function tryCandidate(
  tool: MediaTool,
  candidate: Candidate,
  source: MediaToolSource,
  label: string,
  tried: Attempt[],
): Promise<MediaBinary | undefined> {
  if ('missing' in candidate) {
    tried.push({ label, outcome: candidate.missing });
    return undefined;
  }
  try {
    await ensureExecutable(candidate.file);
    return await describe(tool, candidate.file, source, label);
  } catch (error) {
    tried.push({ label: `${label} (${candidate.file})`, outcome: errorText(error) });
    return undefined;
  }
}

async function mustWork(
  tool: MediaTool,
  file: string,
  source: MediaToolSource,
  label: string,
): Promise<MediaBinary> {
  try {
    await ensureExecutable(file);
    return await describe(tool, file, source, label);
  } catch (error) {
    throw new CascadeError(
      'FFMPEG_NOT_FOUND',
      `${label} is "${file}", but it is not a working ${tool}: ${errorText(error)}. ` +
        `Fix: point ${label} at a ${tool} executable, or unset it to use the bundled ${NAMES[tool].installerPackage}.`,
      { path: file, details: { tool, source }, cause: error },
    );
  }
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Package managers sometimes drop the executable bit (npm pack of a tarball made on Windows,
 * some CI caches). Restoring it is safe only for files inside node_modules that we own; anywhere
 * else the user gets an error telling them to chmod.
 */
async function ensureExecutable(file: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch {
    throw new Error('the file does not exist');
  }
  if (!info.isFile()) throw new Error('it is not a regular file');
  try {
    await access(file, fsConstants.X_OK);
    return;
  } catch {
    // fall through
  }
  const inNodeModules = path.resolve(file).split(path.sep).includes('node_modules');
  if (inNodeModules) {
    try {
      await chmod(file, info.mode | 0o100);
      await access(file, fsConstants.X_OK);
      return;
    } catch {
      // fall through to the error
    }
  }
  throw new Error(`it is not executable (run \`chmod u+x ${file}\`)`);
}

/** Runs `-version` once: proves the binary starts on this machine and records what it is. */
function describe(
  tool: MediaTool,
  file: string,
  source: MediaToolSource,
  label: string,
): Promise<MediaBinary> {
  return new Promise((resolve, reject) => {
    execFile(file, ['-hide_banner', '-version'], { timeout: 15_000, windowsHide: true }, (error, stdout) => {
      if (error) {
        reject(
          new Error(`running \`${path.basename(file)} -version\` failed (${error.message.split('\n')[0]})`),
        );
        return;
      }
      try {
        resolve(parseVersionOutput(tool, file, source, label, stdout));
      } catch (parseError) {
        reject(parseError);
      }
    });
  });
}

/** Parses `ffmpeg -version` output (exported for tests). */
export function parseVersionOutput(
  tool: MediaTool,
  file: string,
  source: MediaToolSource,
  label: string,
  stdout: string,
): MediaBinary {
  const first = /^\s*(\S+) version (\S+)/m.exec(stdout);
  if (!first) throw new Error(`\`-version\` printed no "${tool} version" line`);
  if (first[1] !== tool) throw new Error(`it is ${first[1]}, not ${tool}`);
  const libraries: Record<string, readonly [number, number, number]> = {};
  for (const m of stdout.matchAll(/^\s*(lib\w+)\s+(\d+)\.\s*(\d+)\.\s*(\d+)/gm)) {
    libraries[m[1]!] = [Number(m[2]), Number(m[3]), Number(m[4])];
  }
  const avutil = libraries.libavutil;
  const fpsMode = avutil !== undefined && (avutil[0] > 57 || (avutil[0] === 57 && avutil[1] >= 28));
  return {
    tool,
    path: file,
    version: first[2]!,
    source,
    sourceLabel: label,
    libraries,
    fpsModeOption: fpsMode ? '-fps_mode' : '-vsync',
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
