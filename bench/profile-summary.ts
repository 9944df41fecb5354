import { readFileSync } from 'node:fs';

/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top] [filter]`: self time by function (and by file) of a
 * V8 CPU profile, so a profile can be read without DevTools. `filter` keeps only the samples whose stack
 * contains a frame matching it (e.g. a time window is not needed to isolate fan-out: filter by `fanout`).
 */
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top=30] [filter]');
  process.exit(1);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const top = Number(topArg ?? 30);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const label = (node: Node) => {
  const url = node.callFrame.url.replace(/^.*node_modules\//, '~').replace(/^file:\/\/.*?\/main\//, '');
  return `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
};
const stackMatches = (id: number) => {
  if (!filter) return true;
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const node = byId.get(at)!;
    if (label(node).includes(filter)) return true;
  }
  return false;
};

const self = new Map<string, number>();
const perFile = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  const node = byId.get(id)!;
  if (node.callFrame.functionName === '(idle)' || !stackMatches(id)) return;
  total += delta;
  self.set(label(node), (self.get(label(node)) ?? 0) + delta);
  const where =
    node.callFrame.url
      .replace(/^.*node_modules\/((@[^/]+\/)?[^/]+).*$/, '~$1')
      .replace(/^file:\/\/.*?\/main\//, '') || '(native)';
  perFile.set(where, (perFile.get(where) ?? 0) + delta);
});

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (total ${(total / 1000).toFixed(0)} ms)`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(
      `${(micros / 1000).toFixed(1).padStart(9)} ms ${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`,
    );
};
print('self time by function', self);
print('self time by file / package', perFile);
