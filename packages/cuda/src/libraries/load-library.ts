/**
 * koffi.load with errors that name the file: koffi's own message ("cannot open shared object
 * file") does not say which library was missing.
 */
import koffi from 'koffi';

/** A shared library or symbol that could not be loaded; the message names the file. */
export class CudaLibraryError extends Error {
  override readonly name = 'CudaLibraryError';
}

/** Loads `path` (absolute, or a soname for the dynamic loader), naming it and `what` on failure. */
export function loadLibrary(path: string, what: string): koffi.LibraryHandle {
  try {
    return koffi.load(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new CudaLibraryError(`cannot load ${what} from ${path}: ${reason}`);
  }
}

/** Binds `prototype` in `lib`, naming the library when the symbol is missing (wrong version). */
export function bindFunction(
  lib: koffi.LibraryHandle,
  path: string,
  prototype: string,
): koffi.KoffiFunction {
  try {
    return lib.func(prototype);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CudaLibraryError(`${path}: ${reason} (${prototype})`);
  }
}
