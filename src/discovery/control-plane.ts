/**
 * The control plane as one object: config store fed from files (reloaded live), the service view
 * built from it, the Istio generator, and the ADS + monitoring servers. A change that fails validation
 * is refused whole and logged with the analyzer's messages; proxies keep the last good config.
 */
import { mkdirSync } from 'node:fs';
import type { Logger } from 'pino';
import { ParseCache, loadPaths } from '../config/loader.js';
import type { ConfigEvent } from '../config/events.js';
import { formatMessage, hasErrors, type AnalysisMessage } from '../config/messages.js';
import { meshConfigFrom } from '../config/mesh-config.js';
import { tracingSettings } from '../pilot/listeners/tracing.js';
import type { LoadedResource } from '../config/resource.js';
import { ConfigStore } from '../config/store.js';
import { expandWorkloads } from '../config/workloads.js';
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../pilot/context.js';
import { PilotGenerator, type PilotSnapshot } from '../pilot/generator.js';
import { IstioConfig, type VirtualServiceSpec } from '../pilot/istio-config.js';
import type { ServiceView } from '../pilot/model.js';
import { hasServiceChange } from '../registry/events.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { TypeUrl, type XdsTypeUrl } from '../xds/protos.js';
import type { ConnectedProxy } from '../xds/generator.js';
import type { AdsServer } from '../xds/server.js';
import { serveXds, type XdsServing } from '../xds/serve.js';
import { startCaServer, type CaServer } from './ca-server.js';
import { ConfigWatcher } from './config-watcher.js';
import { EndpointFacts, podLabelsBefore, relabelledPods } from './endpoint-facts.js';
import { mergeOverlay, readDeleted } from './overlay.js';
import { affectedNamespaces } from './push-scope.js';
import { RegistryView } from './registry-view.js';
import { WorkloadFeed } from './workload-feed.js';

/** Builds the services view from every loaded object (Deployments already expanded into Pods). */
export type ServiceViewFactory = (resources: readonly LoadedResource[], mesh: MeshSettings) => ServiceView;

export interface ControlPlaneOptions {
  paths: readonly string[];
  host?: string;
  adsPort?: number;
  monitoringPort?: number;
  watch?: boolean;
  logger: Logger;
  /** A fixed service view instead of the registry (tests of the generators' wiring). */
  services?: ServiceViewFactory;
  debounceMs?: number;
  /** `sailfin apply`/`delete` changes (see overlay.ts), watched with the paths. */
  overlayDir?: string;
  /** Where pod addresses come from (the local mesh's bridge network). */
  podCidr?: string;
  /** Run the mesh CA (IstioCertificateService over TLS) with its root kept in this directory. */
  ca?: { stateDir: string; port: number; ipAddresses: string[] };
  /** Another config source instead of `paths` (the Kubernetes API): it feeds the store via apply/delete. */
  source?: ExternalConfigSource;
}

export interface ExternalConfigSource {
  /** Starts feeding `store`; resolves once the first full state is in it. */
  start(store: ConfigStore): Promise<void>;
  stop(): void;
}

/** Kinds that only place endpoints: a change to them alone is an endpoint update unless it shows elsewhere (endpoint-facts.ts). */
const ENDPOINT_KINDS = new Set(['Pod', 'Deployment', 'StatefulSet', 'EndpointSlice']);

/** Whether the proxy watches an EDS cluster (`outbound|port|subset|host`) of one of `hostnames`. */
function watchesHost(proxy: ConnectedProxy, hostnames: ReadonlySet<string>): boolean {
  for (const name of proxy.subscribedNames(TypeUrl.ClusterLoadAssignment) ?? []) if (hostnames.has(name.slice(name.lastIndexOf('|') + 1))) return true;
  return false;
}

/** Whether a VirtualService routes TCP or TLS: those rules live in listeners, not route tables. */
function hasL4Routes(spec: VirtualServiceSpec | undefined): boolean {
  return !!(spec?.tcp?.length || spec?.tls?.length);
}

export class ControlPlane {
  readonly store = new ConfigStore();
  readonly registry: ServiceRegistry;
  private readonly feed: WorkloadFeed;
  private readonly view: RegistryView;
  private readonly facts: EndpointFacts;
  private serving: XdsServing | undefined;
  caServer: CaServer | undefined;
  private watcher: ConfigWatcher | undefined;
  private current: PilotSnapshot | undefined;
  private generator: PilotGenerator | undefined;
  private loads = 0;
  /** Reloads re-parse and re-validate only files whose text changed. */
  private readonly parsed = new ParseCache();
  private readonly overlayParsed = new ParseCache();

