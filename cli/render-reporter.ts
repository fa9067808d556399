import type { RenderEvent } from '../pipeline/render-events.js';
import { formatDuration } from './format-duration.js';
import { progressBar, terminalLines } from './terminal-lines.js';

/**
 * Turns render events into terminal output: NDJSON (one event per line) with --json; on a TTY a
 * single updating progress line plus one line per finished clip; otherwise plain lines only.
 */
export function renderReporter(mode: 'json' | 'tty' | 'plain', out: NodeJS.WritableStream = process.stdout) {
  let lastDraw = 0;
  const { line, status, clear } = terminalLines(out);
  return {
    event(e: RenderEvent): void {
      if (mode === 'json') {
        out.write(`${JSON.stringify(e)}\n`);
        return;
      }
      switch (e.type) {
        case 'job-start':
          line(
            `Rendering ${e.clips - e.skipped} clip(s)${e.skipped ? ` (${e.skipped} already done)` : ''} on ${e.workers || 'the main'} worker(s), backend ${e.backendReason}`,
          );
          line(`Output: ${e.outputDir}`);
          break;
        case 'clip-skipped':
          line(`  = ${e.clipId}: unchanged since the last run (resume)`);
          break;
        case 'stage': {
          if (mode !== 'tty') break;
          const now = Date.now();
          if (now - lastDraw < 100) break;
          lastDraw = now;
          const steps = e.step !== undefined ? ` step ${e.step}/${e.totalSteps}` : '';
          const eta = e.etaSeconds === null ? '' : ` ETA ${formatDuration(e.etaSeconds)}`;
          status(`${progressBar(e.overall, 24)} ${e.clipId} ${e.stage}${steps}${eta}`);
          break;
        }
        case 'clip-done': {
          const files = e.outputs.map((o) => o.path).join(', ');
          const checks = e.checksPassed ? '' : ` (frame checks failed: ${e.checkFailures.join('; ')})`;
          line(
            `  ${e.checksPassed ? 'ok' : '!!'} ${e.clipId}: ${files} in ${formatDuration(e.seconds)}${checks}`,
          );
          break;
        }
        case 'clip-failed':
          line(`  xx ${e.clipId}: ${e.code}: ${e.message}`);
          break;
        case 'job-done':
          line(
            `Done in ${formatDuration(e.seconds)}: ${e.done} rendered, ${e.skipped} skipped, ${e.failed} failed${e.checksFailed ? `, ${e.checksFailed} with failed frame checks` : ''}. Manifest: ${e.manifest}`,
          );
          break;
        case 'clip-start':
          break;
      }
    },
    close: clear,
  };
}
