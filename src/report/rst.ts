import type { CellContext } from './columns';
import type { Table } from './table';

/**
 * The benchmarks page's csv-table block (docs/methods.md §6.1): two-space indentation, every cell
 * quoted, ", " separators, an empty line before the rows and before each footnote paragraph.
 */
export function renderRst(table: Table): string {
  const quote = (cell: string): string => `"${cell.replace(/"/g, '""')}"`;
  const ctx: CellContext = { linkText: table.linkText, link: (text, url) => `\`${text} <${url}>\`_` };
  const lines = [
    table.title === '' ? '.. csv-table::' : `.. csv-table:: ${table.title}`,
    `  :header: ${table.columns.map((c) => quote(c.header)).join(', ')}`,
    `  :widths: ${table.widths.join(', ')}`,
    '',
    ...table.groups.map((g) => `  ${table.columns.map((c) => quote(c.display(g, ctx))).join(', ')}`),
  ];
  for (const paragraph of table.footnotes) lines.push('', paragraph);
  return `${lines.join('\n')}\n`;
}
