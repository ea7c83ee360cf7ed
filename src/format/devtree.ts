import type { DeviceTree, FdtNode } from '../devtree/tree';
import { findNode } from '../devtree/tree';
import { readBe32 } from '../util/bytes';
import { doc, range } from './contract';

/** A property value for JSON: text when it is printable strings, else cells, else bytes. */
function propValue(v: Uint8Array): unknown {
  if (v.length === 0) return true;
  if (v[v.length - 1] === 0 && v.every((b, i) => (b >= 0x20 && b < 0x7f) || (b === 0 && i > 0 && v[i - 1] !== 0))) {
    const parts = Buffer.from(v.subarray(0, v.length - 1)).toString('latin1').split('\0');
    return parts.length === 1 ? parts[0] : parts;
  }
  if (v.length % 4 === 0) {
    const cells: number[] = [];
    for (let i = 0; i < v.length; i += 4) cells.push(readBe32(v, i));
    return { cells };
  }
  return { bytes: Buffer.from(v).toString('hex') };
}

function nodeJson(n: FdtNode): object {
  return { name: n.name, props: Object.fromEntries(n.props.map((p) => [p.name, propValue(p.value)])), children: n.children.map(nodeJson) };
}

export function devtreeJson(domid: number, t: DeviceTree, path?: string): object {
  const node = path ? findNode(t.root, path)! : t.root;
  return doc('inspect-devtree', {
    domid,
    version: t.version,
    lastCompVersion: t.lastCompVersion,
    bootCpuidPhys: t.bootCpuidPhys,
    reservations: t.reservations.map((r) => ({ paddrs: range(safe(r.address), safe(r.address + r.size)), bytes: safe(r.size) })),
    path: path ?? '/',
    root: nodeJson(node),
  });
}

/** A reservation's u64 as a JSON number (guest-physical addresses are far below 2^53). */
function safe(v: bigint | number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`device tree value ${v} is not below 2^53`);
  return n;
}
