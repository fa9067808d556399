import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../eval/tiny-model.js';
import { collect, runCli, startCli } from './support/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cascade-cli-'));
beforeAll(async () => {
  await writeTinyModel(join(dir, 'tiny'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJob(name: string, out: string, clips = 3): string {
  const file = join(dir, `${name}.yaml`);
  const lines = [
    'model: ./tiny',
    'seed: 3',
    'workers: 0',
    'defaults: { steps: 4, scale: 4 }',
    'clips:',
    ...Array.from(
      { length: clips },
      (_, i) =>
        `  - { id: c${i}, prompt: "a ${['red', 'blue', 'green', 'white'][i % 4]} star on a checkered purple background" }`,
    ),
    `output: { dir: ${out}, encode: [{ preset: h264 }, { preset: ffv1 }] }`,
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function hashes(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(folder).sort()) {
    if (f === 'manifest.json') continue;
    out[f] = createHash('sha256')
      .update(readFileSync(join(folder, f)))
      .digest('hex');
  }
  return out;
}

describe('cascade render (CLI)', () => {
  it('renders a job with NDJSON progress and exit code 0', async () => {
    const run = await runCli(['render', writeJob('full', 'full'), '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0]!.type).toBe('job-start');
    expect(events.at(-1)!.type).toBe('job-done');
    expect(events.filter((e) => e.type === 'clip-done')).toHaveLength(3);
    expect(Object.keys(hashes(join(dir, 'full')))).toEqual([
      'c0.mkv',
      'c0.mp4',
      'c1.mkv',
      'c1.mp4',
      'c2.mkv',
      'c2.mp4',
    ]);
  });

  it('killed mid-job, --resume finishes with the same output hashes as an uninterrupted run', async () => {
    const job = writeJob('killed', 'killed');
    const child = startCli(['render', job, '--json']);
    let killed = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (!killed && d.toString().includes('"clip-done"')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    const first = await collect(child);
    expect(first.signal).toBe('SIGKILL');
    const manifest = JSON.parse(readFileSync(join(dir, 'killed', 'manifest.json'), 'utf8')) as {
      clips: object;
    };
    const finished = Object.keys(manifest.clips).length;
    expect(finished).toBeGreaterThanOrEqual(1);
    expect(finished).toBeLessThan(3);

    const resumed = await runCli(['render', job, '--resume', '--json']);
    expect(resumed.code).toBe(0);
    const skipped = resumed.stdout.split('\n').filter((l) => l.includes('"clip-skipped"')).length;
    expect(skipped).toBe(finished);
    expect(hashes(join(dir, 'killed'))).toEqual(hashes(join(dir, 'full')));
    expect(readdirSync(join(dir, 'killed')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('SIGTERM stops cleanly with exit code 130 and no partial files', async () => {
    const child = startCli(['render', writeJob('term', 'term', 4), '--json']);
    let sent = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (!sent && d.toString().includes('"stage"')) {
        sent = true;
        child.kill('SIGTERM');
      }
    });
    const run = await collect(child);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('ABORTED');
    expect(readdirSync(join(dir, 'term')).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('bad input: exit code 2 with the field path, nothing written', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'clips: [{ id: a, prompt: "a red dragon on a plain blue background" }]\noutput: { dir: bad-out }\nmodel: ./tiny\n',
    );
    const run = await runCli(['render', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('INVALID_PROMPT [clips.0.prompt]');
    expect(run.stderr).toContain('dragon');
    expect(readdirSync(dir)).not.toContain('bad-out');
  });

  it('ffmpeg not found: exit code 4 naming the fix', async () => {
    const run = await runCli(['render', writeJob('noffmpeg', 'noffmpeg-out', 1)], {
      env: { FFMPEG_PATH: join(dir, 'no-ffmpeg-here') },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('FFMPEG_NOT_FOUND');
    expect(readdirSync(dir)).not.toContain('noffmpeg-out');
  });

  it('--dry-run validates and writes nothing; plan prints sources; schema prints JSON Schema', async () => {
    const job = writeJob('dry', 'dry-out', 1);
    const dry = await runCli(['render', job, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(readdirSync(dir)).not.toContain('dry-out');
    const plan = await runCli(['plan', job]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/steps\s+4\s+\(defaults\)/);
    expect(plan.stdout).toMatch(/k\s+700\s+\(builtin\)/);
    expect(plan.stdout).toContain('pivot-replacement 32x32');
    const schema = await runCli(['schema']);
    const parsed = JSON.parse(schema.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(parsed.properties)).toEqual(
      expect.arrayContaining(['clips', 'output', 'defaults', 'model']),
    );
  });

  it('unknown command and bad flags: exit code 2', async () => {
    expect((await runCli(['rendr'])).code).toBe(2);
    const bad = await runCli(['render', 'x.yaml', '--wrokers', '2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--wrokers');
  });
});
