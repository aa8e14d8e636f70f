/**
 * Istio's peer metadata filter (`io.istio.http.peer_metadata.Config`): sidecars tell each other who
 * they are in the `x-envoy-peer-metadata` / `-id` headers, so the standard metrics carry the peer's
 * workload, app and version. The client sidecar adds its metadata to requests (upstream_propagation)
 * and reads the server's from responses (upstream_discovery); the server sidecar reads the client's
 * from requests (downstream_discovery) and answers with its own (downstream_propagation). The
 * headers are removed before the application or the caller sees them.
 */
import { assertKnownFields, configError, isObject, join, optArray, optBool, type JsonObject } from '../../config/fields.js';
import type { ProxyContext } from '../../context.js';
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from '../../stats/peer-metadata-codec.js';
import { localPeerHeaders, peerFromHeader, type LocalPeerHeaders } from '../../stats/peer-metadata.js';
import type { ActiveStream } from '../active-stream.js';
import { registerHttpFilter } from '../filter-registry.js';
import type { HeaderList } from '../headers.js';
import { FilterStatus, type HttpFilter } from '../http-filter.js';

export const PEER_METADATA_TYPE = 'type.googleapis.com/io.istio.http.peer_metadata.Config';

interface Methods {
  /** Discovery/propagation lists name `istio_headers` (done here) or `workload_discovery` (unsupported). */
  headers: boolean;
}

function methods(json: JsonObject, field: string, path: string, allowed: string[]): Methods {
  let headers = false;
  optArray(json, field, path).forEach((m, i) => {
    const p = join(join(path, field), i);
    if (!isObject(m)) throw configError(p, 'must be an object');
    assertKnownFields(m, allowed, p);
    if ('istio_headers' in m) headers = true;
  });
  return { headers };
}

class PeerMetadataFilter implements HttpFilter {
  private readonly own: LocalPeerHeaders;

  constructor(
    readonly name: string,
    ctx: ProxyContext,
    private readonly downstreamDiscovery: boolean,
    private readonly upstreamDiscovery: boolean,
    private readonly downstreamPropagation: boolean,
    private readonly upstreamPropagation: boolean,
  ) {
    this.own = localPeerHeaders(ctx.node);
  }

  decodeHeaders(stream: ActiveStream): FilterStatus {
    const h = stream.headers;
    if (this.downstreamDiscovery) {
      const v = h.get(PEER_METADATA_HEADER);
      if (v !== undefined) {
        stream.info.downstreamPeer = peerFromHeader(v);
        h.remove(PEER_METADATA_HEADER);
      }
      h.remove(PEER_METADATA_ID_HEADER);
    }
    // Traffic leaving the mesh (passthrough to an unknown host) does not get to read who we are.
    if (this.upstreamPropagation && stream.route?.action?.cluster !== 'PassthroughCluster') {
      h.set(PEER_METADATA_ID_HEADER, this.own.id);
      h.set(PEER_METADATA_HEADER, this.own.value);
    }
    return FilterStatus.Continue;
  }

  encodeHeaders(stream: ActiveStream, _status: number, headers: HeaderList): void {
    if (this.upstreamDiscovery) {
      const v = headers.get(PEER_METADATA_HEADER);
      if (v !== undefined) {
        stream.info.upstreamPeer = peerFromHeader(v);
        headers.remove(PEER_METADATA_HEADER);
      }
      headers.remove(PEER_METADATA_ID_HEADER);
    }
    // Only a caller that introduced itself is a sidecar; others (legacy clients, the outside) learn nothing.
    if (this.downstreamPropagation && stream.info.downstreamPeer) {
      headers.set(PEER_METADATA_ID_HEADER, this.own.id);
      headers.set(PEER_METADATA_HEADER, this.own.value);
    }
  }
}

registerHttpFilter(PEER_METADATA_TYPE, (json, ctx, path, name) => {
  assertKnownFields(json, ['@type', 'downstream_discovery', 'upstream_discovery', 'downstream_propagation', 'upstream_propagation', 'shared_with_upstream'], path);
  const discovery = ['istio_headers', 'workload_discovery'];
  const dd = methods(json, 'downstream_discovery', path, discovery);
  const ud = methods(json, 'upstream_discovery', path, discovery);
  const dp = methods(json, 'downstream_propagation', path, ['istio_headers']);
  const up = methods(json, 'upstream_propagation', path, ['istio_headers']);
  optBool(json, 'shared_with_upstream', path);
  return new PeerMetadataFilter(name, ctx, dd.headers, ud.headers, dp.headers, up.headers);
});
