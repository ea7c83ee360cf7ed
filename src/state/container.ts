import { crc32 } from '../util/crc32';
import { StateError } from '../util/errors';

/**
 * The state file: a fixed header, sections at 8-aligned offsets, and a
 * section table saying where each one is and its CRC-32. A reader checks the
 * header and the table, then reads only the sections it uses, each checked
 * against its CRC the first time it is read; nothing needs the whole file in
 * one buffer, and offsets and lengths are 64-bit (files past 2 GiB).
 *
 *   0   "PPCDOMB\0"
 *   8   u32 format version (5)
 *   12  u32 N, sections
 *   16  u64 offset of the section table
 *   24  u32 CRC-32 of the section table
 *   28  u32 CRC-32 of bytes 0..28
 *   32  sections
 *   ..  section table: N x { u32 kind, u32 domid, u32 index, u32 CRC-32, u64 offset, u64 length, u32 part, u32 0 }
 * All big-endian. The table goes last so sections can be written as they
 * are produced, and a writer can append changed sections to a copy of the
 * previous file, leaving the unchanged ones where they are.
 *
 * A section's part is 0 when it is in this file; k > 0 when it is in the
 * k-th file the `parts` section names (JSON, a list of `part-<16 hex>.bin`
 * beside this file: an earlier generation's state file, hard-linked, so a
 * save need not copy what it did not change).
 */
export const STATE_MAGIC = 'PPCDOMB\0';
export const STATE_VERSION = 5;
export const HEADER_BYTES = 32;
const ENTRY_BYTES = 40;

/** What a section holds. The numbers are the file's; never reuse one. */
export const SECTION = {
  /** The typed structure as JSON (machine, domains, foreign mappings). */
  structure: 1,
  /** The firmware device tree blob dom0's tree was made from. */
  firmware: 2,
  /** One 1 MiB chunk of a domain's RMA (index = chunk number); chunks never written are absent. */
  rmaChunk: 3,
  /** A domain's hash table, valid slots only (src/hpt/codec.ts). */
  hpt: 4,
  /** The p2m Xen keeps for a shadow domain (big-endian u32 entries). */
  xenP2m: 5,
  /** The guest kernel's slot bytes (Linux's hidx). */
  guestSlots: 6,
  /** The part files sections live in besides this one (JSON list of names; section part k is the k-th). */
  parts: 7,
} as const;
export type SectionKind = (typeof SECTION)[keyof typeof SECTION];
const KINDS = new Set<number>(Object.values(SECTION));

/** The domid of a section that belongs to no domain. */
export const NO_DOMAIN = 0xffffffff;

export interface SectionKey { kind: SectionKind; domid: number; index: number }
/** `part`: the file beside the state file the section is in (a PART_PATTERN name); absent: the state file itself. */
export interface SectionEntry extends SectionKey { crc: number; offset: number; length: number; part?: string }

/** What a part file is called (nothing else is opened as one). */
export const PART_PATTERN = /^part-[0-9a-f]{16}\.bin$/;

/** Positional reads of a file (the command layer's, over an fd). */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Uint8Array;
}

/** Positional writes into a file. */
export interface ByteSink {
  write(position: number, bytes: Uint8Array): void;
}

/**
 * A section to write: new bytes (its length, and the pieces, produced when
 * written so a large section is never held twice; a length known only once
 * written is undefined, with an estimate for sizing decisions), or one
 * carried from the previous file unchanged.
 */
export type SectionWrite = SectionKey & ({ length: number | undefined; estimate?: number; pieces: () => Iterable<Uint8Array>; carried?: undefined } | { carried: SectionEntry; from: StateContainer });

export function pad8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** An open state file: its section table, and its sections read and checked on demand. */
export class StateContainer {
  private readonly byKey = new Map<string, SectionEntry>();
  /** The file's size when opened. */
  readonly size: number;

