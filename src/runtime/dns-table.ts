/**
 * The names one pod's DNS proxy answers, as Istio's DNS proxying builds them: every service under its
 * FQDN and the shorter forms (`name.ns.svc`, `name.ns`, and bare `name` for the pod's own namespace),
 * per-pod hostnames of headless services (`pod-0.svc.ns.svc.cluster.local`), and ServiceEntry hosts as
 * written. A resolver that expands a short name with Kubernetes' search list
 * (`<ns>.svc.cluster.local svc.cluster.local cluster.local`) asks for names that are either exactly an
 * FQDN here or unknown (NXDOMAIN, so it tries the next suffix), which is the behaviour of kube-dns.
 */
import { isIPv6 } from 'node:net';

export interface DnsTableOptions {
  /** The namespace of the pod this table serves: its bare service names resolve. */
  podNamespace: string;
  clusterDomain?: string;
}

export interface Addresses {
  ipv4: string[];
  ipv6: string[];
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

export class DnsTable {
  readonly podNamespace: string;
  readonly clusterDomain: string;
  private readonly names = new Map<string, Addresses>();

  constructor(opts: DnsTableOptions) {
    this.podNamespace = opts.podNamespace;
    this.clusterDomain = opts.clusterDomain ?? 'cluster.local';
  }

  /** The resolv.conf search list of a pod in `namespace` (what Kubernetes writes). */
  searchDomains(namespace = this.podNamespace): string[] {
    return [`${namespace}.svc.${this.clusterDomain}`, `svc.${this.clusterDomain}`, this.clusterDomain];
  }

  /** A name exactly as given (a ServiceEntry host, or an FQDN built elsewhere). */
  addHost(name: string, addresses: string[]): void {
    const key = normalize(name);
    const entry = this.names.get(key) ?? { ipv4: [], ipv6: [] };
    for (const a of addresses) {
      const list = isIPv6(a) ? entry.ipv6 : entry.ipv4;
      if (!list.includes(a)) list.push(a);
    }
    this.names.set(key, entry);
  }

  /** A Kubernetes service (its cluster IP, or for a headless service its pods' IPs) under all its forms. */
  addService(name: string, namespace: string, addresses: string[]): void {
    for (const form of this.forms(name, namespace)) this.addHost(form, addresses);
  }

  /** A pod of a headless service: `<hostname>.<service>.<ns>.svc.<domain>` and its shorter forms. */
  addPodHostname(hostname: string, service: string, namespace: string, addresses: string[]): void {
    for (const form of this.forms(`${hostname}.${service}`, namespace)) this.addHost(form, addresses);
  }

  private forms(name: string, namespace: string): string[] {
    const fqdn = `${name}.${namespace}.svc.${this.clusterDomain}`;
    const forms = [fqdn, `${name}.${namespace}.svc`, `${name}.${namespace}`];
    if (namespace === this.podNamespace) forms.push(name);
    return forms;
  }

  /** The addresses of `name` (any case, trailing dot or not), or undefined when it is not a known name. */
  lookup(name: string): Addresses | undefined {
    return this.names.get(normalize(name));
  }

  get size(): number {
    return this.names.size;
  }
}
