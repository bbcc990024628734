/**
 * Python list-of-str literals as pandas `to_csv` writes list columns (`str(list)`), parsed by
 * a small strict scanner (never eval), and the exact inverse of Python's `str(list)`.
 *
 * Accepted: `[` strings separated by `,` `]` with optional whitespace and a trailing comma
 * (as Python's grammar allows); strings in `'` or `"` quotes with Python's escapes
 * (`\\ \' \" \a \b \f \n \r \t \v \ooo \xNN \uNNNN \UNNNNNNNN`, backslash-newline). Unknown
 * escapes, `\N{...}`, string prefixes and implicit concatenation are rejected: a cell that
 * needs them was not written by pandas and is more likely corrupt than meant. A JSON array of
 * strings is accepted too (only `\/` and surrogate pairs differ, and JSON.parse handles those).
 */

/** A literal that is not a list of strings; `column` is the 1-based character offset in the cell. */
export class LiteralSyntaxError extends Error {
  constructor(
    readonly detail: string,
    readonly column: number,
  ) {
    super(`${detail} at column ${column}`);
    this.name = 'LiteralSyntaxError';
  }
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const FF = 0x0c;
const QUOTE_SINGLE = 0x27;
const QUOTE_DOUBLE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN = 0x5b;
const CLOSE = 0x5d;

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB || c === LF || c === CR || c === FF;
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return 'end of cell';
  const cp = text.codePointAt(i) ?? 0;
  return cp > 0x20 && cp < 0x7f ? `'${String.fromCodePoint(cp)}'` : `U+${hex(cp, 4).toUpperCase()}`;
}

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Scans one quoted string starting at `start` (the quote); returns its value and the index after it. */
function scanString(text: string, start: number): [string, number] {
  const quote = text.charCodeAt(start);
  let out = '';
  let runStart = start + 1;
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new LiteralSyntaxError('unterminated string literal', start + 1);
    const c = text.charCodeAt(i);
    if (c === quote) {
      out += text.slice(runStart, i);
      return [out, i + 1];
    }
    if (c === LF || c === CR)
      throw new LiteralSyntaxError('line break inside a string literal', i + 1);
    if (c !== BACKSLASH) {
      i++;
      continue;
    }
    out += text.slice(runStart, i);
    const escapeAt = i;
    const e = text.charCodeAt(i + 1);
    i += 2;
    switch (e) {
      case BACKSLASH:
        out += '\\';
        break;
      case QUOTE_SINGLE:
        out += "'";
        break;
      case QUOTE_DOUBLE:
        out += '"';
        break;
      case 0x61: // a
        out += '\x07';
        break;
      case 0x62: // b
        out += '\b';
        break;
      case 0x66: // f
        out += '\f';
        break;
      case 0x6e: // n
        out += '\n';
        break;
      case 0x72: // r
        out += '\r';
        break;
      case 0x74: // t
        out += '\t';
        break;
      case 0x76: // v
        out += '\v';
        break;
      case LF: // backslash-newline continues the literal
        break;
      case 0x78: // x
        out += String.fromCharCode(scanHex(text, i, 2, escapeAt));
        i += 2;
        break;
      case 0x75: // u
        out += String.fromCharCode(scanHex(text, i, 4, escapeAt));
        i += 4;
        break;
      case 0x55: {
        // U
        const cp = scanHex(text, i, 8, escapeAt);
        if (cp > 0x10ffff)
          throw new LiteralSyntaxError(
            `\\U escape beyond U+10FFFF (${text.slice(escapeAt, i + 8)})`,
            escapeAt + 1,
          );
        out += String.fromCodePoint(cp);
        i += 8;
        break;
      }
      default: {
        if (e >= 0x30 && e <= 0x37) {
          // Octal: up to three digits, the first already consumed.
          let value = e - 0x30;
          for (let k = 0; k < 2; k++) {
            const d = text.charCodeAt(i);
            if (!(d >= 0x30 && d <= 0x37)) break;
            value = value * 8 + (d - 0x30);
            i++;
          }
          out += String.fromCharCode(value);
          break;
        }
        if (Number.isNaN(e)) throw new LiteralSyntaxError('unterminated string literal', start + 1);
        throw new LiteralSyntaxError(
          `unsupported escape \\${String.fromCodePoint(text.codePointAt(escapeAt + 1) ?? 0)}`,
          escapeAt + 1,
        );
      }
    }
    runStart = i;
  }
}

function scanHex(text: string, at: number, digits: number, escapeAt: number): number {
  for (let k = 0; k < digits; k++) {
    if (!isHexDigit(text.charCodeAt(at + k)))
      throw new LiteralSyntaxError(
        `truncated \\${text[escapeAt + 1]} escape (needs ${digits} hex digits)`,
        escapeAt + 1,
      );
  }
  return parseInt(text.slice(at, at + digits), 16);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

function parsePython(text: string): string[] {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN)
    throw new LiteralSyntaxError(`expected '[' but found ${describeChar(text, i)}`, i + 1);
  i = skipSpace(text, i + 1);
  const items: string[] = [];
  if (text.charCodeAt(i) === CLOSE) {
    i = skipSpace(text, i + 1);
  } else {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c !== QUOTE_SINGLE && c !== QUOTE_DOUBLE)
        throw new LiteralSyntaxError(
          `expected a quoted string but found ${describeChar(text, i)}`,
          i + 1,
        );
      const [value, next] = scanString(text, i);
      items.push(value);
      i = skipSpace(text, next);
      const sep = text.charCodeAt(i);
      if (sep === CLOSE) {
        i = skipSpace(text, i + 1);
        break;
      }
      if (sep !== COMMA)
        throw new LiteralSyntaxError(
          `expected ',' or ']' but found ${describeChar(text, i)}`,
          i + 1,
        );
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === CLOSE) {
        i = skipSpace(text, i + 1);
        break;
      }
    }
  }
  if (i < text.length)
    throw new LiteralSyntaxError(`unexpected ${describeChar(text, i)} after the list`, i + 1);
  return items;
}

/**
 * Parses a cell holding a Python list of str (as pandas writes it) or a JSON array of strings.
 * Throws LiteralSyntaxError with the 1-based column of the problem.
 */
export function parseStrList(text: string): string[] {
  try {
    return parsePython(text);
  } catch (pythonError) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw pythonError;
    }
    // A JSON array with non-strings is reported by the Python scanner, whose column is exact.
    if (!Array.isArray(json) || json.some((v) => typeof v !== 'string')) throw pythonError;
    return json as string[];
  }
}

// Python's str.isprintable() is false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs except
// the ASCII space. (Python and Node may ship different Unicode versions; characters assigned
// in between differ in Cn membership only.)
const NON_PRINTABLE = /^[\p{C}\p{Z}]$/u;
// Control characters (\x00-\x1f, \x7f) are category Cc, so \p{C} covers them.
const NEEDS_ESCAPE = /\\|(?! )[\p{C}\p{Z}]/u;

/** Python's `repr(s)` for a str. */
export function formatPythonStr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  if (!NEEDS_ESCAPE.test(s)) return quote === "'" ? `'${s.replaceAll("'", "\\'")}'` : `"${s}"`;
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f || !NON_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + quote;
}

/** Exactly Python's `str(list_of_str)`: `['a', "b'c"]`. */
export function formatPythonStrList(items: readonly string[]): string {
  return `[${items.map(formatPythonStr).join(', ')}]`;
}
