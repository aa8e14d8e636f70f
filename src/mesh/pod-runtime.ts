/**
 * One pod of the local mesh, run the way the kubelet and Istio's injector would: its own network
 * namespace on the mesh bridge, Istio's capture rules and a sidecar (proxy + DNS proxy, as UID 1337)
 * when injected, kube-proxy-like service rules when not, the Istio proxy in router mode for gateway
 * pods, then the manifest's containers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedResource } from '../config/resource.js';
import type { RegistryPod } from '../registry/model.js';
import { captureConfigFromAnnotations } from '../runtime/capture-annotations.js';
import { buildCaptureRules } from '../runtime/capture-rules.js';
import { run } from '../runtime/exec.js';
import { applyCaptureRules } from '../runtime/iptables.js';
import type { Bridge } from '../runtime/bridge.js';
import { createPodNetwork, deletePodNetwork, writeResolvConf, type PodNetwork } from '../runtime/netns.js';
import type { NetworkState } from '../runtime/network-state.js';
import { ContainerSupervisor, type ContainerSpec } from '../runtime/supervisor.js';
import { writeWorkloadBootstrap } from '../ca/index.js';
import { proxyBootstrap } from './bootstrap.js';
import { SAILFIN_BIN, podPath } from './paths.js';
import { containerSpecs, gatewayKind } from './pod-spec.js';
import { SERVICES_CHAIN, serviceNatRules, type VipTarget } from './service-nat.js';
import type { PodState } from './state.js';

const PROXY_UID = 1337;

/** The controller's name, as Istio reports workloads: `reviews-v1` for pod `reviews-v1-7c9d8b5f4d-abcde`, `peers` for `peers-0`. */
export function workloadName(pod: string, labels: Readonly<Record<string, string>>): string {
  if (labels['pod-template-hash']) return pod.replace(/-[a-z0-9]+-[a-z0-9]{5}$/, '');
  if (labels['statefulset.kubernetes.io/pod-name']) return pod.replace(/-\d+$/, '');
  return pod;
}

export interface PodRuntimeContext {
  state: NetworkState;
  /** The mesh bridge (netns mode only: explicit-mode pods share the host's network). */
  bridge?: Bridge;
  stateDir: string;
  dnsRecordsFile: string;
  controlPlane: { address: string; port: number };
  clusterDomain: string;
  searchDomains: (namespace: string) => string[];
  /** The mesh CA: where proxies get certificates, and the bootstrap material each pod is given. */
  ca?: { address: string; bootstrap: (namespace: string, serviceAccount: string) => { token: string; rootsPem: string } };
  /** Faster restarts in tests; the kubelet's back-off otherwise. */
  backoff?: { initialMs: number; maxMs: number; resetAfterMs: number };
}

export class PodRuntime {
  private network?: PodNetwork;
  protected readonly supervisors: ContainerSupervisor[] = [];
  readonly gateway: 'ingress' | 'egress' | undefined;
  readonly appContainers: string[] = [];
  error?: string;

  constructor(
    readonly pod: RegistryPod,
    readonly resource: LoadedResource,
    protected readonly ctx: PodRuntimeContext,
  ) {
    this.gateway = gatewayKind({ ...pod.labels });
  }

  get key(): string {
    return `${this.pod.namespace}/${this.pod.name}`;
  }

  get netns(): string | undefined {
    return this.network?.netns;
  }

  protected get sidecar(): boolean {
    return this.pod.sidecar && !this.gateway;
  }

  protected supervise(spec: ContainerSpec, uid?: number): void {
    const s = new ContainerSupervisor(spec, {
      netns: this.network?.netns,
      uid,
      gid: uid,
      logDir: join(this.ctx.stateDir, 'logs', `${this.pod.namespace}_${this.pod.name}`),
      state: this.ctx.state,
      backoff: this.ctx.backoff,
      baseEnv: {
        PATH: podPath(),
        HOSTNAME: this.pod.name,
        POD_NAME: this.pod.name,
        POD_NAMESPACE: this.pod.namespace,
        INSTANCE_IP: this.pod.address,
        SERVICE_ACCOUNT: this.pod.serviceAccountName ?? 'default',
        HOME: '/root',
      },
    });
    this.supervisors.push(s);
    s.start();
  }

  /** The proxy's bootstrap in both modes (explicit mode adds its changes on top). */
  protected proxyBootstrap(): Record<string, unknown> {
    return proxyBootstrap({
      mode: this.gateway ? 'router' : 'sidecar',
      podName: this.pod.name,
      namespace: this.pod.namespace,
      ip: this.pod.address,
      labels: { ...this.pod.labels },
      serviceAccount: this.pod.serviceAccountName ?? 'default',
      controlPlane: this.ctx.controlPlane,
      domain: this.ctx.clusterDomain,
      workloadName: workloadName(this.pod.name, this.pod.labels),
    });
  }

