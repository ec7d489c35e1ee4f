/**
 * Citations a reader of the repository can follow: code and docs cite `docs/methods.md §x.y`
 * (never the team-internal METHODS.md), every cited section exists in docs/methods.md, and every
 * subsection there names its sources (a lightly-ai/lightly file, a paper, or another reference).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..');
const SCANNED = ['src', 'configs', 'scripts', 'docs', 'README.md'];
const TEXT = /\.(ts|js|mjs|cjs|py|ya?ml|md|sh|json|rst|txt)$/;
const METHODS_DOC = path.join(REPO, 'docs', 'methods.md');

function files(entry: string): string[] {
  const full = path.join(REPO, entry);
  if (!fs.existsSync(full)) return [];
  if (fs.statSync(full).isFile()) return [entry];
  return fs.readdirSync(full).flatMap((name) => {
    const rel = path.join(entry, name);
    if (fs.statSync(path.join(REPO, rel)).isDirectory()) return files(rel);
    return TEXT.test(name) ? [rel] : [];
  });
}

interface Hit { where: string; text: string }

function grep(pattern: RegExp): Hit[] {
  const hits: Hit[] = [];
  for (const file of SCANNED.flatMap(files)) {
    fs.readFileSync(path.join(REPO, file), 'utf8').split('\n').forEach((line, i) => {
      for (const m of line.matchAll(pattern)) hits.push({ where: `${file}:${i + 1}`, text: m[0] });
    });
  }
  return hits;
}

/** Section ids of docs/methods.md: "## 4. Methods" → "4", "### 4.12 SimCLR" → "4.12". */
function sections(): Set<string> {
  const ids = new Set<string>();
  for (const line of fs.readFileSync(METHODS_DOC, 'utf8').split('\n')) {
    const m = /^#{2,4} (\d+(?:\.\d+)*)\.?\s/.exec(line);
    if (m) ids.add(m[1]);
  }
  return ids;
}

test('no file cites METHODS.md, a document outside the repository (cite docs/methods.md §x.y)', () => {
  const hits = grep(/METHODS(?:\.md\b|\s*§)/g);
  expect(hits.map((h) => `${h.where}: ${h.text}`)).toEqual([]);
});

test('docs/methods.md has the sections §0 … §7', () => {
  const ids = sections();
  for (const id of ['0', '1', '2', '3', '4', '5', '6', '7', '1.4', '2.3', '3.3', '4.0', '4.12', '4.21', '5.5', '6.4']) expect(ids).toContain(id);
});

test('every docs/methods.md §x.y citation names a section that exists', () => {
  const ids = sections();
  // "docs/methods.md §4.3", "docs/methods.md §4.3, §4.4", "docs/methods.md §0 and §4.0", "(docs/methods.md §2.1; ...)"
  const cited = grep(/docs\/methods\.md\)?\s*\(?§\s?\d+(?:\.\d+)*(?:\s*(?:,|and|or|\/|&)\s*§\s?\d+(?:\.\d+)*)*/g);
  const missing: string[] = [];
  for (const hit of cited) {
    for (const m of hit.text.matchAll(/§\s?(\d+(?:\.\d+)*)/g)) if (!ids.has(m[1])) missing.push(`${hit.where}: ${hit.text} (no section ${m[1]})`);
  }
  expect(missing).toEqual([]);
  // A bare "docs/methods.md" without a section is fine; one with a malformed section is not.
  const malformed = grep(/docs\/methods\.md\s*§(?!\s?\d)/g);
  expect(malformed.map((h) => h.where)).toEqual([]);
});

test('every subsection of docs/methods.md names its sources', () => {
  const text = fs.readFileSync(METHODS_DOC, 'utf8');
  const parts = text.split(/\n(?=#{3} \d)/).slice(1);
  const unsourced = parts
    .map((part) => part.split(/\n(?=#{2} \d)/)[0])
    .filter((body) => !/lightly-ai\/lightly:|arXiv:|sources?:|paper:|torchvision|timm/i.test(body))
    .map((body) => body.split('\n')[0]);
  expect(unsourced).toEqual([]);
});

test('docs/methods.md points readers at nothing outside the repository but public sources', () => {
  const text = fs.readFileSync(METHODS_DOC, 'utf8');
  expect(text).not.toMatch(/\/work\/|METHODS\.md/);
});
