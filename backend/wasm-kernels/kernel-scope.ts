import { CascadeError } from '../../util/cascade-error.js';
import { tf } from '../tf.js';
import { stockKernel } from './stock-kernels.js';
import { asWasmBackend, tensorData, type WasmBackend } from './wasm-backend.js';
import { type WasmRaw, wasmRaw } from './wasm-raw.js';

/**
 * Bookkeeping for a kernel built from other wasm kernels. Every tensor the scope creates
 * (kernel outputs, raw allocations, views) is released when the scope ends, except the
 * result, which leaves holding exactly one backend reference for the engine to own.
 *
 * Kernels are called directly through the registry (`kernelFunc` with this backend), not
 * through the engine: intermediates never become engine tensors, are never recorded on a
 * gradient tape, and `tf.memory().numTensors` is untouched.
 */
export class KernelScope {
  readonly backend: WasmBackend;
  readonly raw: WasmRaw;
  private readonly owned: tf.TensorInfo[] = [];
  private readonly views = new Set<tf.DataId>();

  constructor(backend: unknown) {
    this.backend = asWasmBackend(backend);
    this.raw = wasmRaw(this.backend);
  }

  /**
   * Runs the wasm kernel registered under `kernelName` (the project's own if it replaced one),
   * or with `stock` tfjs-backend-wasm's original.
   */
  run(
    kernelName: string,
    inputs: tf.NamedTensorInfoMap,
    attrs: tf.NamedAttrMap = {},
    options: { stock?: boolean } = {},
  ): tf.TensorInfo {
    let kernelFunc: tf.KernelFunc;
    if (options.stock === true) {
      kernelFunc = stockKernel(kernelName);
    } else {
      const config = tf.getKernel(kernelName, 'wasm');
      if (config === undefined) {
        throw new CascadeError('INTERNAL', `Kernel ${kernelName} is not registered for the wasm backend.`);
      }
      kernelFunc = config.kernelFunc;
    }
    const out = kernelFunc({ inputs, attrs, backend: this.backend });
    if (Array.isArray(out)) {
      for (const info of out) this.owned.push(info);
      throw new CascadeError('INTERNAL', `Kernel ${kernelName} returned several outputs; use runMulti.`);
    }
    this.owned.push(out);
    return out;
  }

  /** A reshape that shares the data (costs nothing). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /**
   * A fresh buffer of `shape` (float32 unless `dtype`); contents are garbage unless `zero`.
   * With `extra > 0` the buffer is flat, `[size(shape) + extra]`: a base for views that may
   * read past the logical end (the slack is zeroed together with the rest when `zero`).
   */
  alloc(
    shape: number[],
    options: { zero?: boolean; extra?: number; dtype?: 'float32' | 'int32' | 'bool' } = {},
  ): tf.TensorInfo {
    const extra = options.extra ?? 0;
    const size = tf.util.sizeFromShape(shape);
    const out = this.backend.makeOutput(extra === 0 ? shape : [size + extra], options.dtype ?? 'float32');
    this.owned.push(out);
    if (options.zero === true) {
      const { memoryOffset } = tensorData(this.backend, out);
      const bytes = tf.util.sizeFromShape(out.shape) * tf.util.bytesPerElement(out.dtype);
      this.backend.wasm.HEAPU8.fill(0, memoryOffset, memoryOffset + bytes);
    }
    return out;
  }

  /**
   * A tensor that aliases `length(shape)` floats of `base` starting at element `offset`,
   * usable as the input or output of any wasm kernel. It never owns memory and must not be
   * returned from the scope. Reads past the end of `base` are the caller's responsibility
   * (allocate `base` with `extra` slack).
   */
  view(base: tf.TensorInfo, offset: number, shape: number[]): tf.TensorInfo {
    const data = tensorData(this.backend, base);
    const id = this.backend.dataIdNextNumber++;
    const dataId = { id };
    const memoryOffset = data.memoryOffset + offset * 4;
    const size = tf.util.sizeFromShape(shape);
    this.backend.dataIdMap.set(dataId, { id, memoryOffset, shape, dtype: 'float32', refCount: 1 });
    this.backend.wasm.tfjs.registerTensor(id, size, memoryOffset);
    this.views.add(dataId);
    return { dataId, shape, dtype: 'float32' };
  }

