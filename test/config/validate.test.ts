import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { formatMessage } from '../../src/config/messages.js';
import { validateBatch } from '../../src/config/validate.js';

function check(text: string): string[] {
  const loaded = loadTexts([{ file: 'x.yaml', text }]);
  return [...loaded.messages, ...validateBatch(loaded.resources)].map(formatMessage);
}

const VS = (spec: string) => `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: r}
spec:
${spec}`;

describe('object validation', () => {
  it('reports schema type errors with the field path and line (IST0106)', () => {
    const out = check(VS(`  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
      weight: 1.5
    timeout: 5
`));
    assert.ok(out.some((m) => /^Error \[IST0106\] \(VirtualService default\/r x\.yaml:9 spec\.http\[0\]\.route\[0\]\.weight\) .*weight must be an integer/.test(m)), out.join('\n'));
    assert.ok(out.some((m) => /x\.yaml:10 spec\.http\[0\]\.timeout\) Schema validation error: spec\.http\[0\]\.timeout: must be a string/.test(m)), out.join('\n'));
    assert.equal(out.filter((m) => m.includes('weight')).length, 1, 'one message per field');
  });

  it('reports enum and one-of violations', () => {
    const out = check(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: p}
spec:
  mtls: {mode: STRICTLY}
---
${VS(`  hosts: [a]
  http:
  - match:
    - uri: {exact: /a, prefix: /b}
    route: [{destination: {host: a}}]
`)}`);
    assert.ok(out.some((m) => /PeerAuthentication default\/p x\.yaml:5 spec\.mtls\.mode.*must be one of .*"STRICT"/.test(m)), out.join('\n'));
    assert.ok(out.some((m) => /spec\.http\[0\]\.match\[0\]\.uri.*set at most one of exact, prefix, regex/.test(m)), out.join('\n'));
  });

  it('reports missing required fields Istio and Kubernetes insist on', () => {
    const out = check(`${VS('  http: [{route: [{destination: {port: {number: 80}}}]}]\n')}---
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: g}
spec:
  servers: [{port: {number: 80, protocol: HTTP, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports: [{port: 80}, {port: 81, name: b}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  selector: {matchLabels: {app: d}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: i}]}
`);
    const joined = out.join('\n');
    assert.match(joined, /spec\.hosts\) .*at least one host/);
    assert.match(joined, /spec\.http\[0\]\.route\[0\]\.destination\.host\) .*destination host is required/);
    assert.match(joined, /Gateway default\/g x\.yaml:\d+ spec\.servers\[0\]\.hosts\)/);
    assert.match(joined, /Service default\/s x\.yaml:\d+ spec\.ports\[0\]\.name\) .*more than one port/);
    assert.match(joined, /Deployment default\/d .*selector does not match template labels/);
  });

  it('reports invalid RE2 regexes, duplicate subsets and negative weights', () => {
    const out = check(`${VS(`  hosts: [a]
  http:
  - match: [{headers: {user: {regex: "(?=admin).*"}}}]
    route:
    - {destination: {host: a}, weight: -1}
    - {destination: {host: a}, weight: 2}
`)}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: a
  subsets: [{name: v1, labels: {v: "1"}}, {name: v1, labels: {v: "2"}}]
`);
    const joined = out.join('\n');
    assert.match(joined, /spec\.http\[0\]\.match\[0\]\.headers\.user\.regex\) .*is not a valid regex: lookahead/);
    assert.match(joined, /weight -1 must not be negative/);
    assert.match(joined, /DestinationRule default\/d .*spec\.subsets\[1\]\.name\) .*duplicate subset name "v1"/);
  });

  it('warns about fields the schema does not know, suggesting the likely one', () => {
    const out = check(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec:
  host: a
  subsets: [{name: v1, label: {version: v1}}]
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}, retryBudget: {percent: {value: 20}}, frobnicate: true}
`);
    assert.deepEqual(out, [
      'Warning [SFN0006] (DestinationRule default/d x.yaml:6 spec.subsets[0].label) unknown field "label" is ignored; did you mean "labels"?',
      'Warning [SFN0006] (DestinationRule default/d x.yaml:7 spec.trafficPolicy.frobnicate) unknown field "frobnicate" is ignored (known fields here: connectionPool, loadBalancer, outlierDetection, portLevelSettings, tls, tunnel)',
    ]);
  });

  it('accepts valid objects silently', () => {
    assert.deepEqual(check(VS(`  hosts: [reviews]
  http:
  - match: [{uri: {regex: "/api/v[0-9]+/.*"}}]
    route: [{destination: {host: reviews, subset: v1}, weight: 100}]
`)), []);
  });
});
