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
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--${flag} is "${value}", expected a whole number from ${min} to ${max}.`,
      {
        path: flag,
      },
    );
  }
  return n;
}

/** A finite number flag value, or BAD_ARGUMENT naming the flag. */
export function numberFlag(
  value: string | undefined,
  flag: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `--${flag} is "${value}", expected a number from ${min} to ${max}.`,
      {
        path: flag,
      },
    );
  }
  return n;
}
