import type { WasmBackend } from './wasm-backend.js';

/**
 * Direct calls into tfjs-backend-wasm 4.22's exported C functions, for writing results into
 * views (sub-ranges of a larger buffer) instead of fresh allocations. Argument lists mirror the
 * package's own `cwrap` declarations (kernels/BatchMatMul.js, Conv2D.js, Transpose.js).
 */
export interface WasmRaw {
  /**
   * `out[b] = a[b] @ b[b]` for rank-3 a `[batch, m, k]`, b `[batch, k, n]`. Only
   * `batch = 1` with no transposes takes XNNPACK's fast path (which packs `b` once per tensor id).
   */
  batchMatMul(
    aId: number,
    aShape: readonly number[],
    bId: number,
    bShape: readonly number[],
    transposeA: boolean,
    transposeB: boolean,
    outId: number,
  ): void;
  /** NHWC conv through XNNPACK; explicit pads; filter `[fh, fw, in, out]`. */
  conv2d(args: ConvCall): void;
  /** NHWC depthwise conv through XNNPACK; filter `[fh, fw, in, out / in]`. */
  depthwiseConv2d(args: ConvCall): void;
  /** Transpose of a tensor of shape `shape` by `perm`, written to `outId` (float32 unless `dtype`). */
  transpose(
    xId: number,
    shape: readonly number[],
    perm: readonly number[],
    outId: number,
    dtype?: 'float32' | 'int32' | 'bool',
  ): void;
}

export interface ConvCall {
  xId: number;
  batch: number;
  inHeight: number;
  inWidth: number;
  filterId: number;
  filterHeight: number;
  filterWidth: number;
  pads: readonly [top: number, right: number, bottom: number, left: number];
  dilations: readonly [number, number];
  strides: readonly [number, number];
  inChannels: number;
  outChannels: number;
  outId: number;
}

const cache = new WeakMap<object, WasmRaw>();

/** dtype codes of the C++ side (tfjs-backend-wasm's `CppDType`). */
const CPP_DTYPE = { float32: 0, int32: 1, bool: 2 } as const;

function int32Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(new Int32Array(values).buffer);
}

export function wasmRaw(backend: WasmBackend): WasmRaw {
  const cached = cache.get(backend.wasm);
  if (cached !== undefined) return cached;
  const { wasm } = backend;
  const n = 'number';
  const batchMatMul = wasm.cwrap('BatchMatMul', null, [n, 'array', n, n, 'array', n, n, n, n]);
  const conv2d = wasm.cwrap('Conv2D', null, new Array<string>(19).fill(n));
  const depthwise = wasm.cwrap('DepthwiseConv2dNative', null, new Array<string>(19).fill(n));
  const convArgs = (a: ConvCall): number[] => {
    const [top, right, bottom, left] = a.pads;
    // Same argument order as tfjs-backend-wasm's Conv2D.js / DepthwiseConv2dNative.js; the 0
    // is `isSamePad` (pads are always explicit here).
    return [
      a.xId,
      a.batch,
      a.inHeight,
      a.inWidth,
      a.filterId,
      a.filterHeight,
      a.filterWidth,
      top,
      right,
      bottom,
      left,
      0,
      a.dilations[0],
      a.dilations[1],
      a.strides[0],
      a.strides[1],
      a.inChannels,
      a.outChannels,
      a.outId,
    ];
  };
  const transpose = wasm.cwrap('Transpose', null, [n, 'array', n, n, n, 'array', n]);
  const raw: WasmRaw = {
    batchMatMul(aId, aShape, bId, bShape, transposeA, transposeB, outId) {
      batchMatMul(
        aId,
        int32Bytes(aShape),
        aShape.length,
        bId,
        int32Bytes(bShape),
        bShape.length,
        transposeA,
        transposeB,
        outId,
      );
    },
    conv2d(a) {
      conv2d(...convArgs(a));
    },
    depthwiseConv2d(a) {
      depthwise(...convArgs(a));
    },
    transpose(xId, shape, perm, outId, dtype = 'float32') {
      transpose(xId, int32Bytes(shape), shape.length, CPP_DTYPE[dtype], outId, int32Bytes(perm), perm.length);
    },
  };
  cache.set(wasm, raw);
  return raw;
}
