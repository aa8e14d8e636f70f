/**
 * The explicit-mode changes to a proxy's bootstrap: Istio's INTERCEPTION_MODE=NONE (the control plane
 * then gives real listeners on the pod address instead of capture listeners), the app ports the
 * inbound side forwards to, and the admin port on the pod's own address, since every pod shares the
 * host's network and 15000 is taken once per address.
 */
export function explicitBootstrap(base: Record<string, unknown>, ip: string, appPorts: Record<number, number>, adminPort = 15000): Record<string, unknown> {
  const node = base.node as { metadata?: Record<string, unknown> };
  const ports: Record<string, string> = {};
  for (const [from, to] of Object.entries(appPorts)) ports[from] = String(to);
  return {
    ...base,
    node: { ...node, metadata: { ...node.metadata, INTERCEPTION_MODE: 'NONE', APP_PORTS: ports } },
    admin: { address: { socket_address: { address: ip, port_value: adminPort } } },
  };
}
