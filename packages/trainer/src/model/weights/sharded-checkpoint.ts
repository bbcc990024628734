/**
 * Sharded checkpoints (`model.safetensors.index.json`, `pytorch_model.bin.index.json`): an
 * index whose `weight_map` names the shard file holding each tensor. The shards are read
 * with the format's own reader and checked against the index both ways.
 */
import { basename, dirname, join } from 'node:path';
import { readBoundedFileSync } from '../../bounded-file.js';
import { CheckpointError } from '../../checkpoint-error.js';
import type { ElementDtype } from './element-decode.js';
import type { StateDict } from './state-dict.js';

/** What a shard reader returns. */
export interface ShardContents {
  tensors: StateDict;
  storedDtypes: Map<string, ElementDtype>;
}

/** Reads every shard an index names and merges them. */
export async function readShardedCheckpoint(
  indexPath: string,
  readShard: (path: string) => Promise<ShardContents>,
): Promise<ShardContents> {
  let index: unknown;
  try {
    index = JSON.parse(readBoundedFileSync(indexPath).toString('utf8'));
  } catch (error) {
    throw new CheckpointError(indexPath, `cannot read shard index (${(error as Error).message})`, {
      cause: error,
    });
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap))
    throw new CheckpointError(indexPath, 'shard index has no "weight_map" object');
  const byShard = new Map<string, Set<string>>();
  for (const [name, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    // Shards must sit beside the index: a path here could point anywhere on disk.
    if (
      typeof shard !== 'string' ||
      shard.includes('/') ||
      shard.includes('\\') ||
      shard.startsWith('.')
    )
      throw new CheckpointError(
        indexPath,
        `weight_map["${name}"] = ${JSON.stringify(shard)} is not a shard file name in this directory`,
      );
    if (!byShard.has(shard)) byShard.set(shard, new Set());
    byShard.get(shard)!.add(name);
  }
  const result: ShardContents = { tensors: new Map(), storedDtypes: new Map() };
  for (const [shard, names] of byShard) {
    const shardPath = join(dirname(indexPath), shard);
    const contents = await readShard(shardPath);
    for (const name of names)
      if (!contents.tensors.has(name))
        throw new CheckpointError(
          shardPath,
          `tensor "${name}" listed in ${basename(indexPath)} is missing from this shard`,
        );
    for (const [name, tensor] of contents.tensors) {
      if (!names.has(name))
        throw new CheckpointError(
          shardPath,
          `tensor "${name}" is in this shard but ${basename(indexPath)} does not list it here`,
        );
      result.tensors.set(name, tensor);
      const dtype = contents.storedDtypes.get(name);
      if (dtype) result.storedDtypes.set(name, dtype);
    }
  }
  return result;
}
