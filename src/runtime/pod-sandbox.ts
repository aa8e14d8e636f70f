/**
 * A pod's sandbox in netns mode: its network (namespace, veth on the bridge, address, route), its
 * resolv.conf, and, when it has a sidecar, the capture rules. The pod's nameserver is the bridge
 * address: a sidecar pod's queries to it are captured to its own DNS proxy (15053); a pod without a
 * sidecar (a "legacy" client) really sends them there, so the mesh serves DNS on the bridge address
 * for those pods.
 */
import { buildCaptureRules, type CaptureConfig } from './capture-rules.js';
import type { Bridge } from './bridge.js';
import { applyCaptureRules } from './iptables.js';
import { createPodNetwork, deletePodNetwork, writeResolvConf, type PodNetwork } from './netns.js';
import type { NetworkState } from './network-state.js';

export interface PodSandboxOptions {
  /** The capture config (from the pod's annotations); undefined for a pod without a sidecar. */
  capture?: CaptureConfig;
  /** resolv.conf search list (Kubernetes': `<ns>.svc.<domain> svc.<domain> <domain>`). */
  dnsSearch: string[];
  namePrefix?: string;
  ip?: string;
}

export interface PodSandbox extends PodNetwork {
  capture?: CaptureConfig;
  resolvConf: string;
}

export async function createPodSandbox(state: NetworkState, bridge: Bridge, podKey: string, opts: PodSandboxOptions): Promise<PodSandbox> {
  const net = await createPodNetwork(state, bridge, podKey, { namePrefix: opts.namePrefix, ip: opts.ip });
  try {
    const resolvConf = writeResolvConf(state, net.netns, { nameservers: [bridge.gateway], search: opts.dnsSearch, ndots: 5 });
    if (opts.capture) await applyCaptureRules(buildCaptureRules(opts.capture, 4), { netns: net.netns });
    return { ...net, capture: opts.capture, resolvConf };
  } catch (err) {
    await deletePodNetwork(state, bridge, net);
    throw err;
  }
}

export async function deletePodSandbox(state: NetworkState, bridge: Bridge, pod: PodSandbox): Promise<void> {
  // Capture rules live in the namespace and go with it.
  await deletePodNetwork(state, bridge, pod);
}
