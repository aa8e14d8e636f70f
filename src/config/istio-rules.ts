/**
 * The per-object checks Istio's validating webhook makes beyond the OpenAPI schema (which leaves almost
 * every field optional): required hosts and destinations, unique subset names, sane weights, ports, and
 * regexes RE2 can run. Each problem is an IST0106 error at the field's line, the message istioctl
 * prints for an object the webhook would refuse.
 */
import { FieldChecks, asObject, objectItems } from './field-checks.js';
import type { AnalysisMessage } from './messages.js';
import { re2Error } from './re2.js';
import type { LoadedResource } from './resource.js';

export function checkIstioObject(loaded: LoadedResource): AnalysisMessage[] {
  const c = new FieldChecks(loaded);
  switch (loaded.resource.kind) {
    case 'VirtualService':
      checkVirtualService(c);
      break;
    case 'DestinationRule':
      checkDestinationRule(c);
      break;
    case 'Gateway':
      checkGateway(c);
      break;
    case 'ServiceEntry':
      checkServiceEntry(c);
      break;
    case 'WorkloadEntry':
      if (!asObject(c.spec()).network) c.required('spec.address', c.spec().address, 'is required (or set network)');
      break;
    case 'Sidecar':
      checkSidecar(c);
      break;
    case 'PeerAuthentication':
      if (c.spec().portLevelMtls !== undefined && !c.spec().selector) c.error('spec.portLevelMtls', 'port level mTLS settings require a workload selector');
      break;
  }
  checkRegexes(c, c.loaded.resource.spec, 'spec');
  return c.messages;
}

function checkVirtualService(c: FieldChecks): void {
  const spec = c.spec();
  // A delegate VirtualService (no hosts) is only valid when another VS delegates to it; Sailfin does not support delegation.
  c.required('spec.hosts', spec.hosts, 'a VirtualService must have at least one host');
  for (const { item: route, path } of objectItems(spec.http, 'spec.http')) {
    const terminal = route.redirect !== undefined || route.directResponse !== undefined || route.delegate !== undefined;
    if (!terminal) c.required(`${path}.route`, route.route, 'an HTTP route must have at least one destination (route), a redirect or a directResponse');
    if (route.redirect !== undefined && route.route !== undefined) c.error(`${path}.route`, 'an HTTP route cannot have both a redirect and destinations');
    if (route.directResponse !== undefined && route.route !== undefined) c.error(`${path}.route`, 'an HTTP route cannot have both a directResponse and destinations');
    checkDestinations(c, route.route, `${path}.route`);
    if (route.mirror !== undefined) c.required(`${path}.mirror.host`, asObject(route.mirror).host);
  }
  for (const { item: route, path } of objectItems(spec.tcp, 'spec.tcp')) {
    c.required(`${path}.route`, route.route, 'a TCP route must have at least one destination');
    checkDestinations(c, route.route, `${path}.route`);
  }
  for (const { item: route, path } of objectItems(spec.tls, 'spec.tls')) {
    c.required(`${path}.match`, route.match, 'a TLS route must have at least one match');
    for (const { item: match, path: mpath } of objectItems(route.match, `${path}.match`)) c.required(`${mpath}.sniHosts`, match.sniHosts, 'at least one SNI host is required');
    c.required(`${path}.route`, route.route, 'a TLS route must have at least one destination');
    checkDestinations(c, route.route, `${path}.route`);
  }
}

