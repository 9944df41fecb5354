import { readFileSync } from 'node:fs';

/**
 * `tsx bench/heap-summary.ts <after.heapsnapshot> [<before.heapsnapshot> <connections>] [top=40]`: self size
 * and count by constructor (or node type); with a snapshot taken before connecting and the connection count,
 * what each connection added, so what a socket keeps can be read without DevTools.
 */
interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const [file, beforeFile, connectionsArg, topArg] = process.argv.slice(2);
if (!file) {
  console.error(
    'usage: tsx bench/heap-summary.ts <after.heapsnapshot> [<before.heapsnapshot> <connections>] [top]',
  );
  process.exit(1);
}
const top = Number(topArg ?? 40);
const after = summarise(file);
if (!beforeFile) print(after, 1, 'total');
else {
  const before = summarise(beforeFile);
  const connections = Number(connectionsArg ?? 1);
  for (const [key, entry] of before.totals) {
    const now = after.totals.get(key) ?? { size: 0, count: 0 };
    after.totals.set(key, { size: now.size - entry.size, count: now.count - entry.count });
  }
  after.all -= before.all;
  print(after, connections, 'per connection');
}

function print(summary: ReturnType<typeof summarise>, per: number, title: string) {
  console.log(`${title}: ${(summary.all / per / 1024).toFixed(1)} KiB of heap`);
  for (const [key, { size, count }] of [...summary.totals]
    .sort((a, b) => b[1].size - a[1].size)
    .slice(0, top))
    console.log(`${(size / per).toFixed(0).padStart(9)} B ${(count / per).toFixed(1).padStart(8)}  ${key}`);
}

function summarise(path: string) {
  const heap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = heap.snapshot.meta.node_fields;
  const types = heap.snapshot.meta.node_types[0];
  const width = fields.length;
  const at = (name: string) => fields.indexOf(name);
  const [typeAt, nameAt, sizeAt] = [at('type'), at('name'), at('self_size')];

  const totals = new Map<string, { size: number; count: number }>();
  let all = 0;
  for (let i = 0; i < heap.nodes.length; i += width) {
    const type = types[heap.nodes[i + typeAt]!]!;
    const name = heap.strings[heap.nodes[i + nameAt]!]!;
    const key = type === 'object' || type === 'closure' ? `${type} ${name}` : `(${type})`;
    const size = heap.nodes[i + sizeAt]!;
    all += size;
    const entry = totals.get(key) ?? { size: 0, count: 0 };
    entry.size += size;
    entry.count += 1;
    totals.set(key, entry);
  }
  return { totals, all };
}
