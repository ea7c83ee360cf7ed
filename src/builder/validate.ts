import { readRmaBlob } from '../guest/devtree';
import { hidxOf, keepsSlotRecord } from '../guest/record';
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
    linear: (d) => {
      const g = d.guest;
      if (!g) return undefined;
      const text = g.rec.linear.text;
      if (!keepsSlotRecord(g.rec)) {
        // Linux 2.6.18 records slots only in hash_page's Linux PTEs; linear_map_hash_slots came with 2.6.22.
        return { text, noSlotRecord: 'Linux 2.6.18 keeps no slot record for bolted entries (linear_map_hash_slots came in 2.6.22)' };
      }
      return { text, slotOf: (pfn: number) => hidxOf(g.rec, g.hidx, pfn) };
    },
  });
}
