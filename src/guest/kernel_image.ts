import { KERNEL_BASE } from '../hpt/constants';

/**
 * Where dom0's kernel text is, as Linux 2.6.18's in_kernel_text() sees it:
 * [_stext, __init_end) (include/asm-powerpc/sections.h:11-17 @ el5-274).
 * _stext opens .text at KERNELBASE (arch/powerpc/kernel/head_64.S:74-75,
 * vmlinux.lds.S:28-37); __init_end closes the init sections after text and
 * read-only data (vmlinux.lds.S:162-164); data and bss follow it.
 *
 * Kept as guest-physical offsets: the linear map puts paddr p at
 * KERNELBASE + p, so vaddr in text <=> p in [start, end).
 */
export interface KernelText {
  start: number;
  end: number;
  /** `symbols`: read from the image's ELF64 symbol table; `image`: no symbol table, the whole image taken as text. */
  source: 'symbols' | 'image';
}

const SHT_SYMTAB = 2;
/** e_ident[EI_CLASS = 4] and e_ident[EI_DATA = 5] of an ELF64 big-endian object (System V gABI, "ELF Identification"). */
export const ELFCLASS64 = 2;
export const ELFDATA2MSB = 2;

/** Does the image open as an ELF64 big-endian object: the \x7fELF magic, ELFCLASS64, ELFDATA2MSB? */
export function isElf64Be(img: Uint8Array): boolean {
  return img[0] === 0x7f && img[1] === 0x45 && img[2] === 0x4c && img[3] === 0x46 && img[4] === ELFCLASS64 && img[5] === ELFDATA2MSB;
}

/** The value of each wanted symbol in an ELF64 big-endian image's symbol table (undefined when it has none). */
export function elfSymbols(img: Uint8Array, names: readonly string[]): Map<string, bigint> | undefined {
  if (img.length < 64 || !isElf64Be(img)) return undefined;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const shoff = Number(dv.getBigUint64(40));
  const shentsize = dv.getUint16(58);
  const shnum = dv.getUint16(60);
  if (shoff === 0 || shentsize < 64 || shoff + shnum * shentsize > img.length) return undefined;
  const want = new Set(names);
  const out = new Map<string, bigint>();
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (dv.getUint32(sh + 4) !== SHT_SYMTAB) continue;
    const off = Number(dv.getBigUint64(sh + 24));
    const size = Number(dv.getBigUint64(sh + 32));
    const link = dv.getUint32(sh + 40);
    const ent = Number(dv.getBigUint64(sh + 56)) || 24;
    if (link >= shnum || off + size > img.length) return undefined;
    const str = shoff + link * shentsize;
    const strOff = Number(dv.getBigUint64(str + 24));
    const strSize = Number(dv.getBigUint64(str + 32));
    if (strOff + strSize > img.length) return undefined;
    for (let s = off; s + 24 <= off + size; s += ent) {
      const nameAt = dv.getUint32(s);
      if (nameAt === 0 || nameAt >= strSize) continue;
      let e = strOff + nameAt;
      while (e < strOff + strSize && img[e] !== 0) e++;
      const name = new TextDecoder().decode(img.subarray(strOff + nameAt, e));
      if (want.has(name)) out.set(name, dv.getBigUint64(s + 8));
    }
  }
  return out;
}

/** The kernel's text from its image (as loaded at guest-physical 0), `bytes` its size. */
export function kernelText(img: Uint8Array, bytes: number): KernelText {
  const syms = elfSymbols(img, ['_stext', '__init_end']);
  const s = syms?.get('_stext');
  const e = syms?.get('__init_end');
  if (s !== undefined && e !== undefined && s >= KERNEL_BASE && e >= s && e - KERNEL_BASE <= BigInt(Number.MAX_SAFE_INTEGER)) {
    return { start: Number(s - KERNEL_BASE), end: Number(e - KERNEL_BASE), source: 'symbols' };
  }
  return { start: 0, end: bytes, source: 'image' };
}

/** Is guest-physical `paddr` (its linear-map address KERNELBASE + paddr) kernel text? */
export function inKernelText(t: KernelText, paddr: number): boolean {
  return paddr >= t.start && paddr < t.end;
}
