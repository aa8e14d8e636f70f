import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCaptureRules, DEFAULT_CAPTURE_CONFIG } from '../../src/runtime/capture-rules.js';
import { renderCleanup, renderRestore } from '../../src/runtime/iptables.js';

test('renderRestore declares each chain once per table and ends every table with COMMIT', () => {
  const text = renderRestore(buildCaptureRules({ ...DEFAULT_CAPTURE_CONFIG }, 4));
  assert.match(text, /^\*raw\n:ISTIO_OUTPUT_DNS - \[0:0\]\n:ISTIO_INBOUND - \[0:0\]\n/);
  assert.match(text, /\*nat\n(:ISTIO_\w+ - \[0:0\]\n){5}-A /);
  assert.equal(text.match(/^COMMIT$/gm)?.length, 2);
  assert.match(text, /^-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001$/m);
  assert.match(text, /^-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006$/m);
});

test("renderCleanup removes Sailfin's chains and jumps into them, and nothing of other programs", () => {
  const saved = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':DOCKER - [0:0]',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_REDIRECT - [0:0]',
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT -p tcp -j ISTIO_OUTPUT',
    '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    '-A DOCKER -i docker0 -j RETURN',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    '-A INPUT -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n');
  assert.equal(
    renderCleanup(saved),
    ['*nat', '-D OUTPUT -p tcp -j ISTIO_OUTPUT', '-F ISTIO_OUTPUT', '-F ISTIO_REDIRECT', '-X ISTIO_OUTPUT', '-X ISTIO_REDIRECT', 'COMMIT', ''].join('\n'),
  );
  assert.equal(renderCleanup('*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n'), '');
});
