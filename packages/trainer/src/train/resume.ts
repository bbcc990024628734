/**
 * Resuming a run: which checkpoint to continue from (`--resume_from_checkpoint PATH|latest`,
 * or the latest one after a launcher restart, NER_RESTART_COUNT > 0), restoring model,
 * optimizer, RNG streams and loop state from it, and saving one (rank 0 writes, everyone
 * waits; the previous ones beyond `--save_total_limit` are removed).
 *
 * The sampler is a pure function of (seed, epoch, world size, batch size), so its position
 * is the loop's (epoch, batch); a checkpoint from a run with other values of those cannot be
 * continued and is refused, naming the difference.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type JsonValue, type Logger, UsageError } from '@ner-launch/common';
import type { Accelerator } from '@ner-launch/worker';
import type { DropoutState, TrainingEngine } from '../engine/training-engine.js';
import type { LossScaler, LossScalerState } from '../optim/loss-scaler.js';
import {
  checkpointDirName,
  checkpointsRoot,
  CheckpointIncompleteError,
  latestCompleteCheckpoint,
  pruneCheckpoints,
  readTrainingCheckpoint,
  verifyTrainingCheckpoint,
  writeTrainingCheckpoint,
} from './training-checkpoint.js';
import type { LoopProgress } from './training-loop.js';

/** What must match between the checkpoint's run and this one for the data order to agree. */
export interface RunIdentity {
  seed: number;
  world_size: number;
  batch_size: number;
  gradient_accumulation_steps: number;
  train_sentences: number;
}

/** The JSON part of a checkpoint (state.json's `loop`). */
export interface SavedRunState {
  identity: RunIdentity;
  progress: LoopProgress;
  /** Each rank's dropout stream position, by rank. */
  dropout: DropoutState[];
  lossScaler: LossScalerState;
  /** Hash of the launch's run token: a restart only resumes checkpoints of its own launch. */
  runId: string;
}

/** A short hash of the launcher's per-launch token (constant across restarts). */
export function runIdOf(runToken: string): string {
  return createHash('sha256').update(`ner-launch-run:${runToken}`).digest('hex').slice(0, 16);
}

/**
 * The checkpoint directory to resume from, or undefined to start fresh. Decided on rank 0 and
 * broadcast, so every rank continues from the same one.
 */
