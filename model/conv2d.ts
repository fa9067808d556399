import { tf } from '../backend/tf.js';
import { fanInInit, type ParamLookup, type ParamSpec, zerosInit } from './param-spec.js';

/**
 * 2-D convolution, NHWC, 'same' padding. Parameters `<prefix>.kernel` [kh, kw, cin, cout] and
 * `<prefix>.bias` [cout]. `zero` initialises the kernel to zero (last conv of a residual branch
 * and the output conv, the usual choice for stable diffusion training).
 */
export function conv2dParams(
  prefix: string,
  kernelSize: readonly [number, number],
  inChannels: number,
  outChannels: number,
  zero = false,
): ParamSpec[] {
  const [kh, kw] = kernelSize;
  return [
    {
      name: `${prefix}.kernel`,
      shape: [kh, kw, inChannels, outChannels],
      init: zero ? zerosInit() : fanInInit(kh * kw * inChannels),
    },
    { name: `${prefix}.bias`, shape: [outChannels], init: zerosInit() },
  ];
}

export function conv2d(p: ParamLookup, prefix: string, x: tf.Tensor4D, stride = 1): tf.Tensor4D {
  const kernel = p(`${prefix}.kernel`) as tf.Tensor4D;
  const y = tf.conv2d(x, kernel, stride, 'same');
  return tf.add(y, p(`${prefix}.bias`));
}
