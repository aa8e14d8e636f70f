/**
 * `sailfin install`: prints the manifests of a cluster install (CRDs, RBAC, the istiod control
 * plane and webhook configuration, the ingress gateway), or with --kubeconfig applies them with
 * server-side apply. `--set key=value` changes the values the Helm chart under deploy/helm/sailfin
 * also takes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { helmChartFiles } from '../kube/install/helm-chart.js';
import { installManifests, toYaml } from '../kube/install/manifests.js';
import { DEFAULT_INSTALL_VALUES, applySettings } from '../kube/install/values.js';

interface InstallOptions {
  dryRun?: boolean;
  output?: string;
  kubeconfig?: string;
  set: string[];
  namespace?: string;
  writeHelmChart?: string;
}

export function register(program: Command): void {
  program
    .command('install')
    .description('print the Kubernetes manifests of a Sailfin install, or apply them to a cluster (--kubeconfig)')
    .option('--dry-run', 'print the manifests even when a kubeconfig is given')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .option('--kubeconfig <file>', 'apply to this cluster (server-side apply, field manager "sailfin")')
    .option('--set <key=value>', 'change a value (repeatable), e.g. --set image=registry.example/sailfin:1.0 --set pilot.replicas=2', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('-n, --namespace <ns>', 'namespace of the control plane and gateway', 'istio-system')
    .option('--write-helm-chart <dir>', 'write the Helm chart (generated from the same manifests) into DIR')
    .action(async (opts: InstallOptions) => {
      if (opts.writeHelmChart) {
        for (const [file, text] of helmChartFiles()) {
          const path = join(opts.writeHelmChart, file);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, text);
        }
        process.stdout.write(`Helm chart written to ${opts.writeHelmChart}\n`);
        return;
      }
      if (opts.output !== 'yaml' && opts.output !== 'json') throw new SailfinError('schema', `-o ${opts.output}: use yaml or json`, { field: '--output' });
      const values = applySettings({ ...DEFAULT_INSTALL_VALUES, namespace: opts.namespace ?? DEFAULT_INSTALL_VALUES.namespace }, opts.set);
      const objects = installManifests(values);
      if (!opts.kubeconfig || opts.dryRun) {
        process.stdout.write(opts.output === 'json' ? JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2) + '\n' : toYaml(objects));
        return;
      }
      const { loadKubeConfig } = await import('../kube/kube-config-source.js');
      const { applyManifests } = await import('../kube/install/apply.js');
      await applyManifests(loadKubeConfig(opts.kubeconfig), objects, (line) => process.stdout.write(`${line}\n`));
      process.stdout.write(`sailfin installed in ${values.namespace}; label a namespace with istio-injection=enabled to inject its new pods\n`);
    });
}
