/**
 * The settings of a cluster install (`sailfin install --set k=v`, the Helm chart's values.yaml).
 * Manifests are written once, in code, against these; the Helm chart's templates are the same code
 * rendered with placeholders (helm-chart.ts), so the two cannot drift apart.
 */
import { SailfinError } from '../../common/errors.js';

export interface InstallValues {
  namespace: string;
  image: string;
  imagePullPolicy: string;
  revision: string;
  pilot: { replicas: number; xdsPort: number; caPort: number; monitoringPort: number; webhookPort: number };
  gateway: { enabled: boolean; replicas: number; httpPort: number; httpsPort: number; serviceType: string };
}

export const DEFAULT_INSTALL_VALUES: InstallValues = {
  namespace: 'istio-system',
  image: 'sailfin:latest',
  imagePullPolicy: 'IfNotPresent',
  revision: 'default',
  pilot: { replicas: 1, xdsPort: 15010, caPort: 15012, monitoringPort: 15014, webhookPort: 15017 },
  gateway: { enabled: true, replicas: 1, httpPort: 80, httpsPort: 443, serviceType: 'LoadBalancer' },
};

/** Applies `key.path=value` settings (Helm's --set syntax for scalars), checking each key and type. */
export function applySettings(base: InstallValues, settings: readonly string[]): InstallValues {
  const values = structuredClone(base) as unknown as Record<string, unknown>;
  for (const setting of settings) {
    const eq = setting.indexOf('=');
    if (eq <= 0) throw new SailfinError('schema', `"${setting}" is not key=value`, { field: '--set' });
    const key = setting.slice(0, eq);
    const raw = setting.slice(eq + 1);
    const path = key.split('.');
    let node: Record<string, unknown> = values;
    for (const p of path.slice(0, -1)) {
      const next = node[p];
      if (next === null || typeof next !== 'object') throw new SailfinError('schema', `unknown setting "${key}" (known: ${knownKeys(base).join(', ')})`, { field: '--set' });
      node = next as Record<string, unknown>;
    }
    const leaf = path[path.length - 1];
    const current = node[leaf];
    if (current === undefined || (current !== null && typeof current === 'object')) {
      throw new SailfinError('schema', `unknown setting "${key}" (known: ${knownKeys(base).join(', ')})`, { field: '--set' });
    }
    if (typeof current === 'number') {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new SailfinError('schema', `${key} must be a whole number (got "${raw}")`, { field: '--set' });
      node[leaf] = n;
    } else if (typeof current === 'boolean') {
      if (raw !== 'true' && raw !== 'false') throw new SailfinError('schema', `${key} must be true or false (got "${raw}")`, { field: '--set' });
      node[leaf] = raw === 'true';
    } else {
      if (raw === '') throw new SailfinError('schema', `${key} must not be empty`, { field: '--set' });
      node[leaf] = raw;
    }
  }
  return values as unknown as InstallValues;
}

export function knownKeys(v: unknown, prefix = ''): string[] {
  if (v === null || typeof v !== 'object') return [prefix];
  return Object.entries(v).flatMap(([k, x]) => knownKeys(x, prefix ? `${prefix}.${k}` : k));
}
