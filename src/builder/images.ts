import { ELFCLASS64, ELFDATA2MSB, isElf64Be } from '../guest/kernel_image';
import { KERNEL_BASE } from '../hpt/constants';

/**
 * Boot images. A real vmlinux is an ELF64 big-endian PPC64 executable whose
 * entry is a kernel virtual address; Xen masks it to 42 bits in real mode
 * (domain_build.c RM_MASK). Without a file, a synthetic image of the asked
 * size carries just such a header, so the RMA holds a recognisable kernel.
 */
const EM_PPC64 = 21;
const ELF64_EHDR_SIZE = 64;
const ET_EXEC = 2;
const RM_MASK = (1n << 42n) - 1n;
export const DEFAULT_KERNEL_SIZE = 6 * 1024 * 1024;

export interface BootImage { bytes: Uint8Array; source: string; size: number }

/**
 * Where the synthetic kernel's text ends: __init_end at two thirds of the
 * image, rounded down to a page (at least one page); _stext is at
 * KERNELBASE, the image's first byte, as head_64.S puts it (the layout of
 * vmlinux.lds.S: text, read-only data, init, then data and bss).
 */
export function syntheticInitEnd(size: number): number {
  return Math.max(4096, Math.floor((size * 2) / 3 / 4096) * 4096);
}

// Where the synthetic image's section headers, symbols and their names sit.
const SH_OFF = 0x200;
const SYM_OFF = 0x300;
const STR_OFF = 0x380;

export function syntheticKernel(size: number): BootImage {
  const bytes = new Uint8Array(Math.min(size, 4096));
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, ELFCLASS64, ELFDATA2MSB, 1 /* EV_CURRENT */], 0);
  dv.setUint16(16, ET_EXEC);
  dv.setUint16(18, EM_PPC64);
  dv.setUint32(20, 1);
  dv.setBigUint64(24, KERNEL_BASE); // e_entry: the start of the linear map
  const note = new TextEncoder().encode('ppc-dombuild synthetic vmlinux');
  if (bytes.length >= 64 + note.length) bytes.set(note, 64);
  if (bytes.length >= 0x400) writeSymbols(bytes, dv, size);
  return { bytes, source: 'synthetic', size };
}

/** A symbol table with _stext and __init_end (ELF64: section headers null, .symtab, .strtab). */
function writeSymbols(bytes: Uint8Array, dv: DataView, size: number): void {
  dv.setUint16(52, 64); // e_ehsize
  dv.setBigUint64(40, BigInt(SH_OFF)); // e_shoff
  dv.setUint16(58, 64); // e_shentsize
  dv.setUint16(60, 3); // e_shnum
  const names = new TextEncoder().encode('\0_stext\0__init_end\0');
  bytes.set(names, STR_OFF);
  const sh = (i: number, type: number, off: number, len: number, link: number, ent: number): void => {
    const at = SH_OFF + i * 64;
    dv.setUint32(at + 4, type);
    dv.setBigUint64(at + 24, BigInt(off));
    dv.setBigUint64(at + 32, BigInt(len));
    dv.setUint32(at + 40, link);
    dv.setBigUint64(at + 56, BigInt(ent));
  };
  sh(1, 2 /* SHT_SYMTAB */, SYM_OFF, 3 * 24, 2, 24);
  sh(2, 3 /* SHT_STRTAB */, STR_OFF, names.length, 0, 0);
  const sym = (i: number, name: number, value: bigint): void => {
    const at = SYM_OFF + i * 24;
    dv.setUint32(at, name);
    bytes[at + 4] = 0x10; // STB_GLOBAL, STT_NOTYPE
    dv.setUint16(at + 6, 0xfff1); // SHN_ABS
    dv.setBigUint64(at + 8, value);
  };
  sym(1, 1, KERNEL_BASE);
  sym(2, 8, KERNEL_BASE + BigInt(syntheticInitEnd(size)));
}

export function syntheticInitrd(size: number): BootImage {
  const bytes = new Uint8Array(Math.min(size, 512));
  bytes.set(new TextEncoder().encode('070701'), 0); // a cpio "newc" magic, as an initramfs starts
  return { bytes, source: 'synthetic', size };
}

/**
 * Why an image is not a kernel Xen/PowerPC can boot, or undefined: it must be
 * an ELF64 big-endian PowerPC object. ELF header fields (System V gABI,
 * "ELF Header"; ELF-64 Object File Format 1.5): e_ident[0..3] = 0x7f 'E' 'L'
 * 'F', e_ident[EI_CLASS = 4] = ELFCLASS64 (2), e_ident[EI_DATA = 5] =
 * ELFDATA2MSB (2, big-endian), e_machine (u16 at 18) = EM_PPC64 (21), in a
 * 64-byte header (Elf64_Ehdr).
 */
export function kernelImageProblem(img: Uint8Array): string | undefined {
  if (img.length < ELF64_EHDR_SIZE) return `it is ${img.length} bytes, shorter than an ELF64 header (${ELF64_EHDR_SIZE} bytes)`;
  // Field by field rather than isElf64Be: the message names the field that is wrong.
  if (img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46) return 'it is not an ELF file (no \x7fELF magic)';
  if (img[4] !== ELFCLASS64) return `it is not ELF64 (EI_CLASS ${img[4]}, not ELFCLASS64 2)`;
  if (img[5] !== ELFDATA2MSB) return `it is not big-endian (EI_DATA ${img[5]}, not ELFDATA2MSB 2)`;
  const machine = (img[18]! << 8) | img[19]!;
  if (machine !== EM_PPC64) return `it is not a PowerPC 64 kernel (e_machine ${machine}, not EM_PPC64 21)`;
  return undefined;
}

/** The real-mode entry point of a kernel image: ELF64 PPC64 e_entry masked, else 0. */
export function kernelEntry(img: Uint8Array): bigint {
  if (img.length < 32 || !isElf64Be(img)) return 0n;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (dv.getUint16(18) !== EM_PPC64) return 0n;
  return dv.getBigUint64(24) & RM_MASK;
}
