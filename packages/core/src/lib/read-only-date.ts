/** Every `Date.prototype` method that changes the date. */
const DATE_SETTERS = [
  'setTime',
  'setMilliseconds',
  'setUTCMilliseconds',
  'setSeconds',
  'setUTCSeconds',
  'setMinutes',
  'setUTCMinutes',
  'setHours',
  'setUTCHours',
  'setDate',
  'setUTCDate',
  'setMonth',
  'setUTCMonth',
  'setFullYear',
  'setUTCFullYear',
  'setYear',
] as const;

/**
 * A `Date` whose setters throw a `TypeError`: for dates handed to every request that shares one
 * answer (a cached auth's `expiresAt`), which `Object.freeze` does not protect (a date's time is an
 * internal slot, not a property). Reading it, `instanceof Date`, `JSON.stringify` and
 * `structuredClone` (which gives a plain, writable `Date`) work as for any date.
 *
 * @example
 * ```ts
 * const expiresAt = new ReadOnlyDate(exp * 1000);
 * expiresAt.setTime(0); // throws TypeError
 * ```
 */
export class ReadOnlyDate extends Date {
  constructor(ms: number) {
    super(ms);
    Object.freeze(this);
  }
}

for (const setter of DATE_SETTERS) {
  Object.defineProperty(ReadOnlyDate.prototype, setter, {
    value: function refuse(): never {
      throw new TypeError(
        `tokenguard: auth.expiresAt is read-only (copy it with new Date(auth.expiresAt) to change it; ${setter} refused)`,
      );
    },
    writable: false,
    enumerable: false,
    configurable: false,
  });
}
Object.freeze(ReadOnlyDate.prototype);
