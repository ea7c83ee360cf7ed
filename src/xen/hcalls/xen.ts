import { domainHtab } from '../../hpt/store';
import type { Domain } from '../domain';
import { perSystem, type System } from '../system';
import { HtabHcalls, ShadowP2m } from './htab';

const shadowP2ms = perSystem<ShadowP2m>();

/**
 * Give Xen the p2m of a shadow domain (domU): H_ENTER translates that
 * domain's RPNs through it. The shadow p2m itself comes with a later issue;
 * this is where it plugs in.
 */
export function registerShadowP2m(sys: System, domid: number, p2m: ShadowP2m): void {
  shadowP2ms(sys).set(domid, p2m);
}

/** Xen's hash table hypercalls over a System: each domain's table comes from (and goes back to) its state. */
export function xenHcalls(sys: System): HtabHcalls {
  return new HtabHcalls(sys.machine, (d: Domain) => domainHtab(sys, d), (d: Domain) => shadowP2ms(sys).get(d.domid));
}
