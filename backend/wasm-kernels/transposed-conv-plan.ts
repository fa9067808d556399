/**
 * Plan for an input gradient (a transposed conv) as `stride` small stride-1 convs per axis,
 * one per output phase, so no multiply ever touches an inserted zero.
 *
 * Forward: `y[o] = sum_k x[o*s + k*d - pt] w[k]`. Backward, for input row `i` write
 * `u = i + pt = s*m + r`: only taps with `k*d = r + s*a` reach it, from `o = m - a`, so
 * `dx[s*m + r - pt] = sum_a dy[m - a] w[tap(r, a)]` - a stride-1 correlation of `dy` with the
 * phase's taps in reverse order, over `m` in `[mLo, mLo + count)` for every phase.
 */
export interface TransposedAxisPlan {
  stride: number;
  /** First grid row `m` (shared by all phases) and number of grid rows per phase. */
  mLo: number;
  count: number;
  /**
   * Per phase: the filter index for each slot of the phase filter in correlation order (-1 for
   * a zero slot; empty when no tap lands in the phase) and the conv's padding.
   */
  phases: {
    taps: number[];
    padBefore: number;
    padAfter: number;
    /** Rows of `dy` to drop first when the padding would be negative (only with large explicit pads). */
    cropBefore: number;
    cropAfter: number;
  }[];
  /** Where `dx` starts in the interleaved grid (`u - s*mLo` for `i = 0`), always `< s`. */
  offset: number;
}

export function transposedAxisPlan(args: {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  dilation: number;
  padBefore: number;
}): TransposedAxisPlan {
  const { inSize, outSize, filterSize, stride: s, dilation: d, padBefore: pt } = args;
  const mLo = Math.floor(pt / s);
  const mHi = Math.floor((pt + inSize - 1) / s);
  const count = mHi - mLo + 1;
  const phases: TransposedAxisPlan['phases'] = [];
  for (let r = 0; r < s; r++) {
    // Slot a of the phase filter holds the tap k with k*d = r + s*a, or -1 (a zero) when the
    // dilation skips it; slots are listed in correlation order, a' = A-1-a.
    const slots: number[] = [];
    for (let k = 0; k < filterSize; k++) {
      const pos = k * d;
      if (pos % s !== r) continue;
      const slot = (pos - r) / s;
      while (slots.length <= slot) slots.push(-1);
      slots[slot] = k;
    }
    const taps = slots.reverse();
    const a = taps.length;
    let padBefore = a - 1 - mLo;
    let padAfter = count + mLo - outSize;
    let cropBefore = 0;
    let cropAfter = 0;
    if (padBefore < 0) {
      cropBefore = -padBefore;
      padBefore = 0;
    }
    if (padAfter < 0) {
      cropAfter = -padAfter;
      padAfter = 0;
    }
    phases.push({ taps, padBefore, padAfter, cropBefore, cropAfter });
  }
  return { stride: s, mLo, count, phases, offset: pt - s * mLo };
}
