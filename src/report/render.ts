import { renderCsv } from './csv';
import { renderMarkdown } from './markdown';
import { renderRst } from './rst';
import type { Table } from './table';

export const TABLE_FORMATS = ['csv', 'rst', 'md'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** Renders a table in one of the output formats (the runner and `table` share this). */
export function renderTable(table: Table, format: TableFormat): string {
  switch (format) {
    case 'csv': return renderCsv(table);
    case 'md': return renderMarkdown(table);
    case 'rst': return renderRst(table);
  }
}
