/**
 * A strict JSON (RFC 8259) parser that remembers where every value and key was written, so that
 * errors about a summary file can point at `file:line:col` like the config errors do.
 * `JSON.parse` gives neither positions of values nor stable error wording across Node versions.
 */

export type JsonPath = readonly (string | number)[];

export interface LineCol { line: number; col: number }

export class JsonSyntaxError extends Error {
  constructor(readonly offset: number, readonly what: string) {
    super(what);
  }
}

export interface ParsedJson {
  value: unknown;
  /** Where the value at `path` starts; falls back to the nearest enclosing value. */
  valuePosition(path: JsonPath): LineCol;
  /** Where the key naming `path`'s last element was written (objects only). */
  keyPosition(path: JsonPath): LineCol;
  lineCol(offset: number): LineCol;
}

const pathKey = (path: JsonPath): string => JSON.stringify(path);

export function parseJsonWithPositions(text: string): ParsedJson {
  const valueOffsets = new Map<string, number>();
  const keyOffsets = new Map<string, number>();
  let i = 0;

  const fail = (what: string, at = i): never => { throw new JsonSyntaxError(at, what); };
  const describe = (at: number): string => (at >= text.length ? 'end of input' : `'${text[at]}'`);
  const skipWhitespace = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };

  const parseValue = (path: (string | number)[]): unknown => {
    skipWhitespace();
    valueOffsets.set(pathKey(path), i);
    const c = text[i];
    if (c === '{') return parseObject(path);
    if (c === '[') return parseArray(path);
    if (c === '"') return parseString();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return parseNumber();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (text.startsWith(word, i)) { i += word.length; return value; }
    }
    return fail(`unexpected ${describe(i)}, expected a value`);
  };

  const parseObject = (path: (string | number)[]): Record<string, unknown> => {
    const result: Record<string, unknown> = {};
    i++;
    skipWhitespace();
    if (text[i] === '}') { i++; return result; }
    for (;;) {
      skipWhitespace();
      if (text[i] !== '"') fail(`unexpected ${describe(i)}, expected a string key`);
      const keyStart = i;
      const key = parseString();
      if (Object.prototype.hasOwnProperty.call(result, key)) fail(`duplicate key "${key}"`, keyStart);
      keyOffsets.set(pathKey([...path, key]), keyStart);
      skipWhitespace();
      if (text[i] !== ':') fail(`unexpected ${describe(i)}, expected ':' after key "${key}"`);
      i++;
      // defineProperty keeps a "__proto__" key as plain data instead of changing the prototype.
      Object.defineProperty(result, key, { value: parseValue([...path, key]), enumerable: true, writable: true, configurable: true });
      skipWhitespace();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === '}') { i++; return result; }
      return fail(`unexpected ${describe(i)}, expected ',' or '}' after a property value`);
    }
  };

  const parseArray = (path: (string | number)[]): unknown[] => {
    const result: unknown[] = [];
    i++;
    skipWhitespace();
    if (text[i] === ']') { i++; return result; }
    for (;;) {
      result.push(parseValue([...path, result.length]));
      skipWhitespace();
      if (text[i] === ',') { i++; continue; }
      if (text[i] === ']') { i++; return result; }
      return fail(`unexpected ${describe(i)}, expected ',' or ']' after an array element`);
    }
  };

  const parseString = (): string => {
    const start = i;
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string', start);
      const c = text[i];
      if (c === '"') { i++; return out; }
      if (c < ' ') fail('control character in string; escape it');
      if (c !== '\\') { out += c; i++; continue; }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && simple[e] !== undefined) { out += simple[e]; i += 2; continue; }
      if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      fail('invalid escape sequence in string');
    }
  };

  const parseNumber = (): number => {
    const match = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!match) return fail(`invalid number`);
    i += match[0].length;
    return Number(match[0]);
  };

  const lineStarts = [0];
  for (let k = 0; k < text.length; k++) if (text[k] === '\n') lineStarts.push(k + 1);
  const lineCol = (offset: number): LineCol => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - lineStarts[lo] + 1 };
  };

  const value = parseValue([]);
  skipWhitespace();
  if (i < text.length) fail(`unexpected ${describe(i)} after the JSON value`);

  const nearest = (offsets: Map<string, number>, path: JsonPath): LineCol => {
    for (let n = path.length; n >= 0; n--) {
      const offset = (n === path.length ? offsets : valueOffsets).get(pathKey(path.slice(0, n)));
      if (offset !== undefined) return lineCol(offset);
    }
    return lineCol(0);
  };
  return {
    value,
    valuePosition: (path) => nearest(valueOffsets, path),
    keyPosition: (path) => nearest(keyOffsets, path),
    lineCol,
  };
}
