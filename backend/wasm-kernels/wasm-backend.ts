import { CascadeError } from '../../util/cascade-error.js';
import type { tf } from '../tf.js';

/** One entry of the wasm backend's data map (tfjs-backend-wasm 4.22 `TensorData`). */
export interface WasmTensorData {
  /** Id of the tensor on the C++ side (`register_tensor`). */
  id: number;
  /** Byte offset of the data in the wasm heap. */
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}

/** The emscripten module of tfjs-backend-wasm, reduced to what the project's kernels use. */
export interface WasmModule {
  /** Views on the heap; replaced by new objects whenever the heap grows, so never cache them. */
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  HEAP32: Int32Array;
  cwrap(name: string, returnType: null, argTypes: readonly string[]): (...args: unknown[]) => void;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    /** Drops the C++ tensor entry and its cached XNNPACK operators; does not free memory. */
    disposeData(id: number): void;
  };
}

/**
 * The parts of tfjs-backend-wasm 4.22's `BackendWasm` that the project's kernels rely on. The
 * package does not export these types; the names below are checked at runtime by `asWasmBackend`
 * so a tfjs upgrade that changes them fails loudly instead of corrupting memory.
 */
export interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: {
    get(dataId: tf.DataId): WasmTensorData | undefined;
    set(dataId: tf.DataId, value: WasmTensorData): void;
    has(dataId: tf.DataId): boolean;
    delete(dataId: tf.DataId): boolean;
  };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  incRef(dataId: tf.DataId): void;
  numDataIds(): number;
}

/** Narrows the `backend` argument of a kernel function to the wasm backend's internals. */
export function asWasmBackend(backend: unknown): WasmBackend {
  const candidate = backend as Partial<WasmBackend> | null;
  if (
    candidate == null ||
    candidate.wasm == null ||
    typeof candidate.wasm.cwrap !== 'function' ||
    candidate.dataIdMap == null ||
    typeof candidate.makeOutput !== 'function' ||
    typeof candidate.dataIdNextNumber !== 'number'
  ) {
    throw new CascadeError(
      'INTERNAL',
      'A project wasm kernel ran on a backend that is not tfjs-backend-wasm 4.22 (missing wasm/dataIdMap/makeOutput); register these kernels only for the wasm backend of @tensorflow/tfjs-backend-wasm 4.22.',
    );
  }
  return candidate as WasmBackend;
}

/** The backend's record of a tensor; throws if the tensor is not (or no longer) on this backend. */
export function tensorData(backend: WasmBackend, info: tf.TensorInfo): WasmTensorData {
  const data = backend.dataIdMap.get(info.dataId);
  if (data === undefined) {
    throw new CascadeError(
      'INTERNAL',
      `A tensor of shape [${info.shape.join(', ')}] is not on the wasm backend (disposed, or created on another backend).`,
    );
  }
  return data;
}