  /** Frees a tensor this scope created before the scope ends (to bound peak memory in loops). */
  release(info: tf.TensorInfo): void {
    const index = this.owned.indexOf(info);
    if (index < 0) return;
    this.owned.splice(index, 1);
    this.backend.disposeData(info.dataId);
  }

  /**
   * Unregisters a view before the scope ends. Needed when its memory is about to hold other
   * data: XNNPACK caches packed right operands by tensor id, and dropping the id drops that cache.
   */
  dropView(info: tf.TensorInfo): void {
    if (!this.views.delete(info.dataId)) return;
    const data = this.backend.dataIdMap.get(info.dataId);
    if (data !== undefined) {
      this.backend.wasm.tfjs.disposeData(data.id);
      this.backend.dataIdMap.delete(info.dataId);
    }
  }

  /** C++ tensor id, for raw calls. */
  id(info: tf.TensorInfo): number {
    return tensorData(this.backend, info).id;
  }

  /**
   * A Float32Array over the tensor's memory. Valid only until the next allocation (the heap
   * may grow and detach it); fetch again after calling any kernel.
   */
  f32(info: tf.TensorInfo, length = tf.util.sizeFromShape(info.shape)): Float32Array {
    const { memoryOffset } = tensorData(this.backend, info);
    return new Float32Array(this.backend.wasm.HEAPF32.buffer, memoryOffset, length);
  }

  /** Like `f32` for int32 tensors. */
  i32(info: tf.TensorInfo): Int32Array {
    const { memoryOffset } = tensorData(this.backend, info);
    return new Int32Array(this.backend.wasm.HEAP32.buffer, memoryOffset, tf.util.sizeFromShape(info.shape));
  }

  /** Element offset of a tensor in the heap, for copies within `HEAPF32`. */
  heapIndex(info: tf.TensorInfo): number {
    return tensorData(this.backend, info).memoryOffset / 4;
  }

  /** Releases everything except `result`, which must be a non-view the scope (or an input) holds. */
  finish(result: tf.TensorInfo, inputs: readonly (tf.TensorInfo | undefined)[]): tf.TensorInfo {
    if (this.views.has(result.dataId)) {
      this.dispose();
      throw new CascadeError(
        'INTERNAL',
        'A wasm kernel tried to return a view; copy it into its own buffer.',
      );
    }
    const index = this.owned.indexOf(result);
    if (index >= 0) {
      this.owned.splice(index, 1);
    } else if (inputs.some((input) => input !== undefined && input.dataId === result.dataId)) {
      // Returning (a reshape of) an input: the engine's new tensor needs its own reference.
      this.backend.incRef(result.dataId);
    } else {
      this.dispose();
      throw new CascadeError('INTERNAL', 'A wasm kernel returned a tensor its scope does not own.');
    }
    this.dispose();
    return result;
  }

  /** Releases everything the scope holds (also called on failure). */
  dispose(): void {
    for (const dataId of this.views) {
      const data = this.backend.dataIdMap.get(dataId);
      if (data !== undefined) {
        this.backend.wasm.tfjs.disposeData(data.id);
        this.backend.dataIdMap.delete(dataId);
      }
    }
    this.views.clear();
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.length = 0;
  }
}

/**
 * Runs `body` in a fresh scope and returns its result with the engine as sole owner; on error
 * releases every intermediate and rethrows.
 */
export function withKernelScope(
  backend: unknown,
  inputs: readonly (tf.TensorInfo | undefined)[],
  body: (scope: KernelScope) => tf.TensorInfo,
): tf.TensorInfo {
  const scope = new KernelScope(backend);
  let result: tf.TensorInfo;
  try {
    result = body(scope);
  } catch (error) {
    scope.dispose();
    throw error;
  }
  return scope.finish(result, inputs);
}
