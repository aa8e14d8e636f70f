/** One test per analyzer: a config that triggers it (message, code, line, field) and one that does not. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { formatMessage } from '../../src/config/messages.js';
import { expandWorkloads } from '../../src/config/workloads.js';
import type { Analyzer } from '../../src/analyze/analyzer.js';
import { conflictingGatewaysAnalyzer } from '../../src/analyze/conflicting-gateways.js';
import { conflictingVirtualServicesAnalyzer } from '../../src/analyze/conflicting-virtualservices.js';
import { destinationHostsAnalyzer } from '../../src/analyze/destination-hosts.js';
import { destinationPortsAnalyzer } from '../../src/analyze/destination-ports.js';
import { destinationSubsetsAnalyzer } from '../../src/analyze/destination-subsets.js';
import { destinationRuleHostsAnalyzer } from '../../src/analyze/destinationrule-hosts.js';
import { destinationRuleTlsAnalyzer } from '../../src/analyze/destinationrule-tls.js';
import { gatewayHostsAnalyzer } from '../../src/analyze/gateway-hosts.js';
import { gatewayPortsAnalyzer } from '../../src/analyze/gateway-ports.js';
import { gatewayReferencesAnalyzer } from '../../src/analyze/gateway-references.js';
import { gatewaySelectorsAnalyzer } from '../../src/analyze/gateway-selectors.js';
import { followsPortNamingConvention, portNamesAnalyzer } from '../../src/analyze/port-names.js';
import { ANALYZERS, analyzeResources, runAnalyzers } from '../../src/analyze/runner.js';
import { subsetPodsAnalyzer } from '../../src/analyze/subset-pods.js';
import { workloadSelectorsAnalyzer } from '../../src/analyze/workload-selectors.js';

const BASE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: shop}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: reviews-v1, namespace: shop}
spec:
  selector: {matchLabels: {app: reviews}}
  template:
    metadata: {labels: {app: reviews, version: v1}}
    spec: {containers: [{name: r, image: r}]}
---
apiVersion: v1
kind: Pod
metadata: {name: gw, namespace: istio-system, labels: {istio: ingressgateway}}
spec: {containers: [{name: p, image: p}]}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: [shop.example.com]}]
`;

/** Runs one analyzer over BASE plus `extra`, returning istioctl-style lines. */
function run(analyzer: Analyzer, extra: string): string[] {
  const loaded = loadTexts([{ file: 'base.yaml', text: BASE }, { file: 't.yaml', text: extra }]);
  assert.deepEqual(loaded.messages.map(formatMessage), []);
  return runAnalyzers(loaded.resources, expandWorkloads(loaded.resources), { analyzers: [analyzer] }).map(formatMessage);
}

const vs = (name: string, spec: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: shop}
spec:
${spec}`;
const dr = (name: string, spec: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: shop}
spec:
${spec}`;

