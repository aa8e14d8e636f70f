/**
 * Validation and every analyzer must survive any shape a user can write (a string where a list
 * belongs, a list where a mapping belongs, nulls): the result is messages, never an exception and
 * never an analyzer failure (SFN0005).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { formatMessage } from '../../src/config/messages.js';
import { expandWorkloads } from '../../src/config/workloads.js';
import { analyzeResources } from '../../src/analyze/runner.js';

const KINDS: Array<[string, string]> = [
  ['v1', 'Service'],
  ['v1', 'Pod'],
  ['v1', 'Secret'],
  ['v1', 'ConfigMap'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['networking.istio.io/v1', 'VirtualService'],
  ['networking.istio.io/v1', 'DestinationRule'],
  ['networking.istio.io/v1', 'Gateway'],
  ['networking.istio.io/v1', 'ServiceEntry'],
  ['networking.istio.io/v1', 'Sidecar'],
  ['networking.istio.io/v1', 'WorkloadEntry'],
  ['security.istio.io/v1', 'PeerAuthentication'],
  ['security.istio.io/v1', 'AuthorizationPolicy'],
];
const FIELDS = [
  'spec',
  'spec.hosts',
  'spec.http',
  'spec.http.0.route.0.destination',
  'spec.http.0.match',
  'spec.subsets',
  'spec.servers.0.port',
  'spec.ports',
  'spec.selector',
  'spec.template',
  'spec.replicas',
  'metadata.labels',
  'data.mesh',
  'spec.egress',
  'spec.trafficPolicy.tls',
];
const VALUES: unknown[] = ['text', [1, 'a', null], null];

function withValue(apiVersion: string, kind: string, path: string, value: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = { apiVersion, kind, metadata: { name: kind === 'ConfigMap' ? 'istio' : 'x' } };
  const parts = path.split('.');
  let node: Record<string, unknown> = root;
  parts.slice(0, -1).forEach((part, i) => {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    node = node[part] as Record<string, unknown>;
  });
  node[parts[parts.length - 1]] = value;
  return root;
}

describe('odd shapes', () => {
  it('never throws and never breaks an analyzer', () => {
    let cases = 0;
    for (const [apiVersion, kind] of KINDS) {
      for (const field of FIELDS) {
        for (const value of VALUES) {
          const text = JSON.stringify(withValue(apiVersion, kind, field, value));
          const loaded = loadTexts([{ file: 'odd.json', text }]);
          const messages = analyzeResources(loaded.resources);
          expandWorkloads(loaded.resources);
          const failures = messages.filter((m) => m.type.code === 'SFN0005');
          assert.deepEqual(failures.map(formatMessage), [], text);
          cases++;
        }
      }
    }
    assert.equal(cases, KINDS.length * FIELDS.length * VALUES.length);
  });
});
