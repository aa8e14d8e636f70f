/** An upgraded connection (WebSocket): bytes spliced both ways between client and upstream until either side closes. */
import type { Duplex } from 'node:stream';
import type { ActiveStream } from './active-stream.js';
import type { HeaderList } from './headers.js';

/**
 * The upstream answered 101: pass the 101 downstream, take the raw downstream connection from the
 * codec and splice the two; the stream ends when the tunnel closes.
 */
export function upgradeToTunnel(s: ActiveStream, headers: HeaderList, upgrade: string | undefined, socket: Duplex, head: Buffer | null): void {
  s.hcm.stats.downstream_cx_upgrades_total.inc();
  s.info.responseCodeDetails = 'via_upstream';
  headers.set('connection', 'Upgrade');
  headers.set('upgrade', upgrade ?? 'websocket');
  s.encodeHeaders(101, headers, false, true);
  const down = s.codec.takeTunnel?.();
  if (!down) {
    socket.destroy();
    return;
  }
  s.onTunnelEstablished();
  spliceTunnel(socket, head, down.socket, down.head, () => s.onTunnelClosed());
}

export function spliceTunnel(upstream: Duplex, upstreamHead: Buffer | null, downstream: Duplex, downstreamHead: Buffer | null | undefined, onClosed: () => void): void {
  if (upstreamHead && upstreamHead.length) downstream.write(upstreamHead);
  if (downstreamHead && downstreamHead.length) upstream.write(downstreamHead);
  upstream.pipe(downstream);
  downstream.pipe(upstream);
  const closeBoth = () => {
    upstream.destroy();
    downstream.destroy();
    onClosed();
  };
  upstream.on('error', closeBoth);
  downstream.on('error', closeBoth);
  upstream.on('close', closeBoth);
  downstream.on('close', closeBoth);
}
