/**
 * Min-SNR-gamma loss weight (Hang et al. 2023) of one training example at signal-to-noise ratio
 * `snr`: min(1, w(gamma) / w(snr)), where w(SNR) = SNR for an eps target and SNR + 1 for a v
 * target is the weight the plain MSE of that target puts on the x0 error. Without gamma: 1.
 */
export function minSnrWeight(prediction: 'eps' | 'v', snr: number, gamma: number | undefined): number {
  if (gamma === undefined) return 1;
  const offset = prediction === 'v' ? 1 : 0;
  return Math.min(1, (gamma + offset) / (snr + offset));
}
