// The worker's one router of ext_proc's messages (src/worker/run.ts routeToWorker): every kind reaches
// the role that owns it, with what the role needs; a role that is not configured drops its kinds.
import { expect } from 'chai';
import pino from 'pino';
import type { ExtprocMessage, WorkerMessage } from '../../../src/worker/protocol.js';
import { routeToWorker, type WorkerRoles } from '../../../src/worker/run.js';

/** One message of every kind: a kind added to ExtprocMessage must be added here too (a Record over the union). */
const ONE_OF_EACH: { [K in ExtprocMessage['type']]: Extract<ExtprocMessage, { type: K }> } = {
  'token-suspect': { type: 'token-suspect' },
  'static-access': { type: 'static-access', path: 'secret/data/a', token: 'hvs.reader' },
  'lease-track': { type: 'lease-track', key: 'k1', kind: 'lease', token: 'hvs.owner', leaseId: 'db/creds/x/1', ttlSeconds: 60 },
  'lease-untrack': { type: 'lease-untrack', key: 'k1' },
  'static-forget': { type: 'static-forget', path: 'secret/data/a' },
  'static-drop': { type: 'static-drop', tokenHash: 'h2', paths: ['secret/data/a'] },
  'mount-lookup': { type: 'mount-lookup', path: 'secret/data/b' },
  recheck: { type: 'recheck', seq: 7 },
  'token-revoked': { type: 'token-revoked', tokenHash: 'h1' },
  ping: { type: 'ping', seq: 3 },
  'template-answer': { type: 'template-answer', id: 9 },
  'fleet-role': { type: 'fleet-role', owner: true },
  'shared-token': { type: 'shared-token', token: 'hvs.shared', leaseDurationSeconds: 60, renewable: true, obtainedAtMs: 1_000 },
  stop: { type: 'stop' },
};

/** What each role was asked, as `role.method(args)`. */
function recordingRoles(): { roles: WorkerRoles; calls: string[]; sent: WorkerMessage[] } {
  const calls: string[] = [];
  const sent: WorkerMessage[] = [];
  const role = (name: string): Record<string, (...args: unknown[]) => void> => new Proxy({}, {
    get: (_t, method) => (...args: unknown[]) => { calls.push(`${name}.${String(method)}(${args.map((a) => JSON.stringify(a)).join(', ')})`); },
  });
  const roles = {
    send: (msg: WorkerMessage) => { sent.push(msg); },
    log: pino({ level: 'silent' }),
    autoAuth: role('autoAuth'),
    fleet: role('fleet'),
    renewer: role('renewer'),
    maintainer: role('maintainer'),
    templates: role('templates'),
    afterStop: () => { calls.push('afterStop()'); },
  } as unknown as WorkerRoles;
  return { roles, calls, sent };
}

describe('worker: the router of ext_proc messages (routeToWorker)', () => {
  it('hands every kind to the role that owns it, with the fields that role needs', () => {
    const expected: { [K in ExtprocMessage['type']]: string[] } = {
      'token-suspect': ['autoAuth.suspect()'],
      'static-access': ['maintainer.access("secret/data/a", "hvs.reader")'],
      'lease-track': [`renewer.track(${JSON.stringify(ONE_OF_EACH['lease-track'])})`],
      'lease-untrack': ['renewer.untrack("k1")'],
      'static-forget': ['maintainer.forget("secret/data/a")'],
      'static-drop': ['maintainer.accessLost("h2", ["secret/data/a"])'],
      'mount-lookup': ['maintainer.lookupMount("secret/data/b")'],
      recheck: ['maintainer.recheck(7)'],
      'token-revoked': ['maintainer.tokenRevoked("h1")'],
      ping: [],
      'template-answer': [`templates.answered(${JSON.stringify(ONE_OF_EACH['template-answer'])})`],
      'fleet-role': ['fleet.setOwner(true)'],
      'shared-token': ['fleet.shared({"token":"hvs.shared","leaseDurationSeconds":60,"renewable":true,"obtainedAtMs":1000})'],
      // Every role stops, then the thread may close once the worker is done.
      stop: ['templates.stop()', 'maintainer.stop()', 'renewer.stop()', 'autoAuth.stop()', 'afterStop()'],
    };
    for (const kind of Object.keys(ONE_OF_EACH) as Array<ExtprocMessage['type']>) {
      const { roles, calls, sent } = recordingRoles();
      routeToWorker(ONE_OF_EACH[kind], roles);
      expect(calls, kind).to.deep.equal(expected[kind]);
      expect(sent, kind).to.deep.equal(kind === 'ping' ? [{ type: 'pong', seq: 3 }] : []);
    }
  });

  it('without auto-auth (no roles) answers the heartbeat, lets the thread close on stop, and drops the rest', () => {
    for (const kind of Object.keys(ONE_OF_EACH) as Array<ExtprocMessage['type']>) {
      const calls: string[] = [];
      const sent: WorkerMessage[] = [];
      routeToWorker(ONE_OF_EACH[kind], { send: (m) => { sent.push(m); }, log: pino({ level: 'silent' }), afterStop: () => { calls.push('afterStop()'); } });
      expect(sent, kind).to.deep.equal(kind === 'ping' ? [{ type: 'pong', seq: 3 }] : []);
      expect(calls, kind).to.deep.equal(kind === 'stop' ? ['afterStop()'] : []);
    }
  });
});
