import type { P2mPlacement } from '../rma/layout';
import { UsageError } from '../util/errors';
import { quote } from '../util/quote';
import { parseSize } from '../util/size';
import { DOMID_FIRST_RESERVED, type Domain } from '../xen/domain';
import type { System } from '../xen/system';

/**
 * A whole number on the command line, strictly: decimal digits, or 0x hex
 * when `hex`; no sign, fraction, exponent, space or empty string. Returns
 * undefined when `text` is not one, or not below 2^53.
 */
export function strictInteger(text: string, hex = false): number | undefined {
  let v: number;
  if (hex && /^0x[0-9a-f]+$/i.test(text)) v = parseInt(text.slice(2), 16);
  else if (/^[0-9]+$/.test(text)) v = Number(text);
  else return undefined;
  return Number.isSafeInteger(v) ? v : undefined;
}

/** A count option (--domus, --entry-size...): a decimal integer in [min, max]. */
export function parseCount(text: string, what: string, min: number, max: number): number {
  const v = strictInteger(text);
  if (v === undefined || v < min || v > max) throw new UsageError(`${what} ${quote(text)} is not a whole number from ${min} to ${max}`, 'write it in decimal digits only, e.g. 2');
  return v;
}

/** A page frame number on the command line: decimal or 0x hex. */
export function parsePfn(text: string | undefined, what = '--pfn'): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const v = strictInteger(text, true);
  if (v === undefined) throw new UsageError(`${what} ${quote(text)} is not a page frame number`, 'give it in decimal or as 0x hex, e.g. 0x4000');
  return v;
}


/** A domain id on the command line: decimal, below DOMID_FIRST_RESERVED. */
export function parseDomid(text: string | undefined, what = '--domid'): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const v = strictInteger(text);
  if (v === undefined || v >= DOMID_FIRST_RESERVED) throw new UsageError(`${what} ${quote(text)} is not a domain id`, 'give a number, e.g. 1 (see `ppc-dombuild list`)');
  return v;
}

/** The domain --domid names in a state (dom0 when it is not given). */
export function domainOf(sys: System, text: string | undefined, what = '--domid'): Domain {
  const id = text === undefined ? 0 : parseDomid(text, what);
  const d = sys.domains.get(id);
  if (!d) throw new UsageError(`no domain ${id} in this state`, `domains: ${[...sys.domains.keys()].join(', ')}`);
  return d;
}

/** --p2m-placement: after-of, end, or a guest-physical address. */
export function parsePlacement(text: string): P2mPlacement {
  if (text === 'after-of') return { kind: 'after-of' };
  if (text === 'end') return { kind: 'end' };
  return { kind: 'at', address: parseSize(text, '--p2m-placement (after-of, end or an address)') };
}

/** --linear-page: 16M (default) or 4K, in any size spelling (16MiB, 0x1000000, 4096...); returns the page shift. */
export function parseLinearPage(text: string | undefined): 12 | 24 {
  if (text === undefined) return 24;
  const bytes = parseSize(text, '--linear-page');
  if (bytes === 4096) return 12;
  if (bytes === 16 * 1024 * 1024) return 24;
  throw new UsageError(`--linear-page ${quote(text)}: the PPC970 has 4 KiB and 16 MiB pages only`, 'give 4K or 16M');
}

/** --translation: proposal (default) or legacy. */
export function parseTranslation(text: string | undefined): 'proposal' | 'legacy' {
  const t = text ?? 'proposal';
  if (t === 'proposal' || t === 'legacy') return t;
  throw new UsageError(`--translation ${quote(text)} is not proposal or legacy`, ['translation-names']);
}

/** A whole number of MiB, 1 or more (e.g. --htab-mb 64). */
export function parseWholeMiB(text: string, what: string): number {
  const s = text.trim();
  if (!/^[1-9]\d*$/.test(s) || !Number.isSafeInteger(Number(s))) throw new UsageError(`${what} '${text}' is not a whole number of MiB`, 'give a number such as 64');
  return Number(s);
}

/**
 * A number as wide as a 64-bit register (an effective address, an HPTE word,
 * a PTEG), in decimal or 0x hex, with _ allowed between digits; no sign,
 * space or fraction. At most `max`.
 */
export function parseBigNumber(text: string, what: string, max: bigint = (1n << 64n) - 1n): bigint {
  const s = /^(0x)?[0-9a-f]+(_[0-9a-f]+)*$/i.test(text) ? text.replace(/_/g, '') : '';
  let v: bigint;
  if (/^0x[0-9a-f]+$/i.test(s)) v = BigInt(s);
  else if (/^\d+$/.test(s)) v = BigInt(s);
  else throw new UsageError(`${what} ${quote(text)} is not a number`, 'give it in decimal or as 0x hex, e.g. 0xC000000000000000');
  if (v > max) throw new UsageError(`${what} ${quote(text)} is too large (at most ${'0x' + max.toString(16)})`);
  return v;
}
