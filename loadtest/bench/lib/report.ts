/** Plain-text tables for benchmark output. */

export type Cell = string | number;

function show(cell: Cell): string {
  if (typeof cell === 'string') return cell;
  if (!Number.isFinite(cell)) return '—';
  return Number.isInteger(cell) ? cell.toLocaleString('en-US') : cell.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** Columns left-aligned when the header is, numbers right-aligned. */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map(show));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[], numeric: readonly boolean[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const numericColumns = header.map((_, i) => rows.every((row) => typeof row[i] === 'number'));
  return [
    line(header, numericColumns),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...text.map((row) => line(row, numericColumns)),
  ].join('\n');
}
