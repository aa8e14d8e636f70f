/**
 * What `sailfin discovery --kubeconfig|--in-cluster` runs besides the config source: the injection
 * webhook (every replica serves it, as every replica serves xDS) and leader election, whose winner
 * alone writes shared cluster state (cluster-writes.ts) — at once when it starts leading, when the
 * mesh root changes, when namespaces appear, and every resync period in case someone edited it.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { MeshCa } from '../ca/mesh-ca.js';
import type { ConfigStore } from '../config/store.js';
import { followInjectorConfig, INJECTOR_CONFIGMAP } from '../inject/injector-config.js';
import type { InjectValues } from '../inject/values.js';
import { WebhookServer, webhookDnsNames } from '../inject/webhook-server.js';
import { patchWebhookCaBundle, publishRootCert, shareSelfSignedCa } from './cluster-writes.js';
import { LeaderElector, type LeaderElectionOptions } from './leader-election.js';

export interface ClusterServicesOptions {
  kc: KubeConfig;
  store: ConfigStore;
  ca: MeshCa;
  /** The control plane's namespace (its Service names, its Lease). */
  namespace: string;
  webhook?: { host: string; port: number; values: InjectValues; configName: string };
  /** Undefined: this replica is the only writer (single replica, election off). */
  election?: Pick<LeaderElectionOptions, 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'> & { leaseName?: string };
  resyncMs?: number;
  log: (message: string) => void;
}

export class ClusterServices {
  private webhookServer: WebhookServer | undefined;
  private elector: LeaderElector | undefined;
  private leading = false;
  private resync: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private syncing: Promise<void> = Promise.resolve();
  /** The write round asked for while one runs: requests merge here, so a burst costs one more round, not one each. */
  private pending: { whys: Set<string>; namespaces?: Set<string> } | undefined;
  private draining = false;
  private readonly onCaChanged = () => this.sync('the mesh root changed');

  constructor(private readonly opts: ClusterServicesOptions) {}

  get webhookPort(): number {
    return this.webhookServer?.port ?? 0;
  }

  async start(): Promise<void> {
    const o = this.opts;
    if (o.webhook) {
      this.webhookServer = new WebhookServer({
        ca: o.ca,
        host: o.webhook.host,
        port: o.webhook.port,
        dnsNames: webhookDnsNames(o.namespace, o.webhook.values.clusterDomain),
        // Istio keeps the injector's policy and selectors in this ConfigMap; follow its edits live.
        values: followInjectorConfig(o.webhook.values, () => o.store.get('ConfigMap', o.namespace, INJECTOR_CONFIGMAP), o.log),
        namespaceLabels: (ns) => o.store.get('Namespace', undefined, ns)?.resource.metadata.labels as Record<string, string> | undefined,
        log: o.log,
      });
      await this.webhookServer.start();
    }
    o.ca.on('changed', this.onCaChanged);
    this.unsubscribe = o.store.onChange((events) => {
      const changed = events.filter((e) => e.type === 'upsert' && e.resource.resource.kind === 'Namespace').map((e) => e.resource.resource.metadata.name);
      if (changed.length > 0) this.sync('a namespace was added or changed', changed);
    });
    if (o.election) {
      this.elector = new LeaderElector(o.kc, {
        namespace: o.namespace,
        name: o.election.leaseName ?? 'istio-leader',
        ...o.election,
        onStartedLeading: () => this.setLeading(true),
        onStoppedLeading: () => this.setLeading(false),
        onNewLeader: (id) => o.log(`control-plane leader is now ${id}`),
        log: o.log,
      });
      this.elector.start();
    } else {
      this.setLeading(true);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.resync);
    this.unsubscribe?.();
    this.opts.ca.off('changed', this.onCaChanged);
    await this.elector?.stop();
    await this.syncing;
    await this.webhookServer?.close();
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    clearInterval(this.resync);
    if (!leading) return;
    this.sync('this replica became the leader');
    this.resync = setInterval(() => this.sync('periodic resync'), this.opts.resyncMs ?? 60_000);
    this.resync.unref();
  }

  /**
   * Asks for a write round. One runs at a time, with the state current when it starts; requests made
   * meanwhile merge into a single next round (namespaces united, "every namespace" absorbing the rest).
   * `namespaces`: publish the root only there (the others are unchanged); default every namespace.
   */
  private sync(why: string, namespaces?: string[]): void {
    if (!this.leading) return;
    if (!this.pending) this.pending = { whys: new Set(), namespaces: namespaces ? new Set() : undefined };
    this.pending.whys.add(why);
    if (!namespaces) this.pending.namespaces = undefined;
    else if (this.pending.namespaces) for (const n of namespaces) this.pending.namespaces.add(n);
    if (!this.draining) this.syncing = this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending) {
        const { whys, namespaces } = this.pending;
        this.pending = undefined;
        await this.writeSharedState([...whys].join('; '), namespaces && [...namespaces]).catch((err: unknown) =>
          this.opts.log(`writing cluster state failed (retried on the next resync): ${(err as Error).message}`),
        );
      }
    } finally {
      this.draining = false;
    }
  }

  private async writeSharedState(why: string, namespaces?: string[]): Promise<void> {
    if (!this.leading) return;
    const o = this.opts;
    if (o.ca.bundle.mode === 'self-signed' && !o.store.get('Secret', o.namespace, 'cacerts')) {
      // Replicas converge on this CA once the Secret reaches their watch; the roots written below
      // may be this replica's until then, and are rewritten when the CA changes.
      if (await shareSelfSignedCa(o.kc, o.namespace, o.ca.bundle)) o.log(`shared this replica's self-signed CA as ${o.namespace}/cacerts`);
    }
    const roots = o.ca.rootsPem;
    if (o.webhook) {
      const changed = await patchWebhookCaBundle(o.kc, o.webhook.configName, roots).catch((err: unknown) => {
        o.log(`caBundle not written: ${(err as Error).message}`);
        return 0;
      });
      if (changed > 0) o.log(`caBundle of ${o.webhook.configName} set to the mesh root (${why})`);
    }
    for (const name of namespaces ?? o.store.list('Namespace').map((ns) => ns.resource.metadata.name)) {
      if (!this.leading) return;
      if (await publishRootCert(o.kc, name, roots)) o.log(`published istio-ca-root-cert in ${name} (${why})`);
    }
  }
}
