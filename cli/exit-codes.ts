import type { CascadeErrorCode } from '../util/cascade-error.js';

/**
 * Process exit statuses of the `cascade` CLI (documented in the README). Library code never
 * exits; only the CLI maps error codes to these.
 */
export const EXIT = {
  OK: 0,
  /** Unexpected internal error (a bug): please report it with the stack trace. */
  INTERNAL: 1,
  /** Bad command line, job file or prompt: fix the input named in the message. */
  USAGE: 2,
  /** An input file (job, model, footage) is missing or unreadable. */
  INPUT: 3,
  /** The environment lacks something: ffmpeg, a tensor backend. */
  ENVIRONMENT: 4,
  /** The run finished, but at least one clip failed (encode, verify); finished clips are kept. */
  CLIP_FAILED: 5,
  /** Frame-consistency checks failed and the job asks for that to fail the run. */
  CHECKS_FAILED: 6,
  /** Cancelled by Ctrl-C / SIGTERM: temporaries removed, finished outputs kept (128 + SIGINT). */
  CANCELLED: 130,
} as const;

export function exitCodeFor(code: CascadeErrorCode): number {
  switch (code) {
    case 'BAD_ARGUMENT':
    case 'INVALID_JOB':
    case 'INVALID_PROMPT':
      return EXIT.USAGE;
    case 'FILE_NOT_FOUND':
    case 'INVALID_WEIGHTS':
    case 'FOOTAGE_UNREADABLE':
      return EXIT.INPUT;
    case 'FFMPEG_NOT_FOUND':
    case 'BACKEND_UNAVAILABLE':
      return EXIT.ENVIRONMENT;
    case 'FFMPEG_FAILED':
    case 'VERIFY_FAILED':
    case 'WORKER_CRASHED':
      return EXIT.CLIP_FAILED;
    case 'CHECK_FAILED':
      return EXIT.CHECKS_FAILED;
    case 'ABORTED':
      return EXIT.CANCELLED;
    case 'INTERNAL':
      return EXIT.INTERNAL;
  }
}
