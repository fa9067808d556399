import { appendFile, readFile } from 'node:fs/promises';
import { CascadeError } from '../util/cascade-error.js';
import { writeFileAtomic } from '../util/write-file-atomic.js';

/** One line of the loss log. */
export interface LossLogRow {
  /** Updates done after this one (1-based). */
  readonly step: number;
  /** Mean per-example MSE of the update's global batch. */
  readonly loss: number;
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Wall-clock training seconds since the run started (summed over resumed sessions). */
  readonly seconds: number;
}

export const LOSS_LOG_HEADER = 'step,loss,lr,grad_norm,seconds';

export function formatLossLogRow(row: LossLogRow): string {
  return `${row.step},${row.loss.toPrecision(6)},${row.lr.toPrecision(6)},${row.gradNorm.toPrecision(6)},${row.seconds.toFixed(3)}`;
}

/** Appends rows (creating the file with its header first if needed). */
export async function appendLossLog(
  path: string,
  rows: readonly LossLogRow[],
  create: boolean,
): Promise<void> {
  const body = rows.map((r) => `${formatLossLogRow(r)}\n`).join('');
  if (create) await writeFileAtomic(path, `${LOSS_LOG_HEADER}\n${body}`);
  else await appendFile(path, body);
}

/** Parses a loss log; a missing file is an empty log. */
export async function readLossLog(path: string): Promise<LossLogRow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text.split('\n').filter((l) => l.length > 0);
  if (lines[0] !== LOSS_LOG_HEADER) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `${path} is not a loss log: its first line is "${lines[0]}", expected "${LOSS_LOG_HEADER}".`,
      {
        path,
      },
    );
  }
  const rows: LossLogRow[] = [];
  for (const line of lines.slice(1)) {
    const [step, loss, lr, gradNorm, seconds] = line.split(',').map(Number);
    // A line cut short by a crash mid-append is skipped rather than failing the resume.
    if ([step, loss, lr, gradNorm, seconds].some((v) => v === undefined || Number.isNaN(v))) continue;
    rows.push({ step: step!, loss: loss!, lr: lr!, gradNorm: gradNorm!, seconds: seconds! });
  }
  return rows;
}

/**
 * Rewrites the log keeping only rows with step <= `lastStep` (a resumed run continues from its
 * checkpoint, so rows logged after it are repeated work). Returns the kept rows.
 */
export async function truncateLossLog(path: string, lastStep: number): Promise<LossLogRow[]> {
  const kept = (await readLossLog(path)).filter((r) => r.step <= lastStep);
  await appendLossLog(path, kept, true);
  return kept;
}
