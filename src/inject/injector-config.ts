/**
 * The injector's own settings, where Istio keeps them: the `config` key of the `istio-sidecar-injector`
 * ConfigMap in the control plane's namespace, a YAML document with `policy`, `neverInjectSelector` and
 * `alwaysInjectSelector` (its `template`s describe Istio's own containers and are not read: Sailfin's
 * sidecar is built in code, src/inject/containers.ts). The webhook reads it at each injection, so an
 * edited ConfigMap applies to the next pod without a restart, as in Istio.
 */
import { SailfinError, errorMessage } from '../common/errors.js';
import { isPlainObject } from '../config/documents.js';
import type { LoadedResource } from '../config/resource.js';
import { parseYaml } from '../config/yaml-documents.js';
import { parseLabelSelector, type LabelSelector } from './label-selector.js';
import type { InjectValues } from './values.js';

export const INJECTOR_CONFIGMAP = 'istio-sidecar-injector';
export const INJECTOR_CONFIG_KEY = 'config';

export interface InjectorConfig {
  readonly policy?: 'enabled' | 'disabled';
  readonly neverInjectSelector: readonly LabelSelector[];
  readonly alwaysInjectSelector: readonly LabelSelector[];
}

/** Parses `data.config` of the ConfigMap; a SailfinError names the ConfigMap and the field. */
export function parseInjectorConfig(loaded: LoadedResource): InjectorConfig {
  const r = loaded.resource;
  const location = { file: loaded.source.file, line: loaded.source.line };
  const data = isPlainObject(r.data) ? r.data : {};
  const text = data[INJECTOR_CONFIG_KEY];
  if (text === undefined) return { neverInjectSelector: [], alwaysInjectSelector: [] };
  const base = `data.${INJECTOR_CONFIG_KEY}`;
  if (typeof text !== 'string') throw new SailfinError('schema', 'must be a string holding the injector config YAML', { location, field: base });
  const parsed = parseYaml(text);
  if (parsed.problems.length > 0) throw new SailfinError('yaml', `not valid YAML: ${parsed.problems[0]!.message}`, { location, field: base });
  const value = parsed.documents[0]?.value ?? {};
  if (!isPlainObject(value)) throw new SailfinError('schema', 'must be a mapping (policy, neverInjectSelector, alwaysInjectSelector, …)', { location, field: base });
  const policy = value.policy;
  if (policy !== undefined && policy !== 'enabled' && policy !== 'disabled') throw new SailfinError('schema', 'must be "enabled" or "disabled"', { location, field: `${base}.policy` });
  const selectors = (name: 'neverInjectSelector' | 'alwaysInjectSelector'): LabelSelector[] => {
    const list = value[name] ?? [];
    if (!Array.isArray(list)) throw new SailfinError('schema', 'must be a list of label selectors', { location, field: `${base}.${name}` });
    return list.map((s, i) => {
      try {
        return parseLabelSelector(s, `${base}.${name}[${i}]`);
      } catch (err) {
        throw err instanceof SailfinError ? new SailfinError(err.kind, err.message, { location, field: err.field }) : err;
      }
    });
  };
  return { ...(policy ? { policy } : {}), neverInjectSelector: selectors('neverInjectSelector'), alwaysInjectSelector: selectors('alwaysInjectSelector') };
}

/**
 * `values` with policy and selectors read from the ConfigMap `configMap()` returns, at each injection.
 * Without the ConfigMap the values given stand; an invalid one is logged once and the last valid one
 * (or the values given) stays in force, so a typo cannot switch injection off cluster-wide.
 */
export function followInjectorConfig(values: InjectValues, configMap: () => LoadedResource | undefined, log: (message: string) => void = () => {}): InjectValues {
  const fallback: InjectorConfig = { policy: values.policy, neverInjectSelector: values.neverInjectSelector ?? [], alwaysInjectSelector: values.alwaysInjectSelector ?? [] };
  let seen: LoadedResource | undefined;
  let current = fallback;
  const config = (): InjectorConfig => {
    const cm = configMap();
    if (cm === seen) return current;
    seen = cm;
    if (!cm) return (current = fallback);
    try {
      const parsed = parseInjectorConfig(cm);
      current = { ...parsed, policy: parsed.policy ?? fallback.policy };
    } catch (err) {
      log(`injector config ignored, the previous one stays in force: ${errorMessage(err)}`);
    }
    return current;
  };
  // A copy, not the caller's object: getters defined on it would be non-configurable, so following the
  // same values a second time would throw, and the second follower would take the first's ConfigMap
  // policy as its fallback.
  const followed = { ...values };
  Object.defineProperty(followed, 'policy', { enumerable: true, get: () => config().policy });
  Object.defineProperty(followed, 'neverInjectSelector', { enumerable: true, get: () => config().neverInjectSelector });
  Object.defineProperty(followed, 'alwaysInjectSelector', { enumerable: true, get: () => config().alwaysInjectSelector });
  return followed;
}
