import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DnsDiscovery } from '../../../src/proxy/upstream/discovery/dns.js';
import type { ClusterConfig } from '../../../src/proxy/upstream/cluster-config.js';
import { DnsProxy } from '../../../src/runtime/dns-proxy.js';
import { DnsTable } from '../../../src/runtime/dns-table.js';

// A real DNS server (the mesh's own DNS proxy on a free port) that learns the name only after the
// cluster first asked for it: the race between a new ServiceEntry's cluster and its DNS entry.
test('a STRICT_DNS name that did not resolve yet is asked again within seconds, not after dns_refresh_rate', async (t) => {
  const table = new DnsTable({ podNamespace: 'default' });
  const server = new DnsProxy({ table, port: 0 });
  const port = await server.start();
  t.after(() => server.close());

  const publishes: string[][] = [];
  const errors: string[] = [];
  const cfg = {
    type: 'STRICT_DNS',
    loadAssignment: { endpoints: [{ address: 'late.sailfin.invalid', port: 80 }], overprovisioningFactor: 140 },
    dnsRefreshRateMs: 60_000,
    respectDnsTtl: false,
    dnsFamily: 'V4_ONLY',
  } as unknown as ClusterConfig;
  const started = Date.now();
  const dns = new DnsDiscovery(cfg, (specs) => publishes.push(specs.map((s) => s.address)), (name) => errors.push(name), `127.0.0.1:${port}`);
  t.after(() => dns.close());

  await waitFor(() => errors.length >= 1, 10_000, 'the first lookup to fail');
  assert.deepEqual(publishes.at(-1) ?? [], [], 'nothing to publish while the name is unknown');
  table.addHost('late.sailfin.invalid', ['192.0.2.9', '192.0.2.10']);
  await waitFor(() => publishes.some((p) => p.length === 2), 20_000, 'the name to resolve on a retry');
  assert.deepEqual(publishes.at(-1)?.sort(), ['192.0.2.10', '192.0.2.9']);
  // Retries go 1 s, 2 s, 4 s…: far below the 60 s refresh rate the cluster was configured with.
  assert.ok(Date.now() - started < 20_000);
});

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
