import type { BackendRequest } from '../../backend/select-backend.js';
import { render } from '../../pipeline/render.js';
import { CascadeError } from '../../util/cascade-error.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../on-interrupt.js';
import { intFlag, parseCliArgs } from '../parse-cli-args.js';
import { renderReporter } from '../render-reporter.js';

export const RENDER_HELP = `Usage: cascade render <job.yaml|job.json> [options]

Renders every clip of a job file into verified video files and a manifest.

Options:
  --resume          skip clips whose outputs and manifest entries verify from an earlier run
  --dry-run         validate, plan and check the machine; compute and write nothing
  --json            print progress as NDJSON events on stdout (one JSON object per line)
  --workers N       compute worker threads (0 = in this thread; default: the job's, or 2)
  --backend NAME    auto | tfjs-node-gpu | tfjs-node | wasm | cpu (default: CASCADE_BACKEND or auto)
  -h, --help        this help

Ctrl-C (or SIGTERM) stops between steps, kills ffmpeg, removes temporary files, keeps finished
clips and exits with 130; run again with --resume to finish the job. Exit codes: README.`;

export async function renderCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    resume: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    workers: { type: 'string' },
    backend: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${RENDER_HELP}\n`);
    return EXIT.OK;
  }
  if (positionals.length !== 1) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `render takes one job file, got ${positionals.length}. Usage: cascade render job.yaml`,
    );
  }
  const reporter = renderReporter(values.json ? 'json' : process.stdout.isTTY ? 'tty' : 'plain');
  const controller = new AbortController();
  const release = onInterrupt(() => controller.abort());
  try {
    const result = await render(positionals[0]!, {
      resume: values.resume,
      dryRun: values['dry-run'],
      workers: intFlag(values.workers, 'workers', 0, 64),
      backend: values.backend as BackendRequest | undefined,
      signal: controller.signal,
      onProgress: (e) => reporter.event(e),
    });
    reporter.close();
    if (values['dry-run']) {
      process.stdout.write(
        `Job is valid: ${result.plan.clips.length} clip(s) into ${result.plan.outputDir}; ffmpeg, model and inputs found. Nothing was rendered (--dry-run).\n`,
      );
      return EXIT.OK;
    }
    if (result.failed > 0) return EXIT.CLIP_FAILED;
    if (result.checksFailed > 0 && result.plan.failOnChecks) return EXIT.CHECKS_FAILED;
    return EXIT.OK;
  } finally {
    reporter.close();
    release();
  }
}
