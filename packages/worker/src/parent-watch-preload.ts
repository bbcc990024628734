/** Preloaded (`node --import`) into script workers by the launcher: see parent-watch.ts. */
import { exitWithParent } from './parent-watch.js';

exitWithParent();
