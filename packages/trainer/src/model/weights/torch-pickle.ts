/**
 * What `torch.save(state_dict)` pickles, and nothing more: the allowlist of Python globals a
 * state dict may name (OrderedDict, the tensor/parameter rebuild functions, storage and dtype
 * names) and our own implementations of them. Any other global is refused by name.
 */
import type { ElementDtype } from './element-decode.js';
import {
  rememberBuilder,
  unpickle,
  type PyCallable,
  type PyConstant,
  type PyValue,
  type UnpickleResult,
} from './restricted-unpickler.js';

/** A storage named by a persistent id; its bytes live outside the pickle. */
export interface StorageRef {
  key: string;
  dtype: ElementDtype;
  /** Element count the pickle declares for the storage. */
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it: a strided view into a storage. */
export interface TensorRef {
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/** Wraps a TensorRef or StorageRef as a pickle value. */
interface Wrapped<T> {
  kind: 'object';
  value: T;
  tag: 'tensor' | 'storage';
}

const STORAGE_TYPES: Readonly<Record<string, ElementDtype>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const DTYPE_NAMES: Readonly<Record<string, ElementDtype>> = {
  float32: 'float32',
  float16: 'float16',
  bfloat16: 'bfloat16',
  float64: 'float64',
  int64: 'int64',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
};

function isIntList(value: PyValue): value is number[] {
  return (
    Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isSafeInteger(v))
  );
}

function asStorage(value: PyValue): StorageRef {
  const wrapped = value as Wrapped<StorageRef> | null;
  if (typeof wrapped !== 'object' || wrapped?.kind !== 'object' || wrapped.tag !== 'storage')
    throw new Error('tensor rebuild argument is not a storage');
  return wrapped.value;
}

function isTensor(value: PyValue): value is Wrapped<TensorRef> & PyValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    'kind' in value &&
    value.kind === 'object' &&
    (value as Wrapped<unknown>).tag === 'tensor'
  );
}

function rebuildTensor(
  storage: PyValue,
  offset: PyValue,
  shape: PyValue,
  stride: PyValue,
  dtype?: ElementDtype,
): PyValue {
  if (
    typeof offset !== 'number' ||
    !isIntList(shape) ||
    !isIntList(stride) ||
    shape.length !== stride.length
  )
    throw new Error('tensor rebuild arguments (offset, size, stride) are malformed');
  let ref = asStorage(storage);
  if (dtype && dtype !== ref.dtype) ref = { ...ref, dtype };
  const tensor: Wrapped<TensorRef> = {
    kind: 'object',
    tag: 'tensor',
    value: { storage: ref, offset, shape, stride },
  };
  return tensor as PyValue;
}

function callable(
  qualifiedName: string,
  call: (args: PyValue[]) => PyValue,
  build?: PyCallable['build'],
): PyCallable {
  return { kind: 'callable', qualifiedName, call, build };
}

const orderedDict: PyCallable = callable(
  'collections.OrderedDict',
  (args) => {
    const map = new Map<PyValue, PyValue>();
    // Older picklers pass the items as one list of [key, value] pairs.
    if (args.length === 1 && Array.isArray(args[0]))
      for (const pair of args[0])
        if (Array.isArray(pair) && pair.length === 2) map.set(pair[0]!, pair[1]!);
    return rememberBuilder(map, orderedDict);
  },
  // The state is the dict's attributes (`_metadata`: module versions), which we do not need.
  (target) => target,
);

const tensorFromParameter = (args: PyValue[]): PyValue => {
  if (!isTensor(args[0]!)) throw new Error('parameter rebuild argument is not a tensor');
  return args[0]!;
};

const CALLABLES: Readonly<Record<string, PyCallable>> = {
  'collections.OrderedDict': orderedDict,
  'torch._utils._rebuild_tensor': callable('torch._utils._rebuild_tensor', (a) =>
    rebuildTensor(a[0]!, a[1]!, a[2]!, a[3]!),
  ),
  'torch._utils._rebuild_tensor_v2': callable('torch._utils._rebuild_tensor_v2', (a) =>
    rebuildTensor(a[0]!, a[1]!, a[2]!, a[3]!),
  ),
  'torch._utils._rebuild_tensor_v3': callable('torch._utils._rebuild_tensor_v3', (a) => {
    const dtype = a[6] as PyConstant | undefined;
    if (
      dtype?.kind !== 'constant' ||
      typeof dtype.value !== 'string' ||
      !(dtype.value in DTYPE_NAMES)
    )
      throw new Error('_rebuild_tensor_v3 dtype argument is not a supported torch dtype');
    return rebuildTensor(a[0]!, a[1]!, a[2]!, a[3]!, DTYPE_NAMES[dtype.value]);
  }),
  'torch._utils._rebuild_parameter': callable(
    'torch._utils._rebuild_parameter',
    tensorFromParameter,
  ),
  'torch._utils._rebuild_parameter_with_state': callable(
    'torch._utils._rebuild_parameter_with_state',
    tensorFromParameter,
  ),
  'torch._tensor._rebuild_from_type_v2': callable('torch._tensor._rebuild_from_type_v2', (a) => {
    const [func, type, args] = a;
    const typeName = (type as PyConstant | undefined)?.qualifiedName;
    if (typeName !== 'torch.Tensor' && typeName !== 'torch.nn.parameter.Parameter')
      throw new Error('_rebuild_from_type_v2 type is not torch.Tensor or Parameter');
    if (!Object.values(CALLABLES).includes(func as PyCallable) || !Array.isArray(args))
      throw new Error('_rebuild_from_type_v2 function is not an allowed tensor rebuild');
    return (func as PyCallable).call(args);
  }),
};

