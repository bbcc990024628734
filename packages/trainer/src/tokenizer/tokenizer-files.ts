/**
 * Reading and writing a BERT tokenizer's files (vocab.txt, tokenizer_config.json,
 * special_tokens_map.json) in the layout HF `AutoTokenizer.from_pretrained(dir)` reads.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, OperationalError } from '@ner-launch/common';
import { readBoundedFileSync } from '../bounded-file.js';

/** The special-token roles BERT uses. */
export const SPECIAL_TOKEN_ROLES = [
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;
/** One of SPECIAL_TOKEN_ROLES. */
export type SpecialTokenRole = (typeof SPECIAL_TOKEN_ROLES)[number];

/** Everything a BERT tokenizer is built from. */
export interface TokenizerFiles {
  /** vocab.txt lines in id order (duplicates kept so ids and the saved file stay as they were). */
  vocabLines: string[];
  doLowerCase: boolean;
  stripAccents: boolean | null;
  tokenizeChineseChars: boolean;
  /** Kept for the saved config; the fast tokenizer ignores it, and so do we. */
  neverSplit: string[] | null;
  modelMaxLength: number | null;
  /** Special token strings by role. */
  specialTokens: Record<SpecialTokenRole, string>;
  /** Extra added tokens (content → id) from added_tokens_decoder, matched before normalization. */
  addedTokens: Map<string, number>;
  /** The rest of tokenizer_config.json, written back unchanged. */
  extraConfig: Record<string, unknown>;
}

const DEFAULT_SPECIALS: Record<SpecialTokenRole, string> = {
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
};

function readUtf8(path: string): string {
  const bytes = readBoundedFileSync(path);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw new OperationalError(`${path}: cannot read as UTF-8: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function readJsonObject(path: string): Record<string, unknown> {
  const text = readUtf8(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new OperationalError(`${path}: invalid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new OperationalError(`${path}: expected a JSON object`);
  return value as Record<string, unknown>;
}

/** A special token is written either as a string or as an AddedToken object with `content`. */
function tokenContent(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'content' in value) {
    const content = (value as { content: unknown }).content;
    if (typeof content === 'string') return content;
  }
  throw new OperationalError(`${where}: expected a token string or {"content": ...}`);
}

function optionalBoolean(config: Record<string, unknown>, key: string, path: string) {
  const value = config[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean')
    throw new OperationalError(`${path}: "${key}" must be true, false or null`);
  return value;
}

/** Parses vocab.txt as HF does: one token per line, only the trailing "\n" removed. */
export function parseVocab(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Vocab lines from a tokenizer.json WordPiece model (token → id map; ids must be 0..n-1). */
function vocabFromTokenizerJson(path: string): string[] {
  const json = readJsonObject(path);
  const model = json.model as { type?: unknown; vocab?: unknown } | undefined;
  if (model?.type !== 'WordPiece' || typeof model.vocab !== 'object' || model.vocab === null)
    throw new OperationalError(
      `${path}: not a WordPiece tokenizer (model.type ${String(model?.type)})`,
    );
  const entries = Object.entries(model.vocab as Record<string, unknown>);
  const lines = new Array<string>(entries.length);
  for (const [token, id] of entries) {
    if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= entries.length)
      throw new OperationalError(
        `${path}: vocab id ${String(id)} of ${JSON.stringify(token)} is not in 0..${entries.length - 1}`,
      );
    if (lines[id as number] !== undefined)
      throw new OperationalError(`${path}: vocab id ${String(id)} used twice`);
    lines[id as number] = token;
  }
  return lines;
}

/**
 * The vocabulary as transformers 5's AutoTokenizer takes it: from tokenizer.json when present
 * (what `save_pretrained` writes; it wins over vocab.txt), else from vocab.txt.
 */
function loadVocab(dir: string): string[] {
  const jsonPath = join(dir, 'tokenizer.json');
  const vocabPath = join(dir, 'vocab.txt');
  let lines: string[];
  if (existsSync(jsonPath)) lines = vocabFromTokenizerJson(jsonPath);
  else if (existsSync(vocabPath)) lines = parseVocab(readUtf8(vocabPath));
  else
    throw new OperationalError(
      `${dir}: neither vocab.txt nor tokenizer.json found (a BERT vocab is required)`,
    );
  if (lines.length === 0)
    throw new OperationalError(`${existsSync(jsonPath) ? jsonPath : vocabPath}: empty vocabulary`);
  return lines;
}

/** Loads the tokenizer files of a model directory; errors name the file and the problem. */
export function loadTokenizerFiles(dir: string): TokenizerFiles {
  const vocabLines = loadVocab(dir);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJsonObject(configPath) : {};
  const mapPath = join(dir, 'special_tokens_map.json');
  const specialMap = existsSync(mapPath) ? readJsonObject(mapPath) : {};

  const specialTokens = { ...DEFAULT_SPECIALS };
  const specialSource: Partial<Record<SpecialTokenRole, string>> = {};
  for (const role of SPECIAL_TOKEN_ROLES) {
    // special_tokens_map.json wins over tokenizer_config.json, as in transformers.
    if (specialMap[role] != null) {
      specialTokens[role] = tokenContent(specialMap[role], mapPath);
      specialSource[role] = mapPath;
    } else if (config[role] != null) {
      specialTokens[role] = tokenContent(config[role], configPath);
      specialSource[role] = configPath;
    }
  }

  const addedTokens = new Map<string, number>();
  const decoder = config.added_tokens_decoder;
  if (decoder !== undefined && decoder !== null) {
    if (typeof decoder !== 'object')
      throw new OperationalError(`${configPath}: bad added_tokens_decoder`);
    for (const [id, token] of Object.entries(decoder as Record<string, unknown>)) {
      const where = `${configPath}: added_tokens_decoder["${id}"]`;
      const content = tokenContent(token, where);
      const flags = token as Record<string, unknown>;
      for (const flag of ['lstrip', 'rstrip', 'single_word'])
        if (flags[flag] === true)
          throw new OperationalError(`${where}: ${flag}=true is not supported`);
      addedTokens.set(content, Number(id));
    }
  }

  // Each special token must have an id: name the file and field that set a missing one.
  const vocabulary = new Set(vocabLines);
  for (const role of SPECIAL_TOKEN_ROLES) {
    const token = specialTokens[role];
    if (vocabulary.has(token) || addedTokens.has(token)) continue;
    const vocabName = existsSync(join(dir, 'tokenizer.json')) ? 'tokenizer.json' : 'vocab.txt';
    throw new OperationalError(
      specialSource[role]
        ? `${specialSource[role]}: field "${role}" is ${JSON.stringify(token)}, which is not in the vocabulary (${vocabName})`
        : `${join(dir, vocabName)}: the default ${role} ${JSON.stringify(token)} is not in the vocabulary; set ${role} in special_tokens_map.json`,
    );
  }

  const neverSplit = config.never_split;
  if (
    neverSplit != null &&
    !(Array.isArray(neverSplit) && neverSplit.every((s) => typeof s === 'string'))
  )
    throw new OperationalError(`${configPath}: "never_split" must be a list of strings or null`);
  const maxLength = config.model_max_length;

  const known = new Set<string>([
    'do_lower_case',
    'strip_accents',
    'tokenize_chinese_chars',
    'never_split',
    'model_max_length',
    'tokenizer_file',
    'tokenizer_class',
    'added_tokens_decoder',
    ...SPECIAL_TOKEN_ROLES,
  ]);
  const extraConfig = Object.fromEntries(Object.entries(config).filter(([k]) => !known.has(k)));
  return {
    vocabLines,
    doLowerCase: optionalBoolean(config, 'do_lower_case', configPath) ?? true,
    stripAccents: optionalBoolean(config, 'strip_accents', configPath),
    tokenizeChineseChars: optionalBoolean(config, 'tokenize_chinese_chars', configPath) ?? true,
    neverSplit: (neverSplit as string[] | null | undefined) ?? null,
    // HF writes a huge sentinel (1e30) when there is no limit.
    modelMaxLength: typeof maxLength === 'number' && maxLength < 1e9 ? maxLength : null,
    specialTokens,
    addedTokens,
    extraConfig,
  };
}

/** Writes vocab.txt, tokenizer_config.json and special_tokens_map.json into `dir` (atomically each). */
export async function saveTokenizerFiles(
  tokenizer: { readonly files: TokenizerFiles },
  dir: string,
): Promise<void> {
  const files = tokenizer.files;
  const added: Record<string, unknown> = {};
  for (const [content, id] of files.addedTokens)
    added[String(id)] = {
      content,
      lstrip: false,
      normalized: false,
      rstrip: false,
      single_word: false,
      special: true,
    };
  const config = {
    ...files.extraConfig,
    do_lower_case: files.doLowerCase,
    strip_accents: files.stripAccents,
    tokenize_chinese_chars: files.tokenizeChineseChars,
    never_split: files.neverSplit,
    ...(files.modelMaxLength === null ? {} : { model_max_length: files.modelMaxLength }),
    ...(files.addedTokens.size > 0 ? { added_tokens_decoder: added } : {}),
    tokenizer_class: 'BertTokenizer',
    ...files.specialTokens,
  };
  await writeFileAtomic(join(dir, 'vocab.txt'), files.vocabLines.map((t) => `${t}\n`).join(''));
  await writeFileAtomic(join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
  await writeFileAtomic(
    join(dir, 'special_tokens_map.json'),
    `${JSON.stringify(files.specialTokens, null, 2)}\n`,
  );
}
