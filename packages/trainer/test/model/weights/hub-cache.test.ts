import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadPretrained } from '../../../src/model/weights/checkpoint-dir.js';
import { tokenClassificationShapes } from '../../../src/model/weights/expected-parameters.js';
import {
  findCachedSnapshot,
  hubCacheDir,
  hubOffline,
  hubToken,
  isHubId,
  resolveHubModel,
} from '../../../src/model/weights/hub-cache.js';
import { writeSafetensors } from '../../../src/model/weights/safetensors.js';
import type { StateDict } from '../../../src/model/weights/state-dict.js';

const COMMIT = 'a'.repeat(40);
const OTHER_COMMIT = 'b'.repeat(40);
const CONFIG = {
  model_type: 'bert',
  vocab_size: 12,
  hidden_size: 4,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 8,
  max_position_embeddings: 16,
  type_vocab_size: 2,
};

/** The files of a tiny BertModel checkpoint: config, vocab and base weights (no classifier). */
async function tinyModelFiles(work: string): Promise<Record<string, Uint8Array>> {
  const shapes = tokenClassificationShapes({
    vocabSize: 12,
    hiddenSize: 4,
    numHiddenLayers: 1,
    intermediateSize: 8,
    maxPositionEmbeddings: 16,
    typeVocabSize: 2,
    numLabels: 2,
  });
  const tensors: StateDict = new Map();
  let next = 0;
  for (const [name, shape] of shapes)
    if (!name.startsWith('classifier'))
      tensors.set(name, {
        shape,
        data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next++ / 1000),
      });
  const weights = join(work, 'tiny.safetensors');
  await writeSafetensors(weights, tensors);
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', 'd', 'e', 'f', 'g'];
  return {
    'config.json': new TextEncoder().encode(JSON.stringify(CONFIG)),
    'vocab.txt': new TextEncoder().encode(vocab.join('\n') + '\n'),
    'model.safetensors': readFileSync(weights),
  };
}

/** Lays files out as huggingface_hub does: blobs by hash, snapshot symlinks, refs/<rev>. */
function buildCache(
  hubDir: string,
  repoId: string,
  commit: string,
  files: Record<string, Uint8Array>,
  ref?: string,
): string {
  const repo = join(hubDir, `models--${repoId.replace('/', '--')}`);
  const snapshot = join(repo, 'snapshots', commit);
  mkdirSync(join(repo, 'blobs'), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    const hash = createHash('sha256').update(data).digest('hex');
    writeFileSync(join(repo, 'blobs', hash), data);
    symlinkSync(join('..', '..', 'blobs', hash), join(snapshot, name));
  }
  if (ref) {
    mkdirSync(join(repo, 'refs'), { recursive: true });
    writeFileSync(join(repo, 'refs', ref), commit);
  }
  return snapshot;
}

let work: string;
let files: Record<string, Uint8Array>;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hub-cache-'));
  files = await tinyModelFiles(work);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('hub cache location and settings', () => {
  test('the cache directory follows HF_HUB_CACHE, then HF_HOME, then XDG_CACHE_HOME, as huggingface_hub does', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }), '/c');
    assert.equal(hubCacheDir({ HF_HOME: '/h' }), '/h/hub');
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
    assert.match(hubCacheDir({}), /\.cache\/huggingface\/hub$/);
  });

  test('offline mode and tokens are read from the environment and the token file', () => {
    assert.equal(hubOffline({ HF_HUB_OFFLINE: '1' }), true);
    assert.equal(hubOffline({ TRANSFORMERS_OFFLINE: 'true' }), true);
    assert.equal(hubOffline({ HF_HUB_OFFLINE: '0' }), false);
    assert.equal(hubToken({ HF_TOKEN: 'hf_x ' }), 'hf_x');
    const home = join(work, 'token-home');
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, 'token'), 'hf_from_file\n');
    assert.equal(hubToken({ HF_HOME: home }), 'hf_from_file');
    assert.equal(hubToken({ HF_HOME: join(work, 'nowhere') }), undefined);
  });

  test('hub ids are org/name or name; paths are not', () => {
    for (const id of ['TurkuNLP/bert-base-finnish-cased-v1', 'bert-base-cased', 'org/m.v1_2'])
      assert.equal(isHubId(id), true, id);
    for (const id of ['./model', '/abs/model', 'a/b/c', 'org--x/y', 'a/../b', '../x', ''])
      assert.equal(isHubId(id), false, id);
  });
});

