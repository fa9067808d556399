import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PackageInfo {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the package root (where presets/ and fixtures/ live). */
  readonly root: string;
}

let cached: PackageInfo | undefined;

/** This package's name, version and root, found by walking up from this file (works from sources and dist/). */
export function packageInfo(): PackageInfo {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'self-cascade' && pkg.version) {
        cached = { name: pkg.name, version: pkg.version, root: dir };
        return cached;
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package.json of self-cascade not found above this module');
    dir = parent;
  }
}
