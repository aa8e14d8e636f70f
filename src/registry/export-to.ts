/**
 * `exportTo` visibility, shared by Services (annotation `networking.istio.io/exportTo`), ServiceEntries,
 * and — through `isExportedTo` — VirtualServices and DestinationRules in the pilot.
 *
 * Values: `*` every namespace; `.` the object's own namespace; `~` no namespace at all; any other value a
 * namespace name. An empty or missing list means the mesh default (`*` unless configured otherwise).
 *
 * The parsed form is a set of namespace names in which `*` stands for "all", with `.` already replaced by
 * the owner's namespace: the same shape the pilot's `MeshService.exportTo` reads.
 */

export const EXPORT_TO_ANNOTATION = 'networking.istio.io/exportTo';

export type ExportTo = ReadonlySet<string>;

export const EXPORT_PUBLIC: ExportTo = new Set(['*']);

/**
 * Turns an `exportTo` list into a visibility set for an object living in `ownNamespace`.
 * `defaultExportTo` is used when the list is empty or missing (Istio's mesh `defaultServiceExportTo`, etc.).
 */
export function parseExportTo(
  values: readonly string[] | undefined,
  ownNamespace: string,
  defaultExportTo: readonly string[] = ['*'],
): ExportTo {
  const list = values && values.length > 0 ? values : defaultExportTo;
  const namespaces = new Set<string>();
  for (const raw of list) {
    const v = String(raw).trim();
    if (v === '*') return EXPORT_PUBLIC;
    // `~` means "hidden from everyone"; Istio rejects `~` combined with other values, so dropping it is safe.
    if (v === '~' || v === '') continue;
    namespaces.add(v === '.' ? ownNamespace : v);
  }
  return namespaces;
}

/** The annotation form: a comma-separated list (`"., istio-system"`). */
export function parseExportToAnnotation(
  annotation: string | undefined,
  ownNamespace: string,
  defaultExportTo: readonly string[] = ['*'],
): ExportTo {
  const values = annotation === undefined ? undefined : annotation.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return parseExportTo(values, ownNamespace, defaultExportTo);
}

/** Whether an object with visibility `exportTo` is visible to proxies (or config) in `fromNamespace`. */
export function isVisible(exportTo: ExportTo, fromNamespace: string): boolean {
  return exportTo.has('*') || exportTo.has(fromNamespace);
}

/**
 * One-call helper for the pilot (VirtualService/DestinationRule `exportTo`): is an object declared in
 * `configNamespace` with the raw list `exportTo` visible from `fromNamespace`?
 */
export function isExportedTo(
  exportTo: readonly string[] | undefined,
  configNamespace: string,
  fromNamespace: string,
  defaultExportTo: readonly string[] = ['*'],
): boolean {
  return isVisible(parseExportTo(exportTo, configNamespace, defaultExportTo), fromNamespace);
}

/** A stable, comparable description (`*`, or sorted namespaces joined by `,`; `~` when empty). */
export function describeExportTo(exportTo: ExportTo): string {
  if (exportTo.has('*')) return '*';
  const names = [...exportTo].sort();
  return names.length === 0 ? '~' : names.join(',');
}
