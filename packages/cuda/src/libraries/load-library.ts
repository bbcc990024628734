/**
 * koffi.load with errors that name the file: koffi's own message ("cannot open shared object
 * file") does not say which library was missing.
 */
import koffi, { type LibraryHandle } from 'koffi';

/** A bound native function. */
export type NativeFunction = ReturnType<LibraryHandle['func']>;

/** A shared library or symbol that could not be loaded; the message names the file. */
export class CudaLibraryError extends Error {
  override readonly name = 'CudaLibraryError';
}

/** Loads `path` (absolute, or a soname for the dynamic loader), naming it and `what` on failure. */
export function loadLibrary(path: string, what: string): LibraryHandle {
  try {
    return koffi.load(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CudaLibraryError(`cannot load ${what} from ${path}: ${reason}`);
  }
}

/** Binds `prototype` in `lib`, naming the library when the symbol is missing (wrong version). */
export function bindFunction(lib: LibraryHandle, path: string, prototype: string): NativeFunction {
  try {
    return lib.func(prototype);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CudaLibraryError(`${path}: ${reason} (${prototype})`);
  }
}
