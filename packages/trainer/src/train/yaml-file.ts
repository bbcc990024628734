/**
 * YAML config files (`--config_file`, `train --config`) read within bounds: a regular file of
 * at most MAX_YAML_CONFIG_BYTES, and duplicate keys found in one linear pass. The yaml
 * library's own `uniqueKeys` check compares every key with every earlier one (quadratic: 50k
 * keys took 16 s), and a config holds a few dozen keys, so a size bound costs nothing.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import { readOpenFileSync } from '../bounded-file.js';

/** Largest YAML config file read: a config holds a few dozen keys, well under 1 KiB. */
export const MAX_YAML_CONFIG_BYTES = 64 * 1024;

/** Reads `path` as UTF-8 text if it is a regular file within the size bound; throws otherwise. */
export function readYamlConfigText(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('not a regular file');
    if (stat.size > MAX_YAML_CONFIG_BYTES)
      throw new Error(
        `${stat.size} bytes, more than the ${MAX_YAML_CONFIG_BYTES} a config file may have`,
      );
    return readOpenFileSync(fd, stat.size).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** A parsed YAML document and the first problem in it (syntax error or duplicate key). */
export interface ParsedYaml {
  doc: Document;
  problem?: { line?: number; message: string };
}

/** Parses `text`, reporting the first syntax error or duplicate mapping key with its line. */
export function parseYamlLinear(text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    return {
      doc,
      problem: { line: first.linePos?.[0]?.line, message: first.message.split('\n')[0]! },
    };
  }
  let problem: ParsedYaml['problem'];
  visit(doc, {
    Map(_, map) {
      if (!isMap(map)) return undefined;
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        if (seen.has(key)) {
          const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0];
          problem = {
            line: at === undefined ? undefined : lines.linePos(at).line,
            message: `duplicate key "${key}"`,
          };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return problem ? { doc, problem } : { doc };
}
