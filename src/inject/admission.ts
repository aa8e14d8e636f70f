/**
 * One AdmissionReview in, one out (admission.k8s.io/v1, v1beta1 answered in kind): a Pod CREATE the
 * policy selects gets `allowed: true` with a base64 JSONPatch adding the sidecar; anything else is
 * allowed unchanged. A pod whose annotations cannot be honoured is refused with the reason, as Istio
 * does, rather than started without the capture it asked for. A review that cannot be read is
 * answered with HTTP 400 and an AdmissionReview carrying the error, never a crash.
 */
import { errorMessage } from '../common/errors.js';
import { createPatch } from './json-patch.js';
import type { Pod } from './pod.js';
import { injectionDecision } from './policy.js';
import { injectPod } from './sidecar.js';
import type { InjectValues } from './values.js';

export interface AdmissionContext {
  values: InjectValues;
  /** Labels of a namespace if known (from the watched Namespaces); undefined trusts the webhook's selectors. */
  namespaceLabels?: (namespace: string) => Record<string, string> | undefined;
  log?: (message: string) => void;
}

export interface AdmissionAnswer {
  httpStatus: number;
  review: Record<string, unknown>;
}

interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: string;
  object?: unknown;
}

const V1 = 'admission.k8s.io/v1';

function answer(apiVersion: string, response: Record<string, unknown>, httpStatus = 200): AdmissionAnswer {
  return { httpStatus, review: { apiVersion, kind: 'AdmissionReview', response } };
}

function malformed(message: string, apiVersion = V1, uid = ''): AdmissionAnswer {
  return answer(apiVersion, { uid, allowed: false, status: { status: 'Failure', code: 400, reason: 'BadRequest', message } }, 400);
}

function readRequest(body: string): { apiVersion: string; request: AdmissionRequest } | AdmissionAnswer {
  let review: unknown;
  try {
    review = JSON.parse(body);
  } catch (err) {
    return malformed(`the body is not JSON: ${(err as Error).message}`);
  }
  if (review === null || typeof review !== 'object') return malformed('the body is not an AdmissionReview object');
  const r = review as { apiVersion?: unknown; kind?: unknown; request?: unknown };
  const apiVersion = r.apiVersion === 'admission.k8s.io/v1beta1' ? 'admission.k8s.io/v1beta1' : V1;
  if (r.kind !== 'AdmissionReview') return malformed(`kind is ${JSON.stringify(r.kind)}, expected "AdmissionReview"`, apiVersion);
  if (r.apiVersion !== V1 && r.apiVersion !== 'admission.k8s.io/v1beta1') return malformed(`apiVersion ${JSON.stringify(r.apiVersion)} is not ${V1}`, apiVersion);
  const request = r.request as AdmissionRequest | undefined;
  if (!request || typeof request !== 'object') return malformed('the AdmissionReview has no request', apiVersion);
  if (typeof request.uid !== 'string' || request.uid === '') return malformed('request.uid is missing', apiVersion);
  return { apiVersion, request };
}

export function reviewAdmission(body: string, ctx: AdmissionContext): AdmissionAnswer {
  const read = readRequest(body);
  if ('httpStatus' in read) return read;
  const { apiVersion, request } = read;
  const uid = request.uid;
  const allow = () => answer(apiVersion, { uid, allowed: true });
  if (request.kind?.kind !== 'Pod' || (request.kind.group ?? '') !== '') return allow();
  if (request.operation !== undefined && request.operation !== 'CREATE') return allow();
  const pod = request.object as Pod | undefined;
  if (!pod || typeof pod !== 'object' || Array.isArray(pod)) return malformed('request.object is not a Pod', apiVersion, uid);
  const namespace = request.namespace || pod.metadata?.namespace || 'default';
  const podName = pod.metadata?.name || `${pod.metadata?.generateName ?? ''}<generated>`;
  const decision = injectionDecision(pod, namespace, ctx.values, ctx.namespaceLabels?.(namespace));
  ctx.log?.(`pod ${namespace}/${podName}: ${decision.inject ? 'injecting' : 'not injecting'}: ${decision.reason}`);
  if (!decision.inject) return allow();
  let injected: Pod;
  try {
    injected = injectPod(pod, ctx.values);
  } catch (err) {
    const message = `sidecar injection refused for pod ${namespace}/${podName}: ${errorMessage(err)}`;
    ctx.log?.(message);
    return answer(apiVersion, { uid, allowed: false, status: { status: 'Failure', code: 400, reason: 'BadRequest', message } });
  }
  const patch = Buffer.from(JSON.stringify(createPatch(pod, injected))).toString('base64');
  return answer(apiVersion, { uid, allowed: true, patchType: 'JSONPatch', patch });
}
