/**
 * Training-state checkpoints (`--save_steps`, every epoch end, `--resume_from_checkpoint`,
 * restarts after a worker failure): `save_model_path/checkpoints/step-<N>/` holds
 * `model.safetensors` (every parameter), `optimizer.safetensors` (AdamW's moments),
 * `state.json` (loop position, schedule step, RNG streams, early stopping, history, ...) and,
 * written last, `manifest.json` with a completion marker and every file's size and SHA-256.
 * The directory is built under a hidden temp name, each file fsynced, then renamed into place
 * (writeDirectoryAtomic), so a crash mid-write never leaves a `step-<N>` directory; one without
 * a valid manifest (copied half-way, truncated) is refused by name when loading and skipped,
 * with a warning, when looking for the latest.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OperationalError, type JsonValue } from '@ner-launch/common';
import { readSafetensors, writeSafetensorsFile } from '../model/weights/safetensors.js';
import type { StateDict } from '../model/weights/state-dict.js';
import type { AdamWState } from '../optim/adamw.js';

/** Marker and version of manifest.json. */
export const CHECKPOINT_FORMAT = 'ner-launch-training-checkpoint';
const CHECKPOINT_VERSION = 1;
const MODEL_FILE = 'model.safetensors';
const OPTIMIZER_FILE = 'optimizer.safetensors';
const STATE_FILE = 'state.json';
const MANIFEST_FILE = 'manifest.json';
const STEP_DIR = /^step-(\d+)$/;

/** The subfolder of save_model_path that holds training-state checkpoints. */
export function checkpointsRoot(saveModelPath: string): string {
  return join(saveModelPath, 'checkpoints');
}

/** Directory name of the checkpoint taken after optimizer step `step`. */
export function checkpointDirName(step: number): string {
  return `step-${step}`;
}

/** Everything a checkpoint holds, in memory. `state` is the loop's JSON part. */
export interface TrainingCheckpoint {
  model: StateDict;
  /** AdamW state of every parameter stepped so far. */
  optimizer: Map<string, AdamWState>;
  state: JsonValue;
}

interface ManifestFile {
  name: string;
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: string;
  version: number;
  complete: true;
  files: ManifestFile[];
}

/** A checkpoint directory that cannot be used; the message says which and why. */
export class CheckpointIncompleteError extends OperationalError {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`training checkpoint ${dir} is incomplete or damaged: ${reason}`);
    this.name = 'CheckpointIncompleteError';
  }
}

