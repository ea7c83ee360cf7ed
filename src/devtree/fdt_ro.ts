/**
 * Strict flattened device tree reader: every rule of libfdt's full check
 * (fdt_check_full) and a few more (aligned blocks, disjoint reservations,
 * properties before subnodes, nothing after END), so that no later stage ever
 * sees a blob it cannot trust. Each failure is one FdtFormatError naming the
 * byte offset in the blob; no other exception escapes, and every loop moves
 * forward by at least one token, so no input can hang it.
 */
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_NOP, FDT_PROP, FDT_RSV_ENTRY_SIZE, align4 } from './fdt';
import { Block, FdtFormatError, FdtHeader, checkHeader, hex, overlaps, u32, u64 } from './fdt_header';
import { DeviceTree, FdtNode, FdtReservation } from './model';

export { FdtFormatError, fdtHeader } from './fdt_header';
export type { FdtHeader } from './fdt_header';

const TOKEN_NAMES: Record<number, string> = {
  [FDT_BEGIN_NODE]: 'BEGIN_NODE',
  [FDT_END_NODE]: 'END_NODE',
  [FDT_PROP]: 'PROP',
  [FDT_NOP]: 'NOP',
  [FDT_END]: 'END',
};

/** Reservation entries up to the (0, 0) terminator: inside totalsize, clear of the other blocks, disjoint. */
function readReservations(blob: Uint8Array, h: FdtHeader, others: Block[]): FdtReservation[] {
  const list: { r: FdtReservation; at: number }[] = [];
  for (let at = h.offMemRsvmap; ; at += FDT_RSV_ENTRY_SIZE) {
    if (at + FDT_RSV_ENTRY_SIZE > h.totalSize) {
      throw new FdtFormatError(at, `memory reservation block reaches totalsize ${hex(h.totalSize)} without a (0, 0) terminator`);
    }
    const entry: Block = { start: at, end: at + FDT_RSV_ENTRY_SIZE, name: 'reservation entry' };
    for (const block of others) {
      if (overlaps(entry, block)) {
        throw new FdtFormatError(at, `memory reservation block runs into the ${block.name} at ${hex(block.start)} without a (0, 0) terminator`);
      }
    }
    const address = u64(blob, at);
    const size = u64(blob, at + 8);
    if (size === 0n) {
      if (address !== 0n) throw new FdtFormatError(at, `reservation at ${hex(address)} has size 0 (only the (0, 0) terminator may)`);
      break;
    }
    if (address + size > 1n << 64n) {
      throw new FdtFormatError(at, `reservation [${hex(address)}, +${hex(size)}) wraps past 2^64`);
    }
    list.push({ r: { address, size }, at });
  }
  const sorted = [...list].sort((a, b) => (a.r.address < b.r.address ? -1 : a.r.address > b.r.address ? 1 : a.at - b.at));
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (prev.r.address + prev.r.size > cur.r.address) {
      const [first, second] = prev.at < cur.at ? [prev, cur] : [cur, prev];
      throw new FdtFormatError(
        second.at,
        `reservation [${hex(second.r.address)}, +${hex(second.r.size)}) overlaps the one at ` +
          `${hex(first.at)} [${hex(first.r.address)}, +${hex(first.r.size)})`,
      );
    }
  }
  return list.map((e) => e.r);
}

/** Latin1: one char per byte, so names survive a read/write round trip exactly. */
function latin1(b: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

/**
 * Where each name in the strings block ends. Found by one scan and a binary
 * search, so many name offsets into one long unterminated run stay linear.
 */
class NulIndex {
  private positions: number[] | undefined;

  constructor(
    private readonly blob: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {}

  /** The first NUL at or after `at` inside the block, or -1. */
  after(at: number): number {
    if (!this.positions) {
      this.positions = [];
      for (let i = this.blob.indexOf(0, this.start); i >= 0 && i < this.end; i = this.blob.indexOf(0, i + 1)) {
        this.positions.push(i);
      }
    }
    const p = this.positions;
    let lo = 0;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < at) lo = mid + 1;
      else hi = mid;
    }
    return lo < p.length ? p[lo]! : -1;
  }
}

