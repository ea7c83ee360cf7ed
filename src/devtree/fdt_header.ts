/**
 * The FDT header: reading its fields, and the header rules of the strict
 * reader (magic, versions, totalsize, every block inside totalsize and
 * aligned, structure and strings blocks apart).
 */
import { readBe32 } from '../util/bytes';
import { hex } from '../util/size';
import {
  FDT_FIRST_SUPPORTED_VERSION,
  FDT_HDR,
  FDT_HEADER_SIZE,
  FDT_LAST_SUPPORTED_VERSION,
  FDT_MAGIC,
  FDT_V16_HEADER_SIZE,
} from './fdt';

export class FdtFormatError extends Error {
  /** Byte offset in the blob where the problem is. */
  readonly offset: number;

  constructor(offset: number, what: string) {
    super(`bad FDT at 0x${offset.toString(16)}: ${what}`);
    this.name = 'FdtFormatError';
    this.offset = offset;
  }
}

export interface FdtHeader {
  magic: number;
  totalSize: number;
  offDtStruct: number;
  offDtStrings: number;
  offMemRsvmap: number;
  version: number;
  lastCompVersion: number;
  bootCpuidPhys: number;
  sizeDtStrings: number;
  /** Absent before version 17. */
  sizeDtStruct?: number;
}

export { hex };

export function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export function u64(b: Uint8Array, at: number): bigint {
  return (BigInt(u32(b, at)) << 32n) | BigInt(u32(b, at + 4));
}

/** The header fields as stored (checks only that the bytes are there). */
export function fdtHeader(blob: Uint8Array): FdtHeader {
  if (blob.length < 4 * 6) {
    throw new FdtFormatError(0, `blob is ${blob.length} bytes, too short for an FDT header`);
  }
  const version = u32(blob, FDT_HDR.version);
  const headerSize = version >= 17 ? FDT_HEADER_SIZE : FDT_V16_HEADER_SIZE;
  if (blob.length < headerSize) {
    throw new FdtFormatError(0, `blob is ${blob.length} bytes, shorter than the ${headerSize}-byte version ${version} header`);
  }
  const header: FdtHeader = {
    magic: u32(blob, FDT_HDR.magic),
    totalSize: u32(blob, FDT_HDR.totalSize),
    offDtStruct: u32(blob, FDT_HDR.offDtStruct),
    offDtStrings: u32(blob, FDT_HDR.offDtStrings),
    offMemRsvmap: u32(blob, FDT_HDR.offMemRsvmap),
    version,
    lastCompVersion: u32(blob, FDT_HDR.lastCompVersion),
    bootCpuidPhys: u32(blob, FDT_HDR.bootCpuidPhys),
    sizeDtStrings: u32(blob, FDT_HDR.sizeDtStrings),
  };
  if (version >= 17) header.sizeDtStruct = u32(blob, FDT_HDR.sizeDtStruct);
  return header;
}

/** A byte range of the blob. */
export interface Block {
  start: number;
  end: number;
  name: string;
}

export function overlaps(a: Block, b: Block): boolean {
  return a.start < b.end && b.start < a.end;
}

/** Header rules: magic, versions, totalsize, and each block inside totalsize and aligned. */
export function checkHeader(blob: Uint8Array): FdtHeader {
  if (blob.length < 4) throw new FdtFormatError(0, `blob is ${blob.length} bytes, too short for the magic number`);
  const magic = u32(blob, FDT_HDR.magic);
  if (magic !== FDT_MAGIC) throw new FdtFormatError(0, `magic ${hex(magic)} is not ${hex(FDT_MAGIC)}`);
  const h = fdtHeader(blob);
  if (h.version < FDT_FIRST_SUPPORTED_VERSION) {
    throw new FdtFormatError(FDT_HDR.version, `version ${h.version} is older than 16, which is not supported`);
  }
  if (h.lastCompVersion > FDT_LAST_SUPPORTED_VERSION) {
    throw new FdtFormatError(FDT_HDR.lastCompVersion, `last_comp_version ${h.lastCompVersion} is newer than 17, which is not supported`);
  }
  if (h.version < h.lastCompVersion) {
    throw new FdtFormatError(FDT_HDR.version, `version ${h.version} is older than its last_comp_version ${h.lastCompVersion}`);
  }
  const headerSize = h.version >= 17 ? FDT_HEADER_SIZE : FDT_V16_HEADER_SIZE;
  if (h.totalSize < headerSize) {
    throw new FdtFormatError(FDT_HDR.totalSize, `totalsize ${hex(h.totalSize)} is smaller than the ${headerSize}-byte header`);
  }
  if (h.totalSize > blob.length) {
    throw new FdtFormatError(FDT_HDR.totalSize, `totalsize ${hex(h.totalSize)} is past the end of the ${hex(blob.length)}-byte blob`);
  }
  const inside = (field: number, off: number, size: number, what: string): void => {
    if (off < headerSize) throw new FdtFormatError(field, `${what} offset ${hex(off)} is inside the header`);
    if (off + size > h.totalSize) {
      throw new FdtFormatError(field, `${what} [${hex(off)}, ${hex(off + size)}) ends past totalsize ${hex(h.totalSize)}`);
    }
  };
  inside(FDT_HDR.offMemRsvmap, h.offMemRsvmap, 0, 'memory reservation block');
  if (h.offMemRsvmap % 8 !== 0) {
    throw new FdtFormatError(FDT_HDR.offMemRsvmap, `memory reservation block offset ${hex(h.offMemRsvmap)} is not 8-byte aligned`);
  }
  inside(FDT_HDR.offDtStruct, h.offDtStruct, h.sizeDtStruct ?? 0, 'structure block');
  if (h.offDtStruct % 4 !== 0) {
    throw new FdtFormatError(FDT_HDR.offDtStruct, `structure block offset ${hex(h.offDtStruct)} is not 4-byte aligned`);
  }
  if (h.sizeDtStruct !== undefined && h.sizeDtStruct % 4 !== 0) {
    throw new FdtFormatError(FDT_HDR.sizeDtStruct, `size_dt_struct ${hex(h.sizeDtStruct)} is not a multiple of 4`);
  }
  inside(FDT_HDR.offDtStrings, h.offDtStrings, h.sizeDtStrings, 'strings block');
  if (h.sizeDtStruct !== undefined) {
    const struct: Block = { start: h.offDtStruct, end: h.offDtStruct + h.sizeDtStruct, name: 'structure block' };
    const strings: Block = { start: h.offDtStrings, end: h.offDtStrings + h.sizeDtStrings, name: 'strings block' };
    if (overlaps(struct, strings)) {
      throw new FdtFormatError(FDT_HDR.offDtStrings, `strings block [${hex(strings.start)}, ${hex(strings.end)}) overlaps the structure block [${hex(struct.start)}, ${hex(struct.end)})`);
    }
  }
  return h;
}


/** totalsize from a blob's first 8 bytes (magic, then totalsize), not yet checked: the reader checks it. */
export function fdtTotalSize(head: ArrayLike<number>): number {
  return readBe32(head, 4);
}
