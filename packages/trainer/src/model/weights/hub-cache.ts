/**
 * Hub ids (`TurkuNLP/bert-base-finnish-cased-v1`) resolve through the Hugging Face cache
 * layout Python uses (`<cache>/models--org--name/{refs/<rev>, snapshots/<commit>/...,
 * blobs/}`), so a model Python already downloaded is reused and one we download is visible
 * to Python. Environment as huggingface_hub reads it: HF_HUB_CACHE, HF_HOME, XDG_CACHE_HOME,
 * HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE), HF_TOKEN / HF_TOKEN_PATH.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadFileToCacheDir, modelInfo } from '@huggingface/hub';
import { log, writeFileAtomic, OperationalError } from '@ner-launch/common';

/** Where and how to reach the hub; all optional, defaults come from the environment. */
export interface HubOptions {
  /** Branch, tag or commit hash (default "main"). */
  revision?: string;
  env?: NodeJS.ProcessEnv;
  hubUrl?: string;
  /** For tests and proxies: replaces the global fetch. */
  fetch?: typeof fetch;
}

/** Files fetched for a model; the weights are picked from what the repo has. */
const CONFIG_AND_TOKENIZER = [
  'config.json',
  'vocab.txt',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'tokenizer.json',
];

/** Weight files that make a snapshot usable, in the order HF prefers them. */
export const WEIGHT_FILES = [
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
] as const;

const COMMIT_HASH = /^[0-9a-f]{40}$/;
// huggingface_hub's repo-id rule: one optional namespace, [\w.-] names, no "--" or "..".
const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]+$/;

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

function hfHome(env: NodeJS.ProcessEnv): string {
  return env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
}

/** The hub cache directory huggingface_hub would use with this environment. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome(env), 'hub');
}

/** Whether the environment forbids network access to the hub. */
export function hubOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return truthy(env.HF_HUB_OFFLINE) || truthy(env.TRANSFORMERS_OFFLINE);
}

/** The access token: HF_TOKEN, else the token file `huggingface-cli login` writes. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return fromEnv.trim();
  const path = env.HF_TOKEN_PATH ?? join(hfHome(env), 'token');
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether `id` is shaped like a hub repo id (`name` or `org/name`). */
export function isHubId(id: string): boolean {
  return REPO_ID.test(id) && !id.includes('--') && !id.includes('..') && !id.startsWith('.');
}

function repoCacheDir(repoId: string, cacheDir: string): string {
  return join(cacheDir, `models--${repoId.replace('/', '--')}`);
}

function isUsableSnapshot(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && WEIGHT_FILES.some((f) => existsSync(join(dir, f)));
}

/** The cached snapshot directory for `repoId` at `revision`, if it has config and weights. */
export function findCachedSnapshot(
  repoId: string,
  revision = 'main',
  cacheDir = hubCacheDir(),
): string | undefined {
  const repoDir = repoCacheDir(repoId, cacheDir);
  let commit = revision;
  if (!COMMIT_HASH.test(revision)) {
    try {
      commit = readFileSync(join(repoDir, 'refs', revision), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  const snapshot = join(repoDir, 'snapshots', commit);
  return existsSync(snapshot) && statSync(snapshot).isDirectory() && isUsableSnapshot(snapshot)
    ? snapshot
    : undefined;
}

function localDirectoryHint(repoId: string): string {
  return (
    `pass a local directory holding config.json, vocab.txt and model.safetensors or pytorch_model.bin instead ` +
    `(e.g. one made by \`huggingface-cli download ${repoId} --local-dir ./model\` on a machine with network access)`
  );
}

/**
 * Resolves a hub id to a local snapshot directory: the cached snapshot when there is one,
 * otherwise (unless offline) a download into the same cache, including `refs/<revision>`.
 */
export async function resolveHubModel(repoId: string, options: HubOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const revision = options.revision ?? 'main';
  const cacheDir = hubCacheDir(env);
  const cached = findCachedSnapshot(repoId, revision, cacheDir);
  if (cached) return cached;
  if (hubOffline(env))
    throw new OperationalError(
      `model "${repoId}" (revision ${revision}) is not in the Hugging Face cache at ${repoCacheDir(repoId, cacheDir)} ` +
        `and HF_HUB_OFFLINE is set, so it cannot be downloaded; ${localDirectoryHint(repoId)}, or set HF_HOME/HF_HUB_CACHE to a cache that has it`,
    );
  const accessToken = hubToken(env);
  const credentials = accessToken ? { accessToken } : {};
  try {
    // Pin the revision to its commit first: the client files each download under the commit
    // it is asked for, and only a commit hash keeps all files in one snapshot directory.
    const info = await modelInfo({
      name: repoId,
      revision,
      additionalFields: ['sha', 'filePaths'],
      hubUrl: options.hubUrl,
      fetch: options.fetch,
      ...credentials,
    });
    const commit = info.sha;
    if (typeof commit !== 'string' || !COMMIT_HASH.test(commit))
      throw new OperationalError(`the hub did not report a commit for revision ${revision}`);
    const present = new Set(info.filePaths ?? []);
    if (!present.has('config.json'))
      throw new OperationalError('the repository has no config.json');
    const files = [
      ...CONFIG_AND_TOKENIZER.filter((f) => present.has(f)),
      ...pickWeightFiles(present, repoId),
    ];
    for (const path of files)
      await quietly(() =>
        downloadFileToCacheDir({
          repo: { type: 'model', name: repoId },
          path,
          revision: commit,
          cacheDir,
          hubUrl: options.hubUrl,
          fetch: options.fetch,
          ...credentials,
        }),
      );
    // The JS client does not record the branch → commit mapping; Python looks for it there.
    if (revision !== commit)
      await writeFileAtomic(join(repoCacheDir(repoId, cacheDir), 'refs', revision), commit);
    return join(repoCacheDir(repoId, cacheDir), 'snapshots', commit);
  } catch (error) {
    throw new OperationalError(
      `cannot download "${repoId}" (revision ${revision}) from the Hugging Face Hub: ${(error as Error).message}; ${localDirectoryHint(repoId)}`,
      { cause: error },
    );
  }
}

/**
 * Runs `work` with console.debug routed to our logger: the hub client announces each download
 * with console.debug, which would land on stdout, where command results go.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  // eslint-disable-next-line no-console
  const original = console.debug;
  // eslint-disable-next-line no-console
  console.debug = (...args: unknown[]) => log.debug(args.map(String).join(' '));
  try {
    return await work();
  } finally {
    // eslint-disable-next-line no-console
    console.debug = original;
  }
}

/** The weight files to fetch: safetensors (single or all shards) if present, else the .bin. */
function pickWeightFiles(present: Set<string>, repoId: string): string[] {
  if (present.has('model.safetensors')) return ['model.safetensors'];
  const shards = (suffix: string) =>
    [...present].filter((p) => new RegExp(`^model-\\d+-of-\\d+\\.${suffix}$`).test(p));
  if (present.has('model.safetensors.index.json'))
    return ['model.safetensors.index.json', ...shards('safetensors')];
  if (present.has('pytorch_model.bin')) return ['pytorch_model.bin'];
  if (present.has('pytorch_model.bin.index.json'))
    return [
      'pytorch_model.bin.index.json',
      ...[...present].filter((p) => /^pytorch_model-\d+-of-\d+\.bin$/.test(p)),
    ];
  throw new OperationalError(
    `repository ${repoId} has no PyTorch/safetensors weights (${WEIGHT_FILES.join(', ')})`,
  );
}
