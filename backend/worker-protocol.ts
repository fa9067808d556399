import type { BackendInfo, BackendRequest } from './select-backend.js';

/** What a task function receives besides its payload. */
export interface TaskContext {
  /** This worker's index in the pool, 0..size-1 (stable for the pool's life). */
  readonly rank: number;
  readonly size: number;
  /** Sends a progress event to the caller's `onProgress` while the task runs. */
  readonly progress: (event: unknown) => void;
}

export interface PoolWorkerData {
  readonly rank: number;
  readonly size: number;
  readonly backend: BackendRequest;
}

export interface PoolRequest {
  readonly id: number;
  readonly module: string;
  readonly name: string;
  readonly payload: unknown;
}

export type PoolResponse =
  | { readonly type: 'ready'; readonly backend: BackendInfo }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'progress'; readonly id: number; readonly event: unknown }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly error: { message: string; stack?: string | undefined; code?: string | undefined };
    };
