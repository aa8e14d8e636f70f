import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRegistry } from '../../src/registry/service-registry.js';
import { pod, service, serviceEntry, workloadEntry } from './helpers.js';

describe('registry: ServiceEntry and WorkloadEntry', () => {
  it('makes one service per host, external by default, resolution and ports as declared', () => {
    const r = buildRegistry([
      serviceEntry('cnn', {
        hosts: ['edition.cnn.com', 'www.cnn.com'],
        ports: [
          { number: 80, name: 'http-port', protocol: 'HTTP', targetPort: 443 },
          { number: 443, name: 'https-port', protocol: 'HTTPS' },
        ],
        resolution: 'DNS',
      }),
    ]);
    assert.deepEqual(r.services().map((s) => s.hostname), ['edition.cnn.com', 'www.cnn.com']);
    const s = r.service('edition.cnn.com')!;
    assert.equal(s.source, 'serviceentry');
    assert.equal(s.meshExternal, true);
    assert.equal(s.resolution, 'DNS');
    assert.deepEqual(s.hostnames, ['edition.cnn.com']);
    assert.deepEqual(s.ports.map((p) => `${p.name}:${p.port}:${p.protocol}:${p.targetPort ?? '-'}`), ['http-port:80:HTTP:443', 'https-port:443:HTTPS:-']);
    // DNS without endpoints: the host itself is the endpoint, on the target port.
    assert.deepEqual(r.endpoints('edition.cnn.com', 80).map((e) => `${e.address}:${e.port}`), ['edition.cnn.com:443']);
    assert.deepEqual(r.endpoints('www.cnn.com', 443).map((e) => `${e.address}:${e.port}`), ['www.cnn.com:443']);
    assert.equal(r.endpoints('www.cnn.com', 443)[0]!.tlsMode, 'disabled');
  });

  it('maps every resolution and location', () => {
    const make = (name: string, resolution: string | undefined, location?: string) =>
      serviceEntry(name, { hosts: [`${name}.example`], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], ...(resolution ? { resolution } : {}), ...(location ? { location } : {}) });
    const r = buildRegistry([make('none', 'NONE'), make('dflt', undefined), make('static', 'STATIC', 'MESH_INTERNAL'), make('dns', 'DNS'), make('rr', 'DNS_ROUND_ROBIN')]);
    const got = r.services().map((s) => `${s.name}:${s.resolution}:${s.meshExternal}`);
    assert.deepEqual(got, ['dflt:Passthrough:true', 'dns:DNS:true', 'none:Passthrough:true', 'rr:DNSRoundRobin:true', 'static:ClientSideLB:false']);
    assert.equal(r.endpoints('none.example', 80).length, 0, 'NONE without endpoints has none');
  });

  it('turns inline endpoints into endpoints with ports map, labels, weight, locality, network and identity', () => {
    const r = buildRegistry([
      serviceEntry(
        'vms',
        {
          hosts: ['vm.internal'],
          addresses: ['240.0.0.10'],
          location: 'MESH_INTERNAL',
          resolution: 'STATIC',
          ports: [{ number: 8080, name: 'http', protocol: 'HTTP', targetPort: 9090 }, { number: 9000, name: 'tcp', protocol: 'TCP' }],
          endpoints: [
            { address: '192.0.2.1', ports: { http: 18080 }, labels: { version: 'v1' }, weight: 3, locality: 'eu/eu-1/r1', network: 'vpc', serviceAccount: 'vm-sa' },
            { address: '192.0.2.2', labels: { version: 'v2', 'security.istio.io/tlsMode': 'istio' } },
            { address: '192.0.2.3' },
          ],
          subjectAltNames: ['spiffe://cluster.local/ns/vms/sa/legacy'],
        },
        'vms',
      ),
    ]);
    const s = r.service('vm.internal')!;
    assert.deepEqual(s.addresses, ['240.0.0.10']);
    const eps = r.endpoints('vm.internal', 8080);
    assert.deepEqual(eps.map((e) => `${e.address}:${e.port}:${e.weight}:${e.tlsMode}`), [
      '192.0.2.1:18080:3:istio',
      '192.0.2.2:9090:1:istio',
      '192.0.2.3:9090:1:disabled',
    ]);
    assert.deepEqual(eps[0]!.locality, { region: 'eu', zone: 'eu-1', subZone: 'r1' });
    assert.equal(eps[0]!.network, 'vpc');
    assert.equal(eps[0]!.serviceAccount, 'spiffe://cluster.local/ns/vms/sa/vm-sa');
    assert.deepEqual(r.endpoints('vm.internal', 9000).map((e) => e.port), [9000, 9000, 9000]);
    assert.deepEqual(r.endpoints('vm.internal', 8080, { version: 'v2' }).map((e) => e.address), ['192.0.2.2']);
    assert.deepEqual(r.serviceAccounts('vm.internal'), ['spiffe://cluster.local/ns/vms/sa/legacy', 'spiffe://cluster.local/ns/vms/sa/vm-sa']);
    assert.equal(r.serviceForAddress('240.0.0.10', 8080)?.hostname, 'vm.internal');
  });

  it('selects Pods and WorkloadEntries of its namespace with workloadSelector', () => {
    const r = buildRegistry([
      serviceEntry('app', {
        hosts: ['app.mesh'],
        location: 'MESH_INTERNAL',
        resolution: 'STATIC',
        ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 }],
        workloadSelector: { labels: { app: 'app' } },
      }),
      pod('app-pod', { labels: { app: 'app' }, ip: '10.88.4.1', sa: 'app' }),
      workloadEntry('app-vm', { address: '192.0.2.50', labels: { app: 'app' }, ports: { http: 8888 }, serviceAccount: 'app-vm' }),
      workloadEntry('other-vm', { address: '192.0.2.51', labels: { app: 'other' } }),
      workloadEntry('elsewhere', { address: '192.0.2.52', labels: { app: 'app' } }, 'other'),
    ]);
    const eps = r.endpoints('app.mesh', 80);
    assert.deepEqual(eps.map((e) => `${e.workload?.kind}:${e.address}:${e.port}`), ['Pod:10.88.4.1:8080', 'WorkloadEntry:192.0.2.50:8888']);
    assert.equal(eps[1]!.serviceAccount, 'spiffe://cluster.local/ns/default/sa/app-vm');
    assert.equal(eps[1]!.tlsMode, 'istio');
  });

  it('lets a Kubernetes Service select WorkloadEntries too', () => {
    const r = buildRegistry([
      service('legacy', { selector: { app: 'legacy' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      workloadEntry('vm', { address: '192.0.2.9', labels: { app: 'legacy' } }),
    ]);
    assert.deepEqual(r.endpoints('legacy.default.svc.cluster.local', 80).map((e) => `${e.address}:${e.port}:${e.tlsMode}`), ['192.0.2.9:8080:disabled']);
  });

  it('applies spec.exportTo, and prefers the caller’s namespace when a host is defined twice', () => {
    const r = buildRegistry([
      serviceEntry('ext-a', { hosts: ['api.example.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], exportTo: ['.'] }, 'a'),
      serviceEntry('ext-b', { hosts: ['api.example.com'], ports: [{ number: 8443, name: 'tls', protocol: 'TLS' }], exportTo: ['*'] }, 'b'),
      serviceEntry('only-c', { hosts: ['c.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], exportTo: ['c', 'd'] }, 'c'),
    ]);
    assert.equal(r.service('api.example.com', 'a')?.namespace, 'a');
    assert.equal(r.service('api.example.com', 'b')?.namespace, 'b');
    assert.equal(r.service('api.example.com', 'z')?.namespace, 'b', 'a’s entry is not exported to z');
    assert.equal(r.servicesNamed('api.example.com').length, 2);
    assert.ok(r.service('c.example.com', 'd'));
    assert.equal(r.service('c.example.com', 'e'), undefined);
  });

  it('prefers a Kubernetes service over a ServiceEntry for the same hostname', () => {
    const r = buildRegistry([
      serviceEntry('shadow', { hosts: ['web.default.svc.cluster.local'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] }, 'other'),
      service('web', { ports: [{ port: 80 }] }),
    ]);
    assert.equal(r.service('web.default.svc.cluster.local')?.source, 'kubernetes');
  });

  it('adds the subjectAltNames of a ServiceEntry decorating a Kubernetes service to its identities', () => {
    const r = buildRegistry([
      service('web', { selector: { app: 'web' }, ports: [{ port: 80 }] }),
      pod('w', { labels: { app: 'web' }, sa: 'web' }),
      serviceEntry('deco', { hosts: ['web.default.svc.cluster.local'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], subjectAltNames: ['spiffe://other/ns/x/sa/y'] }),
    ]);
    assert.deepEqual(r.serviceAccounts('web.default.svc.cluster.local'), ['spiffe://cluster.local/ns/default/sa/web', 'spiffe://other/ns/x/sa/y']);
  });

  it('keeps the first of two ServiceEntries declaring one host in one namespace, with a warning', () => {
    const port = [{ number: 80, name: 'http', protocol: 'HTTP' }];
    const r = buildRegistry([
      serviceEntry('first', { hosts: ['dup.example.com'], ports: port }),
      serviceEntry('second', { hosts: ['dup.example.com', 'other.example.com'], ports: port }),
    ]);
    assert.equal(r.service('dup.example.com')?.name, 'first');
    assert.equal(r.service('other.example.com')?.name, 'second');
    assert.match(r.warnings().join('\n'), /ServiceEntry\/default\/second: host dup\.example\.com is already defined by ServiceEntry\/default\/first/);
  });

  it('allocates VIPs to address-less hosts only when auto-allocation is on', () => {
    const se = serviceEntry('x', { hosts: ['x.example.com', '*.wild.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], resolution: 'DNS' });
    assert.deepEqual(buildRegistry([se]).service('x.example.com')!.addresses, []);
    const r = buildRegistry([se], { autoAllocateServiceEntryAddresses: true });
    assert.match(r.service('x.example.com')!.addresses[0]!, /^240\.240\./);
    assert.deepEqual(r.service('*.wild.com')!.addresses, [], 'wildcards get no address');
  });
});
