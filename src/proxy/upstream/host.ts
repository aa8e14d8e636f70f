/**
 * One upstream endpoint. A host keeps its identity (per-host counters, outlier state, active
 * request/connection counts) across EDS and DNS updates as long as its address and port stay the
 * same, so an endpoint push does not reset ejections or make least-request forget the load.
 */
import type { Host, Locality } from './api.js';

/** Envoy's health_status values that take a host out of load balancing. */
export type EdsHealth = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED' | 'UNKNOWN';

/** Per-host outlier-detection state, owned by the outlier detector. */
export interface OutlierState {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  /** How many times the host has been ejected (multiplies base_ejection_time). */
  numEjections: number;
  /** When the current ejection started (ms since epoch), 0 when not ejected. */
  ejectedAt: number;
}

/** What an endpoint is, before it becomes a Host (from a ClusterLoadAssignment or DNS). */
export interface EndpointSpec {
  address: string;
  port: number;
  hostname?: string;
  weight: number;
  locality: Locality;
  /** Locality weight from the CLA (0 = none given). */
  localityWeight: number;
  priority: number;
  metadata: Record<string, unknown>;
  health: EdsHealth;
}

export const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

export function localityKey(l: Locality): string {
  return `${l.region}/${l.zone}/${l.subZone}`;
}

export class HostImpl implements Host {
  address: string;
  port: number;
  addressString: string;
  hostname?: string;
  weight: number;
  locality: Locality;
  localityWeight: number;
  priority: number;
  metadata: Record<string, unknown>;
  activeRequests = 0;
  activeConnections = 0;
  edsHealth: EdsHealth;
  /** Set by outlier detection. */
  ejected = false;
  readonly outlier: OutlierState = { consecutive5xx: 0, consecutiveGatewayFailure: 0, numEjections: 0, ejectedAt: 0 };
  /** For ORIGINAL_DST cleanup: the cleanup generation in which chooseHost last returned this host. */
  lastUsed = 0;
  // Per-host counters shown by /clusters.
  rqTotal = 0;
  rqSuccess = 0;
  rqError = 0;
  rqTimeout = 0;
  cxTotal = 0;
  cxConnectFail = 0;
  /** Cached transport socket choice for this host; reset when its metadata changes. */
  transportIndex = -1;

  constructor(spec: EndpointSpec) {
    this.address = spec.address;
    this.port = spec.port;
    this.addressString = formatAddress(spec.address, spec.port);
    this.hostname = spec.hostname;
    this.weight = spec.weight;
    this.locality = spec.locality;
    this.localityWeight = spec.localityWeight;
    this.priority = spec.priority;
    this.metadata = spec.metadata;
    this.edsHealth = spec.health;
  }

  /** Takes the new endpoint's attributes while keeping counters and outlier state. */
  update(spec: EndpointSpec): void {
    this.hostname = spec.hostname;
    this.weight = spec.weight;
    this.locality = spec.locality;
    this.localityWeight = spec.localityWeight;
    this.priority = spec.priority;
    if (this.metadata !== spec.metadata) this.transportIndex = -1;
    this.metadata = spec.metadata;
    this.edsHealth = spec.health;
  }

  /** LOGICAL_DNS keeps one host whose target moves when the name resolves elsewhere. */
  setAddress(address: string): void {
    this.address = address;
    this.addressString = formatAddress(address, this.port);
  }

  healthy(): boolean {
    return !this.ejected && (this.edsHealth === 'HEALTHY' || this.edsHealth === 'UNKNOWN');
  }

  /** Envoy's /clusters health_flags text. */
  healthFlags(): string {
    const flags: string[] = [];
    if (this.ejected) flags.push('/failed_outlier_check');
    if (this.edsHealth === 'UNHEALTHY' || this.edsHealth === 'TIMEOUT') flags.push('/failed_eds_health');
    if (this.edsHealth === 'DRAINING') flags.push('/pending_dynamic_removal');
    if (this.edsHealth === 'DEGRADED') flags.push('/degraded_eds_health');
    return flags.length ? flags.join('') : 'healthy';
  }
}

export function formatAddress(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export function hostKey(address: string, port: number): string {
  return `${address}|${port}`;
}
