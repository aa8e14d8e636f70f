/**
 * `sailfin up` as an object: the control plane, the mesh bridge, one PodRuntime per pod the manifests
 * declare (kept in step with them as files change), gateway ports exposed on host loopback, DNS
 * records, and the state file other commands read. Everything it creates is recorded before it is
 * created, so `stop()` — or a later `up`/`down` after a crash — removes it all.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ControlPlane } from '../discovery/control-plane.js';
import { createBridge, deleteBridge, type Bridge } from '../runtime/bridge.js';
import { NetworkState, cleanupLeftovers } from '../runtime/network-state.js';
import { DEFAULT_EXPLICIT_POD_CIDR, assertExplicitPodCidr } from '../runtime/explicit-mode.js';
import type { MeshMode } from '../runtime/mode.js';
import { ExplicitPodRuntime } from './explicit-pod-runtime.js';
import { dnsRecords, writeDnsRecords } from './dns-records.js';
import { forwardPort, type PortForward } from './port-forward.js';
import { PodRuntime, type PodRuntimeContext } from './pod-runtime.js';
import type { VipTarget } from './service-nat.js';
import { claimStateDir, overlayDir, releaseStateDir, writeState, type MeshState } from './state.js';

export interface LocalMeshOptions {
  paths: string[];
  stateDir: string;
  logger: Logger;
  xdsPort?: number;
  monitoringPort?: number;
  caPort?: number;
  /** The mesh bridge and its pod network; two meshes on one machine need different ones. */
  bridge?: string;
  podCidr?: string;
  /** Host ports for the ingress gateway's Service ports (default: the same numbers, else any free one). */
  exposeBase?: number;
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
  /** netns (default): a namespace per pod with capture; explicit: loopback addresses and HTTP_PROXY. */
  mode?: MeshMode;
  /** Why this mode was chosen (auto mode falling back to explicit), shown with the notes. */
  modeReasons?: string[];
}

export class LocalMesh {
  cp!: ControlPlane;
  private state?: NetworkState;
  private bridge?: Bridge;
  private readonly pods = new Map<string, PodRuntime>();
  private readonly forwards: Array<PortForward & { pod: string; namespace: string; podPort: number; name: string }> = [];
  private timer?: NodeJS.Timeout;
  private reconciling: Promise<void> = Promise.resolve();
  /** A reconcile is queued and has not started yet: further changes ride on it. */
  private queued = false;
  readonly notes: string[] = [];
  private readonly startedAt = new Date().toISOString();
  readonly mode: MeshMode;

  constructor(private readonly opts: LocalMeshOptions) {
    this.mode = opts.mode ?? 'netns';
  }

  /** Where proxies reach the control plane: the bridge address, or host loopback in explicit mode. */
  private get controlPlaneAddress(): string {
    return this.bridge?.gateway ?? '127.0.0.1';
  }

  private get dnsFile(): string {
    return join(this.opts.stateDir, 'dns', 'records.json');
  }

