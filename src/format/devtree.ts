import type { DeviceTree, FdtNode } from '../devtree/tree';
import { findNode } from '../devtree/tree';
import { readBe32 } from '../util/bytes';

/** A property value for JSON: text when it is printable strings, else cells, else bytes. */
function propValue(v: Uint8Array): unknown {
  if (v.length === 0) return true;
  if (v[v.length - 1] === 0 && v.every((b, i) => (b >= 0x20 && b < 0x7f) || (b === 0 && i > 0 && v[i - 1] !== 0))) {
    const parts = Buffer.from(v.subarray(0, v.length - 1)).toString('latin1').split('\0');
    return parts.length === 1 ? parts[0] : parts;
  }
  if (v.length % 4 === 0) {
    const cells: string[] = [];
    for (let i = 0; i < v.length; i += 4) cells.push('0x' + readBe32(v, i).toString(16));
    return { cells };
  }
  return { bytes: Buffer.from(v).toString('hex') };
}

function nodeJson(n: FdtNode): object {
  return { name: n.name, props: Object.fromEntries(n.props.map((p) => [p.name, propValue(p.value)])), children: n.children.map(nodeJson) };
}

export function devtreeJson(t: DeviceTree, path?: string): object {
  const node = path ? findNode(t.root, path)! : t.root;
  return {
    version: t.version,
    lastCompVersion: t.lastCompVersion,
    bootCpuidPhys: t.bootCpuidPhys,
    reservations: t.reservations.map((r) => ({ address: '0x' + r.address.toString(16), size: '0x' + r.size.toString(16) })),
    root: nodeJson(node),
  };
}
