import { UsageError } from '../util/errors';

/** A page frame number on the command line: decimal or 0x hex. */
export function parsePfn(text: string | undefined, what = '--pfn'): number {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const s = text.trim();
  const v = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v)) throw new UsageError(`${what} '${text}' is not a page frame number`, 'give it in decimal or as 0x hex, e.g. 0x4000');
  return v;
}
