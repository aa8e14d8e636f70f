/**
 * The workload-side SDS server istio-agent runs for Envoy: Envoy's SecretDiscoveryService
 * (StreamSecrets, state of the world) serving the workload's `default` certificate and `ROOTCA`,
 * usually on a Unix socket only the proxy can reach. Sailfin's own proxy takes its certificates
 * in-process (proxy-secret-feed.ts); this is for a stock Envoy next to a Sailfin workload identity.
 * Each rotation is pushed to every stream; names it does not hold are left out until they exist,
 * which Envoy treats as "not ready yet" (its listener waits instead of serving without TLS).
 */
import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { adsCodecs, bidiStreamMethod, type DiscoveryRequest, type DiscoveryResponse } from '../xds/ads-service.js';
import { fromEnvoyJson, type JsonObject } from '../xds/envoy-json.js';
import { SDS_DEFAULT_CERT, SDS_ROOT_CA, SECRET_TYPE_URL, defaultCertificateSecret, rootCaSecret } from './sds-secrets.js';
import type { WorkloadCertificate, WorkloadCertificates } from './workload-certificates.js';

export const SDS_STREAM_METHOD = '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets';

type SdsStream = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

export function sdsServiceDefinition(): grpc.ServiceDefinition {
  const { request, response } = adsCodecs();
  return { StreamSecrets: bidiStreamMethod(SDS_STREAM_METHOD, request, response) };
}

interface StreamState {
  names: string[];
  lastNonce?: string;
  /** The version this stream last had acknowledged, for stats and debugging. */
  ackedVersion?: string;
  rejected?: string;
}

export interface SdsServerStats {
  streams: number;
  pushes: number;
  nacks: number;
}

function secretsFor(cert: WorkloadCertificate | undefined): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  if (!cert) return out;
  out.set(SDS_DEFAULT_CERT, defaultCertificateSecret(cert) as JsonObject);
  out.set(SDS_ROOT_CA, rootCaSecret(cert.rootsPem) as JsonObject);
  return out;
}

/** Registers StreamSecrets on `server`, serving `certs`; returns live stats and a stop function. */
export function addSdsService(server: grpc.Server, certs: WorkloadCertificates): { stats: SdsServerStats; stop(): void } {
  const stats: SdsServerStats = { streams: 0, pushes: 0, nacks: 0 };
  const streams = new Map<SdsStream, StreamState>();
  const noncePrefix = randomBytes(3).toString('hex');
  let nonceCounter = 0;
  const version = () => certs.current?.serialNumber ?? '';

  const push = (stream: SdsStream, state: StreamState) => {
    const available = secretsFor(certs.current);
    const resources = state.names.filter((n) => available.has(n)).map((n) => fromEnvoyJson(SECRET_TYPE_URL, available.get(n)!));
    if (resources.length === 0) return;
    state.lastNonce = `${noncePrefix}-${++nonceCounter}`;
    stats.pushes++;
    stream.write({ version_info: version(), resources, type_url: SECRET_TYPE_URL, nonce: state.lastNonce });
  };

  const onUpdate = () => {
    for (const [stream, state] of streams) push(stream, state);
  };
  certs.on('update', onUpdate);

  server.addService(sdsServiceDefinition(), {
    StreamSecrets: (stream: SdsStream) => {
      const state: StreamState = { names: [] };
      streams.set(stream, state);
      stats.streams++;
      const end = () => {
        if (streams.delete(stream)) stats.streams--;
      };
      stream.on('data', (req: DiscoveryRequest) => {
        const names = [...(req.resource_names ?? [])].sort();
        const namesChanged = names.join('\0') !== state.names.join('\0');
        state.names = names;
        const isReply = !!req.response_nonce;
        if (isReply && req.response_nonce === state.lastNonce) {
          if (req.error_detail && (req.error_detail.code ?? 0) !== 0) {
            stats.nacks++;
            state.rejected = req.error_detail.message ?? 'rejected';
          } else {
            state.ackedVersion = req.version_info;
          }
        }
        // The first request, or a change of names, gets an answer; an ACK/NACK of the latest push does not.
        if (!isReply || namesChanged) push(stream, state);
      });
      stream.on('end', () => {
        end();
        stream.end();
      });
      stream.on('error', end);
      stream.on('cancelled', end);
    },
  });
  return {
    stats,
    stop: () => {
      certs.off('update', onUpdate);
      for (const stream of streams.keys()) stream.end();
      streams.clear();
    },
  };
}
