/** Public surface of @ner-launch/trainer. */
export { initBackend, registerGradients, BACKEND_NAMES, type BackendName } from './backend.js';
