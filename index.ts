/** Public library API: one entry point for media toolchains. */

export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type BackendRequest,
  currentBackend,
  type SelectBackendOptions,
  selectBackend,
} from './backend/select-backend.js';
export { CascadeError, type CascadeErrorCode, isCascadeError } from './util/cascade-error.js';
export { deriveSeed, Rng, type RngState } from './util/rng.js';
