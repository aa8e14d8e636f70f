import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isStaleHost } from '../../../src/proxy/http/h1-pool.js';
import type { Cluster, Host } from '../../../src/proxy/upstream/api.js';

/** A pool asks this on every connection release, remembering the host list it last found its host in. */
describe('stale pool host check', () => {
  it('sees a host leave its cluster even after the earlier host list was remembered', () => {
    const host = { addressString: '10.0.0.1:80' } as Host;
    const other = { addressString: '10.0.0.2:80' } as Host;
    const cluster = { hosts: [host, other] } as unknown as Cluster & { hosts: Host[]; closed?: boolean };
    const seen: { listedIn: readonly Host[] | undefined } = { listedIn: undefined };
    assert.equal(isStaleHost(cluster, host, seen), false);
    assert.equal(seen.listedIn, cluster.hosts);
    assert.equal(isStaleHost(cluster, host, seen), false);
    cluster.hosts = [other];
    assert.equal(isStaleHost(cluster, host, seen), true);
    cluster.hosts = [other, host];
    assert.equal(isStaleHost(cluster, host, seen), false);
    cluster.closed = true;
    assert.equal(isStaleHost(cluster, host, seen), true);
  });

  it('never calls a cluster without a host list stale', () => {
    assert.equal(isStaleHost({} as Cluster, {} as Host, { listedIn: undefined }), false);
  });
});