/** Walk the structure block token by token, building the tree. Returns the root and the block's end. */
function readStructure(blob: Uint8Array, h: FdtHeader): { root: FdtNode; end: number } {
  const start = h.offDtStruct;
  // Before v17 the block size is not in the header: the block may run up to totalsize.
  const limit = h.sizeDtStruct !== undefined ? start + h.sizeDtStruct : h.totalSize;
  const stringsStart = h.offDtStrings;
  const nuls = new NulIndex(blob, stringsStart, stringsStart + h.sizeDtStrings);
  const names = new Map<number, string>();

  const stack: FdtNode[] = [];
  const hasChildren: boolean[] = [];
  let root: FdtNode | undefined;
  let rootClosed = false;
  let at = start;

  for (;;) {
    if (at + 4 > limit) {
      throw new FdtFormatError(at, root ? `structure block ends before the END token` : `structure block is empty (no root node)`);
    }
    const token = u32(blob, at);
    if (!root && token !== FDT_BEGIN_NODE) {
      throw new FdtFormatError(at, `structure block must start with the root's BEGIN_NODE, not ${TOKEN_NAMES[token] ?? `token ${hex(token)}`}`);
    }
    if (rootClosed && token !== FDT_NOP && token !== FDT_END) {
      throw new FdtFormatError(at, `${TOKEN_NAMES[token] ?? `token ${hex(token)}`} after the root node ended (only NOPs and END may follow)`);
    }
    switch (token) {
      case FDT_BEGIN_NODE: {
        const nameStart = at + 4;
        const nameEnd = blob.indexOf(0, nameStart);
        if (nameEnd < 0 || nameEnd >= limit) {
          throw new FdtFormatError(nameStart, `node name is not NUL-terminated inside the structure block`);
        }
        const name = latin1(blob, nameStart, nameEnd);
        const node: FdtNode = { name, props: [], children: [] };
        if (!root) {
          if (name !== '') throw new FdtFormatError(nameStart, `root node name is ${JSON.stringify(name)}, not empty`);
          root = node;
        } else {
          stack[stack.length - 1]!.children.push(node);
          hasChildren[hasChildren.length - 1] = true;
        }
        stack.push(node);
        hasChildren.push(false);
        at = start + align4(nameEnd + 1 - start);
        break;
      }
      case FDT_END_NODE:
        // The stack cannot be empty here: before the root we need BEGIN_NODE, after it only NOP/END pass.
        stack.pop();
        hasChildren.pop();
        if (stack.length === 0) rootClosed = true;
        at += 4;
        break;
      case FDT_PROP: {
        if (at + 12 > limit) throw new FdtFormatError(at, `property header runs past the structure block end ${hex(limit)}`);
        const len = u32(blob, at + 4);
        const nameOff = u32(blob, at + 8);
        const valueStart = at + 12;
        if (valueStart + len > limit) {
          throw new FdtFormatError(at + 4, `property length ${hex(len)} runs past the structure block end ${hex(limit)}`);
        }
        const node = stack[stack.length - 1]!;
        let name = names.get(nameOff);
        if (name === undefined) {
          if (nameOff >= h.sizeDtStrings) {
            throw new FdtFormatError(at + 8, `property name offset ${hex(nameOff)} is outside the strings block (size ${hex(h.sizeDtStrings)})`);
          }
          const nameEnd = nuls.after(stringsStart + nameOff);
          if (nameEnd < 0) {
            throw new FdtFormatError(stringsStart + nameOff, `property name at strings offset ${hex(nameOff)} is not NUL-terminated inside the strings block`);
          }
          name = latin1(blob, stringsStart + nameOff, nameEnd);
          names.set(nameOff, name);
        }
        if (hasChildren[hasChildren.length - 1]) {
          throw new FdtFormatError(at, `property "${name}" of node "${node.name || '/'}" comes after a subnode (properties must come first)`);
        }
        // A plain view (subarray would look up a species constructor for every property).
        node.props.push({ name, value: new Uint8Array(blob.buffer, blob.byteOffset + valueStart, len) });
        at = start + align4(valueStart + len - start);
        break;
      }
      case FDT_NOP:
        at += 4;
        break;
      case FDT_END:
        if (stack.length > 0) {
          throw new FdtFormatError(at, `END token with ${stack.length} node(s) still open (BEGIN_NODE/END_NODE unbalanced)`);
        }
        at += 4;
        if (h.sizeDtStruct !== undefined && at !== limit) {
          throw new FdtFormatError(at, `${limit - at} byte(s) after the END token inside the structure block`);
        }
        return { root: root!, end: at };
      default:
        throw new FdtFormatError(at, `unknown token ${hex(token)}`);
    }
  }
}

/**
 * Parse and check a blob. Property values are views into a private copy of
 * the blob, so later changes to `blob` do not show through.
 */
export function readFdt(blob: Uint8Array): DeviceTree {
  const h = checkHeader(blob);
  // A real copy: Buffer#slice would share memory with the caller's buffer.
  const own = new Uint8Array(h.totalSize);
  own.set(blob.subarray(0, h.totalSize));
  const strings: Block = { start: h.offDtStrings, end: h.offDtStrings + h.sizeDtStrings, name: 'strings block' };
  let root: FdtNode;
  let reservations: FdtReservation[];
  if (h.sizeDtStruct !== undefined) {
    // v17: every block's extent is in the header, so check them in file order.
    const struct: Block = { start: h.offDtStruct, end: h.offDtStruct + h.sizeDtStruct, name: 'structure block' };
    reservations = readReservations(own, h, [struct, strings]);
    root = readStructure(own, h).root;
  } else {
    // v16: the structure block's end is known only once its END token is found.
    const parsed = readStructure(own, h);
    const struct: Block = { start: h.offDtStruct, end: parsed.end, name: 'structure block' };
    if (overlaps(struct, strings)) {
      throw new FdtFormatError(
        h.offDtStrings,
        `strings block [${hex(strings.start)}, ${hex(strings.end)}) overlaps the structure block [${hex(struct.start)}, ${hex(struct.end)})`,
      );
    }
    reservations = readReservations(own, h, [struct, strings]);
    root = parsed.root;
  }
  return {
    version: h.version,
    lastCompVersion: h.lastCompVersion,
    bootCpuidPhys: h.bootCpuidPhys,
    reservations,
    root,
  };
}
