/**
 * Everything a cluster install consists of, in apply order (CRDs and the namespace before what
 * lives in them), grouped as the Helm chart's files are.
 */
import { stringify } from 'yaml';
import { istiodDeployment, istiodService, meshConfigMap, namespace, rbac, webhookConfiguration } from './control-plane.js';
import { istioCrds } from './crds.js';
import { ingressGateway } from './gateway.js';
import type { InstallValues } from './values.js';

export type KubeManifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };

export interface ManifestGroup {
  /** File of the Helm chart this group becomes (crds/ are not templated by Helm). */
  file: string;
  objects: KubeManifest[];
  /** A values.yaml boolean that turns the whole group on or off. */
  enabledBy?: string;
}

export function manifestGroups(v: InstallValues): ManifestGroup[] {
  return [
    { file: 'crds/istio-crds.yaml', objects: istioCrds() as KubeManifest[] },
    { file: 'templates/control-plane.yaml', objects: [...rbac(v), meshConfigMap(v), istiodDeployment(v), istiodService(v), webhookConfiguration(v)] as KubeManifest[] },
    { file: 'templates/ingress-gateway.yaml', objects: ingressGateway(v) as KubeManifest[], enabledBy: 'gateway.enabled' },
  ];
}

/** The objects `sailfin install` prints or applies (the namespace first: Helm makes it with --create-namespace). */
export function installManifests(v: InstallValues): KubeManifest[] {
  const groups = manifestGroups(v).filter((g) => g.enabledBy !== 'gateway.enabled' || v.gateway.enabled);
  return [groups[0].objects, [namespace(v) as KubeManifest], ...groups.slice(1).map((g) => g.objects)].flat();
}

export function toYaml(objects: readonly unknown[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