function constant(qualifiedName: string, value: unknown): PyConstant {
  return { kind: 'constant', qualifiedName, value };
}

/** The Python globals a torch state-dict pickle may name, for error messages. */
export const ALLOWED_TORCH_GLOBALS: readonly string[] = [
  ...Object.keys(CALLABLES),
  ...Object.keys(STORAGE_TYPES).map((n) => `torch.${n}`),
  ...Object.keys(DTYPE_NAMES).map((n) => `torch.${n}`),
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
];

/** Resolves `module.name` against the allowlist; throws naming the global otherwise. */
export function resolveTorchGlobal(module: string, name: string): PyCallable | PyConstant {
  const qualified = `${module}.${name}`;
  const known = CALLABLES[qualified];
  if (known) return known;
  if (module === 'torch' && name in STORAGE_TYPES) return constant(qualified, STORAGE_TYPES[name]);
  if (module === 'torch' && name in DTYPE_NAMES) return constant(qualified, name);
  if (qualified === 'torch.Tensor' || qualified === 'torch.nn.parameter.Parameter')
    return constant(qualified, null);
  throw new Error(
    `pickle global "${qualified}" is not allowed: a state dict may only name collections.OrderedDict, torch tensor/parameter rebuild functions and torch storage/dtype types; nothing from the file was run`,
  );
}

/**
 * Persistent ids as torch writes them: `('storage', torch.XStorage, key, location, numel)`
 * (zip format) or with a trailing view-metadata field (legacy format, must be None).
 */
function storageFromPersistentId(pid: PyValue, seen: Map<string, Wrapped<StorageRef>>): PyValue {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5)
    throw new Error(`persistent id ${describe(pid)} is not a torch storage reference`);
  const [, type, key, , numel, view] = pid;
  const dtype =
    (type as PyConstant | null)?.kind === 'constant' ? (type as PyConstant).value : undefined;
  if (typeof dtype !== 'string' || !Object.values(STORAGE_TYPES).includes(dtype as ElementDtype))
    throw new Error('storage reference does not name a torch storage type');
  if (
    typeof key !== 'string' ||
    typeof numel !== 'number' ||
    !Number.isSafeInteger(numel) ||
    numel < 0
  )
    throw new Error('storage reference has a malformed key or size');
  if (view !== undefined && view !== null)
    throw new Error('storage views (legacy view metadata) are not supported');
  const existing = seen.get(key);
  if (existing) return existing as PyValue;
  const wrapped: Wrapped<StorageRef> = {
    kind: 'object',
    tag: 'storage',
    value: { key, dtype: dtype as ElementDtype, numel },
  };
  seen.set(key, wrapped);
  return wrapped as PyValue;
}

function describe(value: PyValue): string {
  if (value === null) return 'None';
  if (Array.isArray(value)) return `(${value.map(describe).join(', ')})`;
  if (typeof value === 'object' && 'kind' in value)
    return value.kind === 'object' ? '<object>' : value.qualifiedName;
  if (value instanceof Map) return 'dict';
  return JSON.stringify(typeof value === 'bigint' ? value.toString() : value);
}

/** A state-dict pickle decoded into tensor references (data not yet read). */
export interface PickledStateDict {
  tensors: Map<string, TensorRef>;
  end: number;
}

/** Unpickles data-only values (no globals at all): the legacy format's header pickles. */
export function unpicklePlain(bytes: Uint8Array, start: number): UnpickleResult {
  return unpickle(bytes, start, {
    resolveGlobal: (module, name) => {
      throw new Error(
        `pickle global "${module}.${name}" is not allowed here; nothing from the file was run`,
      );
    },
  });
}

/** Unpickles a torch state dict (`OrderedDict[str, Tensor]`) starting at `start`. */
export function unpickleStateDict(bytes: Uint8Array, start: number): PickledStateDict {
  const storages = new Map<string, Wrapped<StorageRef>>();
  const { value, end } = unpickle(bytes, start, {
    resolveGlobal: resolveTorchGlobal,
    persistentLoad: (pid) => storageFromPersistentId(pid, storages),
  });
  if (!(value instanceof Map))
    throw new Error(`the pickle holds ${describe(value)}, not a state dict`);
  const tensors = new Map<string, TensorRef>();
  for (const [key, tensor] of value) {
    if (typeof key !== 'string') throw new Error(`state dict key ${describe(key)} is not a string`);
    if (!isTensor(tensor))
      throw new Error(`state dict entry "${key}" is ${describe(tensor)}, not a tensor`);
    tensors.set(key, tensor.value);
  }
  return { tensors, end };
}
