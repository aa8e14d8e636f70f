/**
 * `sailfin inject -f FILE` (Istio's `istioctl kube-inject`): the same injection the webhook makes,
 * applied to the pod templates of a manifest file, so the output can be `kubectl apply`-ed to a
 * cluster without the webhook. Namespace labels are not consulted (as with kube-inject); the pod's
 * own opt-out, hostNetwork and kube-system rules still are.
 */
import { stringify } from 'yaml';
import { SailfinError, errorMessage } from '../common/errors.js';
import { parseYaml } from '../config/yaml-documents.js';
import type { Pod } from './pod.js';
import { injectRequired } from './policy.js';
import { injectPod } from './sidecar.js';
import type { InjectValues } from './values.js';

export interface InjectedManifests {
  yaml: string;
  /** One line per pod or template: injected, or why not. */
  notes: string[];
}

interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
  items?: unknown[];
  [k: string]: unknown;
}

const TEMPLATE_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job']);

function injectOne(pod: Pod, namespace: string, workload: string, where: { file: string; line: number; what: string }, values: InjectValues, notes: string[]): Pod {
  const decision = injectRequired(pod, namespace, values);
  if (!decision.inject) {
    notes.push(`${where.file}:${where.line}: ${where.what}: not injected: ${decision.reason}`);
    return pod;
  }
  try {
    const out = injectPod(pod, values, { workloadName: workload });
    notes.push(`${where.file}:${where.line}: ${where.what}: injected`);
    return out;
  } catch (err) {
    throw new SailfinError('schema', `${where.what}: ${errorMessage(err)}`, { location: { file: where.file, line: where.line }, cause: err });
  }
}

function injectDoc(doc: Doc, at: { file: string; line: number }, values: InjectValues, notes: string[], defaultNamespace: string): Doc {
  if (doc === null || typeof doc !== 'object') return doc;
  const name = doc.metadata?.name ?? '(unnamed)';
  const namespace = doc.metadata?.namespace ?? defaultNamespace;
  const label = { ...at, what: `${doc.kind}/${name}` };
  if (doc.kind === 'List' && Array.isArray(doc.items)) {
    return { ...doc, items: doc.items.map((item) => injectDoc(item as Doc, at, values, notes, defaultNamespace)) };
  }
  if (doc.kind === 'Pod') return injectOne({ ...doc, metadata: { ...doc.metadata } } as Pod, namespace, name, label, values, notes) as Doc;
  const spec = doc.spec;
  if (TEMPLATE_KINDS.has(doc.kind ?? '') && spec && typeof spec.template === 'object') {
    return { ...doc, spec: { ...spec, template: injectOne(spec.template as Pod, namespace, name, label, values, notes) } };
  }
  if (doc.kind === 'CronJob' && spec && typeof spec.jobTemplate === 'object') {
    const job = spec.jobTemplate as { spec?: { template?: Pod } };
    if (job.spec?.template) {
      const template = injectOne(job.spec.template, namespace, name, label, values, notes);
      return { ...doc, spec: { ...spec, jobTemplate: { ...job, spec: { ...job.spec, template } } } };
    }
  }
  return doc;
}

export function injectManifests(text: string, file: string, values: InjectValues, defaultNamespace = 'default'): InjectedManifests {
  const parsed = parseYaml(text);
  if (parsed.problems.length > 0) {
    const p = parsed.problems[0];
    throw new SailfinError('yaml', p.message, { location: { file, line: p.line } });
  }
  const notes: string[] = [];
  const docs = parsed.documents
    .filter((d) => d.value !== null && d.value !== undefined)
    .map((d) => injectDoc(d.value as Doc, { file, line: d.line }, values, notes, defaultNamespace));
  return { yaml: docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'), notes };
}
