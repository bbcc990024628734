/**
 * Writes sentences exactly as pandas `DataFrame({'tokens': ..., 'tags': ...}).to_csv(index=False)`
 * does: each cell is Python's `str(list)`, the csv module's QUOTE_MINIMAL quoting (quote a field
 * holding `,` `"` or a line break, doubling `"`), `\n` line endings.
 */
import type { Sentence } from './sentence.js';
import { formatPythonStrList } from './python-literal.js';

/** The header line pandas writes for the reference columns. */
export const CSV_HEADER = 'tokens,tags\n';

function quoteMinimal(field: string): string {
  return /[,"\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** One CSV line (with its `\n`) for a sentence. */
export function formatCsvRecord(sentence: Pick<Sentence, 'tokens' | 'tags'>): string {
  return `${quoteMinimal(formatPythonStrList(sentence.tokens))},${quoteMinimal(formatPythonStrList(sentence.tags))}\n`;
}
