/**
 * The value of `--name=value` among the process's arguments, or `fallback`: the flags of the
 * benchmark tools run on their own (`http/profile.ts`, `http/paired.ts`, `in-process/instructions.ts`).
 *
 * @example
 * ```ts
 * const rounds = Number(flag('rounds', '40'));
 * ```
 */
export function flag(name: string, fallback: string): string {
  return process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}
