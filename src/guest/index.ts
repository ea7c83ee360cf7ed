/** The simulated dom0 kernel: early boot through its own p2m, the overridden hpte_insert, its linear map. */
export { bootDom0Guest, parseLinearPage } from './boot';
export type { GuestBootOptions } from './boot';
export { readGuestDevtree, parseRmaTree, readRmaBlob } from './devtree';
export type { GuestDevtreeFacts } from './devtree';
export { GuestBootError } from './errors';
export { boltLinearMap } from './linear_map';
export type { LinearMapOptions, LinearMapResult, ProgressFn } from './linear_map';
export { GuestMmu, HIDX_HASHED, HIDX_SECONDARY, HIDX_SLOT, HPTE_INSERT_ERROR, HPTE_INSERT_FULL, HPTE_INSERT_NO_FRAME } from './mmu';
export { guestKey, hidxKey, hidxOf, loadGuestRecord, saveGuestRecord } from './record';
export type { GuestRecord } from './record';