function checkDestinations(c: FieldChecks, routes: unknown, path: string): void {
  const items = objectItems(routes, path);
  let total = 0;
  for (const { item, path: rpath } of items) {
    const destination = asObject(item.destination);
    if (c.required(`${rpath}.destination`, item.destination)) c.required(`${rpath}.destination.host`, destination.host, 'destination host is required');
    const port = asObject(destination.port).number;
    if (port !== undefined && !(typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) c.error(`${rpath}.destination.port.number`, `must be a port number between 1 and 65535, not ${JSON.stringify(port)}`);
    const weight = item.weight;
    if (weight === undefined) continue;
    if (typeof weight !== 'number' || !Number.isInteger(weight)) {
      c.error(`${rpath}.weight`, `weight must be an integer, not ${JSON.stringify(weight)}`);
      continue;
    }
    if (weight < 0) c.error(`${rpath}.weight`, `weight ${weight} must not be negative`);
    total += Math.max(0, weight);
  }
  // Weights are relative, but with several destinations all at zero nothing could be routed.
  if (items.length > 1 && total === 0 && items.every(({ item }) => Number.isInteger(item.weight))) c.error(path, 'the destination weights add up to 0; at least one must be positive');
}

function checkDestinationRule(c: FieldChecks): void {
  const spec = c.spec();
  c.required('spec.host', spec.host, 'a DestinationRule must have a host');
  const seen = new Map<string, string>();
  for (const { item: subset, path } of objectItems(spec.subsets, 'spec.subsets')) {
    if (!c.required(`${path}.name`, subset.name, 'a subset must have a name')) continue;
    const name = String(subset.name);
    const first = seen.get(name);
    if (first) c.error(`${path}.name`, `duplicate subset name ${JSON.stringify(name)} (first defined at ${first})`);
    else seen.set(name, path);
  }
}

function checkGateway(c: FieldChecks): void {
  const spec = c.spec();
  c.required('spec.servers', spec.servers, 'a Gateway must have at least one server');
  for (const { item: server, path } of objectItems(spec.servers, 'spec.servers')) {
    c.required(`${path}.hosts`, server.hosts, 'a server must have at least one host');
    if (!c.required(`${path}.port`, server.port)) continue;
    const port = asObject(server.port);
    c.required(`${path}.port.number`, port.number);
    c.required(`${path}.port.protocol`, port.protocol);
    const tls = asObject(server.tls);
    const protocol = String(port.protocol ?? '').toUpperCase();
    if ((protocol === 'HTTPS' || protocol === 'TLS') && server.tls === undefined) c.error(`${path}.tls`, `is required for a ${protocol} server`);
    const mode = tls.mode;
    if ((mode === 'SIMPLE' || mode === 'MUTUAL') && !tls.credentialName && !tls.serverCertificate && !tls.credentialNames)
      c.error(`${path}.tls`, `mode ${mode} needs credentialName, or serverCertificate and privateKey`);
  }
}

function checkServiceEntry(c: FieldChecks): void {
  const spec = c.spec();
  c.required('spec.hosts', spec.hosts, 'a ServiceEntry must have at least one host');
  const numbers = new Map<number, string>();
  for (const { item: port, path } of objectItems(spec.ports, 'spec.ports')) {
    if (!c.required(`${path}.number`, port.number)) continue;
    c.required(`${path}.protocol`, port.protocol);
    const first = numbers.get(Number(port.number));
    if (first) c.error(`${path}.number`, `duplicate port number ${String(port.number)} (also ${first})`);
    else numbers.set(Number(port.number), path);
  }
  if (spec.resolution === 'STATIC' && !spec.endpoints && !spec.workloadSelector && !spec.addresses) c.error('spec.endpoints', 'resolution STATIC needs endpoints or a workloadSelector');
}

function checkSidecar(c: FieldChecks): void {
  for (const { item: egress, path } of objectItems(c.spec().egress, 'spec.egress')) {
    if (!c.required(`${path}.hosts`, egress.hosts, 'an egress listener must have at least one host')) continue;
    (Array.isArray(egress.hosts) ? egress.hosts : []).forEach((host, i) => {
      // Sidecar hosts are always `namespace/dnsName` (`./x`, `*/x`, `ns/*`): a bare name selects nothing.
      if (typeof host === 'string' && !/^[^/]+\/[^/]+$/.test(host)) c.error(`${path}.hosts[${i}]`, `${JSON.stringify(host)} must be namespace/dnsName, e.g. "./${host}" or "*/${host}"`);
    });
  }
}

/** Every `regex` key under the spec (StringMatch, uriRegexRewrite.match, AuthorizationPolicy has none). */
function checkRegexes(c: FieldChecks, value: unknown, path: string): void {
  const stack: Array<{ value: unknown; path: string }> = [{ value, path }];
  while (stack.length > 0) {
    const { value: node, path: at } = stack.pop()!;
    if (Array.isArray(node)) node.forEach((v, i) => stack.push({ value: v, path: `${at}[${i}]` }));
    else if (node && typeof node === 'object') {
      for (const [key, v] of Object.entries(node)) {
        const childAt = /^[A-Za-z_$][\w$-]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
        if (key === 'regex' && typeof v === 'string') {
          const problem = re2Error(v);
          if (problem) c.error(childAt, `${JSON.stringify(v)} is not a valid regex: ${problem}`);
        } else if (key === 'match' && typeof v === 'string' && at.endsWith('uriRegexRewrite')) {
          const problem = re2Error(v);
          if (problem) c.error(childAt, `${JSON.stringify(v)} is not a valid regex: ${problem}`);
        } else stack.push({ value: v, path: childAt });
      }
    }
  }
}