describe('resolving hub ids through the cache', () => {
  test('a model Python downloaded (refs/main → snapshot of symlinks) loads offline', async () => {
    const home = join(work, 'python-home');
    const snapshot = buildCache(join(home, 'hub'), 'TurkuNLP/tiny-bert', COMMIT, files, 'main');
    const env = { HF_HOME: home, HF_HUB_OFFLINE: '1' };
    assert.equal(findCachedSnapshot('TurkuNLP/tiny-bert', 'main', hubCacheDir(env)), snapshot);
    const loaded = await loadPretrained('TurkuNLP/tiny-bert', { numLabels: 3, hub: { env } });
    assert.equal(loaded.dir, snapshot);
    assert.equal(loaded.tokenizerDir, snapshot);
    assert.deepEqual(loaded.missingKeys, ['classifier.bias', 'classifier.weight']);
    assert.equal(
      loaded.stateDict.get('bert.embeddings.word_embeddings.weight')!.data[5],
      Math.fround(0.005),
    );
  });

  test('a commit hash or a tag revision picks its own snapshot', async () => {
    const hub = join(work, 'revisions');
    buildCache(hub, 'org/tiny', COMMIT, files, 'main');
    const older = buildCache(hub, 'org/tiny', OTHER_COMMIT, files, 'v1.0');
    const env = { HF_HUB_CACHE: hub, HF_HUB_OFFLINE: '1' };
    assert.equal(await resolveHubModel('org/tiny', { revision: OTHER_COMMIT, env }), older);
    assert.equal(await resolveHubModel('org/tiny', { revision: 'v1.0', env }), older);
  });

  test('offline with nothing cached is an error that says how to pass a local directory', async () => {
    const env = { HF_HUB_CACHE: join(work, 'empty-cache'), HF_HUB_OFFLINE: '1' };
    await assert.rejects(
      loadPretrained('TurkuNLP/bert-base-finnish-cased-v1', { hub: { env } }),
      /model "TurkuNLP\/bert-base-finnish-cased-v1" \(revision main\) is not in the Hugging Face cache at .*empty-cache\/models--TurkuNLP--bert-base-finnish-cased-v1 and HF_HUB_OFFLINE is set.*pass a local directory holding config\.json, vocab\.txt and model\.safetensors or pytorch_model\.bin instead/,
    );
  });

  test('a snapshot missing its weights is not used', () => {
    const hub = join(work, 'partial');
    buildCache(hub, 'org/partial', COMMIT, { 'config.json': files['config.json']! }, 'main');
    assert.equal(findCachedSnapshot('org/partial', 'main', hub), undefined);
  });

  test('online, a missing model is downloaded into the cache in the layout Python reads, refs/main included', async () => {
    const hub = join(work, 'download-cache');
    const requests: string[] = [];
    const hubUrl = 'https://hub.test';
    // A stand-in for the hub's HTTP API: model info, paths-info, and ranged file downloads.
    const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const method = init?.method ?? 'GET';
      requests.push(`${method} ${url.pathname}`);
      const auth = new Headers(init?.headers).get('authorization');
      assert.equal(auth, 'Bearer hf_test_token');
      if (url.pathname === '/api/models/org/online/revision/main')
        return Response.json({
          _id: 'x',
          id: 'org/online',
          sha: COMMIT,
          siblings: Object.keys(files).map((rfilename) => ({ rfilename })),
        });
      if (url.pathname === `/api/models/org/online/paths-info/${COMMIT}`) {
        const { paths } = JSON.parse(String(init?.body)) as { paths: string[] };
        return Response.json(
          paths.map((path) => ({
            type: 'file',
            path,
            size: files[path]!.length,
            oid: createHash('sha1').update(files[path]!).digest('hex'),
          })),
        );
      }
      const match = /^\/org\/online\/resolve\/[0-9a-f]{40}\/(.+)$/.exec(url.pathname);
      if (match && files[match[1]!]) {
        const data = files[match[1]!]!;
        const range = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get('range') ?? '');
        const start = range ? Number(range[1]) : 0;
        const end = range ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
        return new Response(data.slice(start, end + 1), {
          status: range ? 206 : 200,
          headers: {
            'content-range': `bytes ${start}-${end}/${data.length}`,
            etag: `"${createHash('sha1').update(data).digest('hex')}"`,
          },
        });
      }
      return new Response('not found', { status: 404 });
    }) as typeof fetch;
    const env = { HF_HUB_CACHE: hub, HF_TOKEN: 'hf_test_token' };
    const snapshot = await resolveHubModel('org/online', { env, hubUrl, fetch: fakeFetch });
    assert.equal(snapshot, join(hub, 'models--org--online', 'snapshots', COMMIT));
    assert.equal(readFileSync(join(hub, 'models--org--online', 'refs', 'main'), 'utf8'), COMMIT);
    for (const name of Object.keys(files))
      assert.ok(readFileSync(join(snapshot, name)).equals(files[name]!), name);
    // Now it is cached: offline resolution finds it with no request.
    const before = requests.length;
    const loaded = await loadPretrained('org/online', {
      numLabels: 2,
      hub: { env: { ...env, HF_HUB_OFFLINE: '1' } },
    });
    assert.equal(loaded.dir, snapshot);
    assert.equal(requests.length, before);
    assert.ok(!existsSync(join(hub, 'models--org--online', 'snapshots', 'undefined')));
  });

  test('online, a hub failure is reported with the model id and the local-directory hint', async () => {
    const failing = (async () =>
      new Response('{"error":"Repository not found"}', { status: 401 })) as typeof fetch;
    await assert.rejects(
      resolveHubModel('org/private', {
        env: { HF_HUB_CACHE: join(work, 'fail-cache') },
        hubUrl: 'https://hub.test',
        fetch: failing,
      }),
      /cannot download "org\/private" \(revision main\) from the Hugging Face Hub: .*; pass a local directory/,
    );
  });
});
