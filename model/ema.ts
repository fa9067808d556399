import { CascadeError } from '../util/cascade-error.js';

export interface EmaOptions {
  /** Target decay, e.g. 0.999 (an average over roughly the last 1000 updates). */
  readonly decay: number;
  /**
   * Ramp the decay as min(decay, (1 + k) / (10 + k)) after k updates, so the average follows
   * the fast-moving early weights instead of keeping the random initialisation for ~1/(1-decay)
   * steps. Default true.
   */
  readonly warmup?: boolean;
}

/** Decay used for the update after `updates` previous EMA updates. */
export function emaDecayAt(updates: number, options: EmaOptions): number {
  if (options.warmup === false) return options.decay;
  return Math.min(options.decay, (1 + updates) / (10 + updates));
}

/**
 * Exponential moving average of the weights over one flat float32 buffer (see AdamW for why
 * flat and plain JS): ema <- ema + (1 - d) (w - ema). The sampler uses these weights.
 */
export class Ema {
  readonly options: EmaOptions;
  private values: Float32Array;
  private updates: number;

  constructor(initial: Float32Array, options: EmaOptions) {
    if (!(options.decay >= 0 && options.decay < 1)) {
      throw new CascadeError(
        'BAD_ARGUMENT',
        `EMA decay is ${options.decay}, expected a number in [0, 1) such as 0.999.`,
        {
          path: 'emaDecay',
        },
      );
    }
    this.options = options;
    this.values = initial.slice();
    this.updates = 0;
  }

  get size(): number {
    return this.values.length;
  }

  get step(): number {
    return this.updates;
  }

  /** The averaged weights (a live view; copy before keeping). */
  get weights(): Float32Array {
    return this.values;
  }

  update(weights: Float32Array): void {
    if (weights.length !== this.values.length) {
      throw new CascadeError('INTERNAL', `EMA holds ${this.values.length} values, got ${weights.length}.`);
    }
    const rate = 1 - emaDecayAt(this.updates, this.options);
    const ema = this.values;
    for (let i = 0; i < ema.length; i++) ema[i] = ema[i]! + rate * (weights[i]! - ema[i]!);
    this.updates += 1;
  }

  getState(): { step: number; values: Float32Array } {
    return { step: this.updates, values: this.values.slice() };
  }

  setState(state: { step: number; values: Float32Array }): void {
    if (state.values.length !== this.values.length || !Number.isInteger(state.step) || state.step < 0) {
      throw new CascadeError(
        'INVALID_WEIGHTS',
        `EMA state has ${state.values.length} values at step ${state.step}, expected ${this.values.length}; the checkpoint does not match the model.`,
      );
    }
    this.values = state.values.slice();
    this.updates = state.step;
  }
}
