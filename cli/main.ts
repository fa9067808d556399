/**
 * `cascade` command line. Each subcommand lives in `cli/commands/<name>.ts` and returns an exit
 * status; errors are printed here, once, and mapped to the documented exit codes.
 */
import { isCascadeError } from '../util/cascade-error.js';
import { packageInfo } from '../util/package-info.js';
import { EXIT, exitCodeFor } from './exit-codes.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  render: {
    summary: 'render a job file into verified video files and a manifest',
    load: async () => (await import('./commands/render.js')).renderCommand,
  },
  plan: {
    summary: 'print the resolved plan of a job file and where each value came from',
    load: async () => (await import('./commands/plan.js')).planCommand,
  },
  schema: {
    summary: 'print the JSON Schema of job files',
    load: async () => (await import('./commands/schema.js')).schemaCommand,
  },
  'train-base': {
    summary: 'train a base video diffusion model (shapes preset by default; resumable)',
    load: async () => (await import('./commands/train-base.js')).trainBaseCommand,
  },
  sample: {
    summary: 'sample clips from a base model at its own resolution: contact sheet and clips',
    load: async () => (await import('./commands/sample.js')).sampleCommand,
  },
  eval: {
    summary: 'evaluate clips against prompts and reference clips: JSON report, table, contact sheet',
    load: async () => (await import('./commands/eval.js')).evalCommand,
  },
  data: {
    summary: 'preview or export synthetic shapes clips',
    load: async () => (await import('./commands/data.js')).dataCommand,
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: cascade <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run `cascade <command> --help` for a command's options. Exit codes are listed in the README.",
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageInfo().version}\n`);
    return EXIT.OK;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`cascade: unknown command "${name}"\n\n${usage()}\n`);
    return EXIT.USAGE;
  }
  try {
    return await (await command.load())(rest);
  } catch (error) {
    if (isCascadeError(error)) {
      const where = error.path ? ` [${error.path}]` : '';
      process.stderr.write(`cascade ${name}: ${error.code}${where}: ${error.message}\n`);
      return exitCodeFor(error.code);
    }
    process.stderr.write(
      `cascade ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.INTERNAL;
  }
}
