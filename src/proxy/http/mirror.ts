/**
 * request_mirror_policies: a copy of the request goes to the shadow cluster with `-shadow` appended
 * to the host (before any port), fire-and-forget: the shadow's response and failures are discarded
 * and never delay or change the real response.
 */
import type { Duplex } from 'node:stream';
import type { ProxyContext } from '../context.js';
import type { ActiveStream } from './active-stream.js';
import type { HeaderList } from './headers.js';
import type { MirrorPolicy } from './route-action.js';
import { h1PoolFor, h2PoolFor } from './upstream-pools.js';
import type { UpstreamCallbacks, UpstreamRequest, UpstreamRequestHead } from './upstream-types.js';

/** A shadow that falls this far behind is dropped rather than buffering without bound. */
const SHADOW_TIMEOUT_MS = 15_000;

export function shadowAuthority(authority: string): string {
  if (authority.startsWith('[')) {
    const e = authority.indexOf(']');
    return e < 0 ? authority + '-shadow' : authority.slice(0, e + 1) + '-shadow' + authority.slice(e + 1);
  }
  const c = authority.lastIndexOf(':');
  return c < 0 ? authority + '-shadow' : authority.slice(0, c) + '-shadow' + authority.slice(c);
}

export class Mirror implements UpstreamCallbacks {
  upstream: UpstreamRequest | null = null;
  private timer: NodeJS.Timeout;
  private finished = false;

  constructor() {
    this.timer = setTimeout(finishMirror, SHADOW_TIMEOUT_MS, this);
    this.timer.unref();
  }

  write(chunk: Buffer, end: boolean): void {
    if (this.finished || !this.upstream) return;
    this.upstream.write(chunk, end);
  }

  finish(abort: boolean): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    if (abort) this.upstream?.abort();
  }

  onUpstreamHeaders(_status: number, _headers: HeaderList, end: boolean): void {
    if (end) this.finish(false);
  }
  onUpstreamData(_chunk: Buffer, end: boolean): void {
    if (end) this.finish(false);
  }
  onUpstreamTrailers(): void {
    this.finish(false);
  }
  onUpstreamFailure(): void {
    this.finish(false);
  }
  onUpstreamUpgrade(_h: HeaderList, socket: Duplex): void {
    socket.destroy();
    this.finish(false);
  }
  onUpstreamWritable(): void {}
  onUpstreamConnected(): void {}
}

/** The request body that arrived before the router started, to every mirror. */
export function writeToMirrors(mirrors: readonly Mirror[], chunks: readonly Buffer[] | undefined, ended: boolean): void {
  const n = chunks ? chunks.length : 0;
  for (const m of mirrors) {
    for (let i = 0; i < n; i++) m.write(chunks![i], ended && i === n - 1);
    if (ended && n === 0) m.write(EMPTY, true);
  }
}

const EMPTY = Buffer.alloc(0);

function finishMirror(m: Mirror): void {
  m.finish(true);
}

export function startMirrors(ctx: ProxyContext, policies: readonly MirrorPolicy[], head: UpstreamRequestHead, stream: ActiveStream): Mirror[] | undefined {
  let out: Mirror[] | undefined;
  for (const p of policies) {
    if (p.fraction < 1 && Math.random() >= p.fraction) continue;
    const cluster = ctx.clusters.get(p.cluster);
    if (!cluster) continue;
    const host = cluster.chooseHost({ downstreamAddress: stream.conn.remoteAddress });
    if (!host) continue;
    const m = new Mirror();
    const shadowHead: UpstreamRequestHead = {
      ...head,
      authority: p.appendShadowSuffix ? shadowAuthority(head.authority) : head.authority,
      headers: head.headers.clone(),
      upgrade: undefined,
    };
    const useH2 = cluster.info.upstreamProtocol === 'http2';
    const r = useH2 ? h2PoolFor(cluster, host).request(shadowHead, m) : h1PoolFor(cluster, host).request(shadowHead, m);
    if (r === 'overflow') continue;
    cluster.stats.upstream_rq_total.inc();
    m.upstream = r;
    (out ??= []).push(m);
  }
  return out;
}
