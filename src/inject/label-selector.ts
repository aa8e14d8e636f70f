/**
 * Kubernetes label selectors (`matchLabels` + `matchExpressions`), as the injector's
 * `neverInjectSelector` / `alwaysInjectSelector` are written. An empty selector matches nothing here:
 * Istio skips empty selectors in those lists rather than let one match every pod.
 */
import { SailfinError } from '../common/errors.js';

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Reads one selector; errors name `field` (e.g. `neverInjectSelector[0].matchExpressions[1].operator`). */
export function parseLabelSelector(value: unknown, field: string): LabelSelector {
  if (!isMap(value)) throw new SailfinError('schema', 'must be a label selector (matchLabels and/or matchExpressions)', { field });
  const unknown = Object.keys(value).filter((k) => k !== 'matchLabels' && k !== 'matchExpressions');
  if (unknown.length > 0) throw new SailfinError('schema', `unknown field ${JSON.stringify(unknown[0])} (a label selector has matchLabels and matchExpressions)`, { field });
  const matchLabels: Record<string, string> = {};
  if (value.matchLabels !== undefined && value.matchLabels !== null) {
    if (!isMap(value.matchLabels)) throw new SailfinError('schema', 'must be a mapping of label values', { field: `${field}.matchLabels` });
    for (const [k, v] of Object.entries(value.matchLabels)) {
      if (typeof v !== 'string') throw new SailfinError('schema', `label values are strings; quote ${JSON.stringify(v)}`, { field: `${field}.matchLabels.${k}` });
      matchLabels[k] = v;
    }
  }
  const exprs = value.matchExpressions ?? [];
  if (!Array.isArray(exprs)) throw new SailfinError('schema', 'must be a list', { field: `${field}.matchExpressions` });
  const matchExpressions = exprs.map((e, i): LabelSelectorRequirement => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!isMap(e) || typeof e.key !== 'string' || e.key === '') throw new SailfinError('schema', 'needs a key', { field: at });
    const operator = e.operator as SelectorOperator;
    if (!OPERATORS.includes(operator)) throw new SailfinError('schema', `operator must be one of ${OPERATORS.join(', ')}`, { field: `${at}.operator` });
    const values = e.values ?? [];
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) throw new SailfinError('schema', 'must be a list of strings', { field: `${at}.values` });
    const needsValues = operator === 'In' || operator === 'NotIn';
    if (needsValues !== values.length > 0) throw new SailfinError('schema', needsValues ? `${operator} needs values` : `${operator} takes no values`, { field: `${at}.values` });
    return { key: e.key, operator, values };
  });
  return { matchLabels, matchExpressions };
}

export function isEmptySelector(s: LabelSelector): boolean {
  return Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;
}

export function matchesLabelSelector(s: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(s.matchLabels)) if (labels[k] !== v) return false;
  return s.matchExpressions.every(({ key, operator, values }) => {
    const has = Object.hasOwn(labels, key);
    switch (operator) {
      case 'In':
        return has && values.includes(labels[key]!);
      case 'NotIn':
        return !has || !values.includes(labels[key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
    }
  });
}