  constructor(private readonly opts: ControlPlaneOptions) {
    this.registry = new ServiceRegistry(opts.podCidr ? { podCidr: opts.podCidr } : {});
    this.feed = new WorkloadFeed(this.store, this.registry);
    this.view = new RegistryView(this.registry);
    this.facts = new EndpointFacts(this.registry);
    this.store.onChange((events) => {
      const labelsBefore = podLabelsBefore(this.registry, events);
      const registryEvents = this.feed.apply(events);
      const moved = this.facts.update(new Set(registryEvents.map((e) => e.hostname)));
      for (const address of relabelledPods(this.registry, labelsBefore)) moved.moved.add(address);
      // A change to workloads or EndpointSlices that moved only endpoints needs only an EDS push, as in
      // Istio, and the rest of the push context (Istio config, clusters, listeners, routes) stays as it is.
      const onlyEndpoints = events.every((e) => ENDPOINT_KINDS.has(e.resource.resource.kind));
      if (onlyEndpoints && !hasServiceChange(registryEvents) && !moved.structural && !this.opts.services) {
        this.endpointsChanged(registryEvents.map((e) => e.hostname), moved.moved);
        return;
      }
      const types = this.routingOnlyTypes(events);
      const namespaces = types && this.current ? affectedNamespaces(events, this.current.config, this.current.mesh.rootNamespace) : undefined;
      this.generator?.configChanged(events.map((e) => e.resource.resource.kind));
      this.current = undefined;
      if (!types) this.serving?.ads.push({ reason: 'config' });
      else this.serving?.ads.push({ reason: 'config', types, ...(namespaces ? { proxies: (p) => this.inNamespaces(p, namespaces) } : {}) });
    });
  }

  /**
   * Istio's incremental EDS: the changed services' assignments only, to the proxies that watch one of
   * their clusters (a proxy whose Sidecar or exportTo hides the service has none); and the pods whose
   * own inbound side moved get their listeners and clusters again (Istio's ProxyUpdate).
   */
  private endpointsChanged(hostnames: readonly string[], moved: ReadonlySet<string>): void {
    const hosts = new Set(hostnames);
    this.generator?.endpointsChanged(hosts);
    const ads = this.serving?.ads;
    if (!ads) return;
    if (hosts.size > 0) ads.push({ reason: 'endpoint', types: [TypeUrl.ClusterLoadAssignment], proxies: (p) => watchesHost(p, hosts) });
    const at = (p: ConnectedProxy) => this.proxyIps(p).some((ip) => moved.has(ip));
    if (moved.size > 0 && ads.connections().some(at)) ads.push({ reason: 'proxy', types: [TypeUrl.Cluster, TypeUrl.Listener], proxies: at });
  }

  /** The proxy's pod addresses; none for a node the generator cannot place (this runs in the store's listener, which must not throw). */
  private proxyIps(proxy: ConnectedProxy): readonly string[] {
    try {
      return this.generator!.proxyInfo(proxy).ips;
    } catch {
      return [];
    }
  }

  private inNamespaces(proxy: ConnectedProxy, namespaces: ReadonlySet<string>): boolean {
    try {
      return namespaces.has(this.generator!.proxyInfo(proxy).namespace);
    } catch {
      return true; // a node the generator cannot place: better pushed than stale
    }
  }

  /**
   * The types a change of routing rules alone can affect (clusters come from Services and DestinationRules,
   * so never those): route tables for HTTP rules, listeners for TCP/TLS rules (in the VirtualService before
   * or after the change) and for policies. Undefined when anything else changed: push everything.
   */
  private routingOnlyTypes(events: readonly ConfigEvent[]): XdsTypeUrl[] | undefined {
    const types = new Set<XdsTypeUrl>();
    for (const e of events) {
      const r = e.resource.resource;
      if (r.kind === 'AuthorizationPolicy' || r.kind === 'RequestAuthentication') types.add(TypeUrl.Listener);
      else if (r.kind === 'VirtualService') {
        types.add(TypeUrl.RouteConfiguration);
        const ns = r.metadata.namespace ?? 'default';
        const before = this.current?.config.virtualServices.find((vs) => vs.namespace === ns && vs.name === r.metadata.name);
        if (!this.current || hasL4Routes(r.spec as VirtualServiceSpec | undefined) || (before && hasL4Routes(before.spec))) types.add(TypeUrl.Listener);
      } else return undefined;
    }
    return [...types];
  }

  /** The Pod resource behind a registry pod (for the local mesh, which runs its containers). */
  podResource(namespace: string, name: string): LoadedResource | undefined {
    return this.feed.podResource(namespace, name);
  }

  get adsPort(): number {
    return this.serving?.adsPort ?? 0;
  }

  /** The ADS server once started (benchmarks and tests read its connections' sync state). */
  get ads(): AdsServer | undefined {
    return this.serving?.ads;
  }

  get monitoringPort(): number {
    return this.serving?.monitoringPort ?? 0;
  }

