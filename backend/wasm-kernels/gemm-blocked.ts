import type { SimdKernels } from './simd-kernels.js';

/** Shape and byte strides of products `C = A B` for `SimdKernels.gemm` (see simd-gemm.ts). */
export interface GemmShape {
  readonly rows: number;
  /** Columns of B and C; a multiple of 4. */
  readonly n: number;
  readonly k: number;
  readonly aRow: number;
  readonly aK: number;
  readonly bStride: number;
  readonly cStride: number;
  /** Products per call, `aBatch`/`bBatch`/`cBatch` bytes apart (0 shares an operand); default 1. */
  readonly batches?: number;
  readonly aBatch?: number;
  readonly bBatch?: number;
  readonly cBatch?: number;
}

/** Byte addresses of one product's A and C. */
export interface GemmTarget {
  readonly a: number;
  readonly c: number;
}

/** Depth of one pass: a `K_BLOCK x 8` block of B (8 KB) stays in L1 while the rows stream by. */
const K_BLOCK = 256;
/** Bytes of A one call covers (`rows x k` floats), so those rows are still in L2 for the next column block. */
const A_BLOCK_BYTES = 96 * 1024;

/**
 * `C_t = A_t B` for every target t (all sharing B and the shape), with the SIMD GEMM in
 * cache-sized pieces: k in blocks of 256 (the later blocks accumulate into C) and rows in
 * blocks whose part of A fits in L2. The kernel walks all column blocks for each row block,
 * so without row blocks a tall A would come from memory once per 8 columns, and without k
 * blocks a deep block of B would fall out of L1. Targets sharing B take their turns inside
 * each k block, while that block of B is in cache (the taps of a filter gradient). With
 * `batches` every call covers that many products at the given strides.
 */
export function gemmBlocked(
  simd: SimdKernels,
  shape: GemmShape,
  b: number,
  targets: readonly GemmTarget[],
): void {
  const { rows, n, k, aRow, aK, bStride, cStride } = shape;
  const { batches = 1, aBatch = 0, bBatch = 0, cBatch = 0 } = shape;
  const kBlock = k <= K_BLOCK * 1.5 ? k : K_BLOCK;
  for (let k0 = 0; k0 < k; k0 += kBlock) {
    const kc = Math.min(kBlock, k - k0);
    const rowBlock = Math.max(4, Math.floor(A_BLOCK_BYTES / (4 * kc)) & ~3);
    for (const t of targets) {
      for (let i0 = 0; i0 < rows; i0 += rowBlock) {
        simd.gemm(
          t.a + i0 * aRow + k0 * aK,
          b + k0 * bStride,
          t.c + i0 * cStride,
          Math.min(rowBlock, rows - i0),
          n,
          kc,
          aRow,
          aK,
          bStride,
          cStride,
          k0 === 0 ? 0 : 1,
          batches,
          aBatch,
          bBatch,
          cBatch,
        );
      }
    }
  }
}
