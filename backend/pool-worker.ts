/**
 * Entry point of a worker-pool thread: starts its own tensor backend (threaded wasm does not
 * start in Node, so each worker owns a single-threaded one), then runs tasks by module URL and
 * export name. A task is `(payload, context) => result | Promise<result>`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from './select-backend.js';
import type { PoolRequest, PoolResponse, PoolWorkerData, TaskContext } from './worker-protocol.js';

const data = workerData as PoolWorkerData;
const port = parentPort;
if (!port) throw new Error('pool-worker must run as a worker thread');

const modules = new Map<string, Promise<Record<string, unknown>>>();

async function main(): Promise<void> {
  const info = await selectBackend({ backend: data.backend });
  port!.postMessage({ type: 'ready', backend: info } satisfies PoolResponse);
  port!.on('message', (request: PoolRequest) => void handle(request));
}

async function handle(request: PoolRequest): Promise<void> {
  const context: TaskContext = {
    rank: data.rank,
    size: data.size,
    progress: (event) =>
      port!.postMessage({ type: 'progress', id: request.id, event } satisfies PoolResponse),
  };
  try {
    let loaded = modules.get(request.module);
    if (!loaded) {
      loaded = import(request.module) as Promise<Record<string, unknown>>;
      modules.set(request.module, loaded);
    }
    const fn = (await loaded)[request.name];
    if (typeof fn !== 'function') {
      throw new Error(`task module ${request.module} has no exported function "${request.name}"`);
    }
    const value: unknown = await fn(request.payload, context);
    port!.postMessage(
      { type: 'result', id: request.id, value } satisfies PoolResponse,
      transferablesOf(value),
    );
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const code = (err as { code?: unknown }).code;
    port!.postMessage({
      type: 'error',
      id: request.id,
      error: { message: err.message, stack: err.stack, code: typeof code === 'string' ? code : undefined },
    } satisfies PoolResponse);
  }
}

/** Typed arrays in the result (up to a few levels deep: clips, weights) are moved, not copied. */
function transferablesOf(value: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number): void => {
    if (ArrayBuffer.isView(v)) {
      if (v.buffer instanceof ArrayBuffer && v.byteLength === v.buffer.byteLength) out.add(v.buffer);
    } else if (v && typeof v === 'object' && depth < 4) {
      for (const item of Array.isArray(v) ? v : Object.values(v)) visit(item, depth + 1);
    }
  };
  visit(value, 0);
  return [...out];
}

void main();
