/**
 * The `sailfin iptables` arguments of an injected pod's init container, from its
 * `traffic.sidecar.istio.io/*` annotations: parsed by the same code the local mesh uses
 * (so a bad value is refused here, at admission, not in a crash-looping init container), then
 * written back as the istio-iptables flags `sailfin iptables` takes.
 */
import { captureConfigFromAnnotations } from '../runtime/capture-annotations.js';
import type { CaptureConfig, PortSelection, RangeSelection } from '../runtime/capture-rules.js';

export const STATUS_PORT_ANNOTATION = 'status.sidecar.istio.io/port';
export const DEFAULT_STATUS_PORT = 15021;

function selection(s: PortSelection | RangeSelection): string {
  return s === '*' ? '*' : s.join(',');
}

/** The capture flags, or undefined when the pod opts out of capture (interceptionMode NONE). */
export function iptablesArgs(annotations: Record<string, string> | undefined, statusPort: number): string[] | undefined {
  const config: CaptureConfig | undefined = captureConfigFromAnnotations(annotations);
  if (!config) return undefined;
  const excludeInbound = [...new Set([...config.excludeInboundPorts, ...(statusPort > 0 ? [statusPort] : [])])];
  const args = [
    'iptables',
    '-p', String(config.outboundPort),
    '-z', String(config.inboundPort),
    '-u', String(config.proxyUid),
    '-g', String(config.proxyGid),
    '-i', selection(config.includeOutboundIPRanges),
    '-b', selection(config.includeInboundPorts),
    '-d', excludeInbound.join(','),
  ];
  // Empty lists are left out: they are the command's defaults, and an empty argv word is easy to lose.
  if (config.excludeOutboundIPRanges.length > 0) args.push('-x', config.excludeOutboundIPRanges.join(','));
  if (config.excludeOutboundPorts.length > 0) args.push('-o', config.excludeOutboundPorts.join(','));
  if (config.includeOutboundPorts.length > 0) args.push('-q', config.includeOutboundPorts.join(','));
  return args;
}
