/**
 * A `Set` that cannot change once built: `add`, `delete` and `clear` throw the `TypeError` that
 * `refusal` makes (it names what the set is and how to get one that changes). For sets handed out to
 * callers and read on every request: `auth.scopes` (shared between answers) and the sets of
 * `validator.options`. A set built empty (`new set.constructor()`, as deep-clone helpers do) stays
 * writable, so such helpers can fill their copy.
 *
 * @example
 * ```ts
 * const typ = new ReadOnlySet(['at+jwt'], () => new TypeError('validator.options is read-only'));
 * typ.add('jwt'); // throws that TypeError
 * ```
 */
export class ReadOnlySet<T> extends Set<T> {
  /** Set once the values are in; `undefined` for a set built empty. */
  readonly #refusal: (() => TypeError) | undefined;

  constructor(values?: Iterable<T>, refusal: () => TypeError = refuseChange) {
    super();
    if (values === undefined) {
      this.#refusal = undefined;
      return;
    }
    for (const value of values) super.add(value);
    this.#refusal = refusal;
    Object.freeze(this);
  }

  override add(value: T): this {
    if (this.#refusal !== undefined) throw this.#refusal();
    return super.add(value);
  }

  override delete(value: T): boolean {
    if (this.#refusal !== undefined) throw this.#refusal();
    return super.delete(value);
  }

  override clear(): void {
    if (this.#refusal !== undefined) throw this.#refusal();
    super.clear();
  }
}

const refuseChange = (): TypeError => new TypeError('tokenguard: this set is read-only');
