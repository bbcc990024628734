import { UsageError } from '@ner-launch/common';

/** A problem in an input data file, located by file and line (and CSV record). */
export class DataError extends UsageError {
  constructor(
    /** Path of the file as given by the user. */
    readonly file: string,
    /** 1-based line where the problem (or its record/sentence) starts; 0 for whole-file problems. */
    readonly line: number,
    /** What is wrong, without the location. */
    readonly detail: string,
    /** 1-based CSV data record (header excluded), when the file is a CSV. */
    readonly record?: number,
  ) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(`${where}: ${record !== undefined ? `record ${record}: ` : ''}${detail}`);
    this.name = 'DataError';
  }
}

/** Receives each DataError when a reader runs in collect-all mode (instead of throwing). */
export type DataErrorSink = (error: DataError) => void;

/** Turns file-system errors (missing file, directory) into DataErrors naming the file. */
export function asDataError(error: unknown, file: string): unknown {
  if (error instanceof DataError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new DataError(file, 0, 'file not found');
  if (code === 'EISDIR') return new DataError(file, 0, 'is a directory, expected a data file');
  if (code === 'EACCES') return new DataError(file, 0, 'permission denied');
  return error;
}
