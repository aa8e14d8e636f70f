/**
 * One pod in explicit mode: no network namespace and no capture. The pod is its loopback address
 * (127.x, distinct per pod), its sidecar listens there — a forward proxy on 15001 that the app uses
 * as HTTP_PROXY, and the Service ports, which it passes to the app on the port the app was given in
 * PORT (free host-wide, so two pods with the same containerPort do not clash). Pods without a sidecar
 * get a plain forward from their address and container port to PORT, so meshed clients still reach them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeWorkloadBootstrap } from '../ca/index.js';
import { checkLoopbackAddress, pickAppPort } from '../runtime/explicit-mode.js';
import type { ProbeSpec } from '../runtime/probe.js';
import type { ContainerSpec } from '../runtime/supervisor.js';
import { explicitBootstrap } from './explicit-bootstrap.js';
import { SAILFIN_BIN } from './paths.js';
import { PodRuntime } from './pod-runtime.js';
import { containerSpecs } from './pod-spec.js';
import { forwardPort, type PortForward } from './port-forward.js';
import type { PodState } from './state.js';

/** The sidecar's forward-proxy port on the pod address (the control plane's EXPLICIT_PROXY_PORT). */
const PROXY_PORT = 15001;
/** App ports handed out by this process, so two pods starting together never get the same one. */
const handedOut = new Set<number>();

function firstContainerPort(spec: unknown): number | undefined {
  const containers = (spec as { containers?: Array<{ ports?: Array<{ containerPort?: number }> }> } | undefined)?.containers ?? [];
  for (const c of containers) for (const p of c.ports ?? []) if (typeof p.containerPort === 'number') return p.containerPort;
  return undefined;
}

/** A probe of the moved port goes to where the app really listens. */
function remapProbe(probe: ProbeSpec | undefined, from: number, to: number): ProbeSpec | undefined {
  if (!probe) return probe;
  const out: ProbeSpec = { ...probe };
  if (probe.httpGet && probe.httpGet.port === from) out.httpGet = { ...probe.httpGet, port: to };
  if (probe.tcpSocket && probe.tcpSocket.port === from) out.tcpSocket = { ...probe.tcpSocket, port: to };
  return out;
}

export interface ExplicitPodOptions {
  /** The ports Services target on this pod (the registry's view), used when no containerPort is declared. */
  inboundPorts: number[];
}

export class ExplicitPodRuntime extends PodRuntime {
  private readonly forwards: PortForward[] = [];
  private appPort?: number;
  /** What every app container (and `sailfin exec`) gets: PORT, and the sidecar as HTTP proxy. */
  private appEnv: Record<string, string> = {};

  constructor(pod: PodRuntime['pod'], resource: PodRuntime['resource'], ctx: PodRuntime['ctx'], private readonly options: ExplicitPodOptions) {
    super(pod, resource, ctx);
  }

  override async start(): Promise<void> {
    const ctx = this.ctx;
    const ip = this.pod.address;
    await checkLoopbackAddress(ip);
    const dir = join(ctx.stateDir, 'pods', `${this.pod.namespace}_${this.pod.name}`);
    mkdirSync(dir, { recursive: true });
    const mainPort = firstContainerPort(this.resource.resource.spec) ?? this.options.inboundPorts[0];
    const appPorts: Record<number, number> = {};
    if (mainPort !== undefined && !this.gateway) {
      this.appPort = await pickAppPort(handedOut);
      handedOut.add(this.appPort);
      appPorts[mainPort] = this.appPort;
      this.appEnv.PORT = String(this.appPort);
    }
    if (this.sidecar) {
      const proxy = `http://${ip}:${PROXY_PORT}`;
      // Both spellings: curl reads only the lower-case http_proxy, most libraries either.
      Object.assign(this.appEnv, { HTTP_PROXY: proxy, http_proxy: proxy, NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1' });
    }
    if (this.sidecar || this.gateway) await this.startProxy(dir, ip, appPorts);
    if (this.gateway) return;
    if (!this.sidecar && mainPort !== undefined && this.appPort !== undefined) {
      // No sidecar to receive on the pod address: a byte pipe stands in for the pod's own port.
      this.forwards.push(await forwardPort(mainPort, '127.0.0.1', this.appPort, ip));
    }
    const facts = { name: this.pod.name, namespace: this.pod.namespace, ip, serviceAccount: this.pod.serviceAccountName ?? 'default', labels: { ...this.pod.labels } };
    for (const spec of containerSpecs(this.resource, facts)) {
      const moved: ContainerSpec = {
        ...spec,
        // Sailfin's PORT wins over one the manifest sets: the inbound side forwards to this one.
        env: { ...spec.env, ...this.appEnv },
        readinessProbe: mainPort !== undefined && this.appPort !== undefined ? remapProbe(spec.readinessProbe, mainPort, this.appPort) : spec.readinessProbe,
      };
      this.appContainers.push(spec.name);
      this.supervise(moved);
    }
  }

  private async startProxy(dir: string, ip: string, appPorts: Record<number, number>): Promise<void> {
    const ctx = this.ctx;
    const bootstrapFile = join(dir, 'bootstrap.json');
    writeFileSync(bootstrapFile, JSON.stringify(explicitBootstrap(this.proxyBootstrap(), ip, appPorts), null, 2));
    const command = [process.execPath, SAILFIN_BIN, 'proxy', '--config', bootstrapFile, '--health-port', '15021', '--stats-port', '15020', '--health-address', ip];
    if (ctx.ca) {
      const identityDir = join(dir, 'identity');
      await writeWorkloadBootstrap(identityDir, ctx.ca.bootstrap(this.pod.namespace, this.pod.serviceAccountName ?? 'default'));
      command.push('--identity-dir', identityDir, '--ca-address', ctx.ca.address);
    }
    this.supervise({ name: 'istio-proxy', command, readinessProbe: { httpGet: { port: 15021, path: '/healthz/ready', host: ip }, periodSeconds: 1 } });
  }

  override status(): PodState {
    return { ...super.status(), env: { ...this.appEnv } };
  }

  override async stop(): Promise<void> {
    await Promise.all(this.forwards.map((f) => f.close()));
    await super.stop();
    if (this.appPort !== undefined) handedOut.delete(this.appPort);
  }
}
