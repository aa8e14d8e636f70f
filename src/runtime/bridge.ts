/**
 * The mesh bridge: one Linux bridge on the host (default `sf0`, 10.88.0.1/16) that every pod's veth
 * joins, so pods reach each other at layer 2 and reach the host at the bridge's address (where the
 * control plane listens). Deliberately no ip_forward and no NAT: pods can reach nothing beyond the
 * bridge, which keeps a local mesh from touching the machine's other networks.
 */
import { readFileSync } from 'node:fs';
import { SailfinError } from '../common/errors.js';
import { run } from './exec.js';
import { IpPool } from './ip-pool.js';
import type { NetworkState } from './network-state.js';

export const DEFAULT_BRIDGE_NAME = 'sf0';
export const DEFAULT_POD_CIDR = '10.88.0.0/16';

export interface BridgeOptions {
  name?: string;
  /** Pods' addresses come from here; the first host address is the bridge's. */
  podCidr?: string;
}

export interface Bridge {
  name: string;
  /** The bridge's own address: the pods' default route and where host-side services listen. */
  gateway: string;
  pool: IpPool;
  /** Things about this host that may stop pods from talking (see hostFirewallWarning). */
  warnings: string[];
}

/** Interface names are at most 15 bytes (IFNAMSIZ - 1). */
export function checkLinkName(name: string, field: string): void {
  if (!/^[A-Za-z0-9_-]{1,15}$/.test(name)) {
    throw new SailfinError('schema', `"${name}" is not a usable interface name (1-15 letters, digits, '-' or '_')`, { field });
  }
}

export async function linkExists(name: string, netns?: string): Promise<boolean> {
  const r = await run(['ip', 'link', 'show', 'dev', name], { netns, allowFailure: true });
  return r.code === 0;
}

/**
 * With br_netfilter loaded and bridge-nf-call-iptables on, frames crossing a bridge go through the
 * host's iptables FORWARD chain; a DROP policy there (Docker sets one) silently blocks pod-to-pod
 * traffic. Sailfin does not edit the host firewall, so it says so instead.
 */
async function hostFirewallWarning(): Promise<string | undefined> {
  let callIptables = '0';
  try {
    callIptables = readFileSync('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').trim();
  } catch {
    return undefined; // br_netfilter is not loaded: bridged frames skip iptables
  }
  if (callIptables !== '1') return undefined;
  const r = await run(['iptables', '-S', 'FORWARD'], { allowFailure: true });
  if (r.code !== 0 || !/^-P FORWARD DROP/m.test(r.stdout)) return undefined;
  return (
    "the host's iptables FORWARD policy is DROP and bridged traffic passes through it " +
    '(net.bridge.bridge-nf-call-iptables=1), so pods may not reach each other; allow the bridge with ' +
    '`iptables -I FORWARD -i BRIDGE -o BRIDGE -j ACCEPT` or set that sysctl to 0'
  );
}

/** Creates the bridge (recording it first in `state`); fails if a link of that name exists. */
export async function createBridge(state: NetworkState, opts: BridgeOptions = {}): Promise<Bridge> {
  const name = opts.name ?? DEFAULT_BRIDGE_NAME;
  checkLinkName(name, '--bridge');
  const pool = new IpPool(opts.podCidr ?? DEFAULT_POD_CIDR);
  if (await linkExists(name)) {
    throw new SailfinError(
      'runtime',
      `a network interface named ${name} already exists; another mesh may be using it (stop it, or choose another bridge name)`,
    );
  }
  state.add({ kind: 'bridge', name });
  await run(['ip', 'link', 'add', name, 'type', 'bridge']);
  await run(['ip', 'addr', 'add', `${pool.gateway}/${pool.prefix}`, 'dev', name]);
  await run(['ip', 'link', 'set', name, 'up']);
  const warning = await hostFirewallWarning();
  return { name, gateway: pool.gateway, pool, warnings: warning ? [warning.replace('BRIDGE', name).replace('BRIDGE', name)] : [] };
}

export async function deleteBridge(state: NetworkState, bridge: Bridge): Promise<void> {
  await run(['ip', 'link', 'del', bridge.name], { allowFailure: true });
  state.remove({ kind: 'bridge', name: bridge.name });
}
