/**
 * The DNS proxy answering real queries: node:dns over UDP on 127.0.0.1, hand-made queries over TCP,
 * forwarding to an optional upstream (a second proxy), truncation, and malformed input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { DnsProxy } from '../../src/runtime/dns-proxy.js';
import { DnsTable } from '../../src/runtime/dns-table.js';

function bookinfoTable(): DnsTable {
  const table = new DnsTable({ podNamespace: 'default' });
  table.addService('reviews', 'default', ['10.96.0.10']);
  table.addService('ratings', 'other', ['10.96.0.11']);
  table.addService('db', 'default', ['10.88.0.7', '10.88.0.8']); // headless: its pods' IPs
  table.addPodHostname('db-0', 'db', 'default', ['10.88.0.7']);
  table.addHost('api.example.com', ['10.96.0.20', 'fd00::20']);
  return table;
}

/** A query for `name`/`type` as a resolver sends it. */
function query(name: string, type: number, id = 0x1234): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 255, 0, 1])]);
}

function udpExchange(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP reply'));
    }, 3000);
    s.on('message', (reply) => {
      clearTimeout(timer);
      s.close();
      resolve(reply);
    });
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpExchange(port: number, msg: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.setTimeout(3000, () => {
      s.destroy();
      reject(new Error('no TCP reply'));
    });
    let data = Buffer.alloc(0);
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        s.end();
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
    s.on('error', reject);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(msg.length);
    s.write(Buffer.concat([len, msg]));
  });
}

const rcode = (reply: Buffer) => reply[3] & 0xf;
const ancount = (reply: Buffer) => reply.readUInt16BE(6);

describe('DNS proxy', () => {
  const proxy = new DnsProxy({ table: bookinfoTable(), port: 0 });
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  let port = 0;

  before(async () => {
    port = await proxy.start();
    resolver.setServers([`127.0.0.1:${port}`]);
  });
  after(() => proxy.close());

  test('service names resolve in every form, case-insensitively, with TTL 30', async () => {
    assert.deepEqual(await resolver.resolve4('reviews.default.svc.cluster.local', { ttl: true }), [{ address: '10.96.0.10', ttl: 30 }]);
    for (const name of ['reviews', 'reviews.default', 'reviews.default.svc', 'REVIEWS.Default.Svc.Cluster.Local']) {
      assert.deepEqual(await resolver.resolve4(name), ['10.96.0.10'], name);
    }
    assert.deepEqual(await resolver.resolve4('ratings.other'), ['10.96.0.11']);
    assert.deepEqual((await resolver.resolve4('db')).sort(), ['10.88.0.7', '10.88.0.8']);
    assert.deepEqual(await resolver.resolve4('db-0.db.default.svc.cluster.local'), ['10.88.0.7']);
    assert.deepEqual(await resolver.resolve4('db-0.db'), ['10.88.0.7']);
    assert.deepEqual(await resolver.resolve6('api.example.com'), ['fd00::20']);
  });

  test("a bare name from another namespace, and a search-list expansion that names nothing, are NXDOMAIN", async () => {
    await assert.rejects(resolver.resolve4('ratings'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve4('reviews.default.default.svc.cluster.local'), { code: 'ENOTFOUND' });
    await assert.rejects(resolver.resolve4('nope.example.org'), { code: 'ENOTFOUND' });
  });

  test('AAAA for a known name without IPv6 is NODATA (the name exists), not NXDOMAIN', async () => {
    await assert.rejects(resolver.resolve6('reviews.default.svc.cluster.local'), { code: 'ENODATA' });
    const reply = await udpExchange(port, query('reviews.default.svc.cluster.local', 28));
    assert.equal(rcode(reply), 0);
    assert.equal(ancount(reply), 0);
    assert.ok(reply[2] & 0x04, 'authoritative');
  });

  test('TCP queries are answered with length-prefixed messages, two on one connection', async () => {
    const reply = await tcpExchange(port, query('Reviews.default.svc.cluster.local', 1, 0xbeef));
    assert.equal(reply.readUInt16BE(0), 0xbeef);
    assert.equal(ancount(reply), 1);
    assert.deepEqual([...reply.subarray(reply.length - 4)], [10, 96, 0, 10]);
    assert.ok(reply.includes(Buffer.from('Reviews')), 'the question is echoed as sent');
  });

  test('a UDP answer over 512 bytes is truncated (TC) and complete over TCP', async () => {
    const big = new DnsTable({ podNamespace: 'default' });
    big.addService('many', 'default', Array.from({ length: 60 }, (_, i) => `10.88.1.${i + 1}`));
    proxy.setTable(big);
    try {
      const udp = await udpExchange(port, query('many.default.svc.cluster.local', 1));
      assert.ok(udp[2] & 0x02, 'TC set');
      assert.equal(ancount(udp), 0);
      const tcp = await tcpExchange(port, query('many.default.svc.cluster.local', 1));
      assert.equal(ancount(tcp), 60);
    } finally {
      proxy.setTable(bookinfoTable());
    }
  });

  test('garbage gets FORMERR or silence, and the proxy keeps answering', async () => {
    const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c]); // name points at itself
    assert.equal(rcode(await udpExchange(port, bad)), 1);
    assert.equal(rcode(await udpExchange(port, Buffer.from([0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 40, 65]))), 1);
    assert.deepEqual(await resolver.resolve4('reviews'), ['10.96.0.10']);
    assert.ok(proxy.stats.malformed >= 2);
  });

  test('unknown names go to the upstream when one is configured', async () => {
    const upstreamTable = new DnsTable({ podNamespace: 'x' });
    upstreamTable.addHost('outside.example.net', ['10.99.0.1']);
    const upstream = new DnsProxy({ table: upstreamTable, port: 0 });
    const upstreamPort = await upstream.start();
    const forwarding = new DnsProxy({ table: bookinfoTable(), port: 0, upstream: { address: '127.0.0.1', port: upstreamPort } });
    const fport = await forwarding.start();
    try {
      const r = new Resolver({ timeout: 2000, tries: 1 });
      r.setServers([`127.0.0.1:${fport}`]);
      assert.deepEqual(await r.resolve4('outside.example.net'), ['10.99.0.1']);
      assert.deepEqual(await r.resolve4('reviews'), ['10.96.0.10'], 'local names are still answered locally');
      await assert.rejects(r.resolve4('nowhere.example.net'), { code: 'ENOTFOUND' });
      assert.equal(forwarding.stats.forwarded, 2);
    } finally {
      await forwarding.close();
      await upstream.close();
    }
  });

  test('a port in use is reported clearly', async () => {
    const second = new DnsProxy({ table: bookinfoTable(), port });
    await assert.rejects(second.start(), /DNS proxy cannot listen on 127\.0\.0\.1:\d+: the port is already in use/);
  });
});
