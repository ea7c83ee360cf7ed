/** The hashed page table: geometry, VSIDs and hashing, the table itself, its saved form. */
export * from './constants';
export * from './vsid';
export * from './hash';
export { CHUNK_SLOTS, HashTable, REGION_SLOTS } from './table';
export type { HpteWords, HtabStats } from './table';
export { decodeHtab, encodeHtab, HtabFormatError } from './codec';
export { domainHtab, forgetHtabs, hasHtab, htabBytesOf, htabKey, persistHtabs, setDomainHtab } from './store';
export { flagText, HpteDecoder } from './decode';
export type { DecodedHpte } from './decode';
export { dom0HtabBytes, dom0PagesForHtab, domuHtabBytes, htabBytesForMiB, MIN_HTAB_BYTES } from './size';
