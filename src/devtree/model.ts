/**
 * The in-memory device tree: plain objects, properties before children as in
 * the blob. Property values are raw big-endian bytes; treat them as immutable
 * (trees may share value arrays, e.g. a fixed-up tree with its firmware tree).
 */

export interface FdtProperty {
  name: string;
  value: Uint8Array;
}

export interface FdtNode {
  /** Node name with unit address ("memory@0"); "" for the root. */
  name: string;
  props: FdtProperty[];
  children: FdtNode[];
}

export interface FdtReservation {
  address: bigint;
  size: bigint;
}

export interface DeviceTree {
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  reservations: FdtReservation[];
  root: FdtNode;
}

/** A value in a tree that cannot mean what it should (short cell, bad reg, missing node). */
export class DeviceTreeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceTreeError';
  }
}

export function emptyTree(): DeviceTree {
  return {
    version: 17,
    lastCompVersion: 16,
    bootCpuidPhys: 0,
    reservations: [],
    root: newNode(''),
  };
}

export function newNode(name: string, props: FdtProperty[] = [], children: FdtNode[] = []): FdtNode {
  return { name, props, children };
}

/** The part of a node name before '@' ("memory@0" -> "memory"). */
export function baseName(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at);
}

/**
 * One path component against a node's children. An exact name wins; a
 * component without '@' otherwise matches a child by base name, but only when
 * exactly one child has that base name ("/memory" finds "memory@0" when it is
 * the only memory node; with memory@0 and memory@100000000 it finds nothing).
 */
export function findChild(parent: FdtNode, component: string): FdtNode | undefined {
  let byBase: FdtNode | undefined;
  let byBaseCount = 0;
  const wantBase = component.indexOf('@') < 0;
  for (const child of parent.children) {
    if (child.name === component) return child;
    if (wantBase && baseName(child.name) === component) {
      byBase = child;
      byBaseCount++;
    }
  }
  return byBaseCount === 1 ? byBase : undefined;
}

/** Resolve "/a/b@1" from the root ("/" or "" is the root; empty components are skipped). */
export function findNode(root: FdtNode, path: string): FdtNode | undefined {
  let node: FdtNode | undefined = root;
  for (const component of path.split('/')) {
    if (component === '') continue;
    node = findChild(node, component);
    if (!node) return undefined;
  }
  return node;
}

export function getProp(node: FdtNode, name: string): FdtProperty | undefined {
  for (const prop of node.props) if (prop.name === name) return prop;
  return undefined;
}

/** Replace the value in place (keeping the property's position) or append a new property. */
export function setProp(node: FdtNode, name: string, value: Uint8Array): void {
  const prop = getProp(node, name);
  if (prop) prop.value = value;
  else node.props.push({ name, value });
}

export function removeProp(node: FdtNode, name: string): void {
  node.props = node.props.filter((p) => p.name !== name);
}

/** Append a child (order is kept: it is the blob's order). */
export function addChild(parent: FdtNode, child: FdtNode): FdtNode {
  parent.children.push(child);
  return child;
}

/**
 * Copy the node structure of a tree without recursion (a hostile blob may
 * nest deeper than the JS stack). Property objects are new; value bytes are
 * shared, which is safe because nothing here writes into a value.
 */
export function cloneNode(src: FdtNode): FdtNode {
  const copy = (n: FdtNode): FdtNode => ({
    name: n.name,
    props: n.props.map((p) => ({ name: p.name, value: p.value })),
    children: [],
  });
  const top = copy(src);
  const work: [FdtNode, FdtNode][] = [[src, top]];
  while (work.length > 0) {
    const [from, to] = work.pop()!;
    for (const child of from.children) {
      const c = copy(child);
      to.children.push(c);
      work.push([child, c]);
    }
  }
  return top;
}

export function cloneTree(tree: DeviceTree): DeviceTree {
  return {
    version: tree.version,
    lastCompVersion: tree.lastCompVersion,
    bootCpuidPhys: tree.bootCpuidPhys,
    reservations: tree.reservations.map((r) => ({ address: r.address, size: r.size })),
    root: cloneNode(tree.root),
  };
}

/**
 * Depth-first walk without recursion: `enter` before a node's children,
 * `leave` after them; depth 0 is the node the walk starts at.
 */
export function walkTree(
  start: FdtNode,
  enter: (node: FdtNode, depth: number) => void,
  leave?: (node: FdtNode, depth: number) => void,
): void {
  const nodes: FdtNode[] = [start];
  const next: number[] = [0];
  enter(start, 0);
  while (nodes.length > 0) {
    const top = nodes.length - 1;
    const node = nodes[top]!;
    const i = next[top]!;
    if (i < node.children.length) {
      next[top] = i + 1;
      const child = node.children[i]!;
      enter(child, top + 1);
      nodes.push(child);
      next.push(0);
    } else {
      if (leave) leave(node, top);
      nodes.pop();
      next.pop();
    }
  }
}
