import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadTexts } from '../../src/config/loader.js';
import { expandWorkloads } from '../../src/config/workloads.js';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { pod, service } from './helpers.js';

const MANIFESTS = `apiVersion: v1
kind: Service
metadata: {name: peers, namespace: db}
spec:
  clusterIP: None
  selector: {app: peers}
  ports:
  - {name: tcp-gossip, port: 7000}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: peers, namespace: db}
spec:
  serviceName: peers
  replicas: 3
  selector: {matchLabels: {app: peers}}
  template:
    metadata: {labels: {app: peers}}
    spec:
      containers:
      - name: node
        image: node
        ports: [{containerPort: 7000}, {containerPort: 7001}]
`;

function registryFromYaml() {
  const loaded = loadTexts([{ file: 'peers.yaml', text: MANIFESTS }]);
  const services = loaded.resources.filter((r) => r.resource.kind === 'Service');
  return buildRegistry([...services, ...expandWorkloads(loaded.resources)]);
}

describe('registry: headless services', () => {
  it('gives each StatefulSet pod its own name <hostname>.<subdomain>.<ns>.svc.<domain>', () => {
    const r = registryFromYaml();
    const eps = r.endpoints('peers.db.svc.cluster.local', 7000);
    assert.deepEqual(eps.map((e) => e.hostname).sort(), [
      'peers-0.peers.db.svc.cluster.local',
      'peers-1.peers.db.svc.cluster.local',
      'peers-2.peers.db.svc.cluster.local',
    ]);
    const one = r.resolveHost('peers-1.peers.db.svc.cluster.local', 'db');
    assert.equal(one.services[0]?.name, 'peers');
    assert.equal(one.podEndpoint?.workload?.name, 'peers-1');
  });

  it('makes only declared ports reachable on a pod address', () => {
    const r = registryFromYaml();
    const ip = r.podByName('db', 'peers-0')!.address;
    assert.equal(r.serviceForAddress(ip, 7000)?.name, 'peers');
    assert.equal(r.serviceForAddress(ip, 7001), undefined, 'the pod listens on 7001 but the Service does not declare it');
    assert.equal(r.endpoints('peers.db.svc.cluster.local', 7001).length, 0);
  });

  it('gives per-pod names only under the headless service named by the pod’s subdomain', () => {
    const r = buildRegistry([
      service('web', { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] }),
      service('web-vip', { selector: { app: 'web' }, ports: [{ port: 80 }] }),
      pod('web-0', { labels: { app: 'web' }, hostname: 'web-0', subdomain: 'web' }),
      pod('loose', { labels: { app: 'web' } }),
    ]);
    const names = r.endpoints('web.default.svc.cluster.local', 80).map((e) => e.hostname);
    assert.deepEqual(names.sort(), ['web-0.web.default.svc.cluster.local', undefined].sort());
    assert.ok(r.endpoints('web-vip.default.svc.cluster.local', 80).every((e) => e.hostname === undefined));
  });

  it('matches a VIP only on its declared ports', () => {
    const r = buildRegistry([service('v', { clusterIP: '10.96.1.1', ports: [{ port: 80 }] })]);
    assert.equal(r.serviceForAddress('10.96.1.1', 80)?.name, 'v');
    assert.equal(r.serviceForAddress('10.96.1.1', 81), undefined);
  });
});
