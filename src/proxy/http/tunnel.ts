/** An upgraded connection (WebSocket): bytes spliced both ways between client and upstream until either side closes. */
import type { Duplex } from 'node:stream';

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