  async start(): Promise<void> {
    claimStateDir(this.opts.stateDir);
    // Sidecars run as UID 1337 and read their bootstrap and the DNS records from here.
    chmodSync(this.opts.stateDir, 0o755);
    const leftovers = await cleanupLeftovers(this.opts.stateDir, { force: true });
    if (leftovers.length) this.notes.push(`removed ${leftovers.length} item(s) a previous run left behind`);
    this.state = await NetworkState.open(this.opts.stateDir);
    const explicit = this.mode === 'explicit';
    const podCidr = explicit ? (this.opts.podCidr ?? DEFAULT_EXPLICIT_POD_CIDR) : this.opts.podCidr;
    if (explicit) {
      assertExplicitPodCidr(podCidr!);
      if (this.opts.modeReasons?.length) this.notes.push(`netns mode cannot run here (${this.opts.modeReasons.join('; ')}), so the mesh runs in explicit mode`);
    } else {
      this.bridge = await createBridge(this.state, { name: this.opts.bridge, podCidr });
      this.notes.push(...this.bridge.warnings);
    }
    // A fresh mesh starts from the manifests alone: earlier applies and deletes are forgotten.
    rmSync(overlayDir(this.opts.stateDir), { recursive: true, force: true });
    mkdirSync(overlayDir(this.opts.stateDir), { recursive: true });
    this.cp = new ControlPlane({
      paths: this.opts.paths,
      // Explicit mode: every proxy is on this host, and nothing else needs to reach the control plane.
      host: explicit ? '127.0.0.1' : '0.0.0.0',
      adsPort: this.opts.xdsPort ?? 15010,
      monitoringPort: this.opts.monitoringPort ?? 15014,
      watch: true,
      logger: this.opts.logger,
      podCidr,
      overlayDir: overlayDir(this.opts.stateDir),
      ca: { stateDir: join(this.opts.stateDir, 'ca'), port: this.opts.caPort ?? 15012, ipAddresses: [...new Set([this.controlPlaneAddress, '127.0.0.1'])] },
    });
    await this.cp.start();
    this.cp.registry.subscribe(() => this.schedule());
    // The registry only reports service and endpoint changes, so a Deployment no Service selects (a
    // client, a crashing job) would never start or stop on reload: watch the config itself as well.
    this.cp.store.onChange(() => this.schedule());
    await this.reconcile();
    this.timer = setInterval(() => this.writeStateFile(), 1000);
    this.timer.unref();
  }

  private schedule(): void {
    if (this.queued) return;
    this.queued = true;
    this.reconciling = this.reconciling
      .then(() => {
        this.queued = false;
        return this.reconcile();
      })
      .catch((err: unknown) => this.opts.logger.error(`reconcile failed: ${(err as Error).message}`));
  }

