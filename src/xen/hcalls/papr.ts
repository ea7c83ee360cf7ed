/**
 * PAPR hypercall return codes, flags and opcodes (Linux
 * include/asm-powerpc/hvcall.h; QEMU hw/ppc/spapr_hcall.c). Flags are bit
 * numbers counted from the most significant bit, as PAPR writes them:
 * 1 << (63 - n). All of those used here are below 2^53, so a flags word is a
 * plain number.
 */
export const H_SUCCESS = 0;
export const H_HARDWARE = -1;
export const H_FUNCTION = -2;
export const H_PRIVILEGE = -3;
export const H_PARAMETER = -4;
export const H_BAD_MODE = -5;
export const H_PTEG_FULL = -6;
export const H_NOT_FOUND = -7;
/** H_Rescinded: a foreign page's reference could not be taken (xen/include/asm-powerpc/papr.h:160 @ 1aa3c54a31^, "FIXME: check RPA value"). */
export const H_RESCINDED = -18;

const bit = (n: number): number => 2 ** (63 - n);
export const H_EXACT = bit(24); // 1 << 39: use exactly this PTE, or H_PTEG_FULL
export const H_R_XLATE = bit(25);
export const H_READ_4 = bit(26); // return 4 PTEs
export const H_AVPN = bit(32); // 1 << 31: an AVPN is given as a sanity test
export const H_ANDCOND = bit(33); // 1 << 30
export const H_ICACHE_INVALIDATE = bit(40);
export const H_ICACHE_SYNCHRONIZE = bit(41);
export const H_ZERO_PAGE = bit(48); // 1 << 15: zero the page before mapping
export const H_COPY_PAGE = bit(49);
export const H_N = bit(61);
export const H_PP1 = bit(62);
export const H_PP2 = bit(63);

/** Opcodes. */
export const H_REMOVE = 0x04;
export const H_ENTER = 0x08;
export const H_READ = 0x0c;

const NAMES: Record<number, string> = {
  [H_SUCCESS]: 'H_SUCCESS',
  [H_HARDWARE]: 'H_HARDWARE',
  [H_FUNCTION]: 'H_FUNCTION',
  [H_PRIVILEGE]: 'H_PRIVILEGE',
  [H_PARAMETER]: 'H_PARAMETER',
  [H_BAD_MODE]: 'H_BAD_MODE',
  [H_PTEG_FULL]: 'H_PTEG_FULL',
  [H_NOT_FOUND]: 'H_NOT_FOUND',
  [H_RESCINDED]: 'H_RESCINDED',
};

export function hcallReturnName(code: number): string {
  return NAMES[code] ?? `hcall return ${code}`;
}
