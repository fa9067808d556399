/** Public library API: one entry point for media toolchains. */
export { CascadeError, isCascadeError, type CascadeErrorCode } from './util/cascade-error.js';
export { deriveSeed, Rng, type RngState } from './util/rng.js';
export {
  BACKEND_NAMES,
  selectBackend,
  currentBackend,
  type BackendInfo,
  type BackendName,
  type BackendRequest,
  type SelectBackendOptions,
} from './backend/select-backend.js';