  async start(): Promise<void> {
    const ctx = this.ctx;
    const bridge = ctx.bridge;
    if (!bridge) throw new Error('a pod in its own network namespace needs the mesh bridge');
    // Namespaces are named after the bridge too, so two meshes with the same manifests never collide.
    this.network = await createPodNetwork(ctx.state, bridge, this.key, { ip: this.pod.address, namePrefix: bridge.name === 'sf0' ? 'sf' : bridge.name });
    const netns = this.network.netns;
    // Sidecar pods send DNS anywhere and have it captured to their DNS proxy; others ask their own.
    writeResolvConf(ctx.state, netns, { nameservers: [this.sidecar ? bridge.gateway : '127.0.0.1'], search: ctx.searchDomains(this.pod.namespace) });
    const dir = join(ctx.stateDir, 'pods', `${this.pod.namespace}_${this.pod.name}`);
    mkdirSync(dir, { recursive: true });
    const annotations = this.resource.resource.metadata.annotations ?? {};
    if (this.sidecar) {
      const capture = captureConfigFromAnnotations(annotations);
      if (capture) await applyCaptureRules(buildCaptureRules(capture, 4), { netns });
    }
    if (this.sidecar || this.gateway) {
      const bootstrapFile = join(dir, 'bootstrap.json');
      writeFileSync(bootstrapFile, JSON.stringify(this.proxyBootstrap(), null, 2));
      const command = [process.execPath, SAILFIN_BIN, 'proxy', '--config', bootstrapFile, '--health-port', '15021', '--stats-port', '15020'];
      if (ctx.ca) {
        // What Istio mounts into the pod: a token for the first certificate and the mesh root.
        const identityDir = join(dir, 'identity');
        await writeWorkloadBootstrap(identityDir, ctx.ca.bootstrap(this.pod.namespace, this.pod.serviceAccountName ?? 'default'));
        await run(['chown', '-R', `${PROXY_UID}:${PROXY_UID}`, identityDir]);
        command.push('--identity-dir', identityDir, '--ca-address', ctx.ca.address);
      }
      // Ready only once the proxy has its config (Istio's /healthz/ready on 15021), so traffic is not sent to a pod whose sidecar cannot route it yet.
      this.supervise({ name: 'istio-proxy', command, readinessProbe: { httpGet: { port: 15021, path: '/healthz/ready' }, periodSeconds: 1 } }, PROXY_UID);
    }
    const dnsPort = this.sidecar ? '15053' : '53';
    this.supervise(
      { name: 'dns-proxy', command: [process.execPath, SAILFIN_BIN, 'dns-proxy', '--records', ctx.dnsRecordsFile, '--namespace', this.pod.namespace, '--port', dnsPort] },
      this.sidecar ? PROXY_UID : undefined,
    );
    if (this.gateway) return;
    const facts = { name: this.pod.name, namespace: this.pod.namespace, ip: this.pod.address, serviceAccount: this.pod.serviceAccountName ?? 'default', labels: { ...this.pod.labels } };
    for (const spec of containerSpecs(this.resource, facts)) {
      this.appContainers.push(spec.name);
      this.supervise(spec);
    }
  }

  /** kube-proxy's job for pods without a sidecar: Service VIPs DNAT'ed to endpoints, inside this pod only. */
  async updateServiceRules(targets: readonly VipTarget[]): Promise<void> {
    if (this.sidecar || !this.network) return;
    const netns = this.network.netns;
    await run(['iptables-restore', '--noflush'], { netns, input: serviceNatRules(targets) });
    const check = await run(['iptables', '-t', 'nat', '-C', 'OUTPUT', '-j', SERVICES_CHAIN], { netns, allowFailure: true });
    if (check.code !== 0) await run(['iptables', '-t', 'nat', '-A', 'OUTPUT', '-j', SERVICES_CHAIN], { netns });
  }

  status(): PodState {
    const statuses = this.supervisors.map((s) => s.getStatus());
    const apps = statuses.filter((s) => s.name !== 'dns-proxy');
    let phase: PodState['phase'] = 'Pending';
    if (this.error) phase = 'Failed';
    else if (apps.some((s) => s.state === 'CrashLoopBackOff' || s.state === 'Error')) phase = 'CrashLoopBackOff';
    else if (apps.length > 0 && apps.every((s) => s.state === 'Running')) phase = 'Running';
    return {
      name: this.pod.name,
      namespace: this.pod.namespace,
      ip: this.pod.address,
      netns: this.network?.netns,
      sidecar: this.sidecar,
      gateway: this.gateway,
      phase,
      ready: apps.length > 0 && apps.every((s) => s.ready),
      restarts: apps.reduce((n, s) => n + s.restartCount, 0),
      containers: this.gateway ? ['istio-proxy'] : this.appContainers,
      adminPort: this.sidecar || this.gateway ? 15000 : undefined,
      labels: { ...this.pod.labels },
      // Why the pod is not running (command not found, last exit), as `kubectl describe` would say.
      message: this.error ?? statuses.find((s) => s.message && s.state !== 'Running')?.message,
    };
  }

  /** A message for `up`'s output when a container cannot run (command not found, crash loop). */
  problems(): string[] {
    return this.supervisors.map((s) => s.getStatus()).filter((s) => s.message && s.state !== 'Running').map((s) => `${this.key} ${s.name}: ${s.message}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.supervisors.map((s) => s.stop()));
    if (this.network && this.ctx.bridge) await deletePodNetwork(this.ctx.state, this.ctx.bridge, this.network);
  }
}
