/**
 * `sailfin x describe pod POD [-n NS] [-f PATH…]`, like `istioctl x describe pod`: what the mesh's config
 * does to one pod, read from the manifests (or, without -f, from the running local mesh's manifests): the
 * Services and ports that select it, the DestinationRule and VirtualService of each with the routes that
 * can reach it, the mTLS mode in force and the AuthorizationPolicies that apply.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { loadPaths } from '../config/loader.js';
import { formatMessage, hasErrors } from '../config/messages.js';
import { meshConfigFrom } from '../config/mesh-config.js';
import type { LoadedResource } from '../config/resource.js';
import { expandWorkloads } from '../config/workloads.js';
import { IstioConfig, type DestinationRuleSpec, type IndexedVirtualService } from '../pilot/istio-config.js';
import { policiesFor } from '../pilot/security/authorization.js';
import { mtlsModeFor, peerAuthenticationsFor } from '../pilot/security/peer-authentication.js';
import { mergeOverlay, readDeleted } from '../discovery/overlay.js';
import { matchesSelector } from '../registry/labels.js';
import { ServiceRegistry } from '../registry/service-registry.js';
import { overlayDir, runningMesh } from '../mesh/state.js';
import { withStateDir } from './state-option.js';

function describeRoutes(vs: IndexedVirtualService, hostname: string, subsets: Set<string>, config: IstioConfig): string[] {
  const out: string[] = [];
  const reaches = (d: { host: string; subset?: string }) => {
    const host = d.host.includes('.') ? d.host : `${d.host}.${vs.namespace}.svc.${config.domain}`;
    return (host === hostname || d.host === hostname) && (!d.subset || subsets.has(d.subset));
  };
  (vs.spec.http ?? []).forEach((r, i) => {
    const route = (r as { route?: Array<{ destination: { host: string; subset?: string }; weight?: number }> }).route ?? [];
    const hits = route.filter((d) => reaches(d.destination));
    if (!hits.length) return;
    const match = (r as { match?: unknown[] }).match;
    const when = match?.length ? `when ${JSON.stringify(match)}` : 'default route';
    const to = hits.map((d) => `${d.destination.subset ? `subset ${d.destination.subset}` : 'all endpoints'}${d.weight !== undefined ? ` ${d.weight}%` : ''}`).join(', ');
    out.push(`   http route ${i + 1} (${when}) → ${to}`);
  });
  for (const [kind, routes] of [['tcp', vs.spec.tcp], ['tls', vs.spec.tls]] as const) {
    (routes ?? []).forEach((r, i) => {
      const hits = (r.route ?? []).filter((d) => reaches(d.destination));
      if (hits.length) out.push(`   ${kind} route ${i + 1} → ${hits.map((d) => d.destination.subset ?? 'all endpoints').join(', ')}`);
    });
  }
  if (!out.length) out.push('   (no route of it reaches this pod)');
  return out;
}

/** The describe text for one pod, from a full set of manifests. */
export function describePod(resources: readonly LoadedResource[], name: string, namespace: string): string {
  const { config: meshConfig } = meshConfigFrom(resources);
  const rootNamespace = meshConfig.rootNamespace;
  // Services before pods, so the pods' endpoints resolve against them (as the control plane feeds it).
  const registry = new ServiceRegistry();
  const expanded = expandWorkloads(resources);
  const workloadKinds = new Set(['Pod', 'Deployment', 'StatefulSet']);
  registry.apply(resources.filter((r) => !workloadKinds.has(r.resource.kind)).map((resource) => ({ type: 'upsert' as const, resource })));
  registry.apply(expanded.filter((r) => r.resource.kind === 'Pod').map((resource) => ({ type: 'upsert' as const, resource })));
  const pod = registry.podByName(namespace, name);
  if (!pod) {
    const near = registry.allPods().filter((p) => p.namespace === namespace && p.name.startsWith(name)).map((p) => p.name);
    throw new SailfinError('semantic', `pod "${name}" not found in namespace "${namespace}"${near.length ? ` (did you mean ${near.slice(0, 5).join(', ')}?)` : ''}`, { field: 'POD' });
  }
  const config = new IstioConfig(resources, 'cluster.local', rootNamespace);
  const labels = { ...pod.labels };
  const lines = [`Pod: ${pod.name}`, `   Namespace: ${pod.namespace}`, `   IP: ${pod.address}`, `   Sidecar: ${pod.sidecar ? 'yes' : 'none (not in the mesh)'}`];
  if (Object.keys(labels).length) lines.push(`   Labels: ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(', ')}`);

  const instances = registry.instancesOf(pod.address);
  const byService = new Map<string, typeof instances[number][]>();
  for (const inst of instances) byService.set(inst.service.hostname, [...(byService.get(inst.service.hostname) ?? []), inst]);
  if (!byService.size) lines.push('', 'Services: none select this pod');
  const vsList = config.virtualServicesFor(new Set(['mesh']), pod.namespace);
  for (const [hostname, insts] of byService) {
    const svc = insts[0].service;
    lines.push('', '--------------------', `Service: ${svc.name}.${svc.namespace}`);
    for (const inst of insts) {
      const mode = mtlsModeFor(config.peerAuthentications, rootNamespace, pod.namespace, labels, inst.targetPort);
      lines.push(`   Port: ${inst.servicePort.name ?? ''} ${inst.servicePort.port}/${inst.servicePort.protocol} targets pod port ${inst.targetPort} (inbound mTLS: ${mode})`);
    }
    const drSpec: DestinationRuleSpec | undefined = config.destinationRule(hostname, pod.namespace, svc.namespace, labels);
    const dr = config.destinationRules.find((d) => d.spec === drSpec);
    const subsets = new Set((drSpec?.subsets ?? []).filter((s) => matchesSelector(labels, s.labels ?? {})).map((s) => s.name));
    if (dr) {
      lines.push(`DestinationRule: ${dr.name}.${dr.namespace} for "${drSpec!.host}"`);
      lines.push(`   Matching subsets: ${subsets.size ? [...subsets].join(', ') : 'none'}`);
      const others = (drSpec!.subsets ?? []).map((s) => s.name).filter((s) => !subsets.has(s));
      if (others.length) lines.push(`      (Non-matching subsets ${others.join(', ')})`);
      if (drSpec!.trafficPolicy) lines.push(`   Traffic policy fields: ${Object.keys(drSpec!.trafficPolicy).join(', ')}`);
    } else lines.push('No DestinationRule');
    const vs = config.virtualServiceForHost(vsList, hostname);
    if (vs) {
      lines.push(`VirtualService: ${vs.name}.${vs.namespace}`);
      lines.push(...describeRoutes(vs, hostname, subsets, config));
    } else lines.push('No VirtualService (default routing to all endpoints)');
  }

  // The policies the generator's rule consults (peerAuthenticationsFor), most specific first.
  const chain = peerAuthenticationsFor(config.peerAuthentications, rootNamespace, pod.namespace, labels);
  const pa = [chain.workload, chain.namespace, chain.mesh].filter((p) => p !== undefined);
  lines.push('', '--------------------');
  lines.push(`Effective PeerAuthentication: ${mtlsModeFor(config.peerAuthentications, rootNamespace, pod.namespace, labels)}`);
  lines.push(`   Applied PeerAuthentication: ${pa.length ? pa.map((p) => `${p.resource.metadata.name}.${p.resource.metadata.namespace ?? 'default'}`).join(', ') : 'none (mesh default PERMISSIVE)'}`);
  const authz = policiesFor(config.authorizationPolicies, rootNamespace, pod.namespace, labels);
  if (authz.length) {
    lines.push('Applied AuthorizationPolicies:');
    for (const p of authz) lines.push(`   ${p.name}.${p.namespace}: ${(p.spec as { action?: string }).action ?? 'ALLOW'}, ${(p.spec as { rules?: unknown[] }).rules?.length ?? 0} rule(s)`);
  } else lines.push('Applied AuthorizationPolicies: none (all traffic allowed)');
  return `${lines.join('\n')}\n`;
}

