/** Machine facts stored with every benchmark result, so figures are read against their host. */
import { cpus, loadavg, totalmem } from 'node:os';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** CPU, cores, memory, Node and tfjs versions, and the load when the figures were taken. */
export function machineInfo(): Record<string, unknown> {
  const list = cpus();
  let tfjs: string | undefined;
  try {
    tfjs = (require('@tensorflow/tfjs-core/package.json') as { version: string }).version;
  } catch {
    tfjs = undefined;
  }
  return {
    cpuModel: list[0]?.model,
    cores: list.length,
    totalMemoryGB: Math.round(totalmem() / 1e9),
    node: process.version,
    tfjs,
    loadAverage: loadavg(),
  };
}
