import { CascadeError } from '../../util/cascade-error.js';

/**
 * The project's wasm conv kernels work in NHWC only (as does tfjs-backend-wasm's Conv2D).
 * Returns tfjs' name for that layout, or throws naming the kernel and the fix.
 */
export function requireChannelsLast(dataFormat: string | undefined, kernelName: string): 'channelsLast' {
  if (dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast') {
    return 'channelsLast';
  }
  throw new CascadeError(
    'BAD_ARGUMENT',
    `${kernelName} on wasm got dataFormat "${dataFormat}", expected "NHWC"; transpose the tensors to NHWC (channels last) before the op.`,
    { path: 'dataFormat', details: { kernelName, dataFormat } },
  );
}
