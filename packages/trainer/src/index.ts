/** Public surface of @ner-launch/trainer. */
export {
  initBackend,
  initBackendProfile,
  type BackendOptions,
  registerGradients,
  BACKEND_NAMES,
  type BackendName,
} from './backend.js';
export {
  backendProfile,
  currentBackendProfile,
  type BackendProfile,
  type ConcreteBackend,
} from './backends/profile.js';
export {
  extractEntities,
  InvalidTagError,
  SCORING_MODES,
  type EntitySpan,
  type ScoringMode,
} from './metrics/entity-spans.js';
export {
  averageScores,
  checkConsistentLength,
  classScores,
  countEntities,
  SequenceLengthError,
  tokenAccuracy,
  type AverageKind,
  type ClassCounts,
  type PrfScores,
  type ZeroDivision,
} from './metrics/seqeval.js';
export {
  classificationReport,
  formatClassificationReport,
  formatFixed,
  type ClassificationReport,
  type ClassificationReportOptions,
  type ReportRow,
} from './metrics/classification-report.js';
export {
  nerScores,
  seqevalResult,
  withoutOScores,
  type NerScores,
  type OverallScores,
  type SeqevalResult,
  type TypeScores,
} from './metrics/ner-scores.js';
export type { Sentence } from './data/sentence.js';
export { DataError, asDataError, type DataErrorSink } from './data/data-error.js';
export {
  LiteralSyntaxError,
  parseStrList,
  formatPythonStr,
  formatPythonStrList,
} from './data/python-literal.js';
export { isIobTag, entityType, countInvalidIobSequences } from './data/iob.js';
export { readCsvSentences, type ReadOptions } from './data/csv-reader.js';
export { formatCsvRecord, CSV_HEADER } from './data/csv-writer.js';
export { readConllSentences } from './data/conll-reader.js';
export { formatConllSentence } from './data/conll-writer.js';
export {
  SummaryCounter,
  orderLabels,
  compareCodePoints,
  type DatasetSummary,
} from './data/dataset-summary.js';
export {
  readSentences,
  readDataset,
  summarizeFile,
  writeSentences,
  formatOf,
  extensionOf,
  SENTENCE_FORMATS,
  type SentenceFormat,
  type LoadedDataset,
} from './data/dataset.js';
export { labelsFromSentences, checkLabelList, unknownTagErrors } from './data/label-set.js';
export {
  readSplits,
  SPLIT_NAMES,
  type SplitName,
  type DataSplits,
  type ReadSplitsOptions,
} from './data/splits.js';
export {
  splitDataset,
  seededShuffle,
  checkSplitRatios,
  type SplitRatios,
} from './data/dataset-split.js';
export {
  readTagMapping,
  mapTag,
  mapSentenceTags,
  type TagMapping,
  type MappingCounts,
} from './data/tag-mapping.js';
export {
  BertTokenizer,
  type EncodedWords,
  type EncodeOptions,
} from './tokenizer/bert-tokenizer.js';
export {
  BasicTokenizer,
  normalizeBertText,
  preTokenizeBert,
  type BasicTokenizerOptions,
} from './tokenizer/basic-tokenizer.js';
export {
  WordPiece,
  DEFAULT_WORDPIECE_OPTIONS,
  type WordPieceOptions,
} from './tokenizer/wordpiece.js';
export {
  loadTokenizerFiles,
  saveTokenizerFiles,
  parseVocab,
  SPECIAL_TOKEN_ROLES,
  type SpecialTokenRole,
  type TokenizerFiles,
} from './tokenizer/tokenizer-files.js';
export {
  alignLabels,
  wordPredictions,
  IGNORE_LABEL,
  type AlignOptions,
} from './tokenizer/label-alignment.js';
export {
  SentenceEncoder,
  type EncodedSentence,
  type EncodeSummary,
  type SentenceEncoderOptions,
} from './tokenizer/sentence-encoder.js';
export {
  TRAIN_FLAGS,
  checkSaveModelPathWritable,
  readTrainConfigFile,
  resolveTrainOptions,
  trainFlagYargsOptions,
  type SchedulerKind,
  type TrainBackend,
  type TrainFlagName,
  type TrainFlagYargsOption,
  type TrainOptions,
} from './train/train-options.js';
export { runTraining, type RunTrainingDeps, type TrainingOutcome } from './train/run-training.js';
export type {
  AccumulateOptions,
  BatchExecution,
  DropoutState,
  HostGradients,
  TrainingEngine,
} from './engine/training-engine.js';
export { TfjsEngine } from './engine/tfjs-engine.js';
export { BatchPlanner, longestSequence } from './memory/batch-planner.js';
export type { EpochRecord, MetricsFile, TestResults } from './train/history.js';
export type { StateDict, HostTensor, StoredDtype } from './model/weights/state-dict.js';
export { CheckpointError } from './checkpoint-error.js';
export {
  loadPretrained,
  saveCheckpoint,
  checkpointConfig,
  readJsonObjectFile,
  MODEL_CLASS,
  type LoadPretrainedOptions,
  type PretrainedCheckpoint,
  type CheckpointContents,
} from './model/weights/checkpoint-dir.js';
export {
  readSafetensors,
  readShardedSafetensors,
  parseSafetensors,
  writeSafetensors,
  writeSafetensorsFile,
  type SafetensorsContents,
} from './model/weights/safetensors.js';
export {
  readTorchCheckpoint,
  parseTorchCheckpoint,
  type TorchCheckpointContents,
} from './model/weights/torch-zip.js';
export { ALLOWED_TORCH_GLOBALS } from './model/weights/torch-pickle.js';
export { normaliseKey, normaliseKeys, type NormalisedKeys } from './model/weights/key-names.js';
export {
  tokenClassificationShapes,
  OPTIONAL_PARAMETERS,
  CLASSIFIER_PARAMETERS,
  type BertDimensions,
} from './model/weights/expected-parameters.js';
export {
  resolveHubModel,
  findCachedSnapshot,
  hubCacheDir,
  hubOffline,
  hubToken,
  isHubId,
  WEIGHT_FILES,
  type HubOptions,
} from './model/weights/hub-cache.js';
export {
  bertConfigToJson,
  ConfigError,
  HIDDEN_ACTS,
  parseBertConfig,
  readBertConfig,
  withLabels,
  type BertConfig,
  type HiddenAct,
} from './model/config.js';
export {
  BertForTokenClassification,
  type ForwardOptions,
  type FromStateDictOptions,
  type GradientOptions,
  type GradientResult,
  type Gradients,
  type LabelledBatch,
  type LoadReport,
  type TokenClassifierOutput,
} from './model/token-classification.js';
export { ParameterStore } from './model/parameter-store.js';
export { IGNORE_INDEX, tokenClassificationLoss } from './model/loss.js';
export {
  AdamW,
  adamwUpdate,
  type AdamWGroup,
  type AdamWOptions,
  type AdamWState,
  type ParameterAccess,
} from './optim/adamw.js';
export { clipGradNorm } from './optim/grad-clip.js';
export { parameterCounts } from './model/model-size.js';
export {
  estimateMemory,
  type BatchShape,
  type MemoryEstimate,
  type MemoryMode,
} from './memory/memory-estimate.js';
export {
  planMemory,
  describePlan,
  MemoryPlanError,
  WASM_HEADROOM_BYTES,
  type MemoryPlan,
  type MemoryPlanInput,
} from './memory/memory-plan.js';
export {
  withHeapGuard,
  isHeapExhaustion,
  HeapExhaustedError,
  type HeapGuardContext,
} from './memory/heap-guard.js';
export { wasmHeapBytes, WASM_HEAP_MAX_BYTES } from './memory/wasm-heap.js';
export { computeGradientsWithRecompute, type RecomputeOptions } from './memory/recompute.js';
export { lengthGroups, sliceCostModel } from './memory/length-groups.js';
export { DeviceGradientSink, HostGradientSink } from './model/gradient-sink.js';
export { installWasmBatchMatMul, uninstallWasmBatchMatMul } from './kernels/wasm-batch-matmul.js';
export {
  accumulateStepGradients,
  computeStepGradients,
  forwardLogitsInMicroBatches,
  sliceHostBatch,
  evaluateInMicroBatches,
  type BatchPredictions,
  type StepExecution,
  type MicroBatchOptions,
} from './memory/micro-batches.js';
export { type HostBatch } from './batches.js';
export {
  runPredict,
  PREDICT_FORMATS,
  type PredictFormat,
  type PredictSummary,
  type RunPredictOptions,
} from './predict/run-predict.js';
export {
  Predictor,
  checkTrained,
  type PredictOptions,
  type PredictResult,
} from './predict/predictor.js';
export { wordWindows, type WordWindow, type WindowSummary } from './predict/word-windows.js';
export { lengthBuckets } from './predict/length-buckets.js';
export { splitTextWords, wordSpanText, type TextWords } from './predict/text-words.js';
export { predictedText, type PredictedEntity, type PredictedText } from './predict/entity-lines.js';
export { LossScaler, type LossScalerOptions, type LossScalerState } from './optim/loss-scaler.js';
export {
  planMixedPrecision,
  createLossScaler,
  scaleLoss,
  finishGradients,
  type MixedPrecisionPlan,
  type GradientStepDecision,
} from './mixed-precision.js';
export {
  CheckpointIncompleteError,
  checkpointsRoot,
  latestCompleteCheckpoint,
  listCheckpointDirs,
  verifyTrainingCheckpoint,
} from './train/training-checkpoint.js';
