/**
 * How config changes travel from a source (files, the Kubernetes API) through the config store
 * to its consumers (the registry, the xDS generators). One event per object; a batch is applied
 * atomically by the store so a consumer never sees half of a change.
 */
import type { LoadedResource } from './resource.js';

export type ConfigEvent =
  | { type: 'upsert'; resource: LoadedResource }
  | { type: 'delete'; resource: LoadedResource };

export type ConfigListener = (batch: readonly ConfigEvent[]) => void;
