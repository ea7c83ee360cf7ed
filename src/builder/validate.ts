import { readRmaBlob } from '../guest/devtree';
import { hidxOf } from '../guest/record';
import { validateSystem, ValidationReport } from '../xen/validate';
import type { System } from '../xen/system';

/**
 * validate over a built System: Xen's invariants (src/xen/validate.ts) with
 * the guest kernel's side joined in here, where both meet: the device tree
 * as the guest reads it out of its RMA, and the guest's slot record.
 */
export function validateBuilt(sys: System): ValidationReport {
  return validateSystem(sys, {
    devtreeBlob: (d) => readRmaBlob(d),
    slotOf: (d) => {
      const g = d.guest;
      return g ? (pfn: number) => hidxOf(g.rec, g.hidx, pfn) : undefined;
    },
  });
}
