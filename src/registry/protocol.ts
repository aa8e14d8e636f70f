/**
 * Protocol of a service port, decided exactly as Istio's `ConvertProtocol` (Kubernetes Services) and
 * `protocol.Parse` (ServiceEntry / Gateway `protocol` fields) do. The result decides whether a port gets
 * an HTTP connection manager, a TCP proxy, or protocol sniffing (`auto`).
 */

export type Protocol =
  | 'HTTP'
  | 'HTTP2'
  | 'HTTPS'
  | 'GRPC'
  | 'GRPC-Web'
  | 'HTTP_PROXY'
  | 'TCP'
  | 'TLS'
  | 'UDP'
  | 'Mongo'
  | 'Redis'
  | 'MySQL'
  /** Istio's "UnsupportedProtocol": the proxy sniffs HTTP/1.1 and HTTP/2, otherwise treats it as TCP. */
  | 'auto';

/** Port-name prefixes Istio recognises, lower-cased, and what each selects. */
const BY_NAME: ReadonlyMap<string, Protocol> = new Map<string, Protocol>([
  ['tcp', 'TCP'],
  ['udp', 'UDP'],
  ['grpc', 'GRPC'],
  ['grpc-web', 'GRPC-Web'],
  ['http', 'HTTP'],
  ['http_proxy', 'HTTP_PROXY'],
  ['http2', 'HTTP2'],
  ['https', 'HTTPS'],
  ['tls', 'TLS'],
  ['mongo', 'Mongo'],
  ['redis', 'Redis'],
  ['mysql', 'MySQL'],
]);

/** Server-first or otherwise sniffing-hostile protocols: an unnamed port with one of these numbers is TCP. */
const WELL_KNOWN_TCP_PORTS: ReadonlySet<number> = new Set([25, 53, 3306, 27017]);

/** Istio's `protocol.Parse`: a whole protocol name, case-insensitive; anything else is `auto`. */
export function parseProtocol(name: string | undefined): Protocol {
  return BY_NAME.get((name ?? '').toLowerCase()) ?? 'auto';
}

/**
 * Istio's `ConvertProtocol` for a Kubernetes Service port: UDP is never proxied; `appProtocol` wins over
 * the port name (with Kubernetes' own `kubernetes.io/*` values); a `grpc-web` prefix is checked before the
 * prefix-before-dash rule; unknown names sniff, except on well-known server-first ports.
 */
export function convertProtocol(port: number, portName: string | undefined, k8sProtocol?: string, appProtocol?: string): Protocol {
  if ((k8sProtocol ?? 'TCP').toUpperCase() === 'UDP') return 'UDP';
  let name = portName ?? '';
  if (appProtocol !== undefined && appProtocol !== '') {
    name = appProtocol;
    switch (appProtocol) {
      case 'kubernetes.io/h2c':
        return 'HTTP2';
      case 'kubernetes.io/ws':
        return 'HTTP';
      case 'kubernetes.io/wss':
        return 'HTTPS';
    }
  }
  // `grpc-web` contains the separator itself, so it must be recognised before cutting at '-'.
  if (name.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const dash = name.indexOf('-');
  const prefix = dash >= 0 ? name.slice(0, dash) : name;
  const protocol = parseProtocol(prefix);
  if (protocol === 'auto' && WELL_KNOWN_TCP_PORTS.has(port)) return 'TCP';
  return protocol;
}

/** Ports that get an HTTP connection manager (Istio's `IsHTTP`). */
export function isHttp(p: Protocol): boolean {
  return p === 'HTTP' || p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web' || p === 'HTTP_PROXY';
}

/** Ports whose upstream speaks HTTP/2 (Istio's `IsHTTP2`). */
export function isHttp2Family(p: Protocol): boolean {
  return p === 'HTTP2' || p === 'GRPC' || p === 'GRPC-Web';
}

/** Ports proxied as opaque TCP (Istio's `IsTCP`); Mongo/Redis/MySQL filters are off by default, so TCP too. */
export function isTcp(p: Protocol): boolean {
  return p === 'TCP' || p === 'HTTPS' || p === 'TLS' || p === 'Mongo' || p === 'Redis' || p === 'MySQL';
}

/** Ports where TLS is already spoken by the application, so routing is by SNI. */
export function isTls(p: Protocol): boolean {
  return p === 'HTTPS' || p === 'TLS';
}

/** Ports the proxy sniffs (HTTP/1.1, HTTP/2, else TCP). */
export function isAuto(p: Protocol): boolean {
  return p === 'auto';
}

/** UDP (and anything not TCP-based) is left alone by the proxy. */
export function isProxied(p: Protocol): boolean {
  return p !== 'UDP';
}
