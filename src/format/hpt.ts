import type { Paint } from '../commands/io';
import type { GuestRecord } from '../guest/record';
import { renderFacts } from './table';
import { formatSize, hex } from './units';

/** What construct says about the guest's early boot. */
export function formatGuestBoot(p: Paint, rec: GuestRecord): string {
  const L = rec.linear;
  const how = [L.pages16M ? `${L.pages16M} x 16 MiB` : '', L.pages4K ? `${L.pages4K} x 4 KiB` : ''].filter(Boolean).join(' + ');
  let out = `${p.green('booted dom0\'s kernel')} (early MMU setup)\n`;
  out += renderFacts(p, [
    ['device tree', `read from the RMA at guest ${hex(rec.devtree.gpa)} (${rec.devtree.bytes} bytes)`],
    ['/xen/p2m', `<${hex(rec.devtree.p2mGpa)} ${hex(rec.devtree.p2mBytes)}>: inside the ${formatSize(rec.devtree.rmaBytes)} RMA and reservation [${hex(rec.devtree.reservation.address)}, ${hex(rec.devtree.reservation.address + rec.devtree.reservation.size)})`],
    ['linear map', `${L.base} + paddr, ${formatSize(L.bytes)} bolted as ${how || 'nothing'}`],
    ['H_ENTER calls', `${L.inserts} (pfn -> mfn through the guest's own table), ${rec.timing.insertMs.toFixed(1)} ms`],
    ['hash table', `ibm,pft-size <0 ${rec.devtree.pftSizeLog2}> = ${formatSize(2 ** rec.devtree.pftSizeLog2)}`],
  ]);
  if (L.fallbackExtents.length) out += `${p.yellow('note:')} ${L.fallbackExtents.length} extent(s) were not one aligned machine run and were mapped with 4 KiB pages (--linear-fallback), first at pfn ${hex(L.fallbackExtents[0])}\n`;
  return out;
}

export function guestBootJson(rec: GuestRecord): object {
  return { devtree: rec.devtree, linear: rec.linear, timing: rec.timing };
}
