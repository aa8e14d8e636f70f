/**
 * The synthetic mesh of the control-plane benchmark (issue 4, "Scale"): S Services with one Deployment of
 * R replicas each, spread over N namespaces, plus a few DestinationRules and VirtualServices. Written as
 * one file per namespace, and the objects the benchmark changes in files of their own so that a change
 * rewrites only them (as a user editing one manifest would).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MeshShape {
  services: number;
  replicas: number;
  namespaces: number;
  /** Services (the first of each namespace, then round-robin) that get a DestinationRule with subsets and a VirtualService. */
  routed: number;
}

export const FULL_SCALE: MeshShape = { services: 1000, replicas: 5, namespaces: 20, routed: 20 };

export const nsName = (n: number) => `ns${n}`;
export const svcName = (i: number) => `svc${i}`;
const nsOf = (shape: MeshShape, i: number) => nsName(i % shape.namespaces);

function serviceYaml(shape: MeshShape, i: number): string {
  const ns = nsOf(shape, i);
  // Every tenth service also has a TCP port, so outbound TCP chains are part of the load.
  const tcp = i % 10 === 0 ? '\n  - {name: tcp-data, port: 9000, targetPort: 9000}' : '';
  return `apiVersion: v1
kind: Service
metadata: {name: ${svcName(i)}, namespace: ${ns}}
spec:
  selector: {app: ${svcName(i)}}
  ports:
  - {name: http, port: 80, targetPort: 8080}${tcp}
`;
}

export function deploymentYaml(shape: MeshShape, i: number, replicas = shape.replicas): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${svcName(i)}, namespace: ${nsOf(shape, i)}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${svcName(i)}}}
  template:
    metadata: {labels: {app: ${svcName(i)}, version: v1}}
    spec:
      containers:
      - {name: app, image: echo, ports: [{containerPort: 8080}]}
`;
}

export function virtualServiceYaml(shape: MeshShape, i: number, v2Weight = 0): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${svcName(i)}, namespace: ${nsOf(shape, i)}}
spec:
  hosts: [${svcName(i)}]
  http:
  - match: [{headers: {x-canary: {exact: "yes"}}}]
    route: [{destination: {host: ${svcName(i)}, subset: v2}}]
  - route:
    - {destination: {host: ${svcName(i)}, subset: v1}, weight: ${100 - v2Weight}}
    - {destination: {host: ${svcName(i)}, subset: v2}, weight: ${v2Weight}}
    timeout: 5s
`;
}

function destinationRuleYaml(shape: MeshShape, i: number): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${svcName(i)}, namespace: ${nsOf(shape, i)}}
spec:
  host: ${svcName(i)}
  trafficPolicy: {connectionPool: {http: {http1MaxPendingRequests: 100}}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
}

/** Index of the service whose VirtualService and Deployment the benchmark changes. */
export const CHANGED = 0;
export const vsFile = (dir: string) => join(dir, 'changed-virtualservice.yaml');
export const deploymentFile = (dir: string) => join(dir, 'changed-deployment.yaml');

export function writeMesh(dir: string, shape: MeshShape): void {
  const perNs: string[][] = Array.from({ length: shape.namespaces }, () => []);
  for (let i = 0; i < shape.services; i++) {
    const docs = perNs[i % shape.namespaces];
    docs.push(serviceYaml(shape, i));
    if (i !== CHANGED) docs.push(deploymentYaml(shape, i));
    if (i < shape.routed) {
      docs.push(destinationRuleYaml(shape, i));
      if (i !== CHANGED) docs.push(virtualServiceYaml(shape, i));
    }
  }
  perNs.forEach((docs, n) => writeFileSync(join(dir, `${nsName(n)}.yaml`), docs.join('---\n')));
  writeFileSync(deploymentFile(dir), deploymentYaml(shape, CHANGED));
  writeFileSync(vsFile(dir), virtualServiceYaml(shape, CHANGED));
}
