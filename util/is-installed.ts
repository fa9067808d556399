import { createRequire } from 'node:module';

/** Whether an optional package can be resolved from this project (no import, no side effects). */
export function isInstalled(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}
