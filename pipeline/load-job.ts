import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { CascadeError } from '../util/cascade-error.js';
import { type Job, jobSchema } from './job-schema.js';

/** A validated job and where it came from (relative paths resolve against `baseDir`). */
export interface LoadedJob {
  readonly job: Job;
  /** Absolute path of the job file, or undefined for an in-memory job. */
  readonly file: string | undefined;
  readonly baseDir: string;
}

/** Reads and validates a job file (.yaml, .yml or .json). Nothing is written. */
export async function loadJobFile(path: string): Promise<LoadedJob> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder' : `cannot be read (${code})`;
    throw new CascadeError('FILE_NOT_FOUND', `The job file ${file} ${why}.`, { path: file, cause: error });
  }
  const value = parseJobText(text, file);
  return { job: validateJob(value, file), file, baseDir: resolve(file, '..') };
}

/** Parses YAML or JSON text (JSON is read strictly when the file says .json). */
export function parseJobText(text: string, source = 'job'): unknown {
  if (extname(source).toLowerCase() === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new CascadeError('INVALID_JOB', `${source} is not valid JSON: ${(error as Error).message}.`, {
        path: source,
        cause: error,
      });
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0] ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}` : '';
    const reason = (first.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new CascadeError('INVALID_JOB', `${source} is not valid YAML${at}: ${reason}`, {
      path: source,
      cause: first,
    });
  }
  return doc.toJS() as unknown;
}

/**
 * Validates a parsed job against the schema. The error's `path` is the first offending field
 * ("clips.2.steps"); its message lists every problem with its field path and the value found.
 */
export function validateJob(value: unknown, source = 'job'): Job {
  const parsed = jobSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => describeIssue(issue, value));
  const firstPath = issuePath(parsed.error.issues[0]!);
  throw new CascadeError(
    'INVALID_JOB',
    `${source} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    { path: firstPath, details: { problems } },
  );
}

export function dotted(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** The field an issue is about; for unknown fields, the first unknown field itself. */
function issuePath(issue: z.core.$ZodIssue): string {
  return dotted(issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path);
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown): string {
  const where = issuePath(issue) || '(job)';
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((k) => `"${k}"`).join(', ');
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${names}; check the spelling (cascade schema lists every field)`;
  }
  const found = valueAt(root, issue.path);
  const got = found === undefined ? 'missing' : `got ${JSON.stringify(found)}`;
  return `${where}: ${issue.message} (${got})`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    // A single encode spec is read as a list of one: `output.encode.0` is `output.encode` itself.
    if (key === 0 && !Array.isArray(node)) continue;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}
