import { inKernelText } from '../guest/kernel_image';
import type { GuestRecord } from '../xen/guest_state';
import { hex } from '../util/size';

/** The same as JSON: the bounds as a guest-physical range (numbers), the r flags as a number. */
export function eaKernelTextJson(v: EaKernelTextView): object {
  return { paddrs: v.source === 'unknown' ? null : { start: Number(v.start), end: Number(v.end) }, source: v.source, inText: v.inText, rFlags: v.rFlags === null ? null : Number(v.rFlags) };
}

/** Whether a linear-map address is kernel text, and where the kernel's text bounds came from. */
export interface EaKernelTextView {
  /** [_stext, __init_end) as guest-physical offsets, hex. */
  start: string;
  end: string;
  source: 'symbols' | 'image' | 'unknown';
  /** The page at this address is text (its r word has no HPTE_R_N), or not, or the address is outside the linear map. */
  inText: boolean | null;
  /** The r flags htab_bolt_mapping gives it: 0x190 in text, 0x194 outside. */
  rFlags: string | null;
}

const SOURCE_TEXT = { symbols: "the kernel image's ELF symbols", image: 'the whole image (it has no symbol table)', unknown: 'not kept in this state' };

export function eaKernelText(rec: GuestRecord, paddr: number | undefined): EaKernelTextView {
  const t = rec.linear.text;
  if (!t) return { start: '', end: '', source: 'unknown', inText: null, rFlags: null };
  const inText = paddr === undefined ? null : inKernelText(t, paddr);
  return { start: hex(t.start), end: hex(t.end), source: t.source, inText, rFlags: inText === null ? null : inText ? '0x190' : '0x194' };
}

export function formatEaKernelText(v: EaKernelTextView): string {
  if (v.source === 'unknown') return `kernel text: ${SOURCE_TEXT.unknown}\n`;
  const where = v.inText === null ? 'outside the linear map' : v.inText ? `kernel text: r flags ${v.rFlags} (no HPTE_R_N)` : `not kernel text: r flags ${v.rFlags} (HPTE_R_N)`;
  return `kernel text [_stext, __init_end) = paddr [${v.start}, ${v.end}) from ${SOURCE_TEXT[v.source]}; this page: ${where}\n`;
}
