import { type ParseArgsConfig, parseArgs } from 'node:util';
import { CascadeError } from '../util/cascade-error.js';

/** node:util parseArgs, strict, with errors turned into BAD_ARGUMENT naming the flag. */
export function parseCliArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: true }>> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CascadeError('BAD_ARGUMENT', `${message}. Run with --help for the options.`, { cause: error });
  }
}

/** A whole-number flag value, or BAD_ARGUMENT naming the flag. */
export function intFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  return rangeFlag(value, flag, min, max, true);
}

/** A finite number flag value, or BAD_ARGUMENT naming the flag. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  return rangeFlag(value, flag, min, max, false);
}

function rangeFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
  whole: boolean,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const valid = whole ? Number.isInteger(n) : Number.isFinite(n);
  if (value.trim() === '' || !valid || n < min || n > max) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--${flag} is "${value}", expected a ${whole ? 'whole number' : 'number'} from ${min} to ${max}.`,
      { path: flag },
    );
  }
  return n;
}
