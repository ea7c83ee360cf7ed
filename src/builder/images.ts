/**
 * Boot images. A real vmlinux is an ELF64 big-endian PPC64 executable whose
 * entry is a kernel virtual address; Xen masks it to 42 bits in real mode
 * (domain_build.c RM_MASK). Without a file, a synthetic image of the asked
 * size carries just such a header, so the RMA holds a recognisable kernel.
 */
const EM_PPC64 = 21;
const ELFCLASS64 = 2;
const ELFDATA2MSB = 2;
const ELF64_EHDR_SIZE = 64;
const ET_EXEC = 2;
const RM_MASK = (1n << 42n) - 1n;
export const DEFAULT_KERNEL_SIZE = 6 * 1024 * 1024;

export interface BootImage { bytes: Uint8Array; source: string; size: number }

export function syntheticKernel(size: number): BootImage {
  const bytes = new Uint8Array(Math.min(size, 4096));
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 2 /* big-endian */, 1], 0);
  dv.setUint16(16, ET_EXEC);
  dv.setUint16(18, EM_PPC64);
  dv.setUint32(20, 1);
  dv.setBigUint64(24, 0xc000000000000000n); // e_entry: the start of the linear map
  const note = new TextEncoder().encode('ppc-dombuild synthetic vmlinux');
  if (bytes.length >= 64 + note.length) bytes.set(note, 64);
  return { bytes, source: 'synthetic', size };
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
  if (img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46) return 'it is not an ELF file (no \x7fELF magic)';
  if (img[4] !== ELFCLASS64) return `it is not ELF64 (EI_CLASS ${img[4]}, not ELFCLASS64 2)`;
  if (img[5] !== ELFDATA2MSB) return `it is not big-endian (EI_DATA ${img[5]}, not ELFDATA2MSB 2)`;
  const machine = (img[18]! << 8) | img[19]!;
  if (machine !== EM_PPC64) return `it is not a PowerPC 64 kernel (e_machine ${machine}, not EM_PPC64 21)`;
  return undefined;
}

/** The real-mode entry point of a kernel image: ELF64 PPC64 e_entry masked, else 0. */
export function kernelEntry(img: Uint8Array): bigint {
  if (img.length < 32 || img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46) return 0n;
  if (img[4] !== 2 || img[5] !== 2) return 0n;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (dv.getUint16(18) !== EM_PPC64) return 0n;
  return dv.getBigUint64(24) & RM_MASK;
}
