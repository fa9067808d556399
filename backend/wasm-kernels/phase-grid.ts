import { tf } from '../tf.js';
import type { KernelScope } from './kernel-scope.js';
import { transposeF32 } from './transpose-f32.js';

/**
 * Geometry shared by the filter gradients. A strided conv reads input row `o * s + k * d - pt`
 * for output row `o` and tap `k`. Writing `k * d = s * a + r` splits the padded input into `s`
 * phases (rows `j * s + r`), and in phase `r` tap `k` reads row `o + a`: a stride-1 access.
 * Each phase is laid out on a grid of `q` rows (`q = out + max a`), so that for every valid
 * output row `o + a < q` never leaves the image it belongs to.
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
  const { inSize, outSize, filterSize, stride, dilation, padBefore } = args;
  const grid = outSize + Math.floor(((filterSize - 1) * dilation) / stride);
  const rows = grid * stride;
  // A pad beyond the grid means only padding is ever read (possible with explicit pads).
  const before = Math.min(padBefore, rows);
  const keep = Math.min(inSize, rows - before);
  return { stride, grid, out: outSize, keep, padBefore: before, padAfter: rows - before - keep };
}

/** Phase and grid shift of tap `k` (already multiplied by the dilation). */
export function tapPhase(axis: PhaseAxis, offset: number): { phase: number; shift: number } {
  return { phase: offset % axis.stride, shift: Math.floor(offset / axis.stride) };
}

/**
 * Builds the phase-split input `[sh, sw, ...]` of an NHWC tensor `x [n, h, w, c]`, in one of two
 * layouts: `channelsFirst` gives `[sh, sw, c, n, qh, qw]` (rows of `n * qh * qw` positions, the
 * `A` operand of a matmul over positions), otherwise `[sh, sw, n, qh, qw, c]`. The buffer has
 * `slack` zeroed floats after it so shifted views may read past the last phase.
 */
export function phaseSplit(
  scope: KernelScope,
  x: tf.TensorInfo,
  rows: PhaseAxis,
  cols: PhaseAxis,
  options: { channelsFirst: boolean; slack: number },
): tf.TensorInfo {
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
  const size = tf.util.sizeFromShape(split.shape);
  const base = scope.alloc([size], { extra: options.slack });
  scope.f32(base).fill(0, size);
  const outShape = perm.map((p) => split.shape[p]!);
  transposeF32(scope, split, perm, scope.view(base, 0, outShape));
  return base;
}
