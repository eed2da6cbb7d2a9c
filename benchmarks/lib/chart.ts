/** One bar of the chart. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** tokenguard's bars are drawn in the accent colour. */
  readonly ours: boolean;
}

/** A panel: bars on one scale, with the target drawn as a dashed line. */
export interface Panel {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly target?: number;
  /** How values are printed, e.g. `(v) => v.toFixed(2)`. */
  readonly format: (value: number) => string;
}

const WIDTH = 760;
const LABEL_WIDTH = 250;
const VALUE_WIDTH = 70;
const BAR_HEIGHT = 16;
const BAR_GAP = 5;
const TITLE_HEIGHT = 26;
const PANEL_GAP = 18;

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Draws horizontal bar panels as a standalone SVG document (no dependency, no script). */
export function drawChart(title: string, subtitle: string, panels: readonly Panel[]): string {
  const parts: string[] = [];
  let y = 54;
  const plotWidth = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
  for (const panel of panels) {
    const bars = panel.bars.filter((bar) => Number.isFinite(bar.value));
    const max = Math.max(panel.target ?? 0, ...bars.map((bar) => bar.value)) * 1.05 || 1;
    const x0 = LABEL_WIDTH;
    parts.push(`<text x="10" y="${y + 16}" class="panel">${escapeXml(panel.title)}</text>`);
    y += TITLE_HEIGHT;
    const top = y;
    for (const bar of bars) {
      const width = Math.max(1, (bar.value / max) * plotWidth);
      parts.push(
        `<text x="${x0 - 8}" y="${y + 12}" class="label" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${x0}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" class="${bar.ours ? 'ours' : 'peer'}"/>`,
        `<text x="${(x0 + width + 6).toFixed(1)}" y="${y + 12}" class="value">${escapeXml(panel.format(bar.value))}</text>`,
      );
      y += BAR_HEIGHT + BAR_GAP;
    }
    if (panel.target !== undefined) {
      const x = x0 + (panel.target / max) * plotWidth;
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${top - 4}" x2="${x.toFixed(1)}" y2="${y}" class="target"/>`,
        `<text x="${(x + 3).toFixed(1)}" y="${top - 6}" class="target-label">target ${escapeXml(panel.format(panel.target))}</text>`,
      );
    }
    y += PANEL_GAP;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<title>${escapeXml(title)}</title>`,
    '<style>',
    '.title{font-size:17px;font-weight:600;fill:#111}.subtitle{font-size:11px;fill:#555}',
    '.panel{font-size:13px;font-weight:600;fill:#222}.label{font-size:11px;fill:#333}',
    '.value{font-size:11px;fill:#111}.ours{fill:#2f6fde}.peer{fill:#a7adb7}',
    '.target{stroke:#d9480f;stroke-width:1.5;stroke-dasharray:4 3}.target-label{font-size:10px;fill:#d9480f}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="10" y="22" class="title">${escapeXml(title)}</text>`,
    `<text x="10" y="40" class="subtitle">${escapeXml(subtitle)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
