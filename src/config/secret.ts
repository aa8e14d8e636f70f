/**
 * Secret contents as the mesh uses them (gateway certificates, DR client certificates): `data` is
 * base64 as Kubernetes stores it, `stringData` is plain text and wins over `data` for the same key,
 * as the API server merges them.
 */
import type { Resource } from './resource.js';

export const TLS_SECRET_TYPE = 'kubernetes.io/tls';
export const OPAQUE_SECRET_TYPE = 'Opaque';

export interface DecodedSecret {
  type: string;
  data: Map<string, Buffer>;
  /** Keys of `data` whose value is not valid base64. */
  invalidKeys: string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function decodeSecret(resource: Resource): DecodedSecret {
  const type = typeof resource.type === 'string' && resource.type ? resource.type : OPAQUE_SECRET_TYPE;
  const data = new Map<string, Buffer>();
  const invalidKeys: string[] = [];
  const raw = resource.data;
  if (raw && typeof raw === 'object') {
    for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
      const text = typeof value === 'string' ? value.replace(/\s+/g, '') : undefined;
      if (text === undefined || !BASE64.test(text)) {
        invalidKeys.push(key);
        continue;
      }
      data.set(key, Buffer.from(text, 'base64'));
    }
  }
  const plain = resource.stringData;
  if (plain && typeof plain === 'object') {
    for (const [key, value] of Object.entries(plain as Record<string, unknown>)) {
      if (typeof value === 'string') data.set(key, Buffer.from(value, 'utf8'));
    }
  }
  return { type, data, invalidKeys };
}
