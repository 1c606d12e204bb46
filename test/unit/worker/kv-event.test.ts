import { expect } from 'chai';
import { parseKvEvent } from '../../../src/worker/static/kv-event.js';

/** A Vault 1.15 KV event frame (reference/vault-api.md §7.3). */
function frame(eventType: string, metadata: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    id: 'a3be9fb1', source: 'https://vaultproject.io/', specversion: '1.0', type: '*',
    data: {
      event: { id: 'a3be9fb1', metadata },
      event_type: eventType,
      plugin_info: { mount_class: 'secret', mount_accessor: 'kv_5dc4d18e', mount_path: 'secret/', plugin: 'kv' },
      ...extra,
    },
    datacontentype: 'application/cloudevents', time: '2024-05-01T10:00:00.123456-07:00',
  })}\n`;
}

describe('worker: reading KV events', () => {
  const cases: Array<[string, Record<string, string>, string, number[]]> = [
    ['kv-v2/data-write', { current_version: '2', data_path: 'secret/data/app/db', modified: 'true', oldest_version: '0', operation: 'data-write', path: 'secret/data/app/db' }, 'secret/data/app/db', []],
    ['kv-v2/data-delete', { current_version: '2', modified: 'true', oldest_version: '0', operation: 'data-delete', path: 'secret/data/app/db' }, 'secret/data/app/db', []],
    ['kv-v2/delete', { current_version: '3', deleted_versions: '[1,2]', modified: 'true', oldest_version: '0', operation: 'delete', path: 'secret/delete/app/db' }, 'secret/data/app/db', [1, 2]],
    ['kv-v2/undelete', { current_version: '3', data_path: 'secret/data/app/db', undeleted_versions: '[2]', modified: 'true', oldest_version: '0', operation: 'undelete', path: 'secret/undelete/app/db' }, 'secret/data/app/db', [2]],
    ['kv-v2/destroy', { current_version: '3', destroyed_versions: '[3]', modified: 'true', oldest_version: '0', operation: 'destroy', path: 'secret/destroy/app/db' }, 'secret/data/app/db', [3]],
    ['kv-v2/metadata-delete', { modified: 'true', operation: 'metadata-delete', path: 'secret/metadata/app/db' }, 'secret/data/app/db', []],
    ['kv-v2/metadata-write', { data_path: 'secret/metadata/app/db', modified: 'true', operation: 'metadata-write', path: 'secret/metadata/app/db' }, 'secret/data/app/db', []],
    ['kv-v1/write', { data_path: 'secret/app', modified: 'true', operation: 'write', path: 'secret/app' }, 'secret/app', []],
    ['kv-v1/delete', { modified: 'true', operation: 'delete', path: 'secret/app' }, 'secret/app', []],
  ];
  for (const [type, metadata, path, versions] of cases) {
    it(`${type} → ${path}${versions.length ? ` dropping versions ${versions.join(',')}` : ''}`, () => {
      expect(parseKvEvent(frame(type, metadata))).to.deep.equal({ kind: 'change', change: { eventType: type, path, versions } });
    });
  }

  it('prefixes the namespace of events outside the root namespace', () => {
    const parsed = parseKvEvent(frame('kv-v2/data-write', { data_path: 'secret/data/a', modified: 'true', path: 'secret/data/a' }, { namespace: 'ns1/' }));
    expect(parsed).to.deep.include({ kind: 'change' });
    expect(parsed.kind === 'change' && parsed.change.path).to.equal('ns1/secret/data/a');
  });

  it('ignores events that modified nothing, and events of other engines', () => {
    expect(parseKvEvent(frame('kv-v2/data-write', { modified: 'false', path: 'secret/data/a' }))).to.deep.equal({ kind: 'ignored' });
    expect(parseKvEvent(frame('database/creds-create', { modified: 'true', path: 'database/creds/x' }))).to.deep.equal({ kind: 'ignored' });
  });

  it('calls anything else invalid without throwing', () => {
    for (const bad of ['', 'not json', '[]', 'null', '{"data":1}', '{"data":{"event":{}}}', frame('kv-v2/delete', { modified: 'true', path: 'secret/delete/a', deleted_versions: 'oops' })]) {
      expect(parseKvEvent(bad).kind).to.equal('invalid');
    }
  });
});
