/**
 * Leader election over a coordination.k8s.io/v1 Lease, with client-go's semantics, so control-plane
 * replicas agree on one writer for shared state (the webhook caBundle, root-cert ConfigMaps) while
 * all of them serve xDS and the webhook:
 * - a candidate tries every `retryPeriod` (with jitter) to create the Lease or take it over once the
 *   holder has not renewed for `leaseDuration` — measured on the candidate's own clock from when it
 *   last saw the record change, never from timestamps another machine wrote (clock skew);
 * - the leader renews every `retryPeriod`; if no renewal succeeds within `renewDeadline` it stops
 *   leading (before the lease can expire for others, since renewDeadline < leaseDuration);
 * - writes are replaces carrying the read resourceVersion, so two candidates racing for an expired
 *   lease cannot both win: the loser gets 409 Conflict and tries again later;
 * - the leader renews with the Lease its own last write returned, without reading it first (client-go's
 *   optimistic fast path: one request per renewal); only a conflict or an error makes it read again;
 * - `stop()` releases the lease (holder emptied, 1 s duration) so a successor need not wait it out.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { answerMessage, requestJson, type ApiAnswer } from './api-client.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This replica's identity (pod name + random suffix is usual). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: () => void;
  /** Called when the observed leader changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
  log?: (message: string) => void;
}

/** client-go's defaults (used by Istio): 15 s lease, 10 s renew deadline, 2 s retry. */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
const JITTER = 1.2;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec: LeaseSpec;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { spec: LeaseSpec; at: number; key: string } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private knownLeader = '';
  /** The Lease as the API server returned it to this replica's last successful write. */
  private held: Lease | undefined;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs * JITTER)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod × 1.2');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder this replica last saw ('' when none). */
  get leader(): string {
    return this.knownLeader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (this.leading) {
      await this.release().catch((err: unknown) => this.opts.log?.(`releasing lease ${this.opts.name} failed: ${(err as Error).message}`));
      this.setLeading(false);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        this.opts.log?.(`lease ${this.opts.namespace}/${this.opts.name}: ${(err as Error).message}`);
      }
      if (this.stopped) break;
      const now = Date.now();
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) this.setLeading(true);
      } else if (this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
        this.opts.log?.(`lease ${this.opts.namespace}/${this.opts.name}: not renewed within ${this.renewDeadlineMs} ms; stepping down`);
        this.setLeading(false);
      }
      // The leader renews on a fixed period; candidates add jitter so they do not stampede.
      await this.sleep(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * (JITTER - 1)));
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    if (leading) this.opts.onStartedLeading?.();
    else this.opts.onStoppedLeading?.();
  }

  private noteLeader(holder: string): void {
    if (holder !== this.knownLeader) {
      this.knownLeader = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  /** One round: true when this replica holds the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    if (this.leading && this.held) {
      const held = this.held;
      try {
        if (await this.replace(held, this.renewal(held.spec, now), now)) return true;
      } catch (err) {
        this.opts.log?.(`lease ${this.opts.namespace}/${this.opts.name}: renewing without a read failed (${(err as Error).message}); reading it`);
      }
    }
    return this.acquireOrRenewFromRead(now);
  }

  /** client-go's slow path: read the Lease, then create, renew or (once expired) take it over. */
  private async acquireOrRenewFromRead(now: number): Promise<boolean> {
    const got = await requestJson(this.kc, 'GET', `${this.path}/${this.opts.name}`, { timeoutMs: this.retryPeriodMs * 2 });
    const mine: LeaseSpec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    if (got.status === 404) {
      const lease: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: mine };
      const created = await requestJson(this.kc, 'POST', this.path, { body: lease });
      if (created.status === 409) return false; // another candidate created it first
      if (created.status >= 300) throw new Error(`creating the lease: ${answerMessage(created)}`);
      this.held = asLease(created.body);
      this.observe(lease.spec, now);
      return true;
    }
    if (got.status !== 200) throw new Error(`reading the lease: ${answerMessage(got)}`);
    const current = got.body as Lease;
    const spec = current.spec ?? {};
    this.observe(spec, now);
    const holder = spec.holderIdentity ?? '';
    const iHold = holder === this.opts.identity;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (!iHold && holder !== '' && this.observed!.at + durationMs > now) return false;
    const next: LeaseSpec = iHold
      ? this.renewal(spec, now)
      : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === '' && !spec.renewTime ? 0 : 1) };
    return this.replace(current, next, now);
  }

  private async replace(current: Lease, spec: LeaseSpec, now: number): Promise<boolean> {
    const answer: ApiAnswer = await requestJson(this.kc, 'PUT', `${this.path}/${this.opts.name}`, {
      body: { ...current, spec },
      timeoutMs: this.retryPeriodMs * 2,
    });
    if (answer.status === 409) {
      this.held = undefined; // someone wrote since we read: their turn, and our copy is stale
      return false;
    }
    if (answer.status >= 300) {
      this.held = undefined;
      throw new Error(`updating the lease: ${answerMessage(answer)}`);
    }
    this.held = asLease(answer.body);
    this.observe(spec, now);
    return true;
  }

  /** The holder's own record with a fresh renewTime. */
  private renewal(spec: LeaseSpec, now: number): LeaseSpec {
    return { ...spec, renewTime: microTime(now), leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000) };
  }

  /** Remembers when the record last changed, by our clock: expiry is judged from that. */
  private observe(spec: LeaseSpec, now: number): void {
    const key = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.acquireTime]);
    if (this.observed?.key !== key) this.observed = { spec, at: now, key };
    this.noteLeader(spec.holderIdentity ?? '');
  }

  private async release(): Promise<void> {
    this.held = undefined;
    const got = await requestJson(this.kc, 'GET', `${this.path}/${this.opts.name}`, { timeoutMs: 5000 });
    if (got.status !== 200) return;
    const current = got.body as Lease;
    if (current.spec?.holderIdentity !== this.opts.identity) return;
    const now = Date.now();
    await this.replace(current, { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) }, now);
    this.held = undefined; // the released record is no longer ours to renew
  }
}

/** A write's answer body, when it is the Lease with its new resourceVersion (else the next round reads). */
function asLease(body: unknown): Lease | undefined {
  const lease = body as Lease | undefined;
  return typeof lease?.metadata?.resourceVersion === 'string' && lease.spec ? lease : undefined;
}
