import { type ChildProcess, spawn } from 'node:child_process';

/** How long a cancelled ffmpeg gets to exit on SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 2000;
/** Lines of stderr kept for error messages. */
export const STDERR_TAIL_LINES = 20;

export interface MediaToolExit {
  /** Exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Last STDERR_TAIL_LINES non-empty lines of stderr. */
  readonly stderrTail: readonly string[];
  /** True when the process was stopped by `stop()` or the abort signal. */
  readonly stopped: boolean;
  /** Set when the binary could not be started at all (ENOENT, EACCES). */
  readonly spawnError: Error | undefined;
}

export interface MediaToolProcess {
  readonly child: ChildProcess;
  /** Resolves (never rejects) once the process has exited and its stdio is closed. */
  readonly exited: Promise<MediaToolExit>;
  /** SIGTERM now, SIGKILL after `graceMs` if still alive. Idempotent. */
  stop(graceMs?: number): void;
  stderrTail(): readonly string[];
}

export interface StartMediaToolOptions {
  signal?: AbortSignal | undefined;
  /** Whether stdin is a pipe we write to (encode) or closed (probe, decode). */
  stdin?: 'pipe' | 'ignore';
  /** Called with each complete stdout line when stdout is not consumed as data. */
  onStdoutLine?: (line: string) => void;
  graceMs?: number;
}

/**
 * Spawns ffmpeg/ffprobe directly (no shell, so paths never need quoting), keeps a bounded tail
 * of stderr for error messages, and ties the process to an AbortSignal: abort stops it with
 * SIGTERM, then SIGKILL after a grace period. stdout is left to the caller unless
 * `onStdoutLine` is given.
 */
export function startMediaTool(
  binary: string,
  args: readonly string[],
  options: StartMediaToolOptions = {},
): MediaToolProcess {
  const child = spawn(binary, args, {
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    windowsHide: true,
  });
  const tail: string[] = [];
  let partial = '';
  const pushLine = (line: string): void => {
    const trimmed = line.trimEnd();
    if (trimmed === '') return;
    // Bound each line too: a runaway encoder can print megabytes without a newline.
    tail.push(trimmed.length > 1000 ? `${trimmed.slice(0, 1000)}...` : trimmed);
    if (tail.length > STDERR_TAIL_LINES) tail.shift();
  };
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split(/\r?\n|\r/);
    partial = lines.pop() ?? '';
    if (partial.length > 4000) {
      pushLine(partial);
      partial = '';
    }
    for (const line of lines) pushLine(line);
  });

  if (options.onStdoutLine) {
    const onLine = options.onStdoutLine;
    let out = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      const lines = (out + chunk).split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) onLine(line.trimEnd());
    });
  }
  // A write to a process that already died emits EPIPE here; the exit status tells the story.
  child.stdin?.on('error', () => {});

  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (graceMs = options.graceMs ?? KILL_GRACE_MS): void => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.destroy();
    child.kill('SIGTERM');
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, graceMs);
    killTimer.unref();
  };
  const onAbort = (): void => stop();
  if (options.signal) {
    if (options.signal.aborted) queueMicrotask(onAbort);
    else options.signal.addEventListener('abort', onAbort, { once: true });
  }

  let spawnError: Error | undefined;
  const exited = new Promise<MediaToolExit>((resolve) => {
    child.once('error', (error) => {
      spawnError = error;
      // 'close' may never follow a failed spawn.
      if (child.pid === undefined) finish(null, null);
    });
    child.once('close', (code, signal) => finish(code, signal));
    let done = false;
    function finish(code: number | null, signal: NodeJS.Signals | null): void {
      if (done) return;
      done = true;
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (partial !== '') pushLine(partial);
      resolve({ code, signal, stderrTail: [...tail], stopped, spawnError });
    }
  });

  return { child, exited, stop, stderrTail: () => [...tail] };
}

/** One-line description of how a process ended, for error messages. */
export function describeExit(exit: MediaToolExit): string {
  if (exit.spawnError) return `could not be started (${exit.spawnError.message})`;
  if (exit.signal) return `was killed by ${exit.signal}`;
  return `exited with code ${exit.code}`;
}
