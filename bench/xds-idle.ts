/**
 * Idle RSS of a sidecar fed over xDS, as a mesh's sidecars are: `sailfin discovery` serving the
 * control-plane benchmark's 1,000-service mesh and one `sailfin proxy` started from the bootstrap the
 * local mesh writes for a pod. The sidecar binds Istio's fixed ports (15001, 15006), so both run in a
 * private network namespace (`unshare -n`, root only) that disappears with them.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { proxyBootstrap } from '../src/mesh/bootstrap.js';
import { FULL_SCALE, writeMesh } from './control-plane-mesh.js';
import { benchNodeFlags, SAILFIN } from './sailfin-process.js';

export interface XdsIdle {
  rssMb: number;
  peakMb: number;
  clusters: number;
  hosts: number;
}

/** Undefined when it cannot run here (not root, no unshare); throws when it ran and failed. */
export function xdsIdleRss(dir: string): XdsIdle | undefined {
  if (process.getuid?.() !== 0 || spawnSync('unshare', ['--version']).status !== 0) return undefined;
  const meshDir = join(dir, 'xds-mesh');
  mkdirSync(meshDir, { recursive: true });
  writeMesh(meshDir, FULL_SCALE);
  const boot = join(dir, 'xds-sidecar.json');
  const port = 15010;
  const b = proxyBootstrap({ mode: 'sidecar', podName: 'svc1-bench-1', namespace: 'ns1', ip: '127.0.0.1', labels: { app: 'svc1' }, serviceAccount: 'default', controlPlane: { address: '127.0.0.1', port }, adminPort: 0 });
  writeFileSync(boot, JSON.stringify(b));
  const flags = benchNodeFlags().join(' ');
  // Waits for the config to settle (clusters and their endpoints stop growing), then reads /proc.
  const script = `set -e
ip link set lo up
node ${SAILFIN} discovery -f ${meshDir} --port ${port} --monitoring-port 15014 --host 127.0.0.1 --no-watch > ${dir}/xds-discovery.log 2>&1 &
D=$!
trap 'kill $D $P 2>/dev/null; wait 2>/dev/null' EXIT
for i in $(seq 1 600); do grep -q "ADS on" ${dir}/xds-discovery.log && break; sleep 0.2; done
SAILFIN_LOG_LEVEL=warn node ${flags} ${SAILFIN} proxy --config ${boot} > ${dir}/xds-proxy.log 2>&1 &
P=$!
for i in $(seq 1 600); do grep -q ready ${dir}/xds-proxy.log && break; sleep 0.2; done
A=$(grep -o "admin listening on [0-9]*" ${dir}/xds-proxy.log | grep -o "[0-9]*$")
prev=0
for i in $(seq 1 120); do
  n=$(node -e "fetch('http://127.0.0.1:$A/clusters?format=json').then(r=>r.json()).then(j=>{const c=j.cluster_statuses||[];console.log(c.length+'/'+c.reduce((a,x)=>a+(x.host_statuses||[]).length,0))}).catch(()=>console.log(0))")
  [ "\${n%/*}" -gt 100 ] && [ "\${n#*/}" -gt 1000 ] && [ "$n" = "$prev" ] && break
  prev=$n; sleep 1
done
# Idle means after the proxy's settled-config collection, 2 s after its last config change or dump.
sleep 5
echo "CLUSTERS $n"
grep -E "VmRSS|VmHWM" /proc/$P/status
`;
  const r = spawnSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8', timeout: 300_000 });
  const kb = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(r.stdout)?.[1] ?? NaN);
  const m = /CLUSTERS (\d+)\/(\d+)/.exec(r.stdout);
  const clusters = Number(m?.[1] ?? NaN);
  const hosts = Number(m?.[2] ?? NaN);
  if (r.status !== 0 || !Number.isFinite(kb('VmRSS'))) throw new Error(`xDS-fed sidecar did not start: ${(r.stderr || r.stdout).slice(-300)}`);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024, clusters, hosts };
}