export async function chooseResumeDir(
  accelerator: Accelerator,
  option: string | undefined,
  saveModelPath: string,
  log: Logger,
): Promise<string | undefined> {
  let chosen: string | null = null;
  let failure: string | null = null;
  if (accelerator.isMainProcess) {
    try {
      chosen =
        (await resolveResumeDir(
          option,
          saveModelPath,
          accelerator.env.restartCount,
          runIdOf(accelerator.env.runToken),
          log,
        )) ?? null;
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  const decided = (await accelerator.group.broadcastObject(
    { chosen, failure } as JsonValue,
    0,
  )) as { chosen: string | null; failure: string | null };
  if (decided.failure) throw new UsageError(decided.failure, { flag: 'resume_from_checkpoint' });
  return decided.chosen ?? undefined;
}

async function resolveResumeDir(
  option: string | undefined,
  saveModelPath: string,
  restartCount: number,
  runId: string,
  log: Logger,
): Promise<string | undefined> {
  const root = checkpointsRoot(saveModelPath);
  const warn = (message: string) => log.warn(message);
  if (option === undefined && restartCount === 0) return undefined;
  if (option === undefined || option === 'latest') {
    const latest = await latestCompleteCheckpoint(root, warn);
    const why =
      option === 'latest' ? '--resume_from_checkpoint latest' : `launcher restart ${restartCount}`;
    // A restart is worth a warning-level line: the run lost work and continues from here.
    if (!latest) {
      log.warn(`${why}: no complete training checkpoint in ${root}; starting from scratch`);
      return undefined;
    }
    // After a restart, a checkpoint left by an earlier, unrelated run in the same folder (this
    // launch failed before its first save) must not be continued as if it were this run's.
    if (option === undefined && (await savedRunId(latest)) !== runId) {
      log.warn(
        `${why}: ${latest} was written by another launch, not this one; starting from scratch`,
      );
      return undefined;
    }
    log.warn(`${why}: resuming from ${latest}`);
    return latest;
  }
  try {
    await verifyTrainingCheckpoint(option);
  } catch (error) {
    if (error instanceof CheckpointIncompleteError)
      throw new UsageError(`--resume_from_checkpoint ${option}: ${error.message}`, {
        cause: error,
      });
    throw error;
  }
  log.info(`--resume_from_checkpoint: resuming from ${option}`);
  return option;
}

async function savedRunId(dir: string): Promise<string | undefined> {
  const text = await readFile(join(dir, 'state.json'), 'utf8');
  return (JSON.parse(text) as { loop?: { runId?: string } }).loop?.runId;
}

function checkIdentity(dir: string, saved: RunIdentity, now: RunIdentity): void {
  const differences = (Object.keys(now) as (keyof RunIdentity)[])
    .filter((key) => saved[key] !== now[key])
    .map((key) => `${key} ${saved[key]} there, ${now[key]} now`);
  if (differences.length > 0)
    throw new UsageError(
      `--resume_from_checkpoint ${dir}: the checkpoint's run differs (${differences.join('; ')}), so its data order cannot be continued`,
      { flag: 'resume_from_checkpoint' },
    );
}

/**
 * Loads `dir` on every rank and restores model weights, AdamW state, this rank's dropout
 * stream and the loss scaler; returns the loop state to continue from.
 */
export async function restoreFromCheckpoint(
  accelerator: Accelerator,
  dir: string,
  target: {
    engine: TrainingEngine;
    scaler: LossScaler;
    identity: RunIdentity;
  },
): Promise<LoopProgress> {
  const checkpoint = await accelerator.loadState(dir, readTrainingCheckpoint);
  const saved = checkpoint.state as unknown as SavedRunState;
  checkIdentity(dir, saved.identity, target.identity);
  const { engine } = target;
  const names = new Set(engine.parameterNames());
  for (const name of names)
    if (!checkpoint.model.has(name))
      throw new CheckpointIncompleteError(dir, `model.safetensors lacks parameter ${name}`);
  for (const name of checkpoint.model.keys())
    if (!names.has(name))
      throw new CheckpointIncompleteError(dir, `model.safetensors has unknown parameter ${name}`);
  engine.loadParameters(checkpoint.model);
  engine.loadOptimizerState(checkpoint.optimizer);
  const dropout = saved.dropout[accelerator.rank];
  if (!dropout)
    throw new CheckpointIncompleteError(dir, `no dropout state for rank ${accelerator.rank}`);
  engine.setDropoutState(dropout);
  target.scaler.load(saved.lossScaler);
  // JSON has no -Infinity: the best F1 before any epoch comes back as null.
  const { stopping } = saved.progress;
  stopping.bestF1 = (stopping.bestF1 as number | null) ?? Number.NEGATIVE_INFINITY;
  return saved.progress;
}

/**
 * Saves a checkpoint of the current state as `checkpoints/step-<N>` (every rank calls it) and
 * keeps the newest `keep`. `beforeManifest` is a test hook (see run-training's crash hooks).
 */
export async function saveTrainingState(
  accelerator: Accelerator,
  saveModelPath: string,
  keep: number,
  source: {
    engine: TrainingEngine;
    scaler: LossScaler;
    identity: RunIdentity;
    progress: LoopProgress;
  },
  beforeManifest?: (step: number) => void,
): Promise<string> {
  const dropout = (await accelerator.group.gatherObject(
    source.engine.dropoutState() as unknown as JsonValue,
  )) as unknown as DropoutState[];
  const root = checkpointsRoot(saveModelPath);
  const dir = join(root, checkpointDirName(source.progress.step));
  await accelerator.saveState(dir, async (tmp) => {
    const optimizer = source.engine.optimizerState();
    const state: SavedRunState = {
      identity: source.identity,
      progress: source.progress,
      dropout,
      lossScaler: source.scaler.state(),
      runId: runIdOf(accelerator.env.runToken),
    };
    await writeTrainingCheckpoint(
      tmp,
      {
        model: source.engine.toStateDict(),
        optimizer,
        state: state as unknown as JsonValue,
      },
      () => beforeManifest?.(source.progress.step),
    );
  });
  if (accelerator.isMainProcess) await pruneCheckpoints(root, keep);
  return dir;
}
