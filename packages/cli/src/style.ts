/** ANSI styling that turns itself off when the output is not a terminal or `NO_COLOR` is set. */
export interface Style {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/**
 * Whether to colour: only on a TTY, and never when `NO_COLOR` is set to a non-empty value
 * (https://no-color.org).
 *
 * @example
 * ```ts
 * shouldColour(process.stdout, process.env); // false when piped
 * ```
 */
export function shouldColour(
  stream: { readonly isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

/**
 * A {@link Style} that wraps text in ANSI codes when `enabled`, and returns it unchanged otherwise.
 *
 * @example
 * ```ts
 * const style = createStyle(shouldColour(process.stdout, process.env));
 * console.log(style.red('rejected'));
 * ```
 */
export function createStyle(enabled: boolean): Style {
  const wrap =
    (open: number, close: number) =>
    (text: string): string =>
      enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}
