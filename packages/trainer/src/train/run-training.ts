/**
 * `ner-launch train` from validated options to outputs, on every worker (1..N processes):
 * data → tokenizer and model → param groups, AdamW and schedule → epoch loop (training-loop.ts)
 * → best model reloaded → test → metrics.json, history.csv, plots and report.html (rank 0).
 * The steps live in their own modules; this file only orders them.
 */
import { existsSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { log as processLog, type Logger, makeDirectories, UsageError } from '@ner-launch/common';
import { Accelerator, fromEnv, type MixedPrecision } from '@ner-launch/worker';
import { initBackendProfile } from '../backend.js';
import type { BackendProfile } from '../backends/profile.js';
import type { TrainingEngine } from '../engine/training-engine.js';
import { TfjsEngine } from '../engine/tfjs-engine.js';
import { createCudaEngine, cudaUnavailable } from '../engine/cuda-engine.js';
import type { BertForTokenClassification } from '../model/token-classification.js';
import type { AdamWGroup } from '../optim/adamw.js';
import type { Precision } from '@ner-launch/cuda';
import {
  classificationReport,
  formatClassificationReport,
} from '../metrics/classification-report.js';
import { nerScores } from '../metrics/ner-scores.js';
import { bertConfigToJson } from '../model/config.js';
import { saveCheckpoint } from '../model/weights/checkpoint-dir.js';
import {
  createLossScaler,
  planMixedPrecision,
  type MixedPrecisionPlan,
} from '../mixed-precision.js';
import { BatchPlanner, longestSequence } from '../memory/batch-planner.js';
import { SentenceEncoder } from '../tokenizer/sentence-encoder.js';
import type { Sentence } from '../data/sentence.js';
import { evaluate, modelEvaluator, type EncodedSet } from './evaluation.js';
import { writeHistoryFiles, type EpochRecord, type TestResults } from './history.js';
import { updateStepLog } from './step-log.js';
import { buildLrSchedule, optimizerStepsPerEpoch, type LrSchedule } from './lr-schedule.js';
import { loadModelForTraining, loadSavedModel, type ModelBundle } from './model-setup.js';
import { planParamGroups } from './param-groups.js';
import { writePlots } from './plots.js';
import { writeReport } from './report.js';
import {
  chooseResumeDir,
  restoreFromCheckpoint,
  saveTrainingState,
  type RunIdentity,
} from './resume.js';
import { checkSaveModelPathWritable, type TrainOptions } from './train-options.js';
import { checkSaveDirectory } from './save-directory.js';
import { trainLoop, type LoopProgress, type LoopResult } from './training-loop.js';
import { loadTrainingData, type TrainingData } from './training-data.js';

/** What a finished run reports (every rank gets the same figures). */
export interface TrainingOutcome {
  history: EpochRecord[];
  test: TestResults | null;
  bestEpoch: number;
  stoppedEarly: boolean;
  optimizerSteps: number;
  validationCounts: number[];
  wallSeconds: number;
}

/** Test hooks; production callers pass nothing. */
export interface RunTrainingDeps {
  accelerator?: Accelerator;
  log?: Logger;
  /** Called after every optimizer step (and its checkpoint); may throw to interrupt. */
  afterOptimizerStep?: (step: number) => void | Promise<void>;
}

/**
 * Fault-injection hooks for the launcher-level resume tests, read from the environment and
 * active only on the first attempt (NER_RESTART_COUNT 0), so a restarted group runs clean:
 * NER_TEST_CRASH_AFTER_STEP=K[:RANK] kills rank RANK (default 0) with SIGKILL right after
 * optimizer step K; NER_TEST_CRASH_IN_CHECKPOINT=K kills rank 0 while it writes the checkpoint
 * of step K, after its data files and before its manifest.
 */
function testCrashHooks(accelerator: Accelerator): {
  afterStep?: (step: number) => void;
  inCheckpoint?: (step: number) => void;
} {
  if (accelerator.env.restartCount > 0) return {};
  const kill = () => process.kill(process.pid, 'SIGKILL');
  const hooks: { afterStep?: (step: number) => void; inCheckpoint?: (step: number) => void } = {};
  const after = process.env.NER_TEST_CRASH_AFTER_STEP;
  if (after) {
    const [step, rank] = after.split(':').map(Number);
    if (accelerator.rank === (rank ?? 0))
      hooks.afterStep = (s) => (s === step ? kill() : undefined);
  }
  const during = process.env.NER_TEST_CRASH_IN_CHECKPOINT;
  if (during && accelerator.isMainProcess)
    hooks.inCheckpoint = (s) => (s === Number(during) ? kill() : undefined);
  return hooks;
}

function encodeSet(encoder: SentenceEncoder, sentences: Sentence[]): EncodedSet {
  return { sentences, encoded: sentences.map((s) => encoder.encode(s)) };
}

/**
 * Writes the best model into save_model_path as HF's save_pretrained does (config.json,
 * model.safetensors, tokenizer files beside the run's other outputs). The checkpoint is built
 * complete in a temp directory first, then its files are renamed in one by one, config.json
 * last, so the directory never holds weights without their config or the user's other files
 * get replaced.
 */
async function saveBestModel(
  dir: string,
  model: Pick<TrainingEngine, 'config' | 'toStateDict'>,
  labels: readonly string[],
  tokenizer: Parameters<typeof saveCheckpoint>[1]['tokenizer'],
): Promise<void> {
  const staging = join(dir, '.best-model-staging');
  await rm(staging, { recursive: true, force: true });
  await saveCheckpoint(staging, {
    config: bertConfigToJson(model.config),
    stateDict: model.toStateDict(),
    labels,
    tokenizer,
  });
  const files = (await readdir(staging)).sort((a, b) =>
    a === 'config.json' ? 1 : b === 'config.json' ? -1 : a.localeCompare(b),
  );
  for (const file of files) await rename(join(staging, file), join(dir, file));
  await rm(staging, { recursive: true, force: true });
}

/** `--mixed_precision` (and `--tf32`) on the cuda engine, which has real half-precision math. */
function planCudaPrecision(
  mode: MixedPrecision,
  tf32: boolean,
): { plan: MixedPrecisionPlan; precision: Precision } {
  const plan = planMixedPrecision(mode, 'cpu');
  const math =
    mode === 'no'
      ? `float32 math${tf32 ? ' with TF32 tensor-core matmuls (--tf32)' : ' (TF32 off; --tf32 allows it)'}`
      : `${mode} math on tensor cores with fp32 master weights and fp32 accumulation`;
  return {
    plan: {
      ...plan,
      halfMatmul: mode !== 'no',
      message: `${plan.message.split(';')[0]}; the cuda engine runs ${math}`,
    },
    precision: mode === 'no' ? (tf32 ? 'tf32' : 'fp32') : mode,
  };
}

/** Hands a host-assembled model to the GPU (the tfjs copy is freed). */
async function moveToCuda(
  model: BertForTokenClassification,
  groups: AdamWGroup[],
  precision: Precision,
  seed: number,
  cudaHome: string | undefined,
): Promise<TrainingEngine> {
  const stateDict = model.toStateDict();
  const trainable = model.trainableNames();
  const { config } = model;
  model.dispose();
  return createCudaEngine(config, stateDict, trainable, groups, { precision, seed, cudaHome });
}

/** This worker's place in the run: its group, backend and mixed precision. */
interface Worker {
  accelerator: Accelerator;
  /** Logs of the main process (others log warnings only). */
  mainLog: Logger;
  /** True: the cuda engine trains, the tfjs profile only assembles the model on the host. */
  cuda: boolean;
  profile: BackendProfile;
  /** The backend named in logs and the report (`cuda` or the tfjs backend). */
  backend: string;
  threads: number;
  precision: MixedPrecisionPlan;
  /** The cuda engine's math precision. */
  cudaPrecision?: Precision;
}

/** The tokenized data and the model about to be trained. */
interface Prepared {
  data: TrainingData;
  tokenizer: ModelBundle['tokenizer'];
  encoder: SentenceEncoder;
  train: EncodedSet;
  val: EncodedSet;
  test: EncodedSet;
  engine: TrainingEngine;
  /** Base learning rate per optimizer group. */
  baseLrs: number[];
  /** Memory plans per batch shape (tfjs backends). */
  planner?: BatchPlanner;
  schedule: LrSchedule;
}

/** The test set's figures under the best model. */
interface TestFigures {
  results: TestResults;
  reportText: string;
}

/** Runs a whole training job on this worker. */
export async function runTraining(
  options: TrainOptions,
  deps: RunTrainingDeps = {},
): Promise<TrainingOutcome> {
  const started = Date.now();
  const worker = await startWorker(options, deps);
  const { accelerator } = worker;
  try {
    // A save folder holding the user's own files is refused before anything is written.
    if (accelerator.isMainProcess)
      await checkSaveDirectory(options.save_model_path, {
        overwrite: options.overwrite_output_dir,
        resuming: options.resume_from_checkpoint !== undefined,
      });
    accelerator.setSeed(options.seed);
    worker.mainLog.info(
      `ner-launch train: ${accelerator.worldSize} process(es), backend ${worker.backend}${worker.profile.name === 'wasm' ? '' : ` (${worker.threads} thread(s) per process)`}, batch ${options.batch_size} per process`,
    );
    worker.mainLog.info(worker.precision.message);
    const resumeDir = await chooseResumeDir(
      accelerator,
      options.resume_from_checkpoint,
      options.save_model_path,
      worker.mainLog,
    );
    const prepared = await prepareTraining(options, worker);
    const result = await trainAndCheckpoint(options, worker, prepared, resumeDir, deps);
    prepared.engine.dispose();
    const test = await testBestModel(options, worker, prepared);
    const wallSeconds = (Date.now() - started) / 1000;
    if (accelerator.isMainProcess)
      await writeOutputs(options, worker, prepared, result, test, wallSeconds);
    await accelerator.waitForEveryone();
    return {
      history: result.history,
      test: test.results,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      optimizerSteps: result.optimizerSteps,
      validationCounts: result.validationCounts,
      wallSeconds,
    };
  } catch (error) {
    // A rank that fails on its own stops its peers at once, naming itself (issue 20).
    if (!deps.accelerator) await accelerator.abort(error);
    throw error;
  } finally {
    if (!deps.accelerator) await accelerator.end();
  }
}

/**
 * Checks what can fail before joining the group (an unwritable output folder, a missing GPU),
 * initialises the backend and joins the group with the launch's mixed precision.
 */
async function startWorker(options: TrainOptions, deps: RunTrainingDeps): Promise<Worker> {
  const log = deps.log ?? processLog;
  // Fail on an unwritable output folder before joining the group or reading any data.
  const env = deps.accelerator?.env ?? fromEnv();
  if (env.rank === 0) await checkSaveModelPathWritable(options.save_model_path);
  const threads =
    options.num_threads ?? Math.max(1, Math.floor(cpus().length / env.localWorldSize));
  const cuda = options.backend === 'cuda';
  if (cuda) {
    // Before any data is read: a machine without a GPU or the libraries fails in one line.
    const missing = await cudaUnavailable(options.cuda_home);
    if (missing) throw new UsageError(missing, { flag: 'backend' });
  }
  // The cuda engine assembles the model on the host: tfjs's plain-JS backend holds it meanwhile.
  const profile = await initBackendProfile(options.backend === 'cuda' ? 'cpu' : options.backend, {
    threads,
  });
  // The launch config's --mixed_precision reaches the Accelerator through the worker env; the
  // plan adds what the trainer does around its all-reduce (fp16 loss scaling, the log line).
  const accelerator = deps.accelerator ?? (await Accelerator.create());
  const mode = accelerator.mixedPrecision;
  const cudaPlan = cuda ? planCudaPrecision(mode, options.tf32) : undefined;
  return {
    accelerator,
    mainLog: accelerator.isMainProcess ? log : log.child({}, { level: 'warn' }),
    cuda,
    profile,
    backend: cuda ? 'cuda' : profile.name,
    threads,
    precision: cudaPlan?.plan ?? planMixedPrecision(mode, profile.name),
    cudaPrecision: cudaPlan?.precision,
  };
}

/** Data, tokenization, the memory plan, the model's engine and the learning-rate schedule. */
async function prepareTraining(options: TrainOptions, worker: Worker): Promise<Prepared> {
  const { accelerator, mainLog } = worker;
  const data = await loadTrainingData(options);
  mainLog.info(
    `Data: ${data.origin}; ${data.train.length}/${data.val.length}/${data.test.length} sentences; labels ${data.labels.join(' ')}`,
  );
  const { model, tokenizer } = await loadModelForTraining(options, data.labels);
  const encoder = new SentenceEncoder(tokenizer, data.labels, {
    maxLength: options.max_len,
    labelAllSubtokens: options.label_all_subtokens,
  });
  const train = encodeSet(encoder, data.train);
  const val = encodeSet(encoder, data.val);
  const test = encodeSet(encoder, data.test);
  mainLog.info(`Tokenized: ${encoder.describe()}`);
  const planner = worker.cuda
    ? undefined
    : planMemory(options, worker, model.config, train, val, test);
  const { engine, baseLrs } = await buildEngine(options, worker, model);

  const batchesPerEpoch = accelerator.prepare({
    datasetLength: train.encoded.length,
    batchSize: options.batch_size,
  }).batchesPerEpoch;
  const schedule = buildLrSchedule({
    ...options,
    stepsPerEpoch: optimizerStepsPerEpoch(batchesPerEpoch, options.gradient_accumulation_steps),
  });
  mainLog.info(
    `Schedule: ${schedule.kind}, ${schedule.stepsPerEpoch} optimizer steps per epoch, warmup ${schedule.warmupSteps}, total ${schedule.totalSteps}`,
  );
  engine.setDropoutSeed((options.seed + 7919 * accelerator.rank) >>> 0);
  return { data, tokenizer, encoder, train, val, test, engine, baseLrs, planner, schedule };
}

/**
 * The memory plan of the tfjs backends, made before the group trains anything: a batch that
 * cannot fit stops every rank here.
 */
function planMemory(
  options: TrainOptions,
  worker: Worker,
  config: BertForTokenClassification['config'],
  train: EncodedSet,
  val: EncodedSet,
  test: EncodedSet,
): BatchPlanner {
  const planner = new BatchPlanner({
    config,
    backend: worker.profile.name,
    localWorldSize: worker.accelerator.env.localWorldSize,
    limitBytes:
      options.memory_limit_mb === undefined ? undefined : options.memory_limit_mb * 2 ** 20,
    microBatchSize: options.micro_batch_size,
    recompute: options.recompute,
  });
  for (const line of planner.planUpFront([
    { mode: 'train', batchSize: options.batch_size, longest: longestSequence(train.encoded) },
    {
      mode: 'eval',
      batchSize: options.batch_size,
      longest: Math.max(longestSequence(val.encoded), longestSequence(test.encoded)),
    },
  ]))
    worker.mainLog.info(line);
  return planner;
}

/** Freezes layers, groups the trainable parameters for AdamW and builds the training engine. */
async function buildEngine(
  options: TrainOptions,
  worker: Worker,
  model: BertForTokenClassification,
): Promise<{ engine: TrainingEngine; baseLrs: number[] }> {
  const plan = planParamGroups(model.parameters.names(), options);
  model.setFrozen(plan.frozen);
  const trainable = new Set(model.trainableNames());
  const groups = plan.groups
    .map((g) => ({ ...g, params: g.params.filter((name) => trainable.has(name)) }))
    .filter((g) => g.params.length > 0);
  const adamwGroups = groups.map((g) => ({
    name: g.name,
    params: g.params,
    lr: g.lr,
    weightDecay: g.weightDecay,
  }));
  const engine: TrainingEngine = worker.cuda
    ? await moveToCuda(model, adamwGroups, worker.cudaPrecision!, options.seed, options.cuda_home)
    : new TfjsEngine(model, worker.profile, adamwGroups);
  if (plan.frozen.length > 0)
    worker.mainLog.info(
      `Frozen: ${plan.frozen.length} parameters (--freeze_layers ${options.freeze_layers})`,
    );
  return { engine, baseLrs: groups.map((g) => g.lr) };
}

/**
 * The epoch loop, resumed from `resumeDir` when given, with its outputs: the best model and
 * the metrics files after each epoch (rank 0), training checkpoints on every rank.
 */
async function trainAndCheckpoint(
  options: TrainOptions,
  worker: Worker,
  prepared: Prepared,
  resumeDir: string | undefined,
  deps: RunTrainingDeps,
): Promise<LoopResult> {
  const { accelerator, mainLog } = worker;
  const { engine, data, tokenizer, train } = prepared;
  const saveDir = options.save_model_path;
  const scaler = createLossScaler(worker.precision);
  const identity: RunIdentity = {
    seed: options.seed,
    world_size: accelerator.worldSize,
    batch_size: options.batch_size,
    gradient_accumulation_steps: options.gradient_accumulation_steps,
    train_sentences: train.encoded.length,
  };
  const resume = resumeDir
    ? await resumeFrom(resumeDir, saveDir, worker, { engine, scaler, identity })
    : undefined;
  const crash = testCrashHooks(accelerator);
  return trainLoop({
    accelerator,
    engine,
    baseLrs: prepared.baseLrs,
    schedule: prepared.schedule,
    options,
    labels: data.labels,
    train,
    val: prepared.val,
    padId: tokenizer.padId,
    log: mainLog,
    saveBest: async () => {
      if (accelerator.isMainProcess) {
        await makeDirectories(saveDir);
        await saveBestModel(saveDir, engine, data.labels, tokenizer);
      }
      await accelerator.waitForEveryone();
    },
    afterEpoch: async (history, steps) => {
      if (accelerator.isMainProcess) {
        await writeHistoryFiles(saveDir, history, null);
        await updateStepLog(saveDir, steps);
      }
    },
    resume,
    saveSteps: options.save_steps,
    checkpoint: async (progress) => {
      await saveTrainingState(
        accelerator,
        saveDir,
        options.save_total_limit,
        { engine, scaler, identity, progress },
        crash.inCheckpoint,
      );
    },
    mixedPrecision: { plan: worker.precision, scaler },
    planner: prepared.planner,
    afterOptimizerStep: deps.afterOptimizerStep ?? crash.afterStep,
  });
}

/** Restores the engine, loss scaler and loop position from the training checkpoint in `dir`. */
async function resumeFrom(
  dir: string,
  saveDir: string,
  worker: Worker,
  target: Parameters<typeof restoreFromCheckpoint>[2],
): Promise<LoopProgress> {
  const resume = await restoreFromCheckpoint(worker.accelerator, dir, target);
  // The best model so far lives in save_model_path, not in the training checkpoint.
  if (resume.stopping.bestEpoch > 0 && !existsSync(join(saveDir, 'config.json')))
    throw new UsageError(
      `--resume_from_checkpoint ${dir}: the run's best model (epoch ${resume.stopping.bestEpoch}) is not in --save_model_path ${saveDir}; resume into the save_model_path the checkpoint came from`,
      { flag: 'resume_from_checkpoint' },
    );
  worker.mainLog.info(
    resume.finished
      ? `Resumed after optimizer step ${resume.step}: training had finished, testing only`
      : `Resumed at epoch ${resume.epoch + 1}, batch ${resume.batch}, optimizer step ${resume.step}`,
  );
  return resume;
}

/** Tests the best model, reloaded from save_model_path as the reference does, and prints it. */
async function testBestModel(
  options: TrainOptions,
  worker: Worker,
  prepared: Prepared,
): Promise<TestFigures> {
  const { accelerator } = worker;
  // TODO(multi-node): ranks on other machines need the best model sent to them.
  const best = await loadSavedModel(options.save_model_path, options.seed);
  const bestEngine = worker.cuda
    ? await moveToCuda(best, [], worker.cudaPrecision!, options.seed, options.cuda_home)
    : undefined;
  const evaluated = await evaluate(bestEngine ?? modelEvaluator(best), prepared.test, {
    accelerator,
    labels: prepared.data.labels,
    batchSize: options.batch_size,
    padId: prepared.tokenizer.padId,
    label: 'Test',
    planner: prepared.planner,
  });
  bestEngine?.dispose();
  best.dispose();
  const scores = nerScores(evaluated.gold, evaluated.pred);
  const results: TestResults = { loss: evaluated.loss, ...scores };
  const reportText = formatClassificationReport(
    classificationReport(evaluated.gold, evaluated.pred, { zeroDivision: 1 }),
  );
  const f = (x: number): string => x.toFixed(3);
  accelerator.print(
    `\nTest loss ${f(results.loss)} | Test precision ${f(scores.overall_precision)} | Test recall ${f(scores.overall_recall)} | Test f1 score ${f(scores.overall_f1)} | Test accuracy ${f(scores.overall_accuracy)}\n` +
      `Test precision w/o O-tags ${f(scores.without_O.overall_precision)} | Test recall w/o O-tags ${f(scores.without_O.overall_recall)} | Test f1 score w/o O-tags ${f(scores.without_O.overall_f1)} | Test accuracy w/o O-tags ${f(scores.without_O.overall_accuracy)}\n\n` +
      reportText,
  );
  return { results, reportText };
}

/** Rank 0's final outputs: metrics with the test figures, plots and report.html. */
async function writeOutputs(
  options: TrainOptions,
  worker: Worker,
  prepared: Prepared,
  result: LoopResult,
  test: TestFigures,
  wallSeconds: number,
): Promise<void> {
  const saveDir = options.save_model_path;
  await writeHistoryFiles(saveDir, result.history, test.results);
  await writePlots(saveDir, result.history);
  await writeReport(saveDir, {
    history: result.history,
    test: test.results,
    classificationReportText: test.reportText,
    settings: {
      ...options,
      world_size: worker.accelerator.worldSize,
      backend: worker.backend,
      labels: prepared.data.labels,
      data: prepared.data.origin,
      tokenization: prepared.encoder.describe(),
      best_epoch: result.bestEpoch,
      stopped_early: result.stoppedEarly,
      optimizer_steps: result.optimizerSteps,
      wall_seconds: Number(wallSeconds.toFixed(1)),
    },
  });
  worker.mainLog.info(
    `Done in ${wallSeconds.toFixed(1)} s: best epoch ${result.bestEpoch}, test F1 ${test.results.overall_f1.toFixed(3)}; outputs in ${saveDir}`,
  );
}
