/**
 * Not a test: starts the HCM on a loopback port in front of a backend port given on the command line,
 * prints the port, and runs until killed. Used with wrk to measure requests/s:
 *   node dist/test/proxy/http/throughput-check.js BACKEND_PORT [--cpu-prof]
 */
import { routeTo, simpleHcm, startProxy, staticCluster } from './harness.js';

const backendPort = Number(process.argv[2]);
const proxy = await startProxy(simpleHcm(routeTo('backend', { timeout: '0s' })), [staticCluster('backend', [backendPort], { lb_policy: 'ROUND_ROBIN' })]);
process.stdout.write(`${proxy.port}\n`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
