import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onlyPlainChains } from '../../../src/proxy/listener/active-listener.js';
import type { CompiledChain } from '../../../src/proxy/listener/listener-config.js';

// Static reads hand the raw socket's reads to a shared buffer: a TLS layer or another listener
// (use_original_dst) taking the socket over must get an ordinary socket instead.
const plain = { tls: undefined } as unknown as CompiledChain;
const tls = { tls: {} } as unknown as CompiledChain;

test('only listeners whose every chain is plain, and that hand nothing on, accept with static reads', () => {
  assert.equal(onlyPlainChains({ useOriginalDst: false, chains: [plain, plain], defaultChain: plain }), true);
  assert.equal(onlyPlainChains({ useOriginalDst: false, chains: [], defaultChain: undefined }), true);
  assert.equal(onlyPlainChains({ useOriginalDst: false, chains: [plain, tls], defaultChain: undefined }), false, 'a TLS-terminating chain');
  assert.equal(onlyPlainChains({ useOriginalDst: false, chains: [plain], defaultChain: tls }), false, 'a TLS-terminating default chain');
  assert.equal(onlyPlainChains({ useOriginalDst: true, chains: [plain], defaultChain: undefined }), false, 'use_original_dst');
});
