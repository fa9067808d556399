/**
 * Global-norm gradient clipping over a flat gradient buffer (all parameters concatenated): if
 * the L2 norm exceeds `maxNorm`, every value is scaled by maxNorm / norm, in place. Returns the
 * norm before clipping (logged as the run's grad norm). The sum runs in float64 in a fixed
 * order, so every data-parallel rank computes the same norm from the same averaged gradients.
 * `maxNorm` <= 0 or Infinity disables clipping.
 */
export function clipGradientNorm(grads: Float32Array, maxNorm: number): number {
  let sum = 0;
  for (let i = 0; i < grads.length; i++) {
    const g = grads[i]!;
    sum += g * g;
  }
  const norm = Math.sqrt(sum);
  if (maxNorm > 0 && Number.isFinite(maxNorm) && norm > maxNorm) {
    const scale = maxNorm / norm;
    for (let i = 0; i < grads.length; i++) grads[i]! *= scale;
  }
  return norm;
}
