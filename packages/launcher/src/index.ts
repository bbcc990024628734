/** Public surface of @ner-launch/launcher. */
export { main } from './main.js';
