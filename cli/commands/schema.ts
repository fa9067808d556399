import { parseArgs } from 'node:util';
import { z } from 'zod';
import { jobSchema } from '../../pipeline/job-schema.js';
import { EXIT } from '../exit-codes.js';

export const SCHEMA_HELP = `Usage: cascade schema

Prints the JSON Schema of job files (draft 2020-12) for editors and validators, e.g.
  cascade schema > job.schema.json
and in a YAML job:  # yaml-language-server: $schema=./job.schema.json`;

/** JSON Schema of job files, as users write them (inputs, before defaults). */
export function jobJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(jobSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  // `output.encode` takes one spec or a list; zod only sees the normalised list.
  const output = (schema.properties as Record<string, { properties: Record<string, { items: unknown }> }>)
    .output!;
  const list = output.properties.encode!;
  output.properties.encode = { anyOf: [list.items, list] } as never;
  return { title: 'cascade job file', ...schema };
}

export async function schemaCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${SCHEMA_HELP}\n`);
    return EXIT.OK;
  }
  process.stdout.write(`${JSON.stringify(jobJsonSchema(), null, 2)}\n`);
  return EXIT.OK;
}
