/**
 * IST0101 for a Gateway server whose `credentialName` Secret is missing or unusable: the gateway keeps
 * that server down (it never serves broken TLS), so the user must hear which Secret to create or fix.
 * As in Istio, the Secret is looked up in the namespace of the gateway pods the Gateway selects (its
 * own namespace when no pod is known).
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import { CREDENTIAL_PREFIX, credentialSecret } from '../pilot/secrets/credentials.js';
import type { Analyzer } from './analyzer.js';
import { stringRecord } from './context.js';

export const gatewayCredentialsAnalyzer: Analyzer = {
  name: 'gateway.credentials',
  description: 'Checks that every Gateway credentialName names a Secret with a usable certificate and key.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const gw of ctx.gateways.values()) {
      const spec = isPlainObject(gw.resource.spec) ? gw.resource.spec : {};
      const gwNs = gw.resource.metadata.namespace ?? 'default';
      const pods = isPlainObject(spec.selector) ? ctx.podsMatching(stringRecord(spec.selector)) : [];
      const namespaces = pods.length ? [...new Set(pods.map((p) => p.namespace))] : [gwNs];
      (Array.isArray(spec.servers) ? spec.servers : []).forEach((server, i) => {
        if (!isPlainObject(server) || !isPlainObject(server.tls)) return;
        const cred = server.tls.credentialName;
        if (typeof cred !== 'string' || cred === '') return;
        const mode = typeof server.tls.mode === 'string' ? server.tls.mode : 'SIMPLE';
        for (const ns of namespaces) {
          const { problem } = credentialSecret(`${CREDENTIAL_PREFIX}${cred}`, ns, ctx.secrets);
          const caProblem = mode === 'MUTUAL' ? credentialSecret(`${CREDENTIAL_PREFIX}${cred}-cacert`, ns, ctx.secrets).problem : undefined;
          const p = problem ?? caProblem;
          if (p) out.push(resourceMessage(gw, MessageTypes.ReferencedResourceNotFound, `Referenced credentialName ${JSON.stringify(cred)}: ${p.message}; this server stays down`, `spec.servers[${i}].tls.credentialName`));
        }
      });
    }
    return out;
  },
};
