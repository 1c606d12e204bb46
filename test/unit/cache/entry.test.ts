import { Packr } from 'msgpackr';
import { expect } from 'chai';
import { decodeEntry, encodeEntry, type StaticEntry, type StoredResponse } from '../../../src/cache/entry.js';

const response = (text: string, storedAtMs: number): StoredResponse => ({
  status: 200, headers: [['cache-control', 'no-store'], ['content-type', 'application/json']], body: new TextEncoder().encode(text), storedAtMs,
});
const text = (r: StoredResponse): unknown => ({ ...r, body: new TextDecoder().decode(r.body) });
/** The entry with bodies as text, to compare. */
const plain = (e: StaticEntry): unknown => ({
  ...e, ...(e.latest ? { latest: text(e.latest) } : {}),
  versions: Object.fromEntries(Object.entries(e.versions).map(([v, r]) => [v, text(r)])),
});

describe('cache: static entry encoding', () => {
  it('decodes what it encoded: tokens, latest and its version, version sub-entries', () => {
    const entry: StaticEntry = {
      path: 'ns1/secret/data/app', tokens: ['h1', 'h2'], versionTokens: { 1: ['h2'] }, headerNamespaces: ['ns1/'], latest: response('{"v":3}', 1_700_000_000_123), latestVersion: 3,
      versions: { 1: response('{"v":1}', 1_600_000_000_000) },
    };
    const decoded = decodeEntry(entry.path, encodeEntry(entry));
    expect(plain(decoded)).to.deep.equal(plain(entry));
    expect(decoded.latest!.body).to.be.instanceOf(Uint8Array);
  });

  it('leaves out what is absent, and does not store the path (it is the key)', () => {
    const entry: StaticEntry = { path: 'secret/data/a-rather-long-path-name', tokens: ['h1'], versionTokens: {}, headerNamespaces: [], versions: { 2: response('x', 5) } };
    const bytes = encodeEntry(entry);
    const decoded = decodeEntry(entry.path, bytes);
    expect(decoded).not.to.have.property('latest');
    expect(decoded).not.to.have.property('latestVersion');
    expect(plain(decoded)).to.deep.equal(plain(entry));
    expect(Buffer.from(bytes).includes('a-rather-long-path-name')).to.equal(false);
  });

  it('an entry stored before header namespaces were kept decodes with none (its header forms answer again before they are served)', () => {
    const older = new Packr({ useRecords: false, structuredClone: false }).pack([['h1'], null, null, {}, {}]);
    const decoded = decodeEntry('ns1/secret/data/app', older);
    expect(decoded.headerNamespaces).to.deep.equal([]);
    expect(decoded.tokens).to.deep.equal(['h1']);
  });
});
