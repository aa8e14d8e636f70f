/**
 * A pod's network: its own network namespace (`sf-<pod>-<hash>`), a veth pair whose host end joins the
 * mesh bridge and whose pod end is `eth0` with an address from the pod CIDR, `lo` up, and a default
 * route via the bridge. No /etc/hosts is written: names resolve through the sidecar's DNS proxy.
 * Per-namespace files (resolv.conf) go in /etc/netns/<name>/, which `ip netns exec` bind-mounts over
 * /etc for every process it starts; that is why pod processes are always started through it.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';
import type { Bridge } from './bridge.js';
import type { NetworkState } from './network-state.js';

export interface PodNetwork {
  /** `namespace/name` of the pod. */
  key: string;
  netns: string;
  /** The host end of the veth pair (on the bridge). */
  hostLink: string;
  ip: string;
  gateway: string;
}

export interface PodNetworkOptions {
  /** Prefix of namespace names (default `sf`); tests use their own so runs never collide. */
  namePrefix?: string;
  /** A fixed address instead of the next free one. */
  ip?: string;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** The namespace and host-link names of a pod: readable, unique, and within the kernel's limits. */
export function podNetworkNames(podKey: string, prefix = 'sf'): { netns: string; hostLink: string } {
  const hash = shortHash(`${prefix}/${podKey}`);
  const podName = podKey.split('/').pop()!.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 30);
  // Link names have 15 bytes: a fixed stem plus the hash ("sfv" + 8 hex).
  return { netns: `${prefix}-${podName}-${hash.slice(0, 6)}`, hostLink: `sfv${hash}` };
}

/** Creates the pod's namespace and plugs it into the bridge, recording each piece before making it. */
export async function createPodNetwork(state: NetworkState, bridge: Bridge, podKey: string, opts: PodNetworkOptions = {}): Promise<PodNetwork> {
  const { netns, hostLink } = podNetworkNames(podKey, opts.namePrefix);
  const ip = opts.ip ?? bridge.pool.allocate();
  const pod: PodNetwork = { key: podKey, netns, hostLink, ip, gateway: bridge.gateway };
  try {
    state.add({ kind: 'netns', name: netns });
    await run(['ip', 'netns', 'add', netns]);
    state.add({ kind: 'link', name: hostLink });
    // The pod end is created directly inside the namespace, so it never appears on the host.
    await run(['ip', 'link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    await run(['ip', 'link', 'set', hostLink, 'master', bridge.name, 'up']);
    await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', netns, 'addr', 'add', `${ip}/${bridge.pool.prefix}`, 'dev', 'eth0']);
    await run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    await run(['ip', '-n', netns, 'route', 'add', 'default', 'via', bridge.gateway]);
  } catch (err) {
    await deletePodNetwork(state, bridge, pod);
    throw err;
  }
  return pod;
}

/** Removes the namespace (which takes its processes' network and the veth pair with it). */
export async function deletePodNetwork(state: NetworkState, bridge: Bridge, pod: PodNetwork): Promise<void> {
  await run(['ip', 'netns', 'del', pod.netns], { allowFailure: true });
  await run(['ip', 'link', 'del', pod.hostLink], { allowFailure: true });
  removeNetnsEtc(state, pod.netns);
  state.remove({ kind: 'netns', name: pod.netns });
  state.remove({ kind: 'link', name: pod.hostLink });
  bridge.pool.release(pod.ip);
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  /** Kubernetes pods use ndots:5 so short service names go through the search list first. */
  ndots?: number;
  /** More `options` words, e.g. `timeout:1`. */
  options?: string[];
}

/** Writes /etc/netns/<netns>/resolv.conf, which processes started with `ip netns exec` see as /etc/resolv.conf. */
export function writeResolvConf(state: NetworkState, netns: string, conf: ResolvConf): string {
  state.add({ kind: 'etc-netns', name: netns });
  const dir = join('/etc/netns', netns);
  mkdirSync(dir, { recursive: true });
  const lines = [
    '# written by sailfin for this pod network namespace',
    ...conf.nameservers.map((s) => `nameserver ${s}`),
    ...(conf.search.length ? [`search ${conf.search.join(' ')}`] : []),
    `options ${[`ndots:${conf.ndots ?? 5}`, ...(conf.options ?? [])].join(' ')}`,
  ];
  const path = join(dir, 'resolv.conf');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function removeNetnsEtc(state: NetworkState, netns: string): void {
  if (!state.created.some((t) => t.kind === 'etc-netns' && t.name === netns)) return;
  rmSync(join('/etc/netns', netns), { recursive: true, force: true });
  state.remove({ kind: 'etc-netns', name: netns });
}
