/**
 * `sailfin dns-proxy --records FILE --namespace NS`: the DNS half of a local-mesh sidecar (what
 * istio-agent does beside Envoy). It runs in the pod's network namespace on 127.0.0.1:15053, where the
 * capture rules send the pod's port-53 queries, answers mesh names from the records `sailfin up` writes,
 * and reloads them when the file changes.
 */
import { readFileSync, watchFile } from 'node:fs';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { tableFor, type DnsRecords } from '../mesh/dns-records.js';
import { DNS_PROXY_PORT, DnsProxy } from '../runtime/dns-proxy.js';

function load(file: string, namespace: string) {
  let records: DnsRecords;
  try {
    records = JSON.parse(readFileSync(file, 'utf8')) as DnsRecords;
  } catch (err) {
    throw new SailfinError('io', `cannot read DNS records: ${(err as Error).message}`, { location: { file } });
  }
  return tableFor(records, namespace);
}

export function register(program: Command): void {
  program
    .command('dns-proxy')
    .description("serve mesh names to one pod (run inside the pod's network namespace by sailfin up)")
    .requiredOption('--records <file>', 'the DNS records written by sailfin up')
    .requiredOption('--namespace <ns>', "the pod's namespace (its bare service names resolve)")
    .option('--address <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (UDP and TCP)', String(DNS_PROXY_PORT))
    .action(async (opts: { records: string; namespace: string; address: string; port: string }) => {
      const proxy = new DnsProxy({ table: load(opts.records, opts.namespace), address: opts.address, port: Number(opts.port) });
      await proxy.start();
      watchFile(opts.records, { interval: 500 }, () => {
        try {
          proxy.setTable(load(opts.records, opts.namespace));
        } catch (err) {
          // A half-written or broken file keeps the previous table in force.
          process.stderr.write(`sailfin dns-proxy: ${(err as Error).message}; keeping the previous names\n`);
        }
      });
      process.stderr.write(`sailfin dns-proxy: serving on ${opts.address}:${opts.port}\n`);
      const stop = () => void proxy.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