async function writeDurable(path: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function describeFile(dir: string, name: string): Promise<ManifestFile> {
  const bytes = await readFile(join(dir, name));
  return {
    name,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

function optimizerTensors(optimizer: Map<string, AdamWState>): {
  tensors: StateDict;
  steps: Record<string, number>;
} {
  const tensors: StateDict = new Map();
  const steps: Record<string, number> = {};
  for (const [name, state] of optimizer) {
    tensors.set(`${name}.exp_avg`, { shape: [state.expAvg.length], data: state.expAvg });
    tensors.set(`${name}.exp_avg_sq`, { shape: [state.expAvgSq.length], data: state.expAvgSq });
    steps[name] = state.step;
  }
  return { tensors, steps };
}

/**
 * Fills `dir` (a fresh temp directory) with the checkpoint, manifest last. `beforeManifest`
 * is a test hook run after the data files and before the manifest.
 */
export async function writeTrainingCheckpoint(
  dir: string,
  checkpoint: TrainingCheckpoint,
  beforeManifest?: () => void,
): Promise<void> {
  await writeSafetensorsFile(join(dir, MODEL_FILE), checkpoint.model);
  const { tensors, steps } = optimizerTensors(checkpoint.optimizer);
  await writeSafetensorsFile(join(dir, OPTIMIZER_FILE), tensors);
  await writeDurable(
    join(dir, STATE_FILE),
    `${JSON.stringify({ optimizerSteps: steps, loop: checkpoint.state })}\n`,
  );
  beforeManifest?.();
  const manifest: Manifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    complete: true,
    files: await Promise.all(
      [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE].map((name) => describeFile(dir, name)),
    ),
  };
  await writeDurable(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Checks `dir`'s manifest and every file's size and checksum; throws CheckpointIncompleteError. */
export async function verifyTrainingCheckpoint(dir: string): Promise<void> {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(dir)) throw new CheckpointIncompleteError(dir, 'the directory does not exist');
  if (!existsSync(manifestPath))
    throw new CheckpointIncompleteError(
      dir,
      `no ${MANIFEST_FILE} (the save did not finish, or this is not a training checkpoint)`,
    );
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  } catch (error) {
    throw new CheckpointIncompleteError(
      dir,
      `${MANIFEST_FILE} is not valid JSON (${(error as Error).message})`,
    );
  }
  if (manifest.format !== CHECKPOINT_FORMAT || manifest.complete !== true)
    throw new CheckpointIncompleteError(dir, `${MANIFEST_FILE} has no completion marker`);
  if (manifest.version !== CHECKPOINT_VERSION)
    throw new CheckpointIncompleteError(
      dir,
      `format version ${manifest.version}; this build reads version ${CHECKPOINT_VERSION}`,
    );
  for (const expected of manifest.files) {
    const path = join(dir, expected.name);
    const size = existsSync(path) ? (await stat(path)).size : -1;
    if (size < 0) throw new CheckpointIncompleteError(dir, `${expected.name} is missing`);
    if (size !== expected.bytes)
      throw new CheckpointIncompleteError(
        dir,
        `${expected.name} has ${size} bytes, the manifest says ${expected.bytes}`,
      );
    const actual = await describeFile(dir, expected.name);
    if (actual.sha256 !== expected.sha256)
      throw new CheckpointIncompleteError(dir, `${expected.name} fails its SHA-256 check`);
  }
}

/** Reads and verifies a checkpoint written by writeTrainingCheckpoint. */
export async function readTrainingCheckpoint(dir: string): Promise<TrainingCheckpoint> {
  await verifyTrainingCheckpoint(dir);
  const model = (await readSafetensors(join(dir, MODEL_FILE))).tensors;
  const moments = (await readSafetensors(join(dir, OPTIMIZER_FILE))).tensors;
  const { optimizerSteps, loop } = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as {
    optimizerSteps: Record<string, number>;
    loop: JsonValue;
  };
  const optimizer = new Map<string, AdamWState>();
  for (const [name, step] of Object.entries(optimizerSteps)) {
    const expAvg = moments.get(`${name}.exp_avg`);
    const expAvgSq = moments.get(`${name}.exp_avg_sq`);
    if (!expAvg || !expAvgSq)
      throw new CheckpointIncompleteError(dir, `${OPTIMIZER_FILE} lacks the moments of ${name}`);
    optimizer.set(name, { step, expAvg: expAvg.data, expAvgSq: expAvgSq.data });
  }
  return { model, optimizer, state: loop };
}

/** The step-<N> directories under `root`, oldest first (complete or not). */
export async function listCheckpointDirs(root: string): Promise<{ step: number; dir: string }[]> {
  if (!existsSync(root)) return [];
  const out: { step: number; dir: string }[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const match = STEP_DIR.exec(entry.name);
    if (entry.isDirectory() && match)
      out.push({ step: Number(match[1]), dir: join(root, entry.name) });
  }
  return out.sort((a, b) => a.step - b.step);
}

/**
 * The newest complete checkpoint under `root`, or undefined; incomplete ones are skipped and
 * reported through `warn`.
 */
export async function latestCompleteCheckpoint(
  root: string,
  warn: (message: string) => void = () => {},
): Promise<string | undefined> {
  const dirs = await listCheckpointDirs(root);
  for (const { dir } of dirs.reverse()) {
    try {
      await verifyTrainingCheckpoint(dir);
      return dir;
    } catch (error) {
      if (!(error instanceof CheckpointIncompleteError)) throw error;
      warn(`${error.message}; skipping it`);
    }
  }
  return undefined;
}

/** Removes the oldest step-<N> directories so that `keep` remain. */
export async function pruneCheckpoints(root: string, keep: number): Promise<void> {
  // Only checkpoints of ours (with a manifest) are counted and removed; a step-N folder
  // without one was not written by this trainer.
  const dirs = (await listCheckpointDirs(root)).filter(({ dir }) =>
    existsSync(join(dir, MANIFEST_FILE)),
  );
  for (const { dir } of dirs.slice(0, Math.max(0, dirs.length - keep)))
    await rm(dir, { recursive: true, force: true });
}
