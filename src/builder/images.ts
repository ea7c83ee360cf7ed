/**
 * Boot images. A real vmlinux is an ELF64 big-endian PPC64 executable whose
 * entry is a kernel virtual address; Xen masks it to 42 bits in real mode
 * (domain_build.c RM_MASK). Without a file, a synthetic image of the asked
 * size carries just such a header, so the RMA holds a recognisable kernel.
 */
const EM_PPC64 = 21;
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

/** The real-mode entry point of a kernel image: ELF64 PPC64 e_entry masked, else 0. */
export function kernelEntry(img: Uint8Array): bigint {
  if (img.length < 32 || img[0] !== 0x7f || img[1] !== 0x45 || img[2] !== 0x4c || img[3] !== 0x46) return 0n;
  if (img[4] !== 2 || img[5] !== 2) return 0n;
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  if (dv.getUint16(18) !== EM_PPC64) return 0n;
  return dv.getBigUint64(24) & RM_MASK;
}
