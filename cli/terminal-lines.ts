/**
 * Writes whole lines and one redrawable status line (a progress bar on a terminal): a new line
 * first erases the status line, so the two never interleave.
 */
export function terminalLines(out: NodeJS.WritableStream) {
  let drawn = false;
  const clear = (): void => {
    if (drawn) out.write('\r\u001b[2K');
    drawn = false;
  };
  return {
    /** Prints a permanent line. */
    line(text: string): void {
      clear();
      out.write(`${text}\n`);
    },
    /** Replaces the status line. */
    status(text: string): void {
      clear();
      out.write(text);
      drawn = true;
    },
    clear,
  };
}

/** `[#####.....]  45%` for a fraction in [0, 1]. */
export function progressBar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}
