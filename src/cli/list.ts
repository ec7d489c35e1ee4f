import type { Command } from 'commander';
import { UserError } from '../errors';
import { METHODS, BACKBONES, DATASETS, PRESETS } from '../registry';


const KINDS = ['methods', 'backbones', 'datasets', 'presets'] as const;
type Kind = (typeof KINDS)[number];

interface Row {
  id: string;
  label?: string;
  description: string;
}

function rows(kind: Kind): Row[] {
  switch (kind) {
    case 'methods': return Array.from(METHODS, (m) => ({ id: m.id, label: m.label, description: m.description }));
    case 'backbones': return BACKBONES.map((b) => ({ id: b.id, label: b.label, description: b.description }));
    case 'datasets': return DATASETS.map((d) => ({ id: d.id, description: d.description }));
    case 'presets': return PRESETS.map((p) => ({ id: p.id, description: p.description }));
  }
}

function entries(kind: Kind): unknown[] {
  return { methods: METHODS, backbones: BACKBONES, datasets: DATASETS, presets: PRESETS }[kind].map((e) => ({ ...e }));
}

function render(kind: Kind): string {
  const rs = rows(kind);
  const idWidth = Math.max(...rs.map((r) => r.id.length));
  const labelWidth = Math.max(0, ...rs.map((r) => r.label?.length ?? 0));
  const lines = rs.map((r) => {
    const label = labelWidth ? `${(r.label ?? '').padEnd(labelWidth)}  ` : '';
    return `  ${r.id.padEnd(idWidth)}  ${label}${r.description}`;
  });
  return `${kind}:\n${lines.join('\n')}\n`;
}

/** `ssl-bench list [kind]`: the catalogue of methods, backbones, datasets and augmentation presets. */
export function registerList(program: Command): void {
  program
    .command('list')
    .description('list the available methods, backbones, datasets and augmentation presets with one-line descriptions')
    .argument('[kind]', `one of ${KINDS.join(', ')}; all when omitted`)
    .option('--json', 'print the catalogue as JSON')
    .action((kind: string | undefined, opts: { json?: boolean }) => {
      if (kind !== undefined && !(KINDS as readonly string[]).includes(kind)) {
        throw new UserError(`list: unknown kind ${JSON.stringify(kind)}; allowed ${KINDS.join(', ')}`);
      }
      const kinds: Kind[] = kind ? [kind as Kind] : [...KINDS];
      if (opts.json) {
        out(JSON.stringify(kind ? entries(kind as Kind) : Object.fromEntries(kinds.map((k) => [k, entries(k)])), null, 2));
      } else {
        out(kinds.map(render).join('\n'));
      }
    });
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
