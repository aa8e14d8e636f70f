import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigEvent } from '../../src/config/events.js';
import { loadTexts } from '../../src/config/loader.js';
import { formatMessage } from '../../src/config/messages.js';
import { ConfigStore } from '../../src/config/store.js';

const load = (text: string, file = 'a.yaml') => {
  const out = loadTexts([{ file, text }]);
  assert.deepEqual(out.messages.map(formatMessage), []);
  return out.resources;
};

const svc = (name: string, port = 80) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec:
  ports: [{name: http, port: ${port}}]
`;
const badDr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: bad}
spec:
  subsets: [{name: v1}]
`;

describe('ConfigStore', () => {
  it('applies a valid batch and emits one batch of upserts', () => {
    const store = new ConfigStore();
    const batches: ConfigEvent[][] = [];
    store.onChange((b) => batches.push([...b]));
    const result = store.apply(load(`${svc('a')}---\n${svc('b')}`));
    assert.equal(result.accepted, true);
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0].map((e) => `${e.type} ${e.resource.resource.metadata.name}`), ['upsert a', 'upsert b']);
    assert.equal(store.get('Service', 'default', 'a')?.resource.metadata.name, 'a');
    assert.equal(store.list('Service').length, 2);
  });

  it('rejects a batch whole when one object is invalid, keeping the last good config', () => {
    const store = new ConfigStore();
    store.apply(load(svc('a', 80)));
    let events = 0;
    store.onChange(() => events++);
    const result = store.apply(load(`${svc('a', 8080)}---\n${badDr}`, 'change.yaml'));
    assert.equal(result.accepted, false);
    assert.equal(events, 0);
    const text = result.messages.map(formatMessage).join('\n');
    assert.match(text, /IST0106.*DestinationRule default\/bad change\.yaml:10.*spec\.host/);
    const ports = (store.get('Service', 'default', 'a')!.resource.spec as any).ports;
    assert.equal(ports[0].port, 80, 'the earlier Service is still in force');
  });

  it('refuses duplicates within one batch, naming both places', () => {
    const store = new ConfigStore();
    const a = load(svc('a'), 'one.yaml');
    const b = load(svc('a'), 'two.yaml');
    const result = store.apply([...a, ...b]);
    assert.equal(result.accepted, false);
    assert.match(formatMessage(result.messages[0]), /Service default\/a is defined twice: at one\.yaml:1 and at two\.yaml:1/);
    assert.equal(store.size, 0);
  });

  it('emits nothing for an unchanged re-apply and deletes on replace', () => {
    const store = new ConfigStore();
    store.apply(load(`${svc('a')}---\n${svc('b')}`));
    const batches: ConfigEvent[][] = [];
    store.onChange((b) => batches.push([...b]));
    assert.deepEqual(store.apply(load(svc('a'))).events, []);
    const result = store.replace(load(svc('a', 81)));
    assert.deepEqual(result.events.map((e) => `${e.type} ${e.resource.resource.metadata.name}`), ['upsert a', 'delete b']);
    assert.equal(batches.length, 1);
    assert.equal(store.size, 1);
    store.delete([{ kind: 'Service', namespace: 'default', name: 'a' }, { kind: 'Service', namespace: 'default', name: 'zzz' }]);
    assert.equal(store.size, 0);
  });

  it('keeps notifying other listeners when one throws', () => {
    const store = new ConfigStore();
    let heard = 0;
    store.onChange(() => {
      throw new Error('boom');
    });
    store.onChange(() => heard++);
    assert.throws(() => store.apply(load(svc('a'))), /boom/);
    assert.equal(heard, 1);
    assert.equal(store.size, 1);
  });
});
