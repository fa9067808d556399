import { CascadeError } from '../util/cascade-error.js';
import { isInstalled } from '../util/is-installed.js';
import { tf } from './tf.js';
import { registerWasmKernels } from './wasm-kernels/register-wasm-kernels.js';

export const BACKEND_NAMES = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

/** What was chosen and why; every manifest records it. */
export interface BackendInfo {
  readonly name: BackendName;
  /** The tfjs backend id actually active (`tensorflow`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** One short line: what was requested, what was tried, what won. */
  readonly reason: string;
  readonly tfjsVersion: string;
}

export interface SelectBackendOptions {
  /** Explicit choice; otherwise `CASCADE_BACKEND`, otherwise `auto`. */
  backend?: BackendRequest | undefined;
  /** Environment to read `CASCADE_BACKEND` from (defaults to `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

const NATIVE_PACKAGE: Record<'tfjs-node-gpu' | 'tfjs-node', string> = {
  'tfjs-node-gpu': '@tensorflow/tfjs-node-gpu',
  'tfjs-node': '@tensorflow/tfjs-node',
};

const INSTALL_HINT: Record<BackendName, string> = {
  'tfjs-node-gpu':
    'install it on a Linux machine with CUDA 11.2 and cuDNN 8.1: `npm install @tensorflow/tfjs-node-gpu@4.22.0` (its install downloads libtensorflow, so it needs internet access)',
  'tfjs-node':
    'install it with `npm install @tensorflow/tfjs-node@4.22.0` (its install downloads libtensorflow, so it needs internet access)',
  wasm: 'reinstall the project dependencies (`npm ci`); @tensorflow/tfjs-backend-wasm ships its .wasm files inside the package',
  cpu: 'reinstall the project dependencies (`npm ci`)',
};

let current: { request: BackendRequest; info: Promise<BackendInfo> } | undefined;

/**
 * Starts the tensor backend once per process (or thread). An explicit request that cannot be
 * met is a BACKEND_UNAVAILABLE error naming what to install; `auto` walks the ladder
 * tfjs-node-gpu -> tfjs-node -> wasm -> cpu and says why it stopped where it did.
 */
export function selectBackend(options: SelectBackendOptions = {}): Promise<BackendInfo> {
  const request = resolveRequest(options);
  if (current && current.request === request) return current.info;
  const info = start(request);
  current = { request, info };
  info.catch(() => {
    if (current?.info === info) current = undefined;
  });
  return info;
}

/** The backend this process runs on, once `selectBackend` has finished. */
export async function currentBackend(): Promise<BackendInfo | undefined> {
  return current?.info;
}

function resolveRequest(options: SelectBackendOptions): BackendRequest {
  const env = options.env ?? process.env;
  const raw = options.backend ?? env.CASCADE_BACKEND ?? 'auto';
  const value = raw.trim();
  if (value === 'auto' || (BACKEND_NAMES as readonly string[]).includes(value)) {
    return value as BackendRequest;
  }
  const source = options.backend === undefined ? 'CASCADE_BACKEND' : 'backend';
  throw new CascadeError(
    'BAD_ARGUMENT',
    `${source} is "${raw}", expected one of: auto, ${BACKEND_NAMES.join(', ')}.`,
    { path: source },
  );
}

async function start(request: BackendRequest): Promise<BackendInfo> {
  if (request !== 'auto') {
    const failure = await tryBackend(request);
    if (typeof failure === 'string') {
      throw new CascadeError(
        'BACKEND_UNAVAILABLE',
        `The ${request} backend was requested but is not available (${failure}); ${INSTALL_HINT[request]}.`,
        { details: { backend: request } },
      );
    }
    return { ...failure, reason: `${request} (requested)` };
  }
  const skipped: string[] = [];
  for (const name of BACKEND_NAMES) {
    const result = await tryBackend(name);
    if (typeof result === 'string') {
      skipped.push(`${name}: ${result}`);
      continue;
    }
    const why = skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : '';
    return { ...result, reason: `${name} (auto${why})` };
  }
  throw new CascadeError('BACKEND_UNAVAILABLE', `No tensor backend could start: ${skipped.join('; ')}.`);
}

/** Returns the started backend, or a short reason it could not start. */
async function tryBackend(name: BackendName): Promise<Omit<BackendInfo, 'reason'> | string> {
  try {
    if (name === 'tfjs-node-gpu' || name === 'tfjs-node') {
      const pkg = NATIVE_PACKAGE[name];
      if (!isInstalled(pkg)) return `${pkg} is not installed`;
      await import(pkg);
      if (!(await tf.setBackend('tensorflow'))) return `${pkg} did not register its backend`;
    } else if (name === 'wasm') {
      await import('@tensorflow/tfjs-backend-wasm');
      // Threaded wasm does not start in Node; parallelism comes from the worker pool instead.
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      if (!(await tf.setBackend('wasm'))) return 'the wasm module failed to load';
      registerWasmKernels();
    } else if (!(await tf.setBackend('cpu'))) {
      return 'the cpu backend failed to start';
    }
    await tf.ready();
    return { name, tfBackend: tf.getBackend(), tfjsVersion: tf.version.tfjs };
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0]! : String(error);
  }
}
