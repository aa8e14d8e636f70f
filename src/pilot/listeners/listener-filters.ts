/**
 * The listener filters Sailfin's listeners use, each spelled once: the TLS inspector (SNI and ALPN
 * for filter-chain matching, on the outbound, inbound, explicit and gateway listeners) and the
 * original-destination filter of the capturing inbound listener.
 */
import type { JsonObject } from '../../proxy/config/fields.js';

export const TLS_INSPECTOR: JsonObject = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

export const ORIGINAL_DST: JsonObject = {
  name: 'envoy.filters.listener.original_dst',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst' },
};
