/**
 * Istio's names for generated resources. Users grep for these in config dumps, access logs and
 * stats (`outbound|9080|v1|reviews.default.svc.cluster.local`), so they must match Istio's exactly.
 */

export type TrafficDirection = 'outbound' | 'inbound';

export function clusterName(direction: TrafficDirection, port: number, subset: string, hostname: string): string {
  return `${direction}|${port}|${subset}|${hostname}`;
}

export interface ParsedClusterName {
  direction: TrafficDirection;
  port: number;
  subset: string;
  hostname: string;
}

export function parseClusterName(name: string): ParsedClusterName | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || (parts[0] !== 'outbound' && parts[0] !== 'inbound')) return undefined;
  const port = Number(parts[1]);
  if (!Number.isInteger(port)) return undefined;
  return { direction: parts[0], port, subset: parts[2], hostname: parts[3] };
}

/** The SNI a client sidecar sends with ISTIO_MUTUAL, which SNI-routing gateways (AUTO_PASSTHROUGH) read back. */
export function istioMutualSni(port: number, subset: string, hostname: string): string {
  return `outbound_.${port}_.${subset}_.${hostname}`;
}

export const PASSTHROUGH_CLUSTER = 'PassthroughCluster';
export const BLACKHOLE_CLUSTER = 'BlackHoleCluster';
export const INBOUND_PASSTHROUGH_CLUSTER = 'InboundPassthroughCluster';
export const PASSTHROUGH_FILTER_CHAIN = 'PassthroughFilterChain';
export const VIRTUAL_OUTBOUND_LISTENER = 'virtualOutbound';
export const VIRTUAL_INBOUND_LISTENER = 'virtualInbound';
export const ALLOW_ANY_VHOST = 'allow_any';
export const BLOCK_ALL_VHOST = 'block_all';
