/**
 * The control plane's certificate authority: the CA bundle in force plus the issuance policy. A
 * replacement bundle (a changed plug-in CA) is fully built and checked before it is swapped in, so
 * a bad one is reported and the previous CA keeps issuing: nothing starts trusting what it should not.
 */
import { EventEmitter } from 'node:events';
import type { Resource } from '../config/resource.js';
import { SailfinError, errorMessage } from '../common/errors.js';
import { rootBundlePem, type CaBundle } from './ca-bundle.js';
import { loadPluginCaFromDir, loadPluginCaFromSecret } from './plugin-ca.js';
import { loadOrCreateSelfSignedCa, type SelfSignedRootOptions } from './root-ca.js';
import { DEFAULT_TTL_POLICY, signWorkloadCsr, type IssuedCertificate, type SignRequest, type TtlPolicy } from './signer.js';
import { DEFAULT_TRUST_DOMAIN, validateTrustDomain } from './spiffe.js';

/** Where the CA comes from; the first given wins, as in Istio (a `cacerts` Secret replaces the self-signed root). */
export interface MeshCaSource {
  /** A directory in the cacerts layout. */
  pluginDir?: string;
  /** A `cacerts`-style Secret (from the config store). */
  pluginSecret?: Resource;
  /** Where the self-signed root lives; required when no plug-in CA is given. */
  stateDir?: string;
  selfSigned?: SelfSignedRootOptions;
}

export interface MeshCaOptions extends MeshCaSource {
  trustDomain?: string;
  ttl?: Partial<TtlPolicy>;
}

export interface MeshCaEvents {
  /** A new bundle is in force (new roots must reach every workload). */
  changed: [bundle: CaBundle];
  /** A replacement was refused; the previous bundle stays. */
  rejected: [error: SailfinError];
}

export async function loadCaBundle(source: MeshCaSource): Promise<CaBundle> {
  if (source.pluginDir) return loadPluginCaFromDir(source.pluginDir);
  if (source.pluginSecret) return loadPluginCaFromSecret(source.pluginSecret);
  if (!source.stateDir) throw new SailfinError('semantic', 'the mesh CA needs a state directory for its self-signed root, or a plug-in CA');
  return loadOrCreateSelfSignedCa(source.stateDir, source.selfSigned);
}

export class MeshCa extends EventEmitter<MeshCaEvents> {
  readonly trustDomain: string;
  readonly ttlPolicy: TtlPolicy;
  private current: CaBundle;

  constructor(bundle: CaBundle, opts: { trustDomain?: string; ttl?: Partial<TtlPolicy> } = {}) {
    super();
    this.trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    validateTrustDomain(this.trustDomain);
    this.ttlPolicy = { ...DEFAULT_TTL_POLICY, ...opts.ttl };
    if (!(this.ttlPolicy.defaultTtlMs > 0) || !(this.ttlPolicy.maxTtlMs > 0)) {
      throw new SailfinError('semantic', 'certificate TTLs must be positive', { field: 'ttl' });
    }
    this.current = bundle;
  }

  static async start(opts: MeshCaOptions): Promise<MeshCa> {
    const selfSigned = { trustDomain: opts.trustDomain, ...opts.selfSigned };
    return new MeshCa(await loadCaBundle({ ...opts, selfSigned }), opts);
  }

  get bundle(): CaBundle {
    return this.current;
  }

  /** PEM of the trust anchors (SDS `ROOTCA`). */
  get rootsPem(): string {
    return rootBundlePem(this.current);
  }

  /**
   * Builds a bundle with `load` and puts it in force if it passes; otherwise keeps the current one,
   * emits `rejected` and returns the error (the caller decides whether that is fatal).
   */
  async reload(load: () => Promise<CaBundle>): Promise<SailfinError | undefined> {
    let next: CaBundle;
    try {
      next = await load();
    } catch (err) {
      const error = err instanceof SailfinError ? err : new SailfinError('runtime', `loading the CA failed: ${errorMessage(err)}`, { cause: err });
      this.emit('rejected', error);
      return error;
    }
    this.current = next;
    this.emit('changed', next);
    return undefined;
  }

  /** Issue for a caller whose identity was already authenticated; the trust domain must be ours. */
  async sign(req: SignRequest): Promise<IssuedCertificate> {
    if (req.identity.trustDomain !== this.trustDomain) {
      throw new SailfinError('semantic', `identity trust domain "${req.identity.trustDomain}" is not this mesh's ("${this.trustDomain}")`);
    }
    return signWorkloadCsr(this.current, req, this.ttlPolicy);
  }
}
