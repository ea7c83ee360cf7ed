import { KERNEL_BASE, KERNEL_ESID, SEGMENT_BYTES, SID_SHIFT, VSID_MODULUS, VSID_MULTIPLIER } from './constants';

const MULT = BigInt(VSID_MULTIPLIER);
const MOD = BigInt(VSID_MODULUS);

/** 200730139^-1 mod (2^36 - 1), for turning a VSID found in the table back into its ESID. */
const INVERSE = modInverse(MULT, MOD);

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('VSID multiplier has no inverse');
  return ((s0 % m) + m) % m;
}

/**
 * VSID = (ESID x 200730139) mod (2^36 - 1). The product of a 36-bit ESID and
 * the 28-bit multiplier passes 2^53, so it is done once per 256 MiB segment
 * in BigInt; callers cache it per segment.
 */
export function vsidOf(esid: number): number {
  if (!Number.isSafeInteger(esid) || esid < 0 || esid >= 2 ** 36) throw new RangeError(`ESID ${esid} is not a 36-bit segment number`);
  return Number((BigInt(esid) * MULT) % MOD);
}

/** The ESID whose VSID this is (the scramble is a bijection on [0, 2^36 - 1)). */
export function esidOfVsid(vsid: number): number {
  return Number((BigInt(vsid) * INVERSE) % MOD);
}

/** A 64-bit effective address split into its segment and the offset inside it. */
export interface EaParts { esid: number; offset: number }

export function splitEa(ea: bigint): EaParts {
  if (ea < 0n || ea >= 1n << 64n) throw new RangeError(`effective address ${ea.toString(16)} is not 64-bit`);
  return { esid: Number(ea >> BigInt(SID_SHIFT)), offset: Number(ea & BigInt(SEGMENT_BYTES - 1)) };
}

export function joinEa(esid: number, offset: number): bigint {
  return (BigInt(esid) << BigInt(SID_SHIFT)) | BigInt(offset);
}

/** The linear map's effective address of a guest-physical address: 0xC000000000000000 + paddr. */
export function linearEa(paddr: number): bigint {
  return KERNEL_BASE + BigInt(paddr);
}

/** The linear map's segment of a guest-physical address, without BigInt. */
export function linearParts(paddr: number): EaParts {
  return { esid: KERNEL_ESID + Math.floor(paddr / SEGMENT_BYTES), offset: paddr % SEGMENT_BYTES };
}

/** The guest-physical address a linear-map segment/offset stands for, or -1 outside the linear map. */
export function linearPaddr(esid: number, offset: number): number {
  if (esid < KERNEL_ESID) return -1;
  const paddr = (esid - KERNEL_ESID) * SEGMENT_BYTES + offset;
  return Number.isSafeInteger(paddr) ? paddr : -1;
}
