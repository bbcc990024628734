/**
 * A tiny trained-looking checkpoint for prediction tests: a cased vocabulary of a few Finnish
 * words and pieces, a random 2-layer BERT (hidden 16) whose classifier is scaled up so that
 * predictions vary from word to word, saved with saveCheckpoint like a training run saves it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  BertForTokenClassification,
  bertConfigToJson,
  initBackend,
  parseBertConfig,
  saveCheckpoint,
  withLabels,
} from '@ner-launch/trainer';

/** Labels of the tiny model, in id order. */
export const TINY_LABELS = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC', 'B-ORG', 'I-ORG'];

const VOCAB = [
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  ...'Matti Meikäläinen asuu Helsinki Turku Nokia Oyj on yritys ja työskentelee kaupungissa Liisa'.split(
    ' ',
  ),
  '##ssa',
  '##n',
  '##lla',
  '##ä',
  '.',
  ',',
  '!',
  ...'abcdefghijklmnopqrstuvwxyzäö'.split(''),
  ...'abcdefghijklmnopqrstuvwxyzäö'.split('').map((c) => `##${c}`),
];

/** Writes the checkpoint under `dir` (on the wasm backend, which it initialises) and returns `dir`. */
export async function makeTinyCheckpoint(
  dir: string,
  options: { maxPositions?: number; seed?: number } = {},
): Promise<string> {
  await initBackend('wasm');
  const source = `${dir}-tokenizer`;
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'vocab.txt'), `${VOCAB.join('\n')}\n`);
  await writeFile(join(source, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
  const config = withLabels(
    parseBertConfig(
      {
        vocab_size: VOCAB.length,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: options.maxPositions ?? 64,
        hidden_dropout_prob: 0,
        attention_probs_dropout_prob: 0,
      },
      'tiny-config',
    ),
    TINY_LABELS,
  );
  const model = BertForTokenClassification.fromStateDict(config, new Map(), {
    seed: options.seed ?? 3,
  });
  const stateDict = model.toStateDict();
  model.dispose();
  // HF's init (std 0.02) gives near-uniform logits; scaled, the argmax differs between tokens.
  const classifier = stateDict.get('classifier.weight')!;
  classifier.data.forEach((v, i) => (classifier.data[i] = v * 300));
  await saveCheckpoint(dir, {
    config: bertConfigToJson(config),
    stateDict,
    labels: TINY_LABELS,
    tokenizerSourceDir: source,
  });
  return dir;
}
