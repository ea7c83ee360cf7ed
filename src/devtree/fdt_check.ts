/**
 * The firmware tree checked as dtc checks a tree, on top of the reader's
 * structural checks (fdt_ro.ts), so that a tree dtc refuses is refused here
 * too and the dom0 tree made from it is one dtc accepts. Every rule dtc
 * makes an ERROR for a blob (checks.c @ dtc-8f48565):
 *  - duplicate_node_names (checks.c:276-288), duplicate_property_names (:290-304);
 *  - node_name_chars: NODECHARS = [a-zA-Z0-9,._+-@] (:309, :313-322);
 *    node_name_format: at most one '@' (:335-341); node_name_not_empty:
 *    no empty base name below the root (:343-349);
 *  - property_name_chars: PROPCHARS = [a-zA-Z0-9,._+*#?-] (:310, :392-405);
 *  - explicit_phandles: phandle / linux,phandle one cell, not 0 or
 *    0xffffffff (phandle_is_valid, dtc.h:54-57), equal when both are given,
 *    unique in the tree (:494-575);
 *  - name_properties: a `name` property is one string equal to the base
 *    name (:577-605, data_is_one_string, data.c:236).
 * And the rules the tool needs to read RAM, which dtc only warns about
 * (address_cells_is_cell, size_cells_is_cell :690-691; reg_format :767-794):
 *  - #address-cells / #size-cells one cell of at most 4 (libfdt's
 *    FDT_MAX_NCELLS), and at the root (which /memory's reg is read in) 1 or 2;
 *  - every reg a whole number of (address, size) entries of its parent's cells;
 *  - RAM (/memory reg) entries that end at or below 2^53 bytes (so every
 *    address is an exact number) and do not overlap.
 * Pure: the first broken rule comes back as an FdtCheckError naming the
 * node's path (control characters escaped) and the rule.
 */
import { dec } from './codec';
import { DeviceTree, FdtNode, FdtProperty, getProp } from './model';
import { isMemoryNode } from './ofd_fixup';
import { quote } from '../util/quote';

export class FdtCheckError extends Error {
  constructor(
    /** The node's path, as dtc prints it. */
    readonly path: string,
    /** dtc's name for the rule, or the tool's. */
    readonly rule: string,
    what: string,
  ) {
    super(`node ${quote(path)}: ${what} (rule ${rule})`);
    this.name = 'FdtCheckError';
  }
}

const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';
const UPPERCASE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
/** checks.c:309 */
export const NODECHARS = new Set(LOWERCASE + UPPERCASE + DIGITS + ',._+-@');
/** checks.c:310 */
export const PROPCHARS = new Set(LOWERCASE + UPPERCASE + DIGITS + ',._+*#?-');

/** Largest RAM address the tool takes (2^53: every byte address is an exact number). */
export const MAX_RAM_ADDRESS = 2n ** 53n;
const MAX_NCELLS = 4;

