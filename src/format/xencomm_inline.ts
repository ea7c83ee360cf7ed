import { doc } from './contract';
import type { InlineAuditRow, XencommInline } from '../guest/xencomm';
import type { Paint } from './paint';
import { hex } from '../util/size';


/** An inline handle that works: the buffer is one machine run. */
export function formatXencommInline(p: Paint, x: XencommInline): string {
  return `inline handle ${hex(x.handle)} (XENCOMM_INLINE_FLAG | maddr ${hex(x.handle & ~(1n << 63n))}) for dom${x.domid}'s [${hex(x.paddr)}, ${hex(x.paddr + x.len)}): ` +
    `${x.pages} page${x.pages === 1 ? '' : 's'}, ${p.green('one machine run')}: Xen reads each page where dom0's table puts it\n`;
}

/** Printed only for a handle that works (one that crosses a break is a refusal): the handle is a 64-bit word. */
export function xencommInlineJson(x: XencommInline): object {
  return doc('xencomm-inline', { domid: x.domid, buffer: { paddrs: { start: x.paddr, end: x.paddr + x.len }, bytes: x.len }, handle: hex(x.handle), pages: x.pages, oneMachineRun: !x.wrong });
}

/** The audit's inline rows: how many start pages give a handle Xen reads wrong. */
export function formatInlineAudit(rows: InlineAuditRow[]): string {
  // Lines stay under 80 columns: the numbers are at most 7 digits.
  const lines = ['inline xencomm handles (proposal): a buffer that crosses a machine break', 'cannot be one inline address; start pages whose handle Xen reads wrong:'];
  for (const r of rows) lines.push(`  ${String(r.len).padStart(6)} B at offset ${String(r.offset).padStart(4)} (${r.pages} page${r.pages === 1 ? '' : 's'}): ${r.wrong} of ${r.starts}`);
  return lines.join('\n') + '\n';
}

export function inlineAuditJson(rows: InlineAuditRow[]): object[] {
  return rows.map((r) => ({ bytes: r.len, offsetBytes: r.offset, pages: r.pages, startPages: r.starts, wrongPages: r.wrong }));
}
