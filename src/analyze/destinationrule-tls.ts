/**
 * IST0128/IST0129: a DestinationRule originates TLS (SIMPLE or MUTUAL) without any CA to check the
 * server's certificate, so the client would talk to whoever answers. Warnings, as in Istio.
 */
import { isPlainObject } from '../config/documents.js';
import { MessageTypes, resourceMessage, type AnalysisMessage } from '../config/messages.js';
import type { Analyzer } from './analyzer.js';

function unverified(tls: unknown): string | undefined {
  if (!isPlainObject(tls)) return undefined;
  const mode = tls.mode;
  if (mode !== 'SIMPLE' && mode !== 'MUTUAL') return undefined;
  if (tls.caCertificates || tls.credentialName || tls.insecureSkipVerify === true) return undefined;
  return mode;
}

export const destinationRuleTlsAnalyzer: Analyzer = {
  name: 'destinationrule.tlsverification',
  description: 'Warns when a DestinationRule originates TLS without a CA to verify the server.',
  analyze(ctx) {
    const out: AnalysisMessage[] = [];
    for (const dr of ctx.destinationRules) {
      const spec = isPlainObject(dr.resource.spec) ? dr.resource.spec : {};
      const ns = dr.resource.metadata.namespace ?? 'default';
      const name = dr.resource.metadata.name;
      const host = String(spec.host ?? '');
      const policy = isPlainObject(spec.trafficPolicy) ? spec.trafficPolicy : {};
      const mode = unverified(policy.tls);
      if (mode) {
        const msg = `DestinationRule ${name} in namespace ${ns} has TLS mode set to ${mode} but no caCertificates are set to validate server identity for host: ${host}`;
        out.push(resourceMessage(dr, MessageTypes.NoServerCertificateVerificationDestinationLevel, msg, 'spec.trafficPolicy.tls'));
      }
      (Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : []).forEach((pls, i) => {
        if (!isPlainObject(pls)) return;
        const portMode = unverified(pls.tls);
        if (!portMode) return;
        const port = isPlainObject(pls.port) ? String(pls.port.number) : '?';
        const msg = `DestinationRule ${name} in namespace ${ns} has TLS mode set to ${portMode} but no caCertificates are set to validate server identity for host: ${host} at port number: ${port}`;
        out.push(resourceMessage(dr, MessageTypes.NoServerCertificateVerificationPortLevel, msg, `spec.trafficPolicy.portLevelSettings[${i}].tls`));
      });
    }
    return out;
  },
};
