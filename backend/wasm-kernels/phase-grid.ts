import type { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';
import { transposeF32 } from './transpose-f32.js';

/**
 * Geometry shared by the filter gradients. A strided conv reads input row `o * s + k * d - pt`
 * for output row `o` and tap `k`. Writing `k * d = s * a + r` splits the padded input into `s`
 * phases (rows `j * s + r`), and in phase `r` tap `k` reads row `o + a`: a stride-1 access.
 *
 * Images are stacked on a grid of `q` phase rows each (and rows of `q` phase columns), read
 * through shifted views, so a read of row `o + a >= q` runs into the next image. That is
 * harmless when it lands on the next image's leading zero rows (its top padding): `q` is the
 * smallest size that holds an image's padding and data and keeps every overrun within those
 * zeros, so neighbouring images (and rows) share padding, e.g. 33 instead of 34 rows for
 * 32 rows with a 3x3 'same' conv (6% less wasted work for 32x32 images, 13% for 16x16).
 */
export interface PhaseAxis {
  stride: number;
  /** Rows of the per-phase grid. */
  grid: number;
  /** Rows of the output (gradient) grid that are real; the rest are zero padding. */
  out: number;
  /** Rows of the input to keep (from the top) and the zero rows added before/after them. */
  keep: number;
  padBefore: number;
  padAfter: number;
}

export function phaseAxis(args: {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  dilation: number;
  padBefore: number;
}): PhaseAxis {
  const { inSize, outSize, filterSize, stride: s, dilation, padBefore: pt } = args;
  let grid = outSize;
  for (let r = 0; r < s; r++) {
    // Largest shift of a tap in this phase, if any tap lands in it.
    let shift = -1;
    for (let k = 0; k < filterSize; k++) {
      if ((k * dilation) % s === r) shift = Math.max(shift, Math.floor((k * dilation) / s));
    }
    // Phase rows before the first data row are zeros (top padding); the image needs all rows
    // up to its last data row.
    const leading = pt > r ? Math.ceil((pt - r) / s) : 0;
    const lastData = pt + inSize - 1 - r;
    if (lastData >= 0) grid = Math.max(grid, Math.floor(lastData / s) + 1);
    // Reads reach row outSize - 1 + shift; past the grid they must stay in the next image's
    // leading zeros.
    if (shift >= 0) grid = Math.max(grid, outSize + shift - leading);
  }
  const rows = grid * s;
  const keep = Math.min(inSize, Math.max(0, rows - pt));
  const before = Math.min(pt, rows);
  return { stride: s, grid, out: outSize, keep, padBefore: before, padAfter: rows - before - keep };
}

/** Phase and grid shift of tap `k` (already multiplied by the dilation). */
export function tapPhase(axis: PhaseAxis, offset: number): { phase: number; shift: number } {
  return { phase: offset % axis.stride, shift: Math.floor(offset / axis.stride) };
}

/**
 * Builds the phase-split input `[sh, sw, ...]` of an NHWC tensor `x [n, h, w, c]`, in one of two
 * layouts: `channelsFirst` gives `[sh, sw, c, n, qh, qw]` (rows of `n * qh * qw` positions, the
 * `A` operand of a matmul over positions), otherwise `[sh, sw, n, qh, qw, c]`. Phase `p` starts
 * at `p * phaseStride`; `slack` zeroed floats follow each phase, so shifted views may read past
 * its end.
 */
export function phaseSplit(
  scope: KernelScope,
  x: tf.TensorInfo,
  rows: PhaseAxis,
  cols: PhaseAxis,
  options: { channelsFirst: boolean; slack: number },
): { base: tf.TensorInfo; phaseStride: number } {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  let source = x;
  if (rows.keep < h || cols.keep < w) {
    source = scope.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, rows.keep, cols.keep, c] });
  }
  const padded = scope.run(
    'PadV2',
    { x: source },
    {
      paddings: [
        [0, 0],
        [rows.padBefore, rows.padAfter],
        [cols.padBefore, cols.padAfter],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const sh = rows.stride;
  const sw = cols.stride;
  const split = scope.reshape(padded, [n, rows.grid, sh, cols.grid, sw, c]);
  const perm = options.channelsFirst ? [2, 4, 5, 0, 1, 3] : [2, 4, 0, 1, 3, 5];
  const outShape = perm.map((p) => split.shape[p]!);
  const phaseSize = c * n * rows.grid * cols.grid;
  const phases = sh * sw;
  // Reads that overrun a phase's last row land in the next phase, whose leading zeros may be
  // fewer: a zeroed gap of `slack` floats separates the phases (and follows the last one).
  const phaseStride = phaseSize + (phases > 1 ? options.slack : 0);
  const base = scope.alloc([phases * phaseStride], { extra: options.slack });
  if (phases === 1) {
    scope.f32(base).fill(0, phaseSize);
    transposeF32(scope, split, perm, scope.view(base, 0, outShape));
    return { base, phaseStride };
  }
  const staged = transposeF32(scope, split, perm);
  const heap = scope.backend.wasm.HEAPF32;
  const from = scope.heapIndex(staged);
  const to = scope.heapIndex(base);
  for (let ph = 0; ph < phases; ph++) {
    heap.copyWithin(to + ph * phaseStride, from + ph * phaseSize, from + (ph + 1) * phaseSize);
    heap.fill(0, to + ph * phaseStride + phaseSize, to + (ph + 1) * phaseStride);
  }
  heap.fill(0, to + phases * phaseStride, to + phases * phaseStride + options.slack);
  scope.release(staged);
  return { base, phaseStride };
}
