/**
 * The control plane's own counters, named as Istio's pilot names them so existing dashboards and habits
 * carry over, rendered in the Prometheus text format on the monitoring port.
 */
import { shortTypeName } from './protos.js';

class LabeledCounter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly label: string,
  ) {}
  inc(labelValue: string, by = 1): void {
    this.values.set(labelValue, (this.values.get(labelValue) ?? 0) + by);
  }
  get(labelValue: string): number {
    return this.values.get(labelValue) ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const [value, n] of this.values) out.push(`${this.name}{${this.label}="${value}"} ${n}`);
  }
}

export class XdsMetrics {
  /** Responses sent, by type (cds, eds, lds, rds, sds). */
  readonly pushes = new LabeledCounter('pilot_xds_pushes', 'xDS responses sent, by type.', 'type');
  /** NACKs received, by type. */
  readonly rejects = new LabeledCounter('pilot_total_xds_rejects', 'xDS responses rejected by proxies, by type.', 'type');
  /** Debounced pushes started, by the reasons that triggered them. */
  readonly pushTriggers = new LabeledCounter('pilot_push_triggers', 'Pushes started, by reason.', 'type');
  /** Generator or encoding failures, by type. */
  readonly generateErrors = new LabeledCounter('pilot_xds_generate_errors', 'Failures generating xDS resources, by type.', 'type');
  connected = 0;
  debouncedRequests = 0;
  lastPushMs = 0;

  countPush(typeUrl: string): void {
    this.pushes.inc(shortTypeName(typeUrl).toLowerCase());
  }

  countReject(typeUrl: string): void {
    this.rejects.inc(shortTypeName(typeUrl).toLowerCase());
  }

  render(): string {
    const out: string[] = [];
    out.push('# HELP pilot_xds Number of connected xDS clients.', '# TYPE pilot_xds gauge', `pilot_xds ${this.connected}`);
    this.pushes.render(out);
    this.rejects.render(out);
    this.pushTriggers.render(out);
    this.generateErrors.render(out);
    out.push(
      '# HELP pilot_debounce_requests Push requests received (before coalescing).',
      '# TYPE pilot_debounce_requests counter',
      `pilot_debounce_requests ${this.debouncedRequests}`,
      '# HELP pilot_xds_last_push_seconds Duration of the last push to all affected proxies.',
      '# TYPE pilot_xds_last_push_seconds gauge',
      `pilot_xds_last_push_seconds ${(this.lastPushMs / 1000).toFixed(6)}`,
    );
    return out.join('\n') + '\n';
  }
}
