/** Xen's PAPR hypercalls for the hash table, and the page references foreign mappings hold. */
export * from './papr';
export { FrameKind, HtabHcalls } from './htab';
export type { ShadowP2m } from './htab';
export { getPageRef, pageRefCount, putPageRef } from './page_refs';
export { registerShadowP2m, xenHcalls } from './xen';