  private constructor(
    private readonly src: ByteSource,
    readonly where: string,
    readonly entries: readonly SectionEntry[],
    /** The part files, by name, opened with this file (absent when there was no way to open them). */
    readonly parts: ReadonlyMap<string, ByteSource | undefined>,
  ) {
    this.size = src.size;
    for (const e of entries) this.byKey.set(key(e.kind, e.domid, e.index), e);
  }

  /**
   * Open a state file: header and table checked. `openPart` opens a part
   * file beside it by name (all of them now, so later reads come from the
   * same files); one it cannot open (or without it), a section in that
   * part fails when read.
   */
  static open(src: ByteSource, where: string, openPart?: (name: string) => ByteSource | undefined): StateContainer {
    const bad = (what: string): never => {
      throw new StateError(`state ${where} is corrupt: ${what}`, ['rebuild-state']);
    };
    if (src.size < 12) bad(`only ${src.size} bytes (truncated)`);
    const head = src.read(0, Math.min(HEADER_BYTES, src.size));
    if (Buffer.from(head.buffer, head.byteOffset, 8).toString('latin1') !== STATE_MAGIC) bad('not a ppc-dombuild state file (bad magic)');
    const dv = view(head);
    const version = dv.getUint32(8);
    if (version !== STATE_VERSION) {
      throw new StateError(`state ${where} has format version ${version}; this ppc-dombuild reads version ${STATE_VERSION}`, ['rebuild-state']);
    }
    if (head.length < HEADER_BYTES) bad(`only ${src.size} bytes (truncated)`);
    if (crc32(head.subarray(0, 28)) !== dv.getUint32(28)) bad('header checksum mismatch');
    const n = dv.getUint32(12);
    const tableAt = u64(dv, 16) ?? bad('section table offset out of range');
    if (tableAt < HEADER_BYTES || tableAt + n * ENTRY_BYTES > src.size) bad(`section table runs past the end (${src.size} bytes: truncated)`);
    const table = src.read(tableAt, n * ENTRY_BYTES);
    if (crc32(table) !== dv.getUint32(24)) bad('section table checksum mismatch');
    const tv = view(table);
    const entries: SectionEntry[] = [];
    const partOf: number[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * ENTRY_BYTES;
      const kind = tv.getUint32(at);
      const offset = u64(tv, at + 16);
      const length = u64(tv, at + 24);
      const part = tv.getUint32(at + 32);
      if (!KINDS.has(kind)) bad(`section ${i} has unknown kind ${kind}`);
      if (offset === undefined || length === undefined || offset + length > Number.MAX_SAFE_INTEGER) bad(`section ${i} is out of bounds`);
      if (part === 0 && (offset! < HEADER_BYTES || offset! + length! > tableAt)) bad(`section ${i} is out of bounds`);
      if (part !== 0 && kind === SECTION.parts) bad(`section ${i} (the part list) is not in the state file`);
      partOf.push(part);
      entries.push({ kind: kind as SectionKind, domid: tv.getUint32(at + 4), index: tv.getUint32(at + 8), crc: tv.getUint32(at + 12), offset: offset!, length: length! });
    }
    // The part files: named by the parts section (in this file), opened now.
    const parts = new Map<string, ByteSource | undefined>();
    const listEntry = entries.find((e) => e.kind === SECTION.parts);
    let names: string[] = [];
    if (listEntry) {
      const bytes = src.read(listEntry.offset, listEntry.length);
      if (bytes.length !== listEntry.length || crc32(bytes) !== listEntry.crc) bad('section parts checksum mismatch (modified or torn)');
      try {
        names = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
      } catch {
        bad('the part list is not JSON');
      }
      if (!Array.isArray(names) || names.some((x) => typeof x !== 'string' || !PART_PATTERN.test(x))) bad('the part list names something that is not a part file');
    }
    for (const name of names) parts.set(name, openPart?.(name));
    entries.forEach((e, i) => {
      const p = partOf[i];
      if (p === 0) return;
      if (p > names.length) bad(`section ${i} is in part ${p}, of ${names.length}`);
      e.part = names[p - 1];
      const ps = parts.get(e.part);
      if (ps && e.offset + e.length > ps.size) bad(`${describe(e)} runs past the end of ${e.part} (${ps.size} bytes: truncated)`);
    });
    return new StateContainer(src, where, entries, parts);
  }

