/** `ner-launch` entry: parses argv with the CLI tree and runs the chosen command. */
import { buildCli } from './cli.js';

/** Runs the CLI on `argv`; sets process.exitCode on failure. */
export async function main(argv: string[]): Promise<void> {
  await buildCli(argv).parseAsync();
}
