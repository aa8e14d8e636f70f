/**
 * The slice of a Kubernetes Pod the injector reads and writes. Everything else in the object is
 * carried through untouched, so these types stay loose on purpose.
 */
export interface PodMetadata {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind?: string; name?: string; apiVersion?: string; controller?: boolean }[];
  [field: string]: unknown;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
  [field: string]: unknown;
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  [field: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { name: string; [field: string]: unknown }[];
  hostNetwork?: boolean;
  serviceAccountName?: string;
  [field: string]: unknown;
}

export interface Pod {
  apiVersion?: string;
  kind?: string;
  metadata?: PodMetadata;
  spec?: PodSpec;
  [field: string]: unknown;
}

/** The annotation Istio writes on an injected pod; its presence means "already injected". */
export const STATUS_ANNOTATION = 'sidecar.istio.io/status';
export const INJECT_LABEL = 'sidecar.istio.io/inject';
export const NAMESPACE_INJECTION_LABEL = 'istio-injection';
export const REVISION_LABEL = 'istio.io/rev';
export const PROXY_CONTAINER = 'istio-proxy';
export const INIT_CONTAINER = 'istio-init';

export function clonePod<T>(pod: T): T {
  return structuredClone(pod);
}
