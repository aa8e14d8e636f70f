/**
 * Runs the analysis `sailfin analyze` prints: object validation (what Istio and Kubernetes would refuse
 * on apply) for every object, then the cross-object analyzers over the objects and the pods their
 * Deployments and StatefulSets would run. Messages come back sorted, errors first.
 */
import { MessageTypes, sortMessages, type AnalysisMessage } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';
import { validateBatch } from '../config/validate.js';
import { expandWorkloads } from '../config/workloads.js';
import type { Analyzer } from './analyzer.js';
import { conflictingGatewaysAnalyzer } from './conflicting-gateways.js';
import { conflictingVirtualServicesAnalyzer } from './conflicting-virtualservices.js';
import { AnalysisContext, DEFAULT_DOMAIN } from './context.js';
import { destinationHostsAnalyzer } from './destination-hosts.js';
import { destinationPortsAnalyzer } from './destination-ports.js';
import { destinationSubsetsAnalyzer } from './destination-subsets.js';
import { destinationRuleHostsAnalyzer } from './destinationrule-hosts.js';
import { destinationRuleTlsAnalyzer } from './destinationrule-tls.js';
import { gatewayHostsAnalyzer } from './gateway-hosts.js';
import { gatewayPortsAnalyzer } from './gateway-ports.js';
import { gatewayCredentialsAnalyzer } from './gateway-credentials.js';
import { gatewayReferencesAnalyzer } from './gateway-references.js';
import { gatewaySelectorsAnalyzer } from './gateway-selectors.js';
import { portNamesAnalyzer } from './port-names.js';
import { subsetPodsAnalyzer } from './subset-pods.js';
import { workloadSelectorsAnalyzer } from './workload-selectors.js';

export const ANALYZERS: readonly Analyzer[] = [
  destinationHostsAnalyzer,
  destinationSubsetsAnalyzer,
  destinationPortsAnalyzer,
  gatewayReferencesAnalyzer,
  gatewayCredentialsAnalyzer,
  gatewayHostsAnalyzer,
  conflictingVirtualServicesAnalyzer,
  destinationRuleHostsAnalyzer,
  subsetPodsAnalyzer,
  destinationRuleTlsAnalyzer,
  gatewaySelectorsAnalyzer,
  gatewayPortsAnalyzer,
  conflictingGatewaysAnalyzer,
  portNamesAnalyzer,
  workloadSelectorsAnalyzer,
];

export interface AnalyzeOptions {
  /** Kubernetes cluster domain used to expand short host names. */
  domain?: string;
  analyzers?: readonly Analyzer[];
}

/** The cross-object analyzers only, over already-expanded pods. */
export function runAnalyzers(resources: readonly LoadedResource[], pods: readonly LoadedResource[], options: AnalyzeOptions = {}): AnalysisMessage[] {
  const ctx = new AnalysisContext(resources, pods, options.domain ?? DEFAULT_DOMAIN);
  const out: AnalysisMessage[] = [];
  for (const analyzer of options.analyzers ?? ANALYZERS) {
    try {
      out.push(...analyzer.analyze(ctx));
    } catch (err) {
      // One broken analyzer must not hide what the others found.
      out.push({ type: MessageTypes.AnalyzerFailure, message: `analyzer ${analyzer.name} failed: ${(err as Error)?.message ?? String(err)}` });
    }
  }
  return out;
}

/** Validation plus analysis of a loaded set of objects, sorted for printing. */
export function analyzeResources(resources: readonly LoadedResource[], options: AnalyzeOptions = {}): AnalysisMessage[] {
  const pods = expandWorkloads(resources);
  return sortMessages([...validateBatch(resources), ...runAnalyzers(resources, pods, options)]);
}