  /** The view every proxy's config is generated from; rebuilt lazily after each accepted change. */
  snapshot(): PilotSnapshot {
    if (!this.current) {
      const resources = this.store.list();
      const mesh = this.meshSettings(resources);
      this.current = {
        services: this.opts.services ? this.opts.services(expandWorkloads(resources), mesh) : this.view,
        config: new IstioConfig(resources, mesh.domain, mesh.rootNamespace),
        mesh,
        secrets: resources.filter((r) => r.resource.kind === 'Secret'),
      };
    }
    return this.current;
  }

  private meshSettings(resources: readonly LoadedResource[]): MeshSettings {
    const { config } = meshConfigFrom(resources);
    return {
      ...DEFAULT_MESH_SETTINGS,
      trustDomain: config.trustDomain,
      rootNamespace: config.rootNamespace,
      enableAutoMtls: config.enableAutoMtls,
      outboundTrafficPolicy: config.outboundTrafficPolicy.mode,
      tracing: tracingSettings(config.defaultConfig),
      dnsRefreshRate: config.dnsRefreshRate,
    };
  }

  /** Reads the paths again and applies them as one batch; returns the messages (errors refuse the batch). */
  async reload(): Promise<{ accepted: boolean; messages: AnalysisMessage[] }> {
    const loaded = await loadPaths(this.opts.paths, { cache: this.parsed });
    if (hasErrors(loaded.messages)) return this.report(false, loaded.messages);
    let resources = loaded.resources;
    if (this.opts.overlayDir) {
      mkdirSync(this.opts.overlayDir, { recursive: true });
      const overlay = await loadPaths([this.opts.overlayDir], { cache: this.overlayParsed });
      if (hasErrors(overlay.messages)) return this.report(false, overlay.messages);
      resources = mergeOverlay(resources, overlay.resources, readDeleted(this.opts.overlayDir));
    }
    const result = this.store.replace(resources);
    this.loads++;
    return this.report(result.accepted, [...loaded.messages, ...result.messages]);
  }

  /** The files the last reload had to parse (and validate) again: those whose text changed. */
  get reparsedFiles(): readonly string[] {
    return this.parsed.parsedFiles;
  }

  private report(accepted: boolean, messages: AnalysisMessage[]): { accepted: boolean; messages: AnalysisMessage[] } {
    const log = this.opts.logger;
    for (const m of messages) (m.type.level === 'Error' ? log.error.bind(log) : log.warn.bind(log))(formatMessage(m));
    if (!accepted) log.error(`config change refused: ${messages.filter((m) => m.type.level === 'Error').length} error(s); the last good config stays in force`);
    return { accepted, messages };
  }

  async start(): Promise<void> {
    if (this.opts.source) {
      await this.opts.source.start(this.store);
      this.loads++;
    }
    const first = this.opts.source ? { accepted: true, messages: [] } : await this.reload();
    if (!first.accepted) {
      throw new Error(`the manifests have errors:\n${first.messages.filter((m) => m.type.level === 'Error').map(formatMessage).join('\n')}`);
    }
    if (this.opts.ca) {
      this.caServer = await startCaServer({
        stateDir: this.opts.ca.stateDir,
        host: this.opts.host ?? '0.0.0.0',
        port: this.opts.ca.port,
        trustDomain: this.snapshot().mesh.trustDomain,
        ipAddresses: this.opts.ca.ipAddresses,
        logger: this.opts.logger,
      });
      const onConfig = this.caServer.ca.onConfig;
      onConfig(this.store.list().map((resource) => ({ type: 'upsert' as const, resource })));
      this.store.onChange(onConfig);
    }
    this.generator = new PilotGenerator(() => this.snapshot());
    this.serving = await serveXds({
      generator: this.generator,
      host: this.opts.host,
      adsPort: this.opts.adsPort,
      monitoringPort: this.opts.monitoringPort,
      logger: this.opts.logger,
      debounce: this.opts.debounceMs !== undefined ? { quietMs: this.opts.debounceMs } : undefined,
      isReady: () => this.loads > 0,
    });
    if (this.opts.watch && !this.opts.source) {
      this.watcher = new ConfigWatcher(this.opts.overlayDir ? [...this.opts.paths, this.opts.overlayDir] : this.opts.paths, () => {
        this.reload().catch((err: unknown) => this.opts.logger.error(`reload failed: ${(err as Error).message}`));
      });
      await this.watcher.start();
    }
  }

  /** `sailfin apply`: add or replace objects; refused whole on any error. */
  apply(batch: readonly LoadedResource[]): { accepted: boolean; messages: AnalysisMessage[] } {
    const r = this.store.apply(batch);
    return this.report(r.accepted, r.messages);
  }

  async close(): Promise<void> {
    this.watcher?.close();
    this.opts.source?.stop();
    await this.serving?.close();
    await this.caServer?.close();
  }
}