function firstBad(name: string, allowed: Set<string>): string | undefined {
  for (const ch of name) if (!allowed.has(ch)) return ch;
  return undefined;
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

function isOneString(v: Uint8Array): boolean {
  return v.length > 0 && v.indexOf(0) === v.length - 1;
}

function cells(node: FdtNode, path: string, name: string, fallback: number, root: boolean): number {
  const prop = getProp(node, name);
  if (!prop) return fallback;
  const rule = name === '#address-cells' ? 'address_cells_is_cell' : 'size_cells_is_cell';
  if (prop.value.length !== 4) throw new FdtCheckError(path, rule, `${name} is ${prop.value.length} bytes, not one cell`);
  const n = dec.u32(prop.value);
  if (n > MAX_NCELLS) throw new FdtCheckError(path, rule, `${name} = ${n} is more than ${MAX_NCELLS} cells`);
  if (root && (n < 1 || n > 2)) throw new FdtCheckError(path, 'root-cells', `the root's ${name} = ${n}, not 1 or 2 (RAM in /memory is read in these cells)`);
  return n;
}

interface Walk {
  phandles: Map<number, string>;
  ram: { start: bigint; end: bigint; path: string }[];
}

function checkPhandle(node: FdtNode, path: string, name: string): number | undefined {
  const prop = getProp(node, name);
  if (!prop) return undefined;
  if (prop.value.length !== 4) throw new FdtCheckError(path, 'explicit_phandles', `${name} is ${prop.value.length} bytes, not one cell`);
  const v = dec.u32(prop.value);
  if (v === 0 || v === 0xffff_ffff) throw new FdtCheckError(path, 'explicit_phandles', `${name} = 0x${v.toString(16)} is not a valid phandle`);
  return v;
}

function checkProps(node: FdtNode, path: string): void {
  const seen = new Set<string>();
  for (const p of node.props) {
    if (seen.has(p.name)) throw new FdtCheckError(path, 'duplicate_property_names', `property ${quote(p.name)} appears twice`);
    seen.add(p.name);
    const bad = firstBad(p.name, PROPCHARS);
    if (bad !== undefined) throw new FdtCheckError(path, 'property_name_chars', `bad character ${quote(bad)} in property name ${quote(p.name)}`);
  }
}

function checkName(node: FdtNode, path: string, isRoot: boolean): void {
  const name = getProp(node, 'name');
  if (!name || isRoot) return;
  const base = node.name.split('@')[0]!;
  const v = name.value;
  if (!isOneString(v)) throw new FdtCheckError(path, 'name_is_string', `the name property is not one string`);
  if (dec.str(v) !== base) throw new FdtCheckError(path, 'name_properties', `the name property ${quote(dec.str(v))} is not the base name ${quote(base)}`);
}

function checkReg(node: FdtNode, path: string, ac: number, sc: number, w: Walk, parentIsRoot: boolean): void {
  const reg: FdtProperty | undefined = getProp(node, 'reg');
  if (!reg) return;
  const width = (ac + sc) * 4;
  if (width === 0 ? reg.value.length !== 0 : reg.value.length % width !== 0) {
    throw new FdtCheckError(path, 'reg_format', `reg is ${reg.value.length} bytes, not whole entries of ${ac} address + ${sc} size cells`);
  }
  if (!parentIsRoot || !isMemoryNode(node)) return;
  for (let at = 0; at < reg.value.length; at += width) {
    const [address] = dec.cells(reg.value.subarray(at, at + ac * 4), ac);
    const [size] = dec.cells(reg.value.subarray(at + ac * 4, at + width), sc);
    const start = address!;
    const end = start + size!;
    if (size === 0n) continue;
    if (end > MAX_RAM_ADDRESS) {
      throw new FdtCheckError(path, 'ram-range', `RAM [0x${start.toString(16)}, +0x${size!.toString(16)}) ends past 2^53 bytes`);
    }
    w.ram.push({ start, end, path });
  }
}

function walk(node: FdtNode, path: string, w: Walk, parent: { ac: number; sc: number; isRoot: boolean } | undefined): void {
  const isRoot = parent === undefined;
  checkProps(node, path);
  checkName(node, path, isRoot);
  const ph = checkPhandle(node, path, 'phandle');
  const lph = checkPhandle(node, path, 'linux,phandle');
  if (ph !== undefined && lph !== undefined && ph !== lph) throw new FdtCheckError(path, 'explicit_phandles', `phandle 0x${ph.toString(16)} and linux,phandle 0x${lph.toString(16)} differ`);
  const handle = ph ?? lph;
  if (handle !== undefined) {
    const other = w.phandles.get(handle);
    if (other !== undefined) throw new FdtCheckError(path, 'explicit_phandles', `phandle 0x${handle.toString(16)} is also ${quote(other)}'s`);
    w.phandles.set(handle, path);
  }
  if (parent) checkReg(node, path, parent.ac, parent.sc, w, parent.isRoot);
  const ac = cells(node, path, '#address-cells', 2, isRoot);
  const sc = cells(node, path, '#size-cells', 1, isRoot);

  const names = new Set<string>();
  for (const child of node.children) {
    const cp = childPath(path, child.name);
    if (names.has(child.name)) throw new FdtCheckError(cp, 'duplicate_node_names', `a sibling has the same name`);
    names.add(child.name);
    const bad = firstBad(child.name, NODECHARS);
    if (bad !== undefined) throw new FdtCheckError(cp, 'node_name_chars', `bad character ${quote(bad)} in the node name`);
    const at = child.name.indexOf('@');
    if (at >= 0 && child.name.indexOf('@', at + 1) >= 0) throw new FdtCheckError(cp, 'node_name_format', `more than one '@' in the node name`);
    if ((at < 0 ? child.name.length : at) === 0) throw new FdtCheckError(cp, 'node_name_not_empty', `the node's base name is empty`);
  }
  for (const child of node.children) walk(child, childPath(path, child.name), w, { ac, sc, isRoot });
}

/** Throws FdtCheckError at the first rule the tree breaks (see the module comment). */
export function checkFdt(tree: DeviceTree): void {
  const w: Walk = { phandles: new Map(), ram: [] };
  walk(tree.root, '/', w, undefined);
  const ram = w.ram.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  for (let i = 1; i < ram.length; i++) {
    const a = ram[i - 1]!;
    const b = ram[i]!;
    if (b.start < a.end) {
      throw new FdtCheckError(b.path, 'ram-overlap', `RAM [0x${b.start.toString(16)}, 0x${b.end.toString(16)}) overlaps ${quote(a.path)}'s [0x${a.start.toString(16)}, 0x${a.end.toString(16)})`);
    }
  }
}

/** The first broken rule in words, or undefined. */
export function fdtProblem(tree: DeviceTree): string | undefined {
  try {
    checkFdt(tree);
    return undefined;
  } catch (e) {
    if (e instanceof FdtCheckError) return e.message;
    throw e;
  }
}
