/**
 * Everything a generator needs for one proxy at one moment: the proxy, the services it may see, the
 * Istio config in force and the mesh settings. Built per (proxy, push) so every resource of one push is
 * generated from the same snapshot.
 */
import type { IstioConfig } from './istio-config.js';
import type { MeshService, ServiceView } from './model.js';
import type { ProxyInfo } from './proxy-info.js';
import type { TracingSettings } from './listeners/tracing.js';

export interface MeshSettings {
  domain: string;
  trustDomain: string;
  rootNamespace: string;
  enableAutoMtls: boolean;
  outboundTrafficPolicy: 'ALLOW_ANY' | 'REGISTRY_ONLY';
  /** `defaultConfig.tracing` of the mesh config; absent = Istio's defaults (see listeners/tracing.ts). */
  tracing?: TracingSettings;
  /** The mesh config's dnsRefreshRate for DNS ServiceEntry clusters (absent = Istio's 60s). */
  dnsRefreshRate?: string;
}

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  domain: 'cluster.local',
  trustDomain: 'cluster.local',
  rootNamespace: 'istio-system',
  enableAutoMtls: true,
  outboundTrafficPolicy: 'ALLOW_ANY',
};

export interface GenContext {
  proxy: ProxyInfo;
  services: ServiceView;
  config: IstioConfig;
  mesh: MeshSettings;
  /** Gateways this proxy serves as `ns/name`, or `mesh` for sidecars. */
  gateways: ReadonlySet<string>;
}

function exportedTo(svc: MeshService, namespace: string): boolean {
  return svc.exportTo.has('*') || svc.exportTo.has(namespace) || (svc.exportTo.has('.') && svc.namespace === namespace);
}

/** Services this proxy may reach: exportTo, then the Sidecar resource's egress hosts (`ns/host`, `./*`, `*\/*`). */
export function visibleServices(ctx: GenContext): MeshService[] {
  const all = ctx.services.services().filter((s) => exportedTo(s, ctx.proxy.namespace));
  if (ctx.proxy.type !== 'sidecar') return all;
  const sidecar = ctx.config.sidecarFor(ctx.proxy.namespace, ctx.proxy.labels);
  if (!sidecar?.egress?.length) return all;
  const rules = sidecar.egress.flatMap((e) => e.hosts);
  return all.filter((svc) =>
    rules.some((rule) => {
      const [nsPart, hostPart] = rule.includes('/') ? rule.split('/', 2) : ['*', rule];
      const ns = nsPart === '.' ? ctx.proxy.namespace : nsPart;
      if (ns.startsWith('~')) return false;
      if (ns !== '*' && ns !== svc.namespace) return false;
      if (hostPart === '*') return true;
      if (hostPart.startsWith('*.')) return svc.hostname.endsWith(hostPart.slice(1));
      return svc.hostname === hostPart || svc.hostname === `${hostPart}.${svc.namespace}.svc.${ctx.mesh.domain}`;
    }),
  );
}

/** The outbound policy for this proxy: its Sidecar resource's, else the mesh's. */
export function outboundPolicy(ctx: GenContext): 'ALLOW_ANY' | 'REGISTRY_ONLY' {
  return ctx.config.sidecarFor(ctx.proxy.namespace, ctx.proxy.labels)?.outboundTrafficPolicy?.mode ?? ctx.mesh.outboundTrafficPolicy;
}
