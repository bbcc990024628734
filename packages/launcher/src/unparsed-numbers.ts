/**
 * yargs turns the text of a number flag that is not a number into NaN, so a check downstream
 * could only say "got NaN". This middleware puts the text the user typed back in place of
 * that NaN (the checks then refuse it by name: `--learning_rate: expected a number (got "abc")`).
 */
import type { Arguments } from 'yargs';

const normalised = (name: string): string => name.replace(/[-_]/g, '').toLowerCase();

/** The text given to flag `key` in `args` (`--key text` or `--key=text`, any of -, _ or camelCase). */
function flagText(args: readonly string[], key: string): string | undefined {
  const want = normalised(key);
  for (let i = args.length - 1; i >= 0; i--) {
    const token = args[i];
    if (!token.startsWith('--')) continue;
    const equals = token.indexOf('=');
    const name = token.slice(2, equals < 0 ? undefined : equals);
    if (normalised(name) !== want) continue;
    if (equals >= 0) return token.slice(equals + 1);
    return args[i + 1];
  }
  return undefined;
}

/** A yargs middleware (run before validation) for a parse of `args`. */
export function keepUnparsedNumbers(args: readonly string[]): (argv: Arguments) => void {
  return (argv) => {
    for (const [key, value] of Object.entries(argv)) {
      if (typeof value !== 'number' || !Number.isNaN(value)) continue;
      const text = flagText(args, key);
      if (text !== undefined) argv[key] = text;
    }
  };
}
