import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Self time of a .cpuprofile by where the code lives: ours, grpc-js, other node_modules, Node, GC.
 * Only samples of the last `windowSeconds` before the profile's last busy sample count: the load,
 * without start-up (module loading, compiling) or shutdown.
 */
export function summariseProfile(dirPath: string, windowSeconds: number): string {
  const file = readdirSync(dirPath).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dirPath}`);
  const prof = JSON.parse(readFileSync(join(dirPath, file), 'utf8')) as {
    nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
    samples: number[]; timeDeltas: number[];
  };
  const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnKey = (id: number): string => {
    const { url, functionName } = nodes.get(id)!.callFrame;
    return `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src|bench)\//, '$1/')}`;
  };
  const ours = (id: number): boolean => /^file:\/\/.*\/(dist|src)\//.test(nodes.get(id)!.callFrame.url) && !nodes.get(id)!.callFrame.url.includes('node_modules');
  /** Time in each of our functions and everything it calls (each function counted once per sample). */
  const inclusive = new Map<string, number>();
  const idle = (id: number): boolean => nodes.get(id)?.callFrame.functionName === '(idle)';
  const times: number[] = [];
  let t = 0;
  for (const d of prof.timeDeltas) times.push((t += d));
  let last = times.length - 1;
  while (last > 0 && idle(prof.samples[last]!)) last--;
  const from = times[last]! - windowSeconds * 1e6;
  const byGroup = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  for (let i = 0; i <= last; i++) {
    if (times[i]! < from || idle(prof.samples[i]!)) continue;
    const { url, functionName } = nodes.get(prof.samples[i]!)!.callFrame;
    const group = functionName === '(garbage collector)' ? 'GC'
      : url.includes('@grpc/grpc-js') ? 'grpc-js' : url.includes('protobufjs') ? 'protobufjs' : url.includes('node_modules') ? 'other node_modules'
        : url.startsWith('node:') ? 'Node internals (http2, streams, timers…)' : url === '' ? '(program/native)' : 'vault-extproc (or the floor server)';
    byGroup.set(group, (byGroup.get(group) ?? 0) + 1);
    const key = fnKey(prof.samples[i]!);
    byFn.set(key, (byFn.get(key) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = prof.samples[i]!; id !== undefined; id = parent.get(id)) {
      if (!ours(id)) continue;
      const k = fnKey(id);
      if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + 1);
      seen.add(k);
    }
    total++;
  }
  const pct = (h: number): string => `${((100 * h) / total).toFixed(1)} %`;
  const groups = [...byGroup].sort((a, b) => b[1] - a[1]).map(([g, h]) => `  ${g}: ${pct(h)}`);
  const fns = [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([f, h]) => `  ${pct(h)}  ${f}`);
  const incl = [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([f, h]) => `  ${pct(h)}  ${f}`);
  return `busy samples by origin (${total}):\n${groups.join('\n')}\ntop functions by self time:\n${fns.join('\n')}\nour functions by inclusive time:\n${incl.join('\n')}`;
}
