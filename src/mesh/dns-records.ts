/**
 * The names the local mesh's DNS answers, computed from the registry and written to a file that each
 * pod's DNS proxy (`sailfin dns-proxy`) loads and reloads: Kubernetes services in all their forms,
 * per-pod hostnames of headless services, and ServiceEntry hosts with addresses.
 */
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DnsTable } from '../runtime/dns-table.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

export interface DnsRecords {
  clusterDomain: string;
  services: Array<{ name: string; namespace: string; addresses: string[] }>;
  podHostnames: Array<{ hostname: string; service: string; namespace: string; addresses: string[] }>;
  hosts: Array<{ name: string; addresses: string[] }>;
}

export function dnsRecords(registry: ServiceRegistry, clusterDomain = 'cluster.local'): DnsRecords {
  const out: DnsRecords = { clusterDomain, services: [], podHostnames: [], hosts: [] };
  for (const svc of registry.services()) {
    if (svc.source === 'kubernetes') {
      const eps = svc.ports.length ? registry.endpoints(svc.hostname, svc.ports[0].port) : [];
      // A headless service resolves to its pods, as kube-dns answers for it.
      const addresses = svc.headless ? [...new Set(eps.map((e) => e.address))] : [...svc.addresses];
      if (addresses.length) out.services.push({ name: svc.name, namespace: svc.namespace, addresses });
      if (svc.headless) {
        for (const pod of registry.allPods()) {
          if (pod.namespace === svc.namespace && pod.subdomain === svc.name && pod.hostname) {
            out.podHostnames.push({ hostname: pod.hostname, service: svc.name, namespace: svc.namespace, addresses: [pod.address] });
          }
        }
      }
    } else if (svc.addresses.length && !svc.hostname.startsWith('*')) {
      out.hosts.push({ name: svc.hostname, addresses: [...svc.addresses] });
    }
  }
  return out;
}

/** The table one pod's proxy serves (bare names resolve in the pod's own namespace). */
export function tableFor(records: DnsRecords, podNamespace: string): DnsTable {
  const table = new DnsTable({ podNamespace, clusterDomain: records.clusterDomain });
  for (const s of records.services) table.addService(s.name, s.namespace, s.addresses);
  for (const p of records.podHostnames) table.addPodHostname(p.hostname, p.service, p.namespace, p.addresses);
  for (const h of records.hosts) table.addHost(h.name, h.addresses);
  return table;
}

export function writeDnsRecords(file: string, records: DnsRecords): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify(records));
  renameSync(`${file}.tmp`, file);
}
