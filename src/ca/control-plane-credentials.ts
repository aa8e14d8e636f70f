/**
 * TLS for the control plane's secure gRPC port (Istio's 15012), where workloads fetch config and
 * certificates. It asks for a client certificate but does not require one: a workload with a mesh
 * certificate proves itself by it (renewal, mTLS xDS), a new workload has none yet and proves itself
 * with its bootstrap token. grpc-js then reports a peer certificate only when it verified against
 * the mesh roots, which is what the CA's caller authenticator relies on.
 */
import * as grpc from '@grpc/grpc-js';
import type { MeshCa } from './mesh-ca.js';
import { issueServingCertificate } from './signer.js';

/** The names proxies dial, as in Istio (istiod.istio-system.svc), plus loopback for the local mesh. */
export const DEFAULT_CONTROL_PLANE_DNS_NAMES = ['istiod.istio-system.svc', 'istiod.istio-system.svc.cluster.local', 'istiod', 'localhost'];
export const DEFAULT_CONTROL_PLANE_IPS = ['127.0.0.1'];

export class ControlPlaneServerCredentials extends grpc.ServerCredentials {
  constructor(material: { certChainPem: string; keyPem: string; rootsPem: string }) {
    super({ requestCert: true, rejectUnauthorized: false }, ControlPlaneServerCredentials.contextOf(material));
  }

  private static contextOf(m: { certChainPem: string; keyPem: string; rootsPem: string }) {
    return { cert: m.certChainPem, key: m.keyPem, ca: m.rootsPem };
  }

  /** New serving certificate or roots; new handshakes use them, open connections are untouched. */
  update(material: { certChainPem: string; keyPem: string; rootsPem: string }): void {
    this.updateSecureContextOptions(ControlPlaneServerCredentials.contextOf(material));
  }

  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/**
 * Credentials for 15012 with a serving certificate from `ca`, renewed at half its lifetime and
 * reissued when the CA changes. `stop()` ends the renewal timer.
 */
export async function controlPlaneCredentials(
  ca: MeshCa,
  opts: { dnsNames?: string[]; ipAddresses?: string[]; ttlMs?: number } = {},
): Promise<{ credentials: ControlPlaneServerCredentials; stop(): void }> {
  const issue = async () => {
    const serving = await issueServingCertificate(ca.bundle, {
      dnsNames: opts.dnsNames ?? DEFAULT_CONTROL_PLANE_DNS_NAMES,
      ipAddresses: opts.ipAddresses ?? DEFAULT_CONTROL_PLANE_IPS,
      ttlMs: opts.ttlMs,
    });
    return { certChainPem: serving.certChainPem, keyPem: serving.key.pem, rootsPem: ca.rootsPem, notAfter: serving.notAfter };
  };
  let material = await issue();
  const credentials = new ControlPlaneServerCredentials(material);
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const refresh = async () => {
    if (stopped) return;
    material = await issue();
    credentials.update(material);
    schedule();
  };
  const schedule = () => {
    if (timer) clearTimeout(timer);
    const delay = Math.max(1000, (material.notAfter.getTime() - Date.now()) / 2);
    timer = setTimeout(() => void refresh().catch(() => schedule()), Math.min(delay, 2 ** 31 - 1));
    timer.unref();
  };
  schedule();
  const onChanged = () => void refresh().catch(() => schedule());
  ca.on('changed', onChanged);
  return {
    credentials,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ca.off('changed', onChanged);
    },
  };
}
