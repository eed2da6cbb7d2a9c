/** A result table: what every scenario returns and `run.ts` prints. */
export interface Table {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | number)[])[];
  /** Sentences printed under the table (what was measured, how). */
  readonly notes?: readonly string[];
}

/** Formats a table as GitHub markdown. */
export function formatTable(table: Table): string {
  const cell = (value: string | number): string =>
    (typeof value === 'number' ? formatNumber(value) : value).replace(/\|/g, '\\|');
  const lines = [
    `### ${table.title}`,
    '',
    `| ${table.columns.map(cell).join(' | ')} |`,
    `| ${table.columns.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
  if (table.notes !== undefined && table.notes.length > 0) lines.push('', ...table.notes);
  return lines.join('\n');
}

/** Thousands separated integers; two decimals below 10. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) < 10) return value.toFixed(2);
  return Math.round(value).toLocaleString('en-US');
}

/** `12,345 (0.97)`: ops/s with its ratio to a baseline (measured apart: see `pairedRatio`). */
export function withRatio(value: number | undefined, ratio: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  if (ratio === undefined || !Number.isFinite(ratio)) return formatNumber(value);
  return `${formatNumber(value)} (${ratio.toFixed(2)})`;
}
