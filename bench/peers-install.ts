/**
 * The peers (nginx, HAProxy, wrk) come from Debian's packages. The benchmark installs what is missing
 * itself so `npm run bench` works on a fresh machine, and says plainly when it cannot.
 */
import { spawnSync } from 'node:child_process';

const PACKAGES: Record<string, string> = { nginx: 'nginx-light', haproxy: 'haproxy', wrk: 'wrk' };

export function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: 'utf8' });
  const path = r.stdout.trim().split('\n')[0];
  return path || undefined;
}

export function ensurePeers(): Record<string, string> {
  const missing = Object.keys(PACKAGES).filter((c) => !which(c));
  if (missing.length) {
    process.stderr.write(`bench: installing ${missing.map((m) => PACKAGES[m]).join(' ')} from Debian…\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', ...missing.map((m) => PACKAGES[m])], { stdio: 'inherit', env });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', ...missing.map((m) => PACKAGES[m])], { stdio: 'inherit', env });
    }
    if (r.status !== 0) throw new Error(`could not install ${missing.join(', ')} (apt-get exited ${r.status}); install them and run again`);
  }
  const out: Record<string, string> = {};
  for (const c of Object.keys(PACKAGES)) {
    const p = which(c);
    if (!p) throw new Error(`${c} is still missing after installing ${PACKAGES[c]}`);
    out[c] = p;
  }
  return out;
}
