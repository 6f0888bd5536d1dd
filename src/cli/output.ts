/** Text output: kubectl-like tables and JSON. */
import { printable } from '../util/printable.js';

export function table(headers: string[], rows: Array<Array<string | number | undefined>>): string {
  // Cells may quote the user's text: escaped, so a value with a newline cannot forge a row.
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === undefined ? '<none>' : printable(c, 10_000))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n') + '\n';
}

export const json = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms} ms`;
}

export const OUTPUT_FORMATS = ['wide', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number] | undefined;

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return undefined;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(value)) throw new Error(`unknown output format '${value}'; use -o wide or -o json`);
  return value as OutputFormat;
}
