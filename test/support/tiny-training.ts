/**
 * A small training fixture: the first sentences of the quickstart splits and a from-scratch
 * BERT with the quickstart vocab, hidden 16, 2 layers and dropout 0 (so runs that split the
 * same global batches differently can be compared number for number).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from './python.js';

const QUICKSTART = join(REPO_ROOT, 'examples', 'quickstart');

/** Paths of the fixture's data and model folders. */
export interface TinyTrainingFixture {
  dataDir: string;
  modelDir: string;
}

/** Writes the fixture under `root`. */
export async function makeTinyTrainingFixture(
  root: string,
  sizes: { train: number; val: number; test: number } = { train: 48, val: 16, test: 16 },
): Promise<TinyTrainingFixture> {
  const dataDir = join(root, 'data');
  await mkdir(dataDir, { recursive: true });
  for (const split of ['train', 'val', 'test'] as const) {
    const lines = (await readFile(join(QUICKSTART, 'data', `${split}.csv`), 'utf8')).split('\n');
    await writeFile(
      join(dataDir, `${split}.csv`),
      `${lines.slice(0, sizes[split] + 1).join('\n')}\n`,
    );
  }
  const modelDir = join(root, 'model');
  await mkdir(modelDir, { recursive: true });
  for (const f of ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'])
    await copyFile(join(QUICKSTART, 'model', f), join(modelDir, f));
  const config = JSON.parse(await readFile(join(QUICKSTART, 'model', 'config.json'), 'utf8'));
  await writeFile(
    join(modelDir, 'config.json'),
    JSON.stringify({
      ...config,
      hidden_size: 16,
      num_attention_heads: 2,
      intermediate_size: 32,
      hidden_dropout_prob: 0,
      attention_probs_dropout_prob: 0,
    }),
  );
  return { dataDir, modelDir };
}