describe('analyzers', () => {
  it('IST0101 destination host not found, resolving short names in the VirtualService namespace', () => {
    const out = run(destinationHostsAnalyzer, vs('r', `  hosts: [r]
  http:
  - route:
    - destination: {host: reviews}
    - destination: {host: reviews.shop}
    mirror: {host: reviewz}
`));
    assert.deepEqual(out, [
      'Error [IST0101] (VirtualService shop/r t.yaml:9 spec.http[0].route[1].destination.host) Referenced host not found: "reviews.shop"',
      'Error [IST0101] (VirtualService shop/r t.yaml:10 spec.http[0].mirror.host) Referenced mirror host not found: "reviewz"',
    ]);
  });

  it('IST0101 destination host served by a ServiceEntry (wildcards included) is found', () => {
    const out = run(destinationHostsAnalyzer, `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: shop}
spec: {hosts: ["*.example.com"], ports: [{number: 443, name: https, protocol: HTTPS}]}
---
${vs('r', '  hosts: [r]\n  tls: [{match: [{sniHosts: [api.example.com]}], route: [{destination: {host: api.example.com}}]}]\n')}`);
    assert.deepEqual(out, []);
  });

  it('IST0101 subset not found in any applicable DestinationRule', () => {
    const out = run(destinationSubsetsAnalyzer, `${dr('reviews', '  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}]\n')}---
${vs('r', '  hosts: [r]\n  http: [{route: [{destination: {host: reviews, subset: v1}}, {destination: {host: reviews, subset: v2}}]}]\n')}`);
    assert.equal(out.length, 1);
    assert.match(out[0], /^Error \[IST0101\] \(VirtualService shop\/r t\.yaml:13 spec\.http\[0\]\.route\[1\]\.destination\.subset\) Referenced host\+subset in destinationrule not found: "reviews\+v2"$/);
  });

  it('IST0112 destination without a port for a multi-port service, IST0101 for a port it lacks', () => {
    const two = `apiVersion: v1
kind: Service
metadata: {name: two, namespace: shop}
spec: {ports: [{name: http, port: 80}, {name: grpc, port: 90}]}
---
`;
    const out = run(destinationPortsAnalyzer, `${two}${vs('r', '  hosts: [r]\n  http: [{route: [{destination: {host: two}}, {destination: {host: reviews, port: {number: 1234}}}, {destination: {host: two, port: {number: 90}}}]}]\n')}`);
    assert.equal(out.length, 2, out.join('\n'));
    assert.match(out[0], /\[IST0112\] .*spec\.http\[0\]\.route\[0\]\.destination\) .*exposes multiple ports \[80 90\]/);
    assert.match(out[1], /\[IST0101\] .*spec\.http\[0\]\.route\[1\]\.destination\.port\.number\) Referenced host:port not found: "reviews:1234"/);
  });

  it('IST0101 gateway not found, in spec.gateways and in match gateways; mesh and ns/name forms accepted', () => {
    const out = run(gatewayReferencesAnalyzer, vs('r', `  hosts: [shop.example.com]
  gateways: [mesh, gw, shop/gw, missing]
  http:
  - match: [{gateways: [other/gw]}]
    route: [{destination: {host: reviews}}]
`));
    assert.deepEqual(out, [
      'Error [IST0101] (VirtualService shop/r t.yaml:6 spec.gateways[3]) Referenced gateway not found: "missing"',
      'Error [IST0101] (VirtualService shop/r t.yaml:8 spec.http[0].match[0].gateways[0]) Referenced gateway not found: "other/gw"',
    ]);
  });

  it('IST0132 VirtualService host not accepted by its gateway', () => {
    const out = run(gatewayHostsAnalyzer, vs('r', '  hosts: [shop.example.com, admin.example.com]\n  gateways: [gw]\n  http: [{route: [{destination: {host: reviews}}]}]\n'));
    assert.deepEqual(out, ['Warning [IST0132] (VirtualService shop/r t.yaml:6 spec.gateways[0]) one or more host [admin.example.com] defined in VirtualService shop/r not found in Gateway shop/gw.']);
  });

  it('IST0109 two mesh VirtualServices for one host (by FQDN), but not gateway-only or exportTo "." in different namespaces', () => {
    const out = run(conflictingVirtualServicesAnalyzer, `${vs('a', '  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews}}]}]\n')}---
${vs('b', '  hosts: [reviews.shop.svc.cluster.local]\n  http: [{route: [{destination: {host: reviews}}]}]\n')}---
${vs('c', '  hosts: [reviews]\n  gateways: [gw]\n  http: [{route: [{destination: {host: reviews}}]}]\n')}`);
    assert.equal(out.length, 2);
    assert.match(out[0], /^Error \[IST0109\] \(VirtualService shop\/a t\.yaml:5 spec\.hosts\[0\]\) The VirtualServices shop\/a,shop\/b associated with mesh gateway define the same host reviews\.shop\.svc\.cluster\.local/);
    const scoped = run(conflictingVirtualServicesAnalyzer, `${vs('a', '  hosts: [x.example.com]\n  exportTo: ["."]\n')}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: other}
spec: {hosts: [x.example.com], exportTo: ["."]}
`);
    assert.deepEqual(scoped, []);
  });

  it('IST0101 DestinationRule host not found', () => {
    const out = run(destinationRuleHostsAnalyzer, `${dr('a', '  host: reviews\n')}---\n${dr('b', '  host: reviews.default.svc.cluster.local\n')}---\n${dr('c', '  host: "*.local"\n')}`);
    assert.deepEqual(out, ['Error [IST0101] (DestinationRule shop/b t.yaml:11 spec.host) Referenced host not found: "reviews.default.svc.cluster.local"']);
  });

  it('IST0173 subset selecting no pod of its service (pods expanded from the Deployment)', () => {
    const out = run(subsetPodsAnalyzer, dr('reviews', '  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]\n'));
    assert.deepEqual(out, ['Error [IST0173] (DestinationRule shop/reviews t.yaml:6 spec.subsets[1]) The Subset v2 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).']);
  });

  it('IST0101 Gateway selector matching no pod in any namespace', () => {
    const out = run(gatewaySelectorsAnalyzer, `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: shop}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`);
    assert.deepEqual(out, ['Error [IST0101] (Gateway shop/egress t.yaml:5 spec.selector) Referenced selector not found: "istio=egressgateway"']);
  });

  it('IST0104 Gateway server port not exposed by the selected workload (service port, target port or container port)', () => {
    const extra = `apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  ports: [{name: http2, port: 8081, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: more, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - {port: {number: 8080, name: a, protocol: HTTP}, hosts: [a.example.com]}
  - {port: {number: 8081, name: b, protocol: HTTP}, hosts: [b.example.com]}
`;
    const out = run(gatewayPortsAnalyzer, extra);
    assert.deepEqual(out, ['Warning [IST0104] (Gateway shop/gw base.yaml:27 spec.servers[0].port.number) The gateway refers to a port that is not exposed on the workload (pod selector istio=ingressgateway; port 80)']);
  });

  it('IST0145 two Gateways for one workload, port and overlapping hosts', () => {
    const out = run(conflictingGatewaysAnalyzer, `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*.example.com"]}, {port: {number: 8080, name: http2, protocol: HTTP}, hosts: ["shop.example.com"]}]
`);
    assert.equal(out.length, 2);
    assert.match(out.join('\n'), /\(Gateway shop\/gw base\.yaml:\d+ spec\.servers\) Conflict with gateways shop\/other \(workload selector istio=ingressgateway, port 80, hosts shop\.example\.com\)/);
  });

  it('IST0128/IST0129 TLS origination without a CA', () => {
    const out = run(destinationRuleTlsAnalyzer, dr('ext', `  host: api.example.com
  trafficPolicy:
    tls: {mode: SIMPLE}
    portLevelSettings: [{port: {number: 443}, tls: {mode: MUTUAL, clientCertificate: c, privateKey: k}}, {port: {number: 8443}, tls: {mode: SIMPLE, caCertificates: ca.pem}}]
`));
    assert.equal(out.length, 2);
    assert.match(out[0], /^Warning \[IST0128\] .*spec\.trafficPolicy\.tls\) DestinationRule ext in namespace shop has TLS mode set to SIMPLE but no caCertificates/);
    assert.match(out[1], /^Warning \[IST0129\] .*portLevelSettings\[0\]\.tls\) .*MUTUAL .*at port number: 443$/);
  });

  it('IST0118 port names outside the <protocol>[-suffix] convention, unless appProtocol is set', () => {
    assert.equal(followsPortNamingConvention('http'), true);
    assert.equal(followsPortNamingConvention('HTTP2-web'), true);
    assert.equal(followsPortNamingConvention('grpc-web'), true);
    assert.equal(followsPortNamingConvention('httpx'), false);
    assert.equal(followsPortNamingConvention('foo-http'), false);
    const out = run(portNamesAnalyzer, `apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec:
  ports:
  - {name: web, port: 80, targetPort: 8080}
  - {name: custom, port: 81, appProtocol: http}
  - {port: 82}
---
apiVersion: v1
kind: Service
metadata: {name: gw, namespace: shop, labels: {istio: ingressgateway}}
spec: {ports: [{name: status-port, port: 15021}]}
`);
    assert.deepEqual(out, [
      'Info [IST0118] (Service shop/s t.yaml:6 spec.ports[0].name) Port name web (port: 80, targetPort: 8080) doesn\'t follow the naming convention of Istio port.',
      'Info [IST0118] (Service shop/s t.yaml:8 spec.ports[2]) Port name  (port: 82, targetPort: 82) doesn\'t follow the naming convention of Istio port.',
    ]);
  });

  it('IST0127 policy or Sidecar selector matching no pod in its namespace', () => {
    const out = run(workloadSelectorsAnalyzer, `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ok, namespace: shop}
spec: {selector: {matchLabels: {app: reviews}}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: other-ns, namespace: istio-system}
spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: sc, namespace: shop}
spec: {workloadSelector: {labels: {app: reviewz}}, egress: [{hosts: ["./*"]}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: namespace-wide, namespace: shop}
spec: {}
`);
    assert.deepEqual(out, [
      'Warning [IST0127] (PeerAuthentication istio-system/other-ns t.yaml:9 spec.selector.matchLabels) No matching workloads for this resource with the following labels: app=reviews',
      'Warning [IST0127] (Sidecar shop/sc t.yaml:14 spec.workloadSelector.labels) No matching workloads for this resource with the following labels: app=reviewz',
    ]);
  });

  it('keeps going when an analyzer throws, and analyzeResources adds object validation, sorted', () => {
    const broken: Analyzer = { name: 'broken', description: 'always fails', analyze: () => { throw new Error('bug'); } };
    const loaded = loadTexts([{ file: 't.yaml', text: BASE }]).resources;
    const out = runAnalyzers(loaded, [], { analyzers: [broken, gatewaySelectorsAnalyzer] }).map(formatMessage);
    assert.deepEqual(out, ['Error [SFN0005] analyzer broken failed: bug', 'Error [IST0101] (Gateway shop/gw t.yaml:26 spec.selector) Referenced selector not found: "istio=ingressgateway"']);
    assert.ok(ANALYZERS.length >= 14);
    const all = analyzeResources(loadTexts([{ file: 'a.yaml', text: dr('x', '  subsets: [{name: a}]\n') }]).resources).map(formatMessage);
    assert.match(all[0], /^Error \[IST0106\] \(DestinationRule shop\/x a\.yaml:4 spec\.host\)/);
  });
});
