/**
 * Follows Istio's `cacerts` Secret in the config store: when it appears or changes, the plug-in CA
 * is rebuilt from it and, if every check passes, put in force; if not, the error is reported and the
 * CA in force stays. Deleting the Secret keeps the current CA (as istiod does until a restart), so
 * removing it by mistake never changes what workloads trust.
 */
import type { ConfigListener } from '../config/events.js';
import type { MeshCa } from './mesh-ca.js';
import { CACERTS_SECRET_NAME, loadPluginCaFromSecret } from './plugin-ca.js';

export const DEFAULT_CA_NAMESPACE = 'istio-system';

export function cacertsListener(ca: MeshCa, opts: { namespace?: string; name?: string } = {}): ConfigListener {
  const namespace = opts.namespace ?? DEFAULT_CA_NAMESPACE;
  const name = opts.name ?? CACERTS_SECRET_NAME;
  // Reloads run one after another in arrival order, so the last Secret version seen is the one that wins.
  let queue: Promise<unknown> = Promise.resolve();
  return (batch) => {
    for (const event of batch) {
      const r = event.resource.resource;
      if (event.type !== 'upsert' || r.kind !== 'Secret' || r.metadata.name !== name || (r.metadata.namespace ?? 'default') !== namespace) continue;
      queue = queue.then(() => ca.reload(() => loadPluginCaFromSecret(r)));
    }
  };
}

/** Resolves at the next reload outcome (a new CA in force, or one refused): for callers and tests that must wait. */
export function nextCaOutcome(ca: MeshCa): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      ca.off('changed', done);
      ca.off('rejected', done);
      resolve();
    };
    ca.on('changed', done);
    ca.on('rejected', done);
  });
}
