import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendInfo } from '../backend/select-backend.js';
import type { FrameConsistencyResult } from '../eval/frame-consistency.js';
import type { StageName } from '../stages/stage-context.js';
import { hashOutput, type VerifiedOutput } from '../stages/verify-output.js';
import { packageInfo } from '../util/package-info.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';
import type { ClipPlan, JobPlan } from './plan.js';

export const MANIFEST_FORMAT = 'self-cascade/render-manifest';
export const MANIFEST_VERSION = 1;

export interface MediaToolRecord {
  readonly path: string;
  readonly version: string;
  readonly source: string;
}

export interface ClipRecord {
  readonly status: 'done' | 'failed';
  readonly planHash: string;
  readonly prompt: string;
  readonly seed: number;
  readonly stageSeeds: readonly number[];
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Wall seconds per stage. */
  readonly timings: Readonly<Partial<Record<StageName, number>>>;
  readonly checks: FrameConsistencyResult | null;
  readonly outputs: readonly VerifiedOutput[];
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly finishedAt: string;
}

/** How every file of a job was made; rewritten atomically after every finished clip. */
export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly tool: { readonly name: string; readonly version: string };
  readonly createdAt: string;
  updatedAt: string;
  readonly job: { readonly name: string; readonly file: string | null; readonly seed: number };
  readonly backend: BackendInfo;
  readonly ffmpeg: MediaToolRecord;
  readonly ffprobe: MediaToolRecord;
  readonly model: { readonly name: string; readonly dir: string; readonly sha256: string };
  readonly upsamplers: { readonly dir: string; readonly sha256: string } | null;
  /** The fully resolved plan of every clip (values, sources, stages, outputs). */
  readonly plan: readonly unknown[];
  readonly clips: Record<string, ClipRecord>;
}

export function createManifest(
  plan: JobPlan,
  environment: { backend: BackendInfo; ffmpeg: MediaToolRecord; ffprobe: MediaToolRecord },
  previous?: Manifest,
): Manifest {
  const now = new Date().toISOString();
  const tool = packageInfo();
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    tool: { name: tool.name, version: tool.version },
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    job: { name: plan.name, file: plan.jobFile ?? null, seed: plan.seed },
    backend: environment.backend,
    ffmpeg: environment.ffmpeg,
    ffprobe: environment.ffprobe,
    model: { name: plan.model.name, dir: plan.model.dir, sha256: plan.model.sha256 },
    upsamplers: plan.model.upsamplers ?? null,
    plan: plan.clips.map((c) => ({
      ...c,
      outputs: c.outputs.map((o) => ({ path: o.relativePath, settings: o.settings })),
    })),
    clips: { ...(previous?.clips ?? {}) },
  };
}

export async function writeManifest(path: string, manifest: Manifest): Promise<void> {
  manifest.updatedAt = new Date().toISOString();
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

/** The manifest at `path`, or undefined if there is none or it is not one of ours. */
export async function readManifest(path: string): Promise<Manifest | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<Manifest>;
    if (
      value.format !== MANIFEST_FORMAT ||
      value.version !== MANIFEST_VERSION ||
      typeof value.clips !== 'object'
    ) {
      return undefined;
    }
    return value as Manifest;
  } catch {
    return undefined;
  }
}

/**
 * True when a previous run finished this clip with the same plan and every output file is
 * still there with the recorded sha256 (so `--resume` can skip it).
 */
export async function clipIsComplete(
  record: ClipRecord | undefined,
  clip: ClipPlan,
  outputDir: string,
): Promise<boolean> {
  if (record?.status !== 'done' || record.planHash !== clip.planHash) return false;
  if (record.outputs.length !== clip.outputs.length) return false;
  for (const output of record.outputs) {
    const file = join(outputDir, output.path);
    if (!existsSync(file)) return false;
    if ((await hashOutput(file)).sha256 !== output.sha256) return false;
  }
  return true;
}