  /** Makes the running pods match the registry: start new ones, stop removed ones, refresh names and rules. */
  private async reconcile(): Promise<void> {
    const registry = this.cp.registry;
    writeDnsRecords(this.dnsFile, dnsRecords(registry));
    const wanted = new Map(registry.allPods().map((p) => [`${p.namespace}/${p.name}`, p]));
    for (const [key, rt] of this.pods) {
      const now = wanted.get(key);
      // A pod whose spec changed is replaced, as a Deployment rollout would do.
      const resource = now && this.cp.podResource(now.namespace, now.name);
      if (!now || (resource && JSON.stringify(resource.resource) !== JSON.stringify(rt.resource.resource))) {
        this.pods.delete(key);
        await rt.stop();
      }
    }
    const starting: Array<Promise<void>> = [];
    for (const [key, pod] of wanted) {
      if (this.pods.has(key)) continue;
      const resource = this.cp.podResource(pod.namespace, pod.name);
      if (!resource) continue;
      const podCtx: PodRuntimeContext = {
        state: this.state!,
        bridge: this.bridge,
        stateDir: this.opts.stateDir,
        dnsRecordsFile: this.dnsFile,
        controlPlane: { address: this.controlPlaneAddress, port: this.cp.adsPort },
        ca: this.cp.caServer && {
          address: `${this.controlPlaneAddress}:${this.cp.caServer.port}`,
          bootstrap: (namespace: string, serviceAccount: string) => ({
            token: this.cp.caServer!.ca.tokens.issue({ trustDomain: this.cp.caServer!.ca.ca.trustDomain, namespace, serviceAccount }),
            rootsPem: this.cp.caServer!.ca.ca.rootsPem,
          }),
        },
        clusterDomain: 'cluster.local',
        searchDomains: (ns) => [`${ns}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'],
        backoff: this.opts.backoff,
      };
      const rt =
        this.mode === 'explicit'
          ? new ExplicitPodRuntime(pod, resource, podCtx, { inboundPorts: [...new Set(registry.instancesOf(pod.address).map((i) => i.endpoint.port))] })
          : new PodRuntime(pod, resource, podCtx);
      this.pods.set(key, rt);
      // Pods start side by side, as a kubelet starts them; each records what it creates before creating it.
      starting.push(
        rt.start().catch((err: unknown) => {
          rt.error = (err as Error).message;
          this.opts.logger.error(`pod ${key} cannot start: ${rt.error}`);
        }),
      );
    }
    await Promise.all(starting);
    await this.updateServiceRules();
    await this.exposeGateways();
    this.writeStateFile();
  }

  private async updateServiceRules(): Promise<void> {
    const registry = this.cp.registry;
    const targets: VipTarget[] = [];
    for (const svc of registry.services()) {
      if (svc.source !== 'kubernetes') continue;
      for (const vip of svc.addresses) {
        for (const p of svc.ports) {
          targets.push({ vip, port: p.port, endpoints: registry.endpoints(svc.hostname, p.port).filter((e) => e.ready).map((e) => ({ address: e.address, port: e.port })) });
        }
      }
    }
    for (const rt of this.pods.values()) await rt.updateServiceRules(targets).catch((err: unknown) => this.opts.logger.warn(`service rules for ${rt.key}: ${(err as Error).message}`));
  }

  /** The ingress gateway's Service ports on 127.0.0.1, the local stand-in for its LoadBalancer. */
  private async exposeGateways(): Promise<void> {
    const registry = this.cp.registry;
    for (const rt of this.pods.values()) {
      if (rt.gateway !== 'ingress') continue;
      for (const inst of registry.instancesOf(rt.pod.address)) {
        const podPort = inst.endpoint.port;
        if (podPort === 15021 || this.forwards.some((f) => f.pod === rt.pod.name && f.podPort === podPort)) continue;
        const name = inst.servicePort.name ?? String(inst.servicePort.port);
        let fwd: PortForward;
        try {
          fwd = await forwardPort(inst.servicePort.port, rt.pod.address, podPort);
        } catch (err) {
          fwd = await forwardPort(0, rt.pod.address, podPort);
          // Ports below 1024 need root: an unprivileged (explicit-mode) mesh hits this, not a conflict.
          const why = (err as NodeJS.ErrnoException).code === 'EACCES' ? 'needs root to listen on' : 'is taken';
          this.notes.push(`port ${inst.servicePort.port} ${why} on this host; ${rt.pod.name}:${podPort} (${name}) is on 127.0.0.1:${fwd.hostPort} instead`);
        }
        this.forwards.push({ ...fwd, pod: rt.pod.name, namespace: rt.pod.namespace, podPort, name });
      }
    }
  }

  snapshot(): MeshState {
    const pods = [...this.pods.values()].map((p) => p.status());
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      mode: this.mode,
      paths: this.opts.paths,
      controlPlane: { adsPort: this.cp?.adsPort ?? 0, monitoringPort: this.cp?.monitoringPort ?? 0, address: this.cp ? this.controlPlaneAddress : '' },
      exposed: this.forwards.map((f) => ({ pod: f.pod, namespace: f.namespace, podPort: f.podPort, hostPort: f.hostPort, name: f.name })),
      pods,
      services: (this.cp?.registry.services() ?? []).map((s) => ({ name: s.name, namespace: s.namespace, hostname: s.hostname, addresses: [...s.addresses], ports: s.ports.map((p) => ({ port: p.port, name: p.name, protocol: p.protocol })) })),
      ready: pods.length > 0 && pods.every((p) => p.ready),
      notes: [...this.notes, ...[...this.pods.values()].flatMap((p) => (p.error ? [`${p.key}: ${p.error}`] : p.problems()))],
    };
  }

  private writeStateFile(): void {
    writeState(this.opts.stateDir, this.snapshot());
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reconciling.catch(() => undefined);
    for (const f of this.forwards) await f.close();
    await Promise.all([...this.pods.values()].map((p) => p.stop().catch(() => undefined)));
    this.pods.clear();
    await this.cp?.close();
    if (this.state && this.bridge) await deleteBridge(this.state, this.bridge).catch(() => undefined);
    await cleanupLeftovers(this.opts.stateDir, { force: true }).catch(() => undefined);
    releaseStateDir(this.opts.stateDir);
  }
}
