/**
 * Service-account tokens checked by TokenReview against the stand-in API server (it stands in for a
 * real one, which cannot run here): a token for audience istio-ca proves its service account; a
 * token for another audience, an unknown token or a user's token does not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenReviewer } from '../../src/kube/token-review.js';
import { FakeApiServer } from './fake-api-server.js';
import { standInKubeConfig } from './kubeconfig.js';

test('TokenReview proves a service account only for audience istio-ca', { timeout: 30_000 }, async () => {
  const api = new FakeApiServer();
  const server = await api.start();
  try {
    api.tokens.set('pod-token', { username: 'system:serviceaccount:bookinfo:bookinfo-reviews', audiences: ['istio-ca'] });
    api.tokens.set('api-token', { username: 'system:serviceaccount:bookinfo:bookinfo-reviews', audiences: ['https://kubernetes.default.svc'] });
    api.tokens.set('user-token', { username: 'alice', audiences: ['istio-ca'] });
    const reviewer = new TokenReviewer(standInKubeConfig(server));
    assert.deepEqual(await reviewer.review('pod-token'), { namespace: 'bookinfo', serviceAccount: 'bookinfo-reviews' });
    await assert.rejects(reviewer.review('api-token'), /not valid/);
    await assert.rejects(reviewer.review('nobody'), /not valid: invalid bearer token/);
    await assert.rejects(reviewer.review('user-token'), /belongs to "alice", not to a service account/);
    const reviews = () => api.requests.filter((r) => r.includes('tokenreviews')).length;
    const before = reviews();
    await reviewer.review('pod-token');
    assert.equal(reviews(), before, 'a verified token is cached');
  } finally {
    await api.close();
  }
});
