import { parse as parseYaml } from 'yaml';
import { LNode, LEntry, Scalar, fail } from './tree';

/**
 * `${VAR}` and `${VAR:-default}` in string values (shell semantics: `:-` also replaces an empty
 * variable). A value that is exactly one reference is re-read as a YAML scalar, so
 * `epochs: ${EPOCHS:-200}` gives the integer 200; anything else stays a string. `$$` is a literal `$`.
 */
export function interpolateTree(n: LNode, env: NodeJS.ProcessEnv, field = ''): LNode {
  if (n.kind === 'map') {
    const entries = new Map<string, LEntry>();
    for (const [k, e] of n.entries) entries.set(k, { keyOrigin: e.keyOrigin, value: interpolateTree(e.value, env, field ? `${field}.${k}` : k) });
    return { ...n, entries };
  }
  if (n.kind === 'seq') return { ...n, items: n.items.map((item, i) => interpolateTree(item, env, `${field}[${i}]`)) };
  if (typeof n.value !== 'string' || !n.value.includes('$')) return n;
  return { ...n, value: interpolateString(n.value, env, (msg) => fail(n.origin, field, msg)) };
}

const REFERENCE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolateString(text: string, env: NodeJS.ProcessEnv, error: (msg: string) => never): Scalar {
  let whole = null as string | null;
  const out = text.replace(REFERENCE, (match: string, body: string | undefined) => {
    if (match === '$$') return '$';
    if (body === undefined) error(`unterminated "\${" in ${JSON.stringify(text)}; write \${VAR} or \${VAR:-default}`);
    const sep = body.indexOf(':-');
    const name = sep >= 0 ? body.slice(0, sep) : body;
    if (!NAME.test(name)) error(`invalid variable reference "\${${body}}"; write \${VAR} or \${VAR:-default}`);
    const value = env[name];
    let result: string;
    if (value !== undefined && (sep < 0 || value !== '')) result = value;
    else if (sep >= 0) result = body.slice(sep + 2);
    else error(`environment variable ${name} is not set; set it or write \${${name}:-default}`);
    if (match === text) whole = result;
    return result;
  });
  if (whole !== null) {
    const parsed: unknown = parseScalar(whole);
    if (parsed === null || typeof parsed === 'number' || typeof parsed === 'boolean') return parsed;
  }
  return out;
}

function parseScalar(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return text;
  }
}
