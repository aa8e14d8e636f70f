/**
 * The mesh CA's public API, by who uses it.
 *
 * Control plane: `startControlPlaneCa` (CA + tokens + 15012 credentials + `cacerts` follower), or the
 * parts: `MeshCa`, `addCaService`, `MeshCallerAuthenticator`, `WorkloadTokenIssuer`, `controlPlaneCredentials`.
 * Workload / proxy: `WorkloadCertificates` with `grpcCertificateSource`, then `workloadSdsSecrets`
 * (Envoy Secret JSON) or `workloadProxySecrets` (compiled, for an in-process proxy).
 * Inspection: `summarizeChain` for `proxy-config secrets`. Identities: the SPIFFE helpers.
 */
export { startControlPlaneCa, type ControlPlaneCa, type ControlPlaneCaOptions } from './control-plane-ca.js';
export { listenCa, type CaListener } from './ca-listener.js';
export { MeshCa, loadCaBundle, type MeshCaOptions, type MeshCaSource } from './mesh-ca.js';
export { rootBundlePem, type CaBundle, type CaMode } from './ca-bundle.js';
export { createSelfSignedRoot, loadOrCreateSelfSignedCa } from './root-ca.js';
export { loadPluginCaFromDir, loadPluginCaFromSecret, CACERTS_SECRET_NAME } from './plugin-ca.js';
export { cacertsListener } from './cacerts-watch.js';
export {
  signWorkloadCsr,
  createWorkloadCsr,
  issueServingCertificate,
  DEFAULT_WORKLOAD_CERT_TTL_MS,
  DEFAULT_MAX_WORKLOAD_CERT_TTL_MS,
  type IssuedCertificate,
  type TtlPolicy,
} from './signer.js';
export { addCaService, createCaClient, type CaClient, type CaServiceStats } from './ca-service.js';
export { CA_SERVICE_NAME } from './ca-proto.js';
export { MeshCallerAuthenticator, type CallerAuthenticator } from './caller-authenticator.js';
export { WorkloadTokenIssuer } from './workload-token.js';
export { controlPlaneCredentials, ControlPlaneServerCredentials } from './control-plane-credentials.js';
export {
  WorkloadCertificates,
  grpcCertificateSource,
  acceptChain,
  DEFAULT_GRACE_RATIO,
  type WorkloadCertificate,
  type CertificateSource,
} from './workload-certificates.js';
export { writeWorkloadBootstrap, startWorkloadIdentity, BOOTSTRAP_TOKEN_FILE, BOOTSTRAP_ROOT_FILE } from './workload-bootstrap.js';
export { addSdsService, sdsServiceDefinition, SDS_STREAM_METHOD } from './sds-server.js';
export { feedWorkloadSecrets, type SecretSink } from './proxy-secret-feed.js';
export { workloadSdsSecrets, workloadProxySecrets, defaultCertificateSecret, rootCaSecret, SDS_DEFAULT_CERT, SDS_ROOT_CA } from './sds-secrets.js';
export { summarizeChain, summarizeCert, formatSecretsTable, type ChainSummary, type CertSummary, type SecretRow } from './cert-info.js';
export { spiffeUri, principal, parseWorkloadSpiffeId, spiffeUrisFromSubjectAltName, DEFAULT_TRUST_DOMAIN, type WorkloadIdentity } from './spiffe.js';
