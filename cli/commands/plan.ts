import { prepareRender } from '../../pipeline/render.js';
import { CascadeError } from '../../util/cascade-error.js';
import { EXIT } from '../exit-codes.js';
import { parseCliArgs } from '../parse-cli-args.js';

export const PLAN_HELP = `Usage: cascade plan <job.yaml|job.json> [--json]

Prints the fully resolved plan of a job: every clip value and where it came from (clip, job
defaults, model preset, built-in default, or derived), the stages, and the output files.
Validates the job like render does; computes and writes nothing.`;

export async function planCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCliArgs(argv, {
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${PLAN_HELP}\n`);
    return EXIT.OK;
  }
  if (positionals.length !== 1) {
    throw new CascadeError(
      'BAD_ARGUMENT',
      `plan takes one job file, got ${positionals.length}. Usage: cascade plan job.yaml`,
    );
  }
  const plan = await prepareRender(positionals[0]!);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return EXIT.OK;
  }
  const lines = [
    `job ${plan.name}${plan.jobFile ? ` (${plan.jobFile})` : ''}`,
    `model ${plan.model.name}: ${plan.model.width}x${plan.model.height}, ${plan.model.frames} frames (${plan.model.dir})`,
    `output ${plan.outputDir}, manifest ${plan.manifestPath}`,
    `workers ${plan.workers}, job seed ${plan.seed}, frame checks ${plan.failOnChecks ? 'fail the job' : 'warn'}`,
  ];
  for (const clip of plan.clips) {
    lines.push('', `clip ${clip.id}: "${clip.prompt}" -> ${clip.width}x${clip.height}x${clip.frames}`);
    const fields = [
      'seed',
      'frames',
      'fps',
      'scale',
      'mode',
      'sampler',
      'steps',
      'eta',
      'guidance',
      'frameCorrelation',
      'k',
      'upsampleFilter',
    ] as const;
    for (const f of fields)
      lines.push(`  ${f.padEnd(16)} ${String(clip[f]).padEnd(12)} (${clip.sources[f] ?? 'builtin'})`);
    if (clip.input)
      lines.push(
        `  ${'input'.padEnd(16)} ${clip.input.path} at strength ${clip.input.strength} (${clip.sources.input})`,
      );
    lines.push(
      `  stages           ${clip.stages.map((s) => `${s.kind === 'base' ? 'base' : s.kind} ${s.width}x${s.height}`).join(' -> ')}`,
    );
    for (const o of clip.outputs) {
      lines.push(
        `  output           ${o.relativePath} (${o.settings.preset}, ${o.settings.pixelFormat}${o.settings.lossless ? ', lossless' : ''})`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.OK;
}
