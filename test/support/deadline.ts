/**
 * Settles with `promise`, or rejects once `ms` have passed (a hang is a failure, not a slow test); never
 * leaves a timer behind.
 *
 * @example
 * ```ts
 * const outcome = await withinDeadline(validator.validate(token), 2_000);
 * ```
 */
export async function withinDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
