/**
 * What kube-proxy does for pods without a sidecar: a connection to a Service VIP goes to one of its
 * endpoints. The local mesh has no kube-proxy, so these DNAT rules are installed inside each
 * sidecar-less pod's own network namespace (never on the host), spreading connections at random as
 * kube-proxy's iptables mode does. Pods with a sidecar do not need them: the sidecar routes VIPs itself.
 */
export const SERVICES_CHAIN = 'SAILFIN_SERVICES';

export interface VipTarget {
  vip: string;
  port: number;
  endpoints: Array<{ address: string; port: number }>;
}

/** iptables-restore input (nat table, --noflush) that replaces the chain's rules as a whole. */
export function serviceNatRules(targets: readonly VipTarget[]): string {
  const lines = ['*nat', `:${SERVICES_CHAIN} - [0:0]`, `-F ${SERVICES_CHAIN}`];
  for (const t of targets) {
    const n = t.endpoints.length;
    t.endpoints.forEach((ep, i) => {
      const match = `-d ${t.vip}/32 -p tcp -m tcp --dport ${t.port}`;
      // Each rule takes 1/(remaining) of what reaches it, so every endpoint gets 1/n overall.
      const left = n - i;
      const stat = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(5)}` : '';
      lines.push(`-A ${SERVICES_CHAIN} ${match}${stat} -j DNAT --to-destination ${ep.address}:${ep.port}`);
    });
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** The jump into the chain, added once per namespace. */
export const SERVICES_JUMP = ['-t', 'nat', '-A', 'OUTPUT', '-j', SERVICES_CHAIN];
