/**
 * The sidecar injection webhook (Istio's port 15017, path `/inject`): HTTPS with a serving
 * certificate from the mesh CA for the control plane's Service names, renewed at half its lifetime
 * and reissued when the CA changes, so the caBundle in the MutatingWebhookConfiguration (the mesh
 * root) keeps verifying it. Every control-plane replica serves it; only the leader writes caBundle.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { MeshCa } from '../ca/mesh-ca.js';
import { issueServingCertificate } from '../ca/signer.js';
import { reviewAdmission, type AdmissionContext } from './admission.js';

export const WEBHOOK_PORT = 15017;
export const INJECT_PATH = '/inject';
/** An AdmissionReview of a pod is a few KB; anything near this is not one. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** Names the API server may dial: the Service `istiod` (Istio's) and `sailfin`, short and cluster-qualified. */
export function webhookDnsNames(namespace: string, clusterDomain = 'cluster.local'): string[] {
  return ['istiod', 'sailfin'].flatMap((svc) => [`${svc}.${namespace}.svc`, `${svc}.${namespace}.svc.${clusterDomain}`]);
}

export interface WebhookServerOptions extends AdmissionContext {
  ca: MeshCa;
  host?: string;
  port?: number;
  dnsNames: string[];
  ipAddresses?: string[];
}

export class WebhookServer {
  private server: https.Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onCaChanged = () => void this.rotate().catch((err: unknown) => this.opts.log?.(`webhook certificate renewal failed: ${(err as Error).message}`));

  constructor(private readonly opts: WebhookServerOptions) {}

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const material = await this.issue();
    this.server = https.createServer({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port ?? WEBHOOK_PORT, this.opts.host ?? '0.0.0.0', () => resolve());
    });
    this.schedule(material.notAfter);
    this.opts.ca.on('changed', this.onCaChanged);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.opts.ca.off('changed', this.onCaChanged);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async issue(): Promise<{ cert: string; key: string; notAfter: Date }> {
    const serving = await issueServingCertificate(this.opts.ca.bundle, { dnsNames: this.opts.dnsNames, ipAddresses: this.opts.ipAddresses });
    return { cert: serving.certChainPem, key: serving.key.pem, notAfter: serving.notAfter };
  }

  private async rotate(): Promise<void> {
    const material = await this.issue();
    this.server?.setSecureContext({ cert: material.cert, key: material.key });
    this.schedule(material.notAfter);
  }

  private schedule(notAfter: Date): void {
    clearTimeout(this.timer);
    const delay = Math.max(1000, (notAfter.getTime() - Date.now()) / 2);
    this.timer = setTimeout(this.onCaChanged, Math.min(delay, 2 ** 31 - 1));
    this.timer.unref();
  }

  private handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    // Istio also accepts /inject/<key>/<value>… (cluster and network hints); they change nothing here.
    if (path !== INJECT_PATH && !path.startsWith(`${INJECT_PATH}/`)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the injection webhook is at /inject\n');
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('the injection webhook takes POST\n');
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim();
    if (type !== 'application/json') return void res.writeHead(415, { 'content-type': 'text/plain' }).end(`content-type ${type || '(none)'} is not application/json\n`);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'text/plain', connection: 'close' }).end('AdmissionReview too large\n');
        req.destroy();
      } else chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (res.headersSent) return;
      let status = 500;
      let body: string;
      try {
        const out = reviewAdmission(Buffer.concat(chunks).toString('utf8'), this.opts);
        status = out.httpStatus;
        body = JSON.stringify(out.review);
      } catch (err) {
        // A bug must fail this one review (the API server applies failurePolicy), not the server.
        body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: '', allowed: false, status: { code: 500, message: `internal error: ${(err as Error).message}` } } });
        this.opts.log?.(`webhook internal error: ${(err as Error).stack ?? String(err)}`);
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  }
}
