/**
 * Route tables by name for RDS: the HCM subscribes to a name and reads `current` per new stream;
 * the ADS client stores compiled tables here. A table that fails to compile is rejected whole and
 * the previous one stays in force.
 */
import type { JsonObject } from '../config/fields.js';
import { reqString } from '../config/fields.js';
import type { ProxyContext, RouteConfigHandle, RouteConfigProvider } from '../context.js';

export type RouteCompiler = (json: JsonObject, ctx: ProxyContext, path: string) => unknown;

class Handle implements RouteConfigHandle {
  current: unknown = undefined;
  json: JsonObject | undefined;
  version = '';
  lastUpdated = new Date();
  constructor(readonly name: string) {}
}

export class RouteRegistry implements RouteConfigProvider {
  private readonly handles = new Map<string, Handle>();
  private ctx: ProxyContext | undefined;
  private compiler: RouteCompiler | undefined;
  /** Told when a new name is subscribed, so the ADS client can ask for it. */
  onSubscribe: ((names: string[]) => void) | undefined;

  bind(ctx: ProxyContext, compiler: RouteCompiler | undefined): void {
    this.ctx = ctx;
    this.compiler = compiler;
  }

  subscribe(name: string): RouteConfigHandle {
    let h = this.handles.get(name);
    if (!h) {
      this.handles.set(name, (h = new Handle(name)));
      this.onSubscribe?.(this.names());
    }
    return h;
  }

  names(): string[] {
    return [...this.handles.keys()];
  }

  /** Compiles and installs a RouteConfiguration; throws (leaving the old table) when it is invalid. */
  addOrUpdate(json: JsonObject, path: string, version = ''): void {
    const name = reqString(json, 'name', path);
    if (!this.compiler || !this.ctx) throw new Error('route configurations cannot be compiled: the HTTP connection manager is not part of this build');
    const compiled = this.compiler(json, this.ctx, path);
    const h = this.handles.get(name) ?? new Handle(name);
    this.handles.set(name, h);
    h.current = compiled;
    h.json = json;
    h.version = version;
    h.lastUpdated = new Date();
  }

  dump(): JsonObject {
    const dynamic: JsonObject[] = [];
    for (const h of this.handles.values()) {
      if (!h.json) continue;
      dynamic.push({ version_info: h.version, route_config: { '@type': 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration', ...h.json }, last_updated: h.lastUpdated.toISOString() });
    }
    return { '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump', static_route_configs: [], dynamic_route_configs: dynamic };
  }
}
