import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { canonicalJson, configHash } from '../config/hash';
import type { ResolvedConfig } from '../config';
import type { RunSummary } from './summary';

/**
 * Which runs are seeds of one experiment. A table row averages runs as seeds only when their
 * resolved configs are equal apart from `seed` and `n_runs` (and the machine-local fields
 * configHash leaves out). The identity is the summary's config_hash_without_seed; summaries
 * written before it existed get it from the run directory's config.resolved.yaml, and without
 * that file fall back to config_hash (which the seeds of one n_runs experiment share).
 */

export const RESOLVED_CONFIG_FILE = 'config.resolved.yaml';

/** Config fields that do not change what a run measures, or that tell seeds apart. */
const NOT_COMPARED = new Set(['seed', 'n_runs', 'output', 'data.root', 'data.cache_dir', 'data.workers']);

export interface ExperimentIdentity {
  /** Equal for two runs exactly when they may be averaged as seeds. */
  id: string;
  /** The run's resolved config as written next to it, when found (to explain differences). */
  config: Record<string, unknown> | null;
}

/** The resolved config of the run whose summary is `summaryFile` (its directory, or the parent for seed<S>/). */
export function readResolvedConfig(summaryFile: string): Record<string, unknown> | null {
  const dir = path.dirname(summaryFile);
  for (const candidate of [path.join(dir, RESOLVED_CONFIG_FILE), path.join(path.dirname(dir), RESOLVED_CONFIG_FILE)]) {
    let text: string;
    try {
      text = fs.readFileSync(candidate, 'utf8');
    } catch {
      continue;
    }
    try {
      const value: unknown = parseYaml(text);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // An unreadable copy explains nothing; the summary's own hashes still identify the run.
    }
    return null;
  }
  return null;
}

export function experimentIdentity(summary: RunSummary, summaryFile: string | null): ExperimentIdentity {
  const config = summaryFile === null ? null : readResolvedConfig(summaryFile);
  if (summary.config_hash_without_seed !== undefined) return { id: summary.config_hash_without_seed, config };
  if (config !== null) return { id: configHash({ ...(config as unknown as ResolvedConfig), seed: 0, n_runs: 1 }), config };
  return { id: `config ${summary.config_hash}`, config };
}

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) flatten(entry, prefix ? `${prefix}.${key}` : key, out);
    return;
  }
  if (!NOT_COMPARED.has(prefix)) out.set(prefix, canonicalJson(value));
}

/** Dotted config fields whose values differ between two resolved configs (seed and machine-local fields left out). */
export function differingFields(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const fa = new Map<string, string>();
  const fb = new Map<string, string>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  return keys.filter((k) => fa.get(k) !== fb.get(k));
}