  /** The size of the file a section is in. */
  sizeOf(part: string | undefined): number {
    return part === undefined ? this.size : (this.parts.get(part)?.size ?? 0);
  }

  /** Bytes of the file its sections use (the rest is left by appends: what a rewrite would save). */
  get liveBytes(): number {
    return this.entries.reduce((n, e) => n + (e.part === undefined ? pad8(e.length) : 0), HEADER_BYTES + this.entries.length * ENTRY_BYTES);
  }

  find(kind: SectionKind, domid = NO_DOMAIN, index = 0): SectionEntry | undefined {
    return this.byKey.get(key(kind, domid, index));
  }

  /** A domain's sections of one kind, by index. */
  all(kind: SectionKind, domid: number): SectionEntry[] {
    return this.entries.filter((e) => e.kind === kind && e.domid === domid).sort((a, b) => a.index - b.index);
  }

  /** A section's bytes, read at its offset and checked against its CRC. */
  read(e: SectionEntry): Uint8Array {
    let src = this.src;
    if (e.part !== undefined) {
      const p = this.parts.get(e.part);
      if (p === undefined) throw new StateError(`state ${this.where} is incomplete: ${describe(e)} is in ${e.part}, which is not beside it`, ['rebuild-state']);
      src = p;
    }
    const bytes = src.read(e.offset, e.length);
    if (bytes.length !== e.length || crc32(bytes) !== e.crc) {
      throw new StateError(`state ${this.where} is corrupt: ${describe(e)} checksum mismatch (modified or torn)`, ['rebuild-state']);
    }
    return bytes;
  }
}

/** A section in words, for messages. */
export function describe(e: SectionKey): string {
  const name = Object.entries(SECTION).find(([, v]) => v === e.kind)?.[0] ?? `kind ${e.kind}`;
  const who = e.domid === NO_DOMAIN ? '' : ` of dom${e.domid}`;
  return `section ${name}${e.kind === SECTION.rmaChunk ? ` ${e.index}` : ''}${who}`;
}

/**
 * Write a container through `sink`: sections in order, then the table, then
 * the header (so a file cut short anywhere has no valid header over a
 * missing table). With `appendTo`, the sink's file already holds that
 * container's bytes (a copy): sections carried from it stay at their
 * offsets and the rest go after its end. With `linkFrom`, sections carried
 * from that container stay in the files they are in, which the caller puts
 * beside the new file (hard links): its own file as `linkFrom.ownPart`,
 * its parts under their names. Any other carried section is read (and
 * checked) from its file and written anew. Returns the file's size.
 */
export function writeContainer(sink: ByteSink, sections: readonly SectionWrite[], opts: ContainerWriteOptions = {}): number {
  const w = new ContainerWriter(sink, opts);
  for (const s of sections) w.add(s);
  return w.finish();
}

export interface ContainerWriteOptions { appendTo?: StateContainer; linkFrom?: { from: StateContainer; ownPart: string } }

/**
 * writeContainer's steps: each section written as it is added, then the
 * table and the header. A key added twice keeps its last entry, so the
 * table never names a section twice.
 */
class ContainerWriter {
  private at: number;
  private readonly entries = new Map<string, SectionEntry>();
  private readonly partNames: string[] = [];

  constructor(private readonly sink: ByteSink, private readonly opts: ContainerWriteOptions = {}) {
    this.at = pad8(opts.appendTo?.size ?? HEADER_BYTES);
  }

