/**
 * The parts of a Pod spec the local mesh runs: containers with command, args, env (literal values and
 * the downward-API fields a pod can know about itself), readiness probes, and Kubernetes' `$(VAR)`
 * expansion in command and args.
 */
import { SailfinError } from '../common/errors.js';
import type { LoadedResource } from '../config/resource.js';
import type { ProbeSpec } from '../runtime/probe.js';
import type { ContainerSpec } from '../runtime/supervisor.js';

interface K8sEnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}

interface K8sContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: K8sEnvVar[];
  workingDir?: string;
  readinessProbe?: ProbeSpec & { httpGet?: ProbeSpec['httpGet'] & { port: number | string } };
  ports?: Array<{ containerPort: number; name?: string }>;
}

export interface PodFacts {
  name: string;
  namespace: string;
  ip: string;
  serviceAccount: string;
  labels: Record<string, string>;
}

/** `$(VAR)` → the variable's value when defined, `$$(VAR)` → literal `$(VAR)`, as the kubelet expands. */
export function expandVars(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name?: string) => (name === undefined ? '$(' : (env[name] ?? m)));
}

function fieldValue(path: string | undefined, pod: PodFacts): string | undefined {
  switch (path) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'status.podIP':
      return pod.ip;
    case 'spec.serviceAccountName':
      return pod.serviceAccount;
    default: {
      const label = /^metadata\.labels\['(.+)'\]$/.exec(path ?? '');
      return label ? pod.labels[label[1]] : undefined;
    }
  }
}

function probePort(port: number | string, c: K8sContainer): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port)?.containerPort;
  if (named === undefined) throw new SailfinError('schema', `readinessProbe port "${port}" names no container port`, { field: `spec.containers[${c.name}].readinessProbe` });
  return named;
}

/** The containers of a Pod resource, ready for the supervisor. */
export function containerSpecs(pod: LoadedResource, facts: PodFacts): ContainerSpec[] {
  const spec = (pod.resource.spec ?? {}) as { containers?: K8sContainer[] };
  return (spec.containers ?? []).map((c, i) => {
    const env: Record<string, string> = {};
    for (const e of c.env ?? []) {
      const v = e.value ?? fieldValue(e.valueFrom?.fieldRef?.fieldPath, facts);
      if (v !== undefined) env[e.name] = expandVars(v, env);
    }
    const command = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expandVars(String(a), env));
    if (command.length === 0) {
      throw new SailfinError('schema', `container "${c.name}" has no command: the local mesh runs commands, not images (${c.image ?? 'no image'})`, {
        location: { file: pod.source.file, line: pod.source.line },
        field: `spec.containers[${i}].command`,
      });
    }
    let readinessProbe: ProbeSpec | undefined;
    if (c.readinessProbe) {
      readinessProbe = { ...c.readinessProbe };
      if (c.readinessProbe.httpGet) readinessProbe.httpGet = { ...c.readinessProbe.httpGet, port: probePort(c.readinessProbe.httpGet.port, c) };
      if (c.readinessProbe.tcpSocket) readinessProbe.tcpSocket = { ...c.readinessProbe.tcpSocket, port: probePort(c.readinessProbe.tcpSocket.port as number | string, c) };
    }
    return { name: c.name, command, env, workingDir: c.workingDir, readinessProbe };
  });
}

/** Istio's gateway pods (`istio: ingressgateway|egressgateway`) run the proxy in router mode instead of their containers. */
export function gatewayKind(labels: Record<string, string>): 'ingress' | 'egress' | undefined {
  const istio = labels.istio ?? '';
  if (istio === 'ingressgateway' || istio === 'ingress') return 'ingress';
  if (istio === 'egressgateway' || istio === 'egress') return 'egress';
  return undefined;
}
