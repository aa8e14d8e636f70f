/**
 * Which local-mesh mode this machine allows. netns mode (a namespace per pod, transparent capture)
 * needs root, iproute2, iptables and the SO_ORIGINAL_DST addon; where any is missing the mesh runs
 * in explicit mode (apps use the sidecar as HTTP_PROXY) and says exactly which one was missing.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SailfinError } from '../common/errors.js';
import { isCaptureSupported } from './original-dst.js';

export type MeshMode = 'netns' | 'explicit';

export interface ModeDecision {
  mode: MeshMode;
  /** Why netns mode is unavailable (empty when it is available). */
  reasons: string[];
}

function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** The reasons netns mode cannot run here (empty when it can). Creates and removes one probe namespace. */
export function netnsModeBlockers(): string[] {
  const reasons: string[] = [];
  if (process.platform !== 'linux') return [`network namespaces are Linux-only (this is ${process.platform})`];
  if (process.getuid?.() !== 0) reasons.push('creating network namespaces needs root (run with sudo)');
  if (!commandExists('ip')) reasons.push('iproute2 (`ip`) is not installed');
  if (!commandExists('iptables-restore')) reasons.push('iptables is not installed');
  if (!commandExists('setpriv')) reasons.push('setpriv (util-linux) is not installed: the proxy cannot run under its own UID');
  const capture = isCaptureSupported();
  if (!capture.supported) reasons.push(capture.reason ?? 'the SO_ORIGINAL_DST addon is unavailable');
  if (reasons.length === 0) {
    const probe = `sf-probe-${randomBytes(3).toString('hex')}`;
    const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
    spawnSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
    if (r.status !== 0) reasons.push(`this process may not create network namespaces (${(r.stderr || '').trim() || 'ip netns add failed'})`);
  }
  return reasons;
}

/** Resolves `--mode auto|netns|explicit`; asking for netns where it cannot run is an error naming why. */
export function decideMode(requested: 'auto' | MeshMode): ModeDecision {
  if (requested === 'explicit') return { mode: 'explicit', reasons: [] };
  const reasons = netnsModeBlockers();
  if (reasons.length === 0) return { mode: 'netns', reasons };
  if (requested === 'netns') {
    throw new SailfinError('runtime', `--mode netns is not possible here: ${reasons.join('; ')}`, { field: '--mode' });
  }
  return { mode: 'explicit', reasons };
}
