/**
 * One network probe check, run as its own process inside a pod's network namespace
 * (`ip netns exec NS node probe-runner.js PROBE_JSON TIMEOUT_MS`): a process cannot switch namespaces
 * for a single socket, so the supervisor starts this instead. Exit 0 = success; the last line printed
 * is the result's message.
 */
import { checkNetwork, type ProbeSpec } from './probe.js';

const [json, timeout] = process.argv.slice(2);
const result = await checkNetwork(JSON.parse(json) as ProbeSpec, Number(timeout) || 1000);
process.stdout.write(`${result.message}\n`);
process.exit(result.ok ? 0 : 1);
