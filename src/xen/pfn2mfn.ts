import { INVALID_MFN } from '../machine/constants';
import type { Domain } from './domain';

/**
 * Xen's pfn2mfn under the proposal: a non-shadow domain already hands Xen
 * machine frames, so its argument is returned as is; a shadow domain's pfn
 * goes through the table Xen keeps for it.
 */
export function pfn2mfn(d: Domain, pfn: number, xenP2m?: (pfn: number) => number): number {
  if (!d.shadow) return pfn;
  return xenP2m ? xenP2m(pfn) : INVALID_MFN;
}