async function loadAll(paths: readonly string[]): Promise<LoadedResource[]> {
  const loaded = await loadPaths(paths);
  if (hasErrors(loaded.messages)) {
    throw new SailfinError('semantic', `the manifests have errors:\n${loaded.messages.filter((m) => m.type.level === 'Error').map(formatMessage).join('\n')}`);
  }
  return loaded.resources;
}

export function register(program: Command): void {
  const x = program.command('x').description('experimental commands');
  withStateDir(
    x
      .command('describe')
      .description("describe the mesh config that applies to a pod, like istioctl x describe pod")
      .argument('<kind>', 'pod')
      .argument('<name>', 'the pod name')
      .option('-n, --namespace <ns>', 'the pod namespace', 'default')
      .option('-f, --filename <paths...>', 'read these manifests instead of the running mesh'),
  ).action(async (kind: string, name: string, opts: { namespace: string; filename?: string[]; stateDir: string }) => {
    if (kind !== 'pod' && kind !== 'po' && kind !== 'pods') throw new SailfinError('semantic', `cannot describe "${kind}": only pod is supported`, { field: 'KIND' });
    let resources: LoadedResource[];
    if (opts.filename?.length) resources = await loadAll(opts.filename);
    else {
      // The running mesh's config: its manifests plus what `sailfin apply`/`delete` changed since.
      const state = runningMesh(opts.stateDir);
      const overlay = overlayDir(opts.stateDir);
      resources = await loadAll(state.paths);
      if (existsSync(overlay)) resources = mergeOverlay(resources, await loadAll([overlay]), readDeleted(overlay));
    }
    process.stdout.write(describePod(resources, name, opts.namespace));
  });
}