  add(s: SectionWrite): SectionEntry {
    const k = { kind: s.kind, domid: s.domid, index: s.index };
    const link = this.opts.linkFrom;
    let e: SectionEntry;
    if (s.carried && this.opts.appendTo !== undefined && s.from === this.opts.appendTo && s.carried.part === undefined) {
      e = { ...k, crc: s.carried.crc, offset: s.carried.offset, length: s.carried.length };
    } else if (s.carried && link !== undefined && s.from === link.from) {
      const part = s.carried.part ?? link.ownPart;
      if (!this.partNames.includes(part)) this.partNames.push(part);
      e = { ...k, crc: s.carried.crc, offset: s.carried.offset, length: s.carried.length, part };
    } else {
      const start = this.at;
      let crc = 0;
      const put = (b: Uint8Array): void => {
        this.sink.write(this.at, b);
        crc = crc32(b, crc);
        this.at += b.length;
      };
      if (s.carried) {
        put(s.from.read(s.carried));
      } else {
        for (const b of s.pieces()) put(b);
        if (s.length !== undefined && this.at - start !== s.length) throw new Error(`${describe(s)} was ${this.at - start} bytes, announced ${s.length}`);
      }
      e = { ...k, crc, offset: start, length: this.at - start };
      this.pad();
    }
    this.entries.set(key(k.kind, k.domid, k.index), e);
    return e;
  }

  /** The parts list, the table and the header; returns the file's size. */
  finish(): number {
    const entries = [...this.entries.values()];
    const partNames = this.partNames;
    if (partNames.length > 0) {
      const list = Buffer.from(JSON.stringify(partNames), 'utf8');
      this.sink.write(this.at, list);
      entries.push({ kind: SECTION.parts, domid: NO_DOMAIN, index: 0, crc: crc32(list), offset: this.at, length: list.length });
      this.at += list.length;
      this.pad();
    }
    const table = new Uint8Array(entries.length * ENTRY_BYTES);
    const tv = view(table);
    entries.forEach((e, i) => {
      const o = i * ENTRY_BYTES;
      tv.setUint32(o, e.kind);
      tv.setUint32(o + 4, e.domid);
      tv.setUint32(o + 8, e.index);
      tv.setUint32(o + 12, e.crc);
      tv.setBigUint64(o + 16, BigInt(e.offset));
      tv.setBigUint64(o + 24, BigInt(e.length));
      tv.setUint32(o + 32, e.part === undefined ? 0 : partNames.indexOf(e.part) + 1);
    });
    const tableAt = this.at;
    this.sink.write(tableAt, table);
    const head = new Uint8Array(HEADER_BYTES);
    const hv = view(head);
    head.set(Buffer.from(STATE_MAGIC, 'latin1'));
    hv.setUint32(8, STATE_VERSION);
    hv.setUint32(12, entries.length);
    hv.setBigUint64(16, BigInt(tableAt));
    hv.setUint32(24, crc32(table));
    hv.setUint32(28, crc32(head.subarray(0, 28)));
    this.sink.write(0, head);
    return tableAt + table.length;
  }

  private pad(): void {
    if (pad8(this.at) > this.at) this.sink.write(this.at, new Uint8Array(pad8(this.at) - this.at));
    this.at = pad8(this.at);
  }
}

/** A file held in memory (tests, and a state encoded without a file). */
export class MemoryFile implements ByteSource, ByteSink {
  private bytes: Uint8Array = new Uint8Array(0);
  size = 0;

  constructor(initial?: Uint8Array) {
    if (initial) {
      this.bytes = initial;
      this.size = initial.length;
    }
  }

  write(position: number, b: Uint8Array): void {
    const end = position + b.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    this.bytes.set(b, position);
    this.size = Math.max(this.size, end);
  }

  read(position: number, length: number): Uint8Array {
    return this.bytes.slice(position, Math.min(this.size, position + length));
  }

  contents(): Buffer {
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.size);
  }
}

function key(kind: number, domid: number, index: number): string {
  return `${kind}/${domid}/${index}`;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, at: number): number | undefined {
  const v = dv.getBigUint64(at);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** The pieces as one buffer (tests, small states). */
export function joinPieces(pieces: Uint8Array[]): Buffer {
  return Buffer.concat(pieces);
}
