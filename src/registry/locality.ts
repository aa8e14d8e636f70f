/**
 * Where a workload runs, for locality-aware load balancing. Pods carry it as Kubernetes topology labels
 * (normally copied from their node; the local mesh has no nodes, so the pod's own labels are read), or as
 * Istio's older `istio-locality` label; ServiceEntry endpoints and WorkloadEntries write it as
 * `region/zone/subzone`.
 */
import { NO_LOCALITY, type Locality } from './model.js';
import type { Labels } from './labels.js';

export const REGION_LABEL = 'topology.kubernetes.io/region';
export const ZONE_LABEL = 'topology.kubernetes.io/zone';
export const SUBZONE_LABEL = 'topology.istio.io/subzone';
/** Deprecated Istio label, `region.zone.subzone` (dots, because `/` is not allowed in label values). */
export const ISTIO_LOCALITY_LABEL = 'istio-locality';
export const NETWORK_LABEL = 'topology.istio.io/network';

export function localityFromLabels(labels: Labels): Locality {
  const region = labels[REGION_LABEL];
  const zone = labels[ZONE_LABEL];
  const subZone = labels[SUBZONE_LABEL];
  if (region !== undefined || zone !== undefined || subZone !== undefined) {
    return { region: region ?? '', zone: zone ?? '', subZone: subZone ?? '' };
  }
  const legacy = labels[ISTIO_LOCALITY_LABEL];
  return legacy ? parseLocality(legacy.replaceAll('.', '/')) : NO_LOCALITY;
}

/** `region/zone/subzone`, any suffix optional. */
export function parseLocality(text: string | undefined): Locality {
  if (!text) return NO_LOCALITY;
  const [region = '', zone = '', subZone = ''] = text.split('/');
  return { region, zone, subZone };
}

export function formatLocality(l: Locality): string {
  return [l.region, l.zone, l.subZone].join('/').replace(/\/+$/, '');
}
