import { OperationalError } from '@ner-launch/common';

/** A set-up failure whose one-line message says what to install or pass. */
export class SetupError extends OperationalError {
  /** Output of the tool that failed (compiler errors), shown above the one-line message. */
  readonly detail?: string;

  constructor(message: string, detail?: string) {
    super(message);
    this.name = 'SetupError';
    this.detail = detail;
  }
}
