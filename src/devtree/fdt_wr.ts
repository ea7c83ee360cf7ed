/**
 * Flattened device tree writer (FDT v17), laid out as dtc lays it out:
 * header, memory reservation block (8-aligned, ended by (0, 0)), structure
 * block, strings block, then optional zero padding. Names in the strings
 * block are shared the way dtc shares them (a name that is the tail of an
 * earlier one points into it), so a tree read from a dtc blob is written back
 * byte for byte.
 */
import {
  FDT_BEGIN_NODE,
  FDT_END,
  FDT_END_NODE,
  FDT_HDR,
  FDT_HEADER_SIZE,
  FDT_LAST_COMP_VERSION,
  FDT_MAGIC,
  FDT_PROP,
  FDT_RSV_ENTRY_SIZE,
  FDT_VERSION,
  align4,
  align8,
} from './fdt';
import { DeviceTree, FdtNode, FdtReservation, walkTree } from './model';
import { writeBe32 } from '../util/bytes';

export interface WriteFdtOptions {
  /** Pad the blob with zeros up to this many bytes (totalsize includes the padding). */
  minSize?: number;
}

const U64_END = 1n << 64n;

/** Names are written byte per char (latin1), which is how the reader decodes them. */
function checkName(name: string, what: string): void {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0 || c > 0xff) {
      throw new RangeError(`${what} ${JSON.stringify(name)} has a character that cannot be written (NUL or above U+00FF)`);
    }
  }
}

/** Reservations must be non-empty, inside 64 bits and disjoint, or the reader (and libfdt) would refuse them. */
function checkReservations(list: FdtReservation[]): void {
  for (const r of list) {
    if (r.size <= 0n || r.address < 0n || r.address + r.size > U64_END) {
      throw new RangeError(`reservation [0x${r.address.toString(16)}, +0x${r.size.toString(16)}) is empty or outside 64 bits`);
    }
  }
  const sorted = [...list].sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.address + prev.size > cur.address) {
      throw new RangeError(
        `reservations [0x${prev.address.toString(16)}, +0x${prev.size.toString(16)}) and ` +
          `[0x${cur.address.toString(16)}, +0x${cur.size.toString(16)}) overlap`,
      );
    }
  }
}

/** dtc's string table: a name reuses any earlier occurrence of itself, even as the tail of a longer name. */
class StringTable {
  readonly offsets = new Map<string, number>();
  readonly names: string[] = [];
  size = 0;

  offsetOf(name: string): number {
    const known = this.offsets.get(name);
    if (known !== undefined) return known;
    const at = this.size;
    for (let k = 0; k <= name.length; k++) {
      const tail = name.slice(k);
      if (!this.offsets.has(tail)) this.offsets.set(tail, at + k);
    }
    this.names.push(name);
    this.size += name.length + 1;
    return at;
  }
}


function putU64(out: Uint8Array, at: number, v: bigint): void {
  writeBe32(out, at, Number(v >> 32n));
  writeBe32(out, at + 4, Number(v & 0xffff_ffffn));
}

function putLatin1(out: Uint8Array, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
}

export function writeFdt(tree: DeviceTree, opts: WriteFdtOptions = {}): Uint8Array {
  if (tree.root.name !== '') throw new RangeError(`the root node's name must be empty, not ${JSON.stringify(tree.root.name)}`);
  checkReservations(tree.reservations);
  const bootCpu = tree.bootCpuidPhys;
  if (!Number.isInteger(bootCpu) || bootCpu < 0 || bootCpu > 0xffff_ffff) {
    throw new RangeError(`boot_cpuid_phys ${bootCpu} is not a u32`);
  }

  // Pass 1: sizes and the string table (in dtc's order: first use first).
  const strings = new StringTable();
  let structSize = 4; // FDT_END
  walkTree(tree.root, (node: FdtNode) => {
    checkName(node.name, 'node name');
    structSize += 4 + align4(node.name.length + 1) + 4; // BEGIN_NODE name, END_NODE
    for (const prop of node.props) {
      checkName(prop.name, 'property name');
      strings.offsetOf(prop.name);
      structSize += 12 + align4(prop.value.length);
    }
  });

  const rsvOff = align8(FDT_HEADER_SIZE);
  const structOff = rsvOff + (tree.reservations.length + 1) * FDT_RSV_ENTRY_SIZE;
  const stringsOff = structOff + structSize;
  const natural = stringsOff + strings.size;
  const totalSize = Math.max(natural, opts.minSize ?? 0);
  const out = new Uint8Array(totalSize);

  writeBe32(out, FDT_HDR.magic, FDT_MAGIC);
  writeBe32(out, FDT_HDR.totalSize, totalSize);
  writeBe32(out, FDT_HDR.offDtStruct, structOff);
  writeBe32(out, FDT_HDR.offDtStrings, stringsOff);
  writeBe32(out, FDT_HDR.offMemRsvmap, rsvOff);
  writeBe32(out, FDT_HDR.version, FDT_VERSION);
  writeBe32(out, FDT_HDR.lastCompVersion, FDT_LAST_COMP_VERSION);
  writeBe32(out, FDT_HDR.bootCpuidPhys, bootCpu);
  writeBe32(out, FDT_HDR.sizeDtStrings, strings.size);
  writeBe32(out, FDT_HDR.sizeDtStruct, structSize);

  let at = rsvOff;
  for (const r of tree.reservations) {
    putU64(out, at, r.address);
    putU64(out, at + 8, r.size);
    at += FDT_RSV_ENTRY_SIZE;
  }
  // The (0, 0) terminator is already zero.

  // Pass 2: the structure block (padding bytes are already zero).
  at = structOff;
  walkTree(
    tree.root,
    (node: FdtNode) => {
      writeBe32(out, at, FDT_BEGIN_NODE);
      putLatin1(out, at + 4, node.name);
      at += 4 + align4(node.name.length + 1);
      for (const prop of node.props) {
        writeBe32(out, at, FDT_PROP);
        writeBe32(out, at + 4, prop.value.length);
        writeBe32(out, at + 8, strings.offsets.get(prop.name)!);
        out.set(prop.value, at + 12);
        at += 12 + align4(prop.value.length);
      }
    },
    () => {
      writeBe32(out, at, FDT_END_NODE);
      at += 4;
    },
  );
  writeBe32(out, at, FDT_END);

  at = stringsOff;
  for (const name of strings.names) {
    putLatin1(out, at, name);
    at += name.length + 1;
  }
  return out;
}
