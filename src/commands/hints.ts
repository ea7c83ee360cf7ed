import type { DombuildError, Remedy } from '../util/errors';

/**
 * The core says what would help as remedy codes; this is where they become
 * the options a user types. One text per code.
 */
const REMEDY_TEXT: Record<Remedy, string> = {
  'rebuild-state': 'run `ppc-dombuild construct` again to rebuild it',
  'construct-first': 'run `ppc-dombuild construct` first',
  'smaller-dom0': 'a smaller --mem',
  'smaller-domu': 'a smaller --mem',
  'smaller-max-mem': 'a smaller --max-mem',
  'larger-max-mem': 'a larger --max-mem',
  'other-placement': 'another --p2m-placement',
  'higher-of-at': 'another --of-at',
  'larger-rma': 'a larger --rma',
  'smaller-rma': 'a smaller --rma',
  'smaller-image': 'a smaller kernel or initrd',
  'more-ram': 'a machine with more RAM (--machine, --ram)',
  'larger-devtree-slot': 'a machine profile with a larger devtreeSlot',
  'page-aligned-address': 'give a 4 KiB aligned address such as 32M',
  'size-syntax': 'write it like 4G, 4GiB, 512M, 64MiB, 16K, 0x4000000 or plain bytes (units are binary)',
  'nonzero-size': 'give a size greater than zero, e.g. 4G',
  'rma-size-list': 'use one of 64M, 128M, 256M, 1G, 16G, 256G',
  'profile-ram': 'give RAM like 2G, 16G, 64G',
  'linear-page-sizes': 'give --linear-page 4K or 16M',
  'translation-names': 'proposal: dom0 keeps its p2m in its RMA; legacy: Xen keeps it and guesses in pfn2mfn',
  'proposal-translation': 'rebuild with `ppc-dombuild construct` (the proposal is the default)',
  'list-domains': 'see `ppc-dombuild list`',
  'unmap-foreign-first': 'run `ppc-dombuild unmap-foreign` for each mapping first',
  'larger-balloon-target': 'a larger --target',
  'smaller-balloon-target': 'a smaller --target',
  'balloon-other-down': 'balloon another domain down first',
  'populated-buffer': 'give a buffer inside populated memory (see `ppc-dombuild inspect p2m`)',
  'larger-hpt': 'a larger hash table',
  'run-validate': 'run `ppc-dombuild validate` to see every broken invariant',
  'smaller-hpt': 'a smaller hash table (--htab-mb, Xen\'s dom0_shadow=)',
  'proposal-xen': 'this kernel keeps its own p2m and needs a Xen that builds it (the proposal)',
  'see-reservations': 'see `ppc-dombuild inspect devtree`',
  'linear-fallback': 'use --linear-page 4K, or --linear-fallback to map such extents with 4 KiB pages',
  'free-disk': 'free some space on that file system, or point --state at another',
  'wait-for-lock': 'let it finish and run this again, or give a longer --lock-timeout',
};

/** The bracketed part of an error line: the core's fact, then what to try. */
export function hintText(e: DombuildError): string | undefined {
  const parts = [e.hint, ...e.remedies.map((r) => REMEDY_TEXT[r])].filter((s): s is string => !!s);
  if (!parts.length) return undefined;
  return parts.join('; ');
}
