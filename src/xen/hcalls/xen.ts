import type { Domain } from '../domain';
import { legacyTranslator, legacyView } from '../legacy/pfn2mfn';
import { shadowPfn2mfn } from '../shadow_p2m';
import type { System } from '../system';
import { HptHcalls, ShadowP2m } from './hpt';

/**
 * Xen's hash table hypercalls over a System: each domain's table is its
 * d->arch.htab; a shadow domain's pfns go through Xen's p2m for it, a
 * legacy dom0's through the historical pfn2mfn.
 */
export function xenHcalls(sys: System): HptHcalls {
  const translators = new Map<number, ShadowP2m>();
  const translate = (d: Domain): ShadowP2m | undefined => {
    if (!d.shadow) return undefined;
    let t = translators.get(d.domid);
    if (!t) {
      t = d.translation === 'legacy' ? legacyTranslator(legacyView(sys.machine, d)) : shadowPfn2mfn(d);
      translators.set(d.domid, t);
    }
    return t;
  };
  // get_domain/get_page on a foreign frame fail when its owner is gone (xlate.c:238-246): H_Rescinded.
  const referenceable = (mfn: number): boolean => {
    const owner = sys.machine.frames.ownerOf(mfn);
    return typeof owner === 'number' && sys.domains.has(owner);
  };
  return new HptHcalls(sys.machine, (d) => d.hpt, translate, referenceable);
}
