/**
 * The mesh settings the registry follows from the `istio` ConfigMap (trust domain for identities, root
 * namespace), tracked across config batches. Without a mesh ConfigMap the registry's own options apply.
 */
import { findMeshConfigMap, MESH_CONFIGMAP_KEY, MESH_CONFIGMAP_NAME, parseMeshConfig } from '../config/mesh-config.js';
import type { ConfigEvent } from '../config/events.js';
import type { LoadedResource } from '../config/resource.js';

export interface MeshSettings {
  readonly trustDomain: string;
  readonly rootNamespace: string;
}

export class MeshSettingsTracker {
  private readonly configMaps = new Map<string, LoadedResource>();
  private settings: MeshSettings;

  constructor(private readonly defaults: MeshSettings) {
    this.settings = defaults;
  }

  get current(): MeshSettings {
    return this.settings;
  }

  /** Whether the event concerns a ConfigMap that may hold the mesh config. */
  static isCandidate(ev: ConfigEvent): boolean {
    const r = ev.resource.resource;
    return r.kind === 'ConfigMap' && r.metadata.name === MESH_CONFIGMAP_NAME;
  }

  /** Records the event; true when the settings in force changed. */
  update(ev: ConfigEvent): boolean {
    const r = ev.resource.resource;
    const key = `${r.metadata.namespace ?? ''}/${r.metadata.name}`;
    if (ev.type === 'delete') this.configMaps.delete(key);
    else this.configMaps.set(key, ev.resource);
    const cm = findMeshConfigMap(this.configMaps.values());
    const next = cm
      ? (() => {
          const { config } = parseMeshConfig((cm.resource.data as Record<string, string>)[MESH_CONFIGMAP_KEY] ?? '', cm);
          return { trustDomain: config.trustDomain, rootNamespace: config.rootNamespace };
        })()
      : this.defaults;
    const changed = next.trustDomain !== this.settings.trustDomain || next.rootNamespace !== this.settings.rootNamespace;
    this.settings = next;
    return changed;
  }
}
