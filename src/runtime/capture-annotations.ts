/**
 * Istio's per-pod capture annotations (`traffic.sidecar.istio.io/*`), read into a CaptureConfig. The same
 * parsing serves the `sailfin iptables` flags, which take the same value syntax.
 */
import { isIP } from 'node:net';
import { SailfinError } from '../common/errors.js';
import { DEFAULT_CAPTURE_CONFIG, PROXY_INBOUND_EXCLUDED_PORTS, type CaptureConfig, type PortSelection, type RangeSelection } from './capture-rules.js';

export const CAPTURE_ANNOTATIONS = {
  includeInboundPorts: 'traffic.sidecar.istio.io/includeInboundPorts',
  excludeInboundPorts: 'traffic.sidecar.istio.io/excludeInboundPorts',
  includeOutboundPorts: 'traffic.sidecar.istio.io/includeOutboundPorts',
  excludeOutboundPorts: 'traffic.sidecar.istio.io/excludeOutboundPorts',
  includeOutboundIPRanges: 'traffic.sidecar.istio.io/includeOutboundIPRanges',
  excludeOutboundIPRanges: 'traffic.sidecar.istio.io/excludeOutboundIPRanges',
  interceptionMode: 'sidecar.istio.io/interceptionMode',
} as const;

function split(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** A comma-separated port list ("" is an empty list). */
export function parsePortList(value: string, field: string): number[] {
  return split(value).map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) {
      throw new SailfinError('schema', `"${p}" is not a port number (1-65535)`, { field });
    }
    return n;
  });
}

/** "*" or a comma-separated port list. */
export function parsePortSelection(value: string, field: string): PortSelection {
  return value.trim() === '*' ? '*' : parsePortList(value, field);
}

/** A comma-separated list of CIDRs (a bare address is taken as a single host). */
export function parseCidrList(value: string, field: string): string[] {
  return split(value).map((c) => {
    const [address, prefix, ...rest] = c.split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const bits = prefix === undefined ? max : Number(prefix);
    if (!family || rest.length > 0 || !Number.isInteger(bits) || bits < 0 || bits > max || (prefix !== undefined && !/^\d+$/.test(prefix))) {
      throw new SailfinError('schema', `"${c}" is not an IP address range in CIDR form (e.g. 10.0.0.0/8)`, { field });
    }
    return `${address}/${bits}`;
  });
}

/** "*" or a comma-separated CIDR list. */
export function parseRangeSelection(value: string, field: string): RangeSelection {
  return value.trim() === '*' ? '*' : parseCidrList(value, field);
}

function annotationField(key: string): string {
  return `metadata.annotations["${key}"]`;
}

/**
 * The capture config for a pod with these annotations, starting from `base` (Istio's defaults).
 * Returns undefined when the pod opts out of capture (`sidecar.istio.io/interceptionMode: NONE`).
 * Istio adds the proxy's own ports to excludeInboundPorts whatever the annotation says; so does this.
 */
export function captureConfigFromAnnotations(
  annotations: Record<string, string> | undefined,
  base: Readonly<CaptureConfig> = DEFAULT_CAPTURE_CONFIG,
): CaptureConfig | undefined {
  const a = annotations ?? {};
  const config: CaptureConfig = { ...base, excludeInboundPorts: [...base.excludeInboundPorts] };
  const K = CAPTURE_ANNOTATIONS;

  const mode = a[K.interceptionMode];
  if (mode !== undefined) {
    if (mode === 'NONE') return undefined;
    if (mode !== 'REDIRECT') {
      const kind = mode === 'TPROXY' ? 'unsupported' : 'schema';
      const why = mode === 'TPROXY' ? 'TPROXY interception is not supported by Sailfin; use REDIRECT' : `"${mode}" is not one of REDIRECT, TPROXY, NONE`;
      throw new SailfinError(kind, why, { field: annotationField(K.interceptionMode) });
    }
  }
  if (a[K.includeInboundPorts] !== undefined) {
    config.includeInboundPorts = parsePortSelection(a[K.includeInboundPorts], annotationField(K.includeInboundPorts));
  }
  if (a[K.excludeInboundPorts] !== undefined) {
    const extra = parsePortList(a[K.excludeInboundPorts], annotationField(K.excludeInboundPorts));
    config.excludeInboundPorts = [...new Set([...PROXY_INBOUND_EXCLUDED_PORTS, ...config.excludeInboundPorts, ...extra])];
  }
  if (a[K.includeOutboundPorts] !== undefined) {
    config.includeOutboundPorts = parsePortList(a[K.includeOutboundPorts], annotationField(K.includeOutboundPorts));
  }
  if (a[K.excludeOutboundPorts] !== undefined) {
    config.excludeOutboundPorts = parsePortList(a[K.excludeOutboundPorts], annotationField(K.excludeOutboundPorts));
  }
  if (a[K.includeOutboundIPRanges] !== undefined) {
    config.includeOutboundIPRanges = parseRangeSelection(a[K.includeOutboundIPRanges], annotationField(K.includeOutboundIPRanges));
  }
  if (a[K.excludeOutboundIPRanges] !== undefined) {
    config.excludeOutboundIPRanges = parseCidrList(a[K.excludeOutboundIPRanges], annotationField(K.excludeOutboundIPRanges));
  }
  return config;
}
