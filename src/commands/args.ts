import { UsageError } from '../util/errors';
import type { Domain } from '../xen/domain';
import type { System } from '../xen/system';

/** A page frame number on the command line: decimal or 0x hex. */
export function parsePfn(text: string | undefined, what = '--pfn'): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const s = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what} '${text}' is not a page frame number`, 'give it in decimal or as 0x hex, e.g. 0x4000');
  return v;
}

/** A domain id on the command line. */
export function parseDomid(text: string | undefined, what = '--domid'): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const s = text.trim();
  const v = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what} '${text}' is not a domain id`, 'give a number, e.g. 1 (see `ppc-dombuild list`)');
  return v;
}

/** The domain --domid names in a state (dom0 when it is not given). */
export function domainOf(sys: System, text: string | undefined, what = '--domid'): Domain {
  const id = text === undefined ? 0 : parseDomid(text, what);
  const d = sys.domains.get(id);
  if (!d) throw new UsageError(`no domain ${id} in this state`, `domains: ${[...sys.domains.keys()].join(', ')}`);
  return d;
}
