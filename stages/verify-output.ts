import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeFrameHashes } from '../codecs/decode-frame-hashes.js';
import { expectationFor, type VerifySummary, verifyVideo } from '../codecs/verify-video.js';
import { CascadeError } from '../util/cascade-error.js';
import type { EncodedOutput } from './encode-output.js';
import type { StageContext } from './stage-context.js';

/** What the manifest records of one verified output. */
export interface VerifiedOutput {
  /** Relative to the output folder. */
  readonly path: string;
  readonly preset: string;
  readonly bytes: number;
  /** sha256 of the file; for a PNG sequence, of its sorted "name sha256" lines. */
  readonly sha256: string;
  /** sha256 of every rendered rgb24 frame, in order. */
  readonly frameHashes: readonly string[];
  /** True when the output decodes back to exactly `frameHashes` (lossless presets). */
  readonly decodedFramesMatch: boolean | null;
  readonly probe: {
    readonly codec: string;
    readonly width: number;
    readonly height: number;
    readonly frames: number | null;
    readonly fps: string | null;
    readonly pixelFormat: string | null;
  };
}

/**
 * ffprobe the temporary output (codec, size, frame count, fps, pixel format, colour tags); for
 * lossless presets also decode it and compare every frame's hash with the rendered frames; then
 * rename it to its final path. On any mismatch the temporary is removed and VERIFY_FAILED names
 * every difference, so a final path only ever holds a verified file.
 */
export async function verifyOutput(encoded: EncodedOutput, context: StageContext): Promise<VerifiedOutput> {
  const { output, tempPath, result } = encoded;
  try {
    const summary: VerifySummary = await verifyVideo(tempPath, expectationFor(output.settings), {
      signal: context.signal,
      sequenceFps: output.settings.fps,
    });
    const frameHashes = result.frameHashes ?? [];
    let decodedFramesMatch: boolean | null = null;
    if (output.settings.lossless) {
      const decoded = await decodeFrameHashes(tempPath, { signal: context.signal });
      const bad = frameHashes.map((h, i) => (decoded[i] === h ? -1 : i)).filter((i) => i >= 0);
      if (decoded.length !== frameHashes.length || bad.length > 0) {
        throw new CascadeError(
          'VERIFY_FAILED',
          `${output.relativePath} is a lossless ${output.settings.preset} output but decodes to different frames (${decoded.length} decoded, ${frameHashes.length} rendered; differing frames: ${bad.slice(0, 10).join(', ')}).`,
          { path: output.path },
        );
      }
      decodedFramesMatch = true;
    }
    const { sha256, bytes } = await hashOutput(tempPath);
    await rm(output.path, { recursive: true, force: true });
    await rename(tempPath, output.path);
    context.onProgress?.({ stage: 'verify', fraction: 1 });
    const p = summary.probe;
    return {
      path: output.relativePath,
      preset: output.settings.preset,
      bytes,
      sha256,
      frameHashes,
      decodedFramesMatch,
      probe: {
        codec: p.codec,
        width: p.width,
        height: p.height,
        frames: p.frameCount,
        fps: p.fps ? `${p.fps.num}/${p.fps.den}` : null,
        pixelFormat: p.pixelFormat,
      },
    };
  } catch (error) {
    await rm(tempPath, { recursive: true, force: true });
    throw error;
  }
}

/** sha256 and size of a file, or of a folder's files (sorted "name sha256" lines). */
export async function hashOutput(path: string): Promise<{ sha256: string; bytes: number }> {
  const info = await stat(path);
  if (!info.isDirectory()) return { sha256: await sha256File(path), bytes: info.size };
  const names = (await readdir(path)).sort();
  const lines: string[] = [];
  let bytes = 0;
  for (const name of names) {
    const file = join(path, name);
    lines.push(`${name} ${await sha256File(file)}`);
    bytes += (await stat(file)).size;
  }
  return { sha256: createHash('sha256').update(lines.join('\n')).digest('hex'), bytes };
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
