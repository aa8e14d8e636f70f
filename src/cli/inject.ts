/**
 * `sailfin inject -f FILE` (like `istioctl kube-inject`): prints the manifests with the sidecar added
 * to every Pod and pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), the
 * same injection the cluster's webhook makes; why a pod was left alone goes to stderr.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SailfinError } from '../common/errors.js';
import { injectManifests } from '../inject/manifests.js';
import { injectValuesFor } from '../inject/values.js';

interface InjectOptions {
  filename: string;
  image?: string;
  revision: string;
  istioNamespace: string;
  namespace: string;
  quiet?: boolean;
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new SailfinError('io', `cannot read the manifests (${(err as Error).message})`, { location: { file } });
  }
}

export function register(program: Command): void {
  program
    .command('inject')
    .description('add the sidecar (istio-proxy + istio-init) to the pods of a manifest file and print it, like istioctl kube-inject')
    .requiredOption('-f, --filename <file>', "manifest file ('-' for stdin)")
    .option('--image <image>', 'image of the injected containers (default sailfin:latest)')
    .option('--revision <rev>', 'control-plane revision to inject for', 'default')
    .option('--istio-namespace <ns>', "the control plane's namespace (addresses istiod.<ns>.svc)", 'istio-system')
    .option('-n, --namespace <ns>', 'namespace of objects that name none', 'default')
    .option('-q, --quiet', 'do not say on stderr which pods were injected')
    .action((opts: InjectOptions) => {
      const values = injectValuesFor(opts.istioNamespace, { revision: opts.revision, ...(opts.image ? { image: opts.image } : {}) });
      const out = injectManifests(readInput(opts.filename), opts.filename === '-' ? '<stdin>' : opts.filename, values, opts.namespace);
      process.stdout.write(out.yaml);
      if (!opts.quiet) for (const note of out.notes) process.stderr.write(`sailfin inject: ${note}\n`);
    });
}
