/**
 * The one error type of the project. `code` is stable and machine-readable; the message names
 * the field or file, the value, what was expected and how to fix it. Only the CLI maps codes to
 * exit statuses.
 */
export type CascadeErrorCode =
  | 'BACKEND_UNAVAILABLE'
  | 'BAD_ARGUMENT'
  | 'INVALID_JOB'
  | 'INVALID_PROMPT'
  | 'INVALID_WEIGHTS'
  | 'FILE_NOT_FOUND'
  | 'FFMPEG_NOT_FOUND'
  | 'FFMPEG_FAILED'
  | 'VERIFY_FAILED'
  | 'CHECK_FAILED'
  | 'FOOTAGE_UNREADABLE'
  | 'WORKER_CRASHED'
  | 'ABORTED'
  | 'INTERNAL';

export class CascadeError extends Error {
  override readonly name = 'CascadeError';
  readonly code: CascadeErrorCode;
  /** Dotted path of the offending field (job files) or the offending file path. */
  readonly path: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: CascadeErrorCode,
    message: string,
    options: { path?: string; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.details = options.details;
  }
}

export function isCascadeError(value: unknown, code?: CascadeErrorCode): value is CascadeError {
  return value instanceof CascadeError && (code === undefined || value.code === code);
}

/** Throws the standard ABORTED error if the signal has fired; call between units of work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new CascadeError('ABORTED', 'The operation was cancelled.', { cause: signal.reason });
  }
}
