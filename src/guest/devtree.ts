import { readFdt, FdtFormatError } from '../devtree/fdt_ro';
import { bootCpuNode, machineRamFromTree } from '../devtree/ofd_fixup';
import { dec, DeviceTree, DeviceTreeError, findNode, getProp } from '../devtree/tree';
import { PAGE_SIZE } from '../machine/constants';
import { hex } from '../util/size';
import type { Domain } from '../xen/domain';
import { GuestBootError } from './errors';
import { fdtTotalSize } from '../devtree/fdt_header';

/** What dom0's kernel learns from its device tree in real mode. */
export interface GuestDevtreeFacts {
  /** Where the blob sits in the RMA and its size. */
  blob: { paddr: number; bytes: number };
  /** /xen/p2m: the table's guest-physical address and size in bytes. */
  p2m: { paddr: number; bytes: number; entries: number };
  /** The reservation that covers the table. */
  reservation: { address: number; size: number };
  /** The RMA: the memory node at address 0. */
  rmaBytes: number;
  /** Every memory node's range, sorted. */
  memory: { start: number; size: number }[];
  memBytes: number;
  /** The boot cpu's ibm,pft-size: log2 of the hash table's bytes. */
  pftSizeLog2: number;
}

const FDT_HEADER = 40;

/** The device tree blob as it sits in the RMA at the device tree slot (its header gives the size). */
export function readRmaBlob(d: Domain): Uint8Array {
  const at = d.layout?.devtree.start;
  if (at === undefined) throw new GuestBootError('no device tree: the domain has no RMA layout');
  if (at + FDT_HEADER > d.memory.size) throw new GuestBootError(`the device tree address ${hex(at)} is outside the RMA`);
  const head = d.memory.read(at, FDT_HEADER);
  const total = fdtTotalSize(head);
  return d.memory.read(at, Math.max(FDT_HEADER, Math.min(total, d.memory.size - at)));
}

function big(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GuestBootError(`${what} ${hex(v)} is beyond what this kernel can address`);
  return Number(v);
}

/** Parse the blob in the RMA, or stop with the reason. */
export function parseRmaTree(d: Domain): { tree: DeviceTree; blob: Uint8Array } {
  const blob = readRmaBlob(d);
  try {
    return { tree: readFdt(blob), blob };
  } catch (e) {
    if (e instanceof FdtFormatError) throw new GuestBootError(`cannot parse the device tree at guest ${hex(d.layout!.devtree.start)}: ${e.message}`);
    throw e;
  }
}

/**
 * Early boot, in real mode: read the device tree out of the RMA's bytes, find
 * /xen/p2m and check that the table lies inside the RMA (real mode can only
 * reach the RMA) and inside a memory reservation (else the kernel would hand
 * its pages out as free memory).
 */
export function readGuestDevtree(d: Domain): GuestDevtreeFacts {
  const { tree, blob } = parseRmaTree(d);
  try {
    return factsOf(tree, { paddr: d.layout!.devtree.start, bytes: blob.length }, d.memory.size);
  } catch (e) {
    if (e instanceof DeviceTreeError) throw new GuestBootError(`bad device tree: ${e.message}`);
    throw e;
  }
}

function factsOf(tree: DeviceTree, blob: { paddr: number; bytes: number }, rmaBacking: number): GuestDevtreeFacts {
  const memory = machineRamFromTree(tree).map((r) => ({ start: big(r.address, 'memory at'), size: big(r.size, 'memory size') }));
  const rma = memory.find((m) => m.start === 0);
  if (!rma) throw new GuestBootError('no memory node at address 0: cannot find the RMA');
  const rmaBytes = Math.min(rma.size, rmaBacking);
  const memBytes = memory.reduce((n, m) => n + m.size, 0);

  const cpu = bootCpuNode(tree);
  const pft = cpu && getProp(cpu, 'ibm,pft-size');
  if (!pft || pft.value.length !== 8) throw new GuestBootError("the boot cpu has no ibm,pft-size <0 log2(bytes)>: cannot size the hash table");
  const pftSizeLog2 = dec.u32(pft.value, 1);

  const xen = findNode(tree.root, '/xen');
  if (!xen) throw new GuestBootError('no /xen node: not running on Xen');
  const prop = getProp(xen, 'p2m');
  if (!prop) throw new GuestBootError('no /xen/p2m property: Xen did not publish a p2m table for this domain', ['proposal-xen']);
  if (prop.value.length !== 16) throw new GuestBootError(`/xen/p2m is ${prop.value.length} bytes, not two u64 (address, size)`);
  const paddr = big(dec.u64(prop.value, 0), '/xen/p2m address');
  const bytes = big(dec.u64(prop.value, 1), '/xen/p2m size');
  const where = `the p2m table [${hex(paddr)}, ${hex(paddr + bytes)}) named by /xen/p2m`;
  if (bytes === 0 || bytes % 4 !== 0 || paddr % 4 !== 0) throw new GuestBootError(`${where} is not a whole number of aligned 4-byte entries`);
  if (paddr + bytes > rmaBytes) throw new GuestBootError(`${where} is not inside the RMA [0x0, ${hex(rmaBytes)}): real mode cannot read it`);
  const reservation = tree.reservations.find((r) => r.address <= BigInt(paddr) && r.address + r.size >= BigInt(paddr + bytes));
  if (!reservation) {
    throw new GuestBootError(`${where} is not inside any memory reservation: its pages would be handed out as free memory`, `reservations: ${tree.reservations.map((r) => `[${hex(r.address)}, ${hex(r.address + r.size)})`).join(', ') || 'none'}`);
  }
  const entries = bytes / 4;
  if (entries * PAGE_SIZE < memBytes) throw new GuestBootError(`${where} holds ${entries} entries but the memory nodes describe ${memBytes / PAGE_SIZE} pages`);
  return {
    blob,
    p2m: { paddr, bytes, entries },
    reservation: { address: Number(reservation.address), size: Number(reservation.size) },
    rmaBytes,
    memory,
    memBytes,
    pftSizeLog2,
  };
}
