import { resolveColumn, type Column } from './columns';
import type { Table } from './table';

/**
 * Machine-readable table: a header row of column keys, one row per run group, raw numbers with
 * fixed decimals (accuracies as fractions with 4 decimals plus a `<metric>_std` column, minutes
 * and GiB with 2), RFC 4180 quoting, LF line ends. This is the baseline format of `compare`.
 */

/**
 * Columns that identify a row for `compare`; always written, even when --columns omits them (a
 * missing `dataset` goes right after `epochs`, so a CIFAR-10 baseline never gates an STL-10 row).
 */
export const IDENTITY_COLUMNS = ['model', 'backbone', 'batch_size', 'epochs', 'dataset'] as const;

export function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) || field !== field.trim() ? `"${field.replace(/"/g, '""')}"` : field;
}

export function renderCsv(table: Table): string {
  const present = new Set(table.columns.map((c) => c.id));
  const columns: Column[] = [
    ...IDENTITY_COLUMNS.filter((id) => id !== 'dataset' && !present.has(id)).map((id) => resolveColumn(id, [])),
    ...table.columns,
  ];
  if (!present.has('dataset')) columns.splice(columns.findIndex((c) => c.id === 'epochs') + 1, 0, resolveColumn('dataset', []));
  const header = [...columns.flatMap((c) => c.csvKeys), 'runs'];
  const rows = table.groups.map((g) => [...columns.flatMap((c) => c.raw(g)), String(g.runs.length)]);
  return [header, ...rows].map((fields) => fields.map(quoteCsvField).join(',')).join('\n') + '\n';
}

export interface CsvField { text: string; line: number; col: number }

export class CsvSyntaxError extends Error {
  constructor(readonly line: number, readonly col: number, readonly what: string) {
    super(what);
  }
}

/** Parses RFC 4180 CSV (CRLF or LF line ends), keeping each field's line and column. */
export function parseCsv(text: string): CsvField[][] {
  const records: CsvField[][] = [];
  let record: CsvField[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const atRecordEnd = (): boolean => i >= text.length || text[i] === '\n' || (text[i] === '\r' && text[i + 1] === '\n');
  while (i < text.length) {
    const fieldLine = line;
    const fieldCol = i - lineStart + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new CsvSyntaxError(fieldLine, fieldCol, 'unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') { value += '"'; i += 2; continue; }
          i++;
          break;
        }
        if (text[i] === '\n') { line++; lineStart = i + 1; }
        value += text[i++];
      }
      if (!atRecordEnd() && text[i] !== ',') {
        throw new CsvSyntaxError(line, i - lineStart + 1, 'unexpected character after a closing quote');
      }
    } else {
      while (!atRecordEnd() && text[i] !== ',') {
        if (text[i] === '"') throw new CsvSyntaxError(line, i - lineStart + 1, 'quote inside an unquoted field');
        value += text[i++];
      }
    }
    record.push({ text: value, line: fieldLine, col: fieldCol });
    if (text[i] === ',') { i++; if (i >= text.length) record.push({ text: '', line, col: i - lineStart + 1 }); continue; }
    records.push(record);
    record = [];
    if (text[i] === '\r') i++;
    if (text[i] === '\n') { i++; line++; lineStart = i; }
  }
  if (record.length) records.push(record);
  // A blank line carries no record (a trailing newline, or spacing a person added).
  return records.filter((r) => !(r.length === 1 && r[0].text === ''));
}
