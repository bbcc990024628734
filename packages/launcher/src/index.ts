/** Public surface of @ner-launch/launcher. */
export { main } from './main.js';
export {
  launch,
  attemptRdzvTimeoutS,
  failureSummary,
  type LaunchIo,
  type LaunchResult,
} from './launch.js';
export {
  resolveLaunchConfig,
  defaultsWarning,
  type LaunchConfig,
  type LaunchTarget,
  type ResolvedLaunch,
} from './launch-config.js';
export {
  LAUNCH_OPTIONS,
  addLaunchOptions,
  splitLaunchArgv,
  type LaunchFlags,
} from './launch-options.js';
export { loadLaunchConfigFile, parseConfigText, defaultConfigPath } from './config-file.js';
