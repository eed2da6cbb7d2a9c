import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A credential held so that logging, `JSON.stringify` or `util.inspect` of the object that holds it
 * (resolved options, state snapshots) never prints it. Only {@link Redacted.reveal} returns the value.
 */
export class Redacted<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  /** The credential itself: call only where it is sent or used. */
  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
