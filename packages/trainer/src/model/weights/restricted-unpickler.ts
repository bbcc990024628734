/**
 * A restricted Python unpickler: a stack machine for the data-only subset of the pickle
 * opcodes (containers, numbers, strings, memo, persistent ids). It never imports or calls
 * anything by itself: every GLOBAL goes through `resolveGlobal`, which decides what a name
 * means (or refuses it), and REDUCE/BUILD only act on values that hook returned.
 */

import { OperationalError } from '@ner-launch/common';

/** A callable stand-in for an allowed Python global; `call` is our own code, never the file's. */
export interface PyCallable {
  kind: 'callable';
  qualifiedName: string;
  call(args: PyValue[]): PyValue;
  /** Applies BUILD state to an object this callable produced; absent means BUILD is refused. */
  build?(target: PyValue, state: PyValue): PyValue;
}

/** A Python global that is data rather than code (e.g. `torch.FloatStorage`, `torch.float16`). */
export interface PyConstant {
  kind: 'constant';
  qualifiedName: string;
  value: unknown;
}

/** Values the machine produces: tuples and lists are arrays, dicts are Maps. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PyValue[]
  | Map<PyValue, PyValue>
  | PyCallable
  | PyConstant
  | { kind: 'object'; value: unknown };

/** Hooks that give meaning to globals and persistent ids. */
export interface UnpicklerHooks {
  /** Returns the allowed meaning of `module.name`, or throws naming it. */
  resolveGlobal(module: string, name: string): PyCallable | PyConstant;
  /** Resolves a persistent id (torch uses these for tensor storages). */
  persistentLoad?(pid: PyValue): PyValue;
}

/** Raised for anything outside the subset; `offset` is the byte of the offending opcode. */
export class UnpicklingError extends OperationalError {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
    this.name = 'UnpicklingError';
  }
}

// Opcodes outside the subset get their pickletools name in errors, so users can tell what the
// file tried to do (INST/OBJ/NEWOBJ build arbitrary objects, EXT* use the extension registry).
const REFUSED_OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x55: 'SHORT_BINSTRING',
  0x54: 'BINSTRING',
  0x56: 'UNICODE',
  0x8b: 'LONG4',
  0x90: 'ADDITEMS',
  0x8f: 'EMPTY_SET',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x67: 'GET',
  0x70: 'PUT',
  0x32: 'DUP',
};

// Objects made by a PyCallable remember it, so BUILD can route state back to the right code.
const builders = new WeakMap<object, PyCallable>();

/** Marks `value` as produced by `callable`, so BUILD on it calls `callable.build`. */
export function rememberBuilder<T extends PyValue>(value: T, callable: PyCallable): T {
  if (typeof value === 'object' && value !== null) builders.set(value, callable);
  return value;
}

/** Result of one pickle: its value and the offset just after its STOP opcode. */
export interface UnpickleResult {
  value: PyValue;
  end: number;
}

/** Runs one pickle starting at `start` in `bytes`. */
export function unpickle(bytes: Uint8Array, start: number, hooks: UnpicklerHooks): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  // MARK is modelled as CPython does: the current stack is set aside and a fresh one started.
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  let pos = start;
  let opStart = start;

  const fail = (message: string): never => {
    throw new UnpicklingError(message, opStart);
  };
  const need = (n: number): void => {
    if (pos + n > bytes.byteLength) fail('pickle data ends early (truncated file?)');
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length field too large');
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line');
    const text = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const text = (n: number): string => {
    const raw = take(n);
    try {
      return utf8.decode(raw);
    } catch {
      return fail('string is not valid UTF-8');
    }
  };
  const pop = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) fail('no MARK to pop to');
    stack = previous!;
    return items;
  };
  const asMap = (v: PyValue): Map<PyValue, PyValue> =>
    v instanceof Map ? v : fail('SETITEM(S) on a value that is not a dict');
  const asList = (v: PyValue): PyValue[] =>
    Array.isArray(v) ? v : fail('APPEND(S) on a value that is not a list');
  const memoGet = (i: number): PyValue =>
    memo.has(i) ? memo.get(i)! : fail(`memo key ${i} not set`);
  const signedLong = (data: Uint8Array): number | bigint => {
    if (data.length === 0) return 0;
    let value = 0n;
    for (let i = data.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]!);
    if (data[data.length - 1]! & 0x80) value -= 1n << BigInt(8 * data.length);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  };

  for (;;) {
    opStart = pos;
    const op = u8();
    try {
      step(op);
    } catch (error) {
      if (error instanceof UnpicklingError) throw error;
      // Hook refusals (a disallowed global, a bad tensor) get the opcode's offset too.
      throw new UnpicklingError((error as Error).message, opStart);
    }
    if (op === 0x2e) return { value: pop(), end: pos };
  }

  function step(op: number): void {
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('unknown pickle protocol');
        break;
      case 0x95: // FRAME: framing is only a read-ahead hint
        u64();
        break;
      case 0x2e: // STOP: the caller pops the result
        break;
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
      case 0x6c: {
        // LIST. popMark swaps `stack`, so take the items before naming the array to push onto.
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        const map = new Map<PyValue, PyValue>();
        for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        stack.push(map);
        break;
      }
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x4a: // BININT
        need(4);
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(signedLong(take(u8())));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
        if (
          typeof callable !== 'object' ||
          callable === null ||
          !('kind' in callable) ||
          callable.kind !== 'callable'
        )
          fail('REDUCE on a value that is not an allowed callable');
        stack.push((callable as PyCallable).call(args as PyValue[]));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = pop();
        const builder = builders.get(target as object);
        if (!builder?.build) fail('BUILD on an object that does not accept state');
        stack.push(builder!.build!(target, state));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!hooks.persistentLoad) fail('persistent id without a persistent loader');
        stack.push(hooks.persistentLoad!(pid));
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        asMap(top()).set(key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const map = asMap(top());
        for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i]!, items[i + 1]!);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        asList(top()).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      default: {
        const name = REFUSED_OPCODE_NAMES[op];
        fail(
          `pickle opcode 0x${op.toString(16).padStart(2, '0')}${name ? ` (${name})` : ''} is not allowed: only the opcodes torch.save writes for a state dict are`,
        );
      }
    }
  }
}
