import { OperationalError } from '@ner-launch/common';

/** The error every checkpoint reader and writer throws for bad input: it names the file. */
export class CheckpointError extends OperationalError {
  /** The offending file or directory. */
  readonly file: string;

  constructor(file: string, problem: string, options?: { cause?: unknown }) {
    super(`${file}: ${problem}`, options);
    this.name = 'CheckpointError';
    this.file = file;
  }
}
