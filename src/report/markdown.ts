import type { CellContext } from './columns';
import type { Table } from './table';

/** A GitHub-flavoured pipe table with the caption in bold above it and footnotes below. */
export function renderMarkdown(table: Table): string {
  const escape = (cell: string): string => cell.replace(/\|/g, '\\|');
  const ctx: CellContext = { linkText: table.linkText, link: (text, url) => `[${text}](${url})` };
  const row = (cells: string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const lines: string[] = [];
  if (table.title !== '') lines.push(`**${table.title}**`, '');
  lines.push(row(table.columns.map((c) => c.header)));
  lines.push(`|${table.columns.map((c) => (c.align === 'right' ? '---:' : ':---')).join('|')}|`);
  for (const g of table.groups) lines.push(row(table.columns.map((c) => c.display(g, ctx))));
  for (const paragraph of table.footnotes) lines.push('', paragraph);
  return `${lines.join('\n')}\n`;
}
