/** Bookinfo as the generator sees it: four services, six pods, plus an ingress gateway pod. */
import { parse } from 'yaml';
import type { LoadedResource } from '../../src/config/resource.js';
import { IstioConfig } from '../../src/pilot/istio-config.js';
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from '../../src/pilot/context.js';
import type { PilotSnapshot } from '../../src/pilot/generator.js';
import { FakeServices, k8sService, type FakePod } from './fake-services.js';

const http = [{ name: 'http', port: 9080, protocol: 'HTTP' as const }];

export const PODS: FakePod[] = [
  { ip: '10.88.0.10', name: 'productpage-v1-abc', namespace: 'default', labels: { app: 'productpage', version: 'v1' }, sa: 'bookinfo-productpage' },
  { ip: '10.88.0.11', name: 'details-v1-abc', namespace: 'default', labels: { app: 'details', version: 'v1' }, sa: 'bookinfo-details' },
  { ip: '10.88.0.12', name: 'reviews-v1-abc', namespace: 'default', labels: { app: 'reviews', version: 'v1' }, sa: 'bookinfo-reviews' },
  { ip: '10.88.0.13', name: 'reviews-v2-abc', namespace: 'default', labels: { app: 'reviews', version: 'v2' }, sa: 'bookinfo-reviews' },
  { ip: '10.88.0.14', name: 'reviews-v3-abc', namespace: 'default', labels: { app: 'reviews', version: 'v3' }, sa: 'bookinfo-reviews' },
  { ip: '10.88.0.15', name: 'ratings-v1-abc', namespace: 'default', labels: { app: 'ratings', version: 'v1' }, sa: 'bookinfo-ratings' },
  { ip: '10.88.0.20', name: 'legacy-abc', namespace: 'legacy', labels: { app: 'legacy' }, sa: 'default', sidecar: false },
  { ip: '10.88.0.30', name: 'istio-ingressgateway-abc', namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' }, sa: 'istio-ingressgateway-service-account' },
];

export function bookinfoServices(): FakeServices {
  const svc = (n: string, vip: string) => k8sService(n, 'default', vip, http, [`bookinfo-${n}`]);
  return new FakeServices(
    [svc('productpage', '10.96.0.10'), svc('details', '10.96.0.11'), svc('reviews', '10.96.0.12'), svc('ratings', '10.96.0.13'), k8sService('legacy', 'legacy', '10.96.0.20', http, ['default'])],
    PODS,
    {
      'productpage.default.svc.cluster.local': { app: 'productpage' },
      'details.default.svc.cluster.local': { app: 'details' },
      'reviews.default.svc.cluster.local': { app: 'reviews' },
      'ratings.default.svc.cluster.local': { app: 'ratings' },
      'legacy.legacy.svc.cluster.local': { app: 'legacy' },
    },
  );
}

export function resources(yamlText: string): LoadedResource[] {
  return yamlText
    .split(/^---$/m)
    .map((d) => parse(d))
    .filter(Boolean)
    .map((resource, i) => ({ resource, source: { file: 'test.yaml', document: i } }));
}

export function snapshot(yamlText: string, mesh: Partial<MeshSettings> = {}, services = bookinfoServices()): PilotSnapshot {
  const res = resources(yamlText);
  return {
    services,
    config: new IstioConfig(res),
    mesh: { ...DEFAULT_MESH_SETTINGS, ...mesh },
    secrets: res.filter((r) => r.resource.kind === 'Secret'),
  };
}
