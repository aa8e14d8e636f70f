/**
 * `sailfin iptables` as the Kubernetes init container runs it: istio-iptables' flags, --dry-run output,
 * applying in a (test-created) network namespace and --cleanup removing only Sailfin's chains.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distRoot, netnsSkipReason, sh, tag, Teardown } from './netns-fixture.js';

const exec = promisify(execFile);
const sailfin = join(distRoot, '..', 'bin', 'sailfin');
/**
 * The same command registered alone in a fresh program: bin/sailfin loads every command (seconds on a
 * busy machine), which the namespace cases would pay four times. The first two tests go through bin.
 */
const commandUrl = pathToFileURL(join(distRoot, 'src', 'cli', 'iptables.js')).href;
const sailfinIptablesOnly = [
  process.execPath,
  '--input-type=module',
  '-e',
  `import { Command } from 'commander';
import { register } from ${JSON.stringify(commandUrl)};
const program = new Command().exitOverride();
register(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });`,
];
const ISTIO_FLAGS = ['-p', '15001', '-z', '15006', '-u', '1337', '-g', '1337', '-b', '*', '-d', '15090,15021,15020'];

test('--dry-run prints iptables-save rules carrying the flags', async () => {
  const { stdout } = await exec(sailfin, ['iptables', ...ISTIO_FLAGS, '-o', '3306,6379', '-i', '10.0.0.0/8', '-x', '10.1.0.0/16', '--dry-run']);
  assert.match(stdout, /^\*nat$/m);
  assert.match(stdout, /^-A ISTIO_INBOUND -p tcp -m multiport --dports 15090,15021,15020 -j RETURN$/m);
  assert.match(stdout, /^-A ISTIO_OUTPUT -p tcp -m multiport --dports 3306,6379 -j RETURN$/m);
  assert.match(stdout, /^-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN$/m);
  assert.match(stdout, /^-A ISTIO_OUTPUT -d 10\.1\.0\.0\/16 -j RETURN$/m);
  assert.match(stdout, /^-A ISTIO_OUTPUT -d 10\.0\.0\.0\/8 -j ISTIO_REDIRECT$/m);
  assert.doesNotMatch(stdout, /15053/, 'DNS is captured only with --redirect-dns');
  const dns = await exec(sailfinIptablesOnly[0], [...sailfinIptablesOnly.slice(1), 'iptables', '--redirect-dns', '--capture-all-dns', '--dry-run'], {
    cwd: join(distRoot, '..'),
  });
  assert.match(dns.stdout, /-p udp --dport 53 -j REDIRECT --to-ports 15053/);
});

test('a bad flag value is named in a one-line error, with no stack trace', async () => {
  await assert.rejects(exec(sailfin, ['iptables', '-o', '80,http', '--dry-run']), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 1);
    assert.match(err.stderr, /--local-outbound-ports-exclude \(-o\): "http" is not a port number/);
    assert.doesNotMatch(err.stderr, /at .*\.js:\d+/);
    return true;
  });
});

describe('applied in a network namespace', { skip: netnsSkipReason(true) }, () => {
  const ns = `sf-t-${tag()}-ipt`;
  const teardown = new Teardown();
  after(() => teardown.run());

  test("applies the rules, and --cleanup removes only Sailfin's chains", async () => {
    sh('ip', 'netns', 'add', ns);
    teardown.cmd('ip', 'netns', 'del', ns);
    // Another program's rule, which cleanup must keep.
    sh('ip', 'netns', 'exec', ns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '9', '-j', 'RETURN');
    await exec('ip', ['netns', 'exec', ns, ...sailfinIptablesOnly, 'iptables', ...ISTIO_FLAGS], { cwd: join(distRoot, '..') });
    await exec('ip', ['netns', 'exec', ns, ...sailfinIptablesOnly, 'iptables', ...ISTIO_FLAGS, '--ipv6', '--redirect-dns', '--capture-all-dns'], {
      cwd: join(distRoot, '..'),
    });
    assert.match(sh('ip', 'netns', 'exec', ns, 'ip6tables-save', '-t', 'nat'), /-A ISTIO_OUTPUT -d ::1\/128 -j RETURN/);
    const applied = sh('ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat');
    assert.match(applied, /-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
    assert.equal(applied.match(/-A PREROUTING -p tcp -j ISTIO_INBOUND/g)?.length, 1, 'a second run replaces, not duplicates');

    const { stdout } = await exec(sailfinIptablesOnly[0], [...sailfinIptablesOnly.slice(1), 'iptables', '--netns', ns, '--cleanup', '--ipv6'], {
      cwd: join(distRoot, '..'),
    });
    assert.match(stdout, /IPv4: removed[\s\S]*IPv6: removed/);
    assert.doesNotMatch(sh('ip', 'netns', 'exec', ns, 'ip6tables-save'), /ISTIO_/);
    const left = sh('ip', 'netns', 'exec', ns, 'iptables-save', '-t', 'nat');
    assert.doesNotMatch(left, /ISTIO_/);
    assert.match(left, /-A OUTPUT -p tcp -m tcp --dport 9 -j RETURN/);
  });
});
