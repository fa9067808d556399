/**
 * The single import of TensorFlow.js for the whole project. The umbrella package registers the
 * gradients, chained ops and the cpu backend; `PROD` silences tfjs' console hints (importing the
 * library must print nothing).
 */
import * as tf from '@tensorflow/tfjs';

tf.env().set('PROD', true);

export type {
  Rank,
  Tensor,
  Tensor1D,
  Tensor2D,
  Tensor3D,
  Tensor4D,
  Tensor5D,
  Variable,
} from '@tensorflow/tfjs';
export { tf };
