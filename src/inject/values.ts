/**
 * What the injector needs to know about the installation it injects for: the image, where the
 * control plane is, the revision it serves and the defaults Istio's injection template uses. The
 * webhook and `sailfin inject` share these, so a pod injected offline equals one injected by the
 * cluster's webhook with the same values.
 */
import type { LabelSelector } from './label-selector.js';
import { isTrue } from './startup-order.js';

export interface InjectValues {
  /** Image of both injected containers (its entrypoint is `sailfin`). */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Namespace of the control plane (names istiod.<ns>.svc). */
  controlPlaneNamespace: string;
  /** xDS address the proxy dials (plaintext gRPC, Istio's 15010). */
  xdsAddress: string;
  /** The mesh CA's TLS address (Istio's 15012). */
  caAddress: string;
  /** The control-plane revision this injector serves ('default' when unrevisioned). */
  revision: string;
  trustDomain: string;
  clusterDomain: string;
  /** Istio's injector policy: `enabled` injects unless a pod opts out, `disabled` only pods that opt in. */
  policy: 'enabled' | 'disabled';
  /**
   * Pods matching any of these are not injected, whatever the policy, unless they say
   * `sidecar.istio.io/inject` themselves; they win over `alwaysInjectSelector` (Istio's order).
   */
  neverInjectSelector?: readonly LabelSelector[];
  /** Pods matching any of these are injected even under policy `disabled` (same exceptions). */
  alwaysInjectSelector?: readonly LabelSelector[];
  proxyUid: number;
  /** Requests of the proxy container when the pod sets no sidecar.istio.io/proxyCPU|Memory. */
  proxyCpu: string;
  proxyMemory: string;
  logLevel: string;
  /** Istio's sidecarInjectorWebhook.rewriteAppHTTPProbe (default true); sidecar.istio.io/rewriteAppHTTPProbers overrides it. */
  rewriteAppHTTPProbe?: boolean;
  /** meshConfig.defaultConfig.holdApplicationUntilProxyStarts; a pod's proxy.istio.io/config overrides it. */
  holdApplicationUntilProxyStarts?: boolean;
}

export const DEFAULT_INJECT_VALUES: Readonly<InjectValues> = Object.freeze({
  image: 'sailfin:latest',
  imagePullPolicy: 'IfNotPresent',
  controlPlaneNamespace: 'istio-system',
  xdsAddress: 'istiod.istio-system.svc:15010',
  caAddress: 'istiod.istio-system.svc:15012',
  revision: 'default',
  trustDomain: 'cluster.local',
  clusterDomain: 'cluster.local',
  policy: 'enabled',
  proxyUid: 1337,
  proxyCpu: '100m',
  proxyMemory: '128Mi',
  logLevel: 'warning',
});

/** Values for a control plane in `namespace`, its addresses following from it. */
export function injectValuesFor(namespace: string, overrides: Partial<InjectValues> = {}): InjectValues {
  return {
    ...DEFAULT_INJECT_VALUES,
    controlPlaneNamespace: namespace,
    xdsAddress: `istiod.${namespace}.svc:15010`,
    caAddress: `istiod.${namespace}.svc:15012`,
    ...overrides,
  };
}

/**
 * Makes `values` read the mesh config's defaultConfig (holdApplicationUntilProxyStarts) at each
 * injection, so a change to the mesh ConfigMap applies to the next pod without a restart.
 */
export function followMeshDefaults(values: InjectValues, defaultConfig: () => Readonly<Record<string, unknown>>): InjectValues {
  Object.defineProperty(values, 'holdApplicationUntilProxyStarts', {
    enumerable: true,
    get: () => isTrue(defaultConfig().holdApplicationUntilProxyStarts),
  });
  return values;
}
