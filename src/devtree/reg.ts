/**
 * `reg` in the parent's address space: #address-cells / #size-cells of the
 * parent give the cells per address and per size (Devicetree Specification
 * 2.3.5: defaults 2 and 1 when absent).
 */
import { enc, dec } from './codec';
import { DeviceTreeError, FdtNode, getProp } from './model';

export interface RegEntry {
  address: bigint;
  size: bigint;
}

function cellCount(node: FdtNode, name: string, fallback: number): number {
  const prop = getProp(node, name);
  if (!prop) return fallback;
  if (prop.value.length !== 4) {
    throw new DeviceTreeError(`node "${node.name || '/'}": ${name} is ${prop.value.length} bytes, not one cell`);
  }
  const n = dec.u32(prop.value);
  if (n > 4) throw new DeviceTreeError(`node "${node.name || '/'}": ${name} = ${n} is more than 4 cells`);
  return n;
}

/** #address-cells of `node` (applies to its children's reg); default 2. */
export function addressCells(node: FdtNode): number {
  return cellCount(node, '#address-cells', 2);
}

/** #size-cells of `node` (applies to its children's reg); default 1. */
export function sizeCells(node: FdtNode): number {
  return cellCount(node, '#size-cells', 1);
}

/** `node`'s reg as (address, size) pairs; [] without reg. A size of 0 cells reads as size 0. */
export function readReg(parent: FdtNode, node: FdtNode): RegEntry[] {
  const prop = getProp(node, 'reg');
  if (!prop) return [];
  const ac = addressCells(parent);
  const sc = sizeCells(parent);
  const width = (ac + sc) * 4;
  if (width === 0 || prop.value.length % width !== 0) {
    throw new DeviceTreeError(
      `node "${node.name}": reg is ${prop.value.length} bytes, not a whole number of ` +
        `(${ac} address + ${sc} size)-cell entries`,
    );
  }
  const out: RegEntry[] = [];
  for (let at = 0; at < prop.value.length; at += width) {
    const [address] = ac === 0 ? [0n] : dec.cells(prop.value.subarray(at, at + ac * 4), ac);
    const [size] = sc === 0 ? [0n] : dec.cells(prop.value.subarray(at + ac * 4, at + width), sc);
    out.push({ address: address!, size: size! });
  }
  return out;
}

/** Encode reg entries for a child of `parent` (RangeError if a value does not fit the cells). */
export function encodeReg(parent: FdtNode, ranges: { address: number | bigint; size: number | bigint }[]): Uint8Array {
  const ac = addressCells(parent);
  const sc = sizeCells(parent);
  const width = (ac + sc) * 4;
  const out = new Uint8Array(ranges.length * width);
  ranges.forEach((r, i) => {
    out.set(enc.cells([r.address], ac), i * width);
    out.set(enc.cells([r.size], sc), i * width + ac * 4);
  });
  return out;
}

/** A window of the CPU's address space that a bus node maps to its children (MMIO, not RAM). */
export interface BusWindow extends RegEntry {
  node: string;
}

/**
 * The MMIO windows of the root's bus nodes (host bridges such as js21's
 * `ht@0` or a pseries `pci@...`): each `ranges` entry is (child address,
 * parent address, size) in the child's #address-cells, the root's
 * #address-cells and the child's #size-cells (Devicetree Specification
 * 2.3.8); its parent address and size are the window. An empty `ranges`
 * (identity) maps nothing of its own.
 */
export function mmioWindows(root: FdtNode): BusWindow[] {
  const out: BusWindow[] = [];
  const pac = addressCells(root);
  for (const node of root.children) {
    const prop = getProp(node, 'ranges');
    if (!prop || prop.value.length === 0) continue;
    const cac = addressCells(node);
    const csc = sizeCells(node);
    const width = (cac + pac + csc) * 4;
    if (prop.value.length % width !== 0) {
      throw new DeviceTreeError(`node "${node.name}": ranges is ${prop.value.length} bytes, not a whole number of (${cac} + ${pac} + ${csc})-cell entries`);
    }
    for (let at = 0; at < prop.value.length; at += width) {
      const [address] = dec.cells(prop.value.subarray(at + cac * 4, at + (cac + pac) * 4), pac);
      const [size] = csc === 0 ? [0n] : dec.cells(prop.value.subarray(at + (cac + pac) * 4, at + width), csc);
      if (size! > 0n) out.push({ node: node.name, address: address!, size: size! });
    }
  }
  return out;
}
