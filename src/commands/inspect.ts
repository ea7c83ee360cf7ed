import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { readFdt } from '../devtree/fdt_ro';
import { toDts } from '../devtree/dts';
import { findNode } from '../devtree/tree';
import { INVALID_MFN, PAGE_SIZE } from '../machine/constants';
import { frameOwner, invalidUse, ownedRuns, p2mInfo } from '../p2m/inspect';
import { UsageError } from '../util/errors';
import { quote } from '../util/quote';
import type { Domain } from '../xen/domain';
import { p2mOf } from '../xen/shadow_p2m';
import type { System } from '../xen/system';
import { formatXenP2mInfo } from '../format/domains';
import { domuBlob } from '../builder/domu_build';
import { devtreeJson } from '../format/devtree';
import { formatMachine, machineJson } from '../format/machine';
import { formatP2mInfo, formatRuns, hexDump, p2mPfnJson, p2mRunsJson } from '../format/p2m';
import { formatRma, rmaJson } from '../format/rma';
import { rmaSvg } from '../format/svg/rma';
import { machineSvg } from '../format/svg/machine';
import { p2mSvg } from '../format/svg/p2m';
import { writeOutput, wrote } from './outfile';
import { dom0RmaMap, domuRmaMap } from '../rma/regions';
import { json } from '../format/table';
import { hex } from '../format/units';
import { domainOf, parsePfn } from './args';
import { columns, paint, type Io } from './io';
import { dom0Blob, loadState, stateDir } from './state_store';

export interface InspectFlags { state?: string; json?: boolean; domid?: string }

function load(io: Io, f: InspectFlags): System {
  return loadState(stateDir(io, f.state));
}

function domain(sys: System, f: InspectFlags): Domain {
  return domainOf(sys, f.domid);
}

export interface P2mFlags extends InspectFlags { pfn?: string; range?: string; raw?: boolean; svg?: string }

export function runInspectP2m(io: Io, f: P2mFlags): number {
  const sys = load(io, f);
  const d = domain(sys, f);
  // Through the accessor: the guest's own table, or Xen's for a shadow domain.
  const table = p2mOf(d);
  const entries = table.entries;
  let from = 0;
  let to = entries;
  if (f.pfn !== undefined && f.range !== undefined) throw new UsageError('--pfn and --range both given', 'give one of them');
  if (f.pfn !== undefined) {
    from = parsePfn(f.pfn, '--pfn');
    to = from + 1;
  }
  if (f.range !== undefined) {
    const m = /^([^-]+)-([^-]+)$/.exec(f.range);
    if (!m) throw new UsageError(`--range ${quote(f.range)} is not A-B`, 'give two pfns, e.g. --range 0x4000-0x4fff (inclusive)');
    from = parsePfn(m[1], '--range start');
    to = parsePfn(m[2], '--range end') + 1;
    if (to <= from) throw new UsageError(`--range ${quote(f.range)} ends before it starts`);
  }
  if (from >= entries || to > entries) {
    throw new UsageError(`pfn ${hex(Math.max(from, to - 1))} is outside dom${d.domid}'s table (${entries} entries, pfns 0..${hex(entries - 1)})`);
  }
  if (f.raw) {
    if (io.stdoutTTY && !f.json) io.out(hexDump(table.memory.read(table.base + from * 4, (to - from) * 4), table.base + from * 4));
    else for (const piece of table.memory.slices(table.base + from * 4, (to - from) * 4)) io.outBytes(piece);
    return 0;
  }
  if (f.pfn !== undefined) {
    const mfn = table.get(from);
    const own = mfn === INVALID_MFN ? invalidUse(d, from) : frameOwner(sys.machine, mfn);
    const entryPaddr = d.shadow ? null : d.p2mPaddr + from * 4;
    const where = entryPaddr === null ? `entry in Xen's p2m at machine ${hex(d.arch.p2m + from * 4)}` : `entry at guest ${hex(entryPaddr)}`;
    const t = { domid: d.domid, pfn: from, mfn, owner: own.owner, use: own.use, keeper: d.shadow ? 'xen' as const : 'guest' as const, entryPaddr, entryMaddr: d.arch.p2m + from * 4 };
    io.out(f.json ? json(p2mPfnJson(t)) : `pfn ${hex(from)} (paddr ${hex(from * PAGE_SIZE)}) -> ${mfn === INVALID_MFN ? 'INVALID_MFN' : `mfn ${hex(mfn)} (maddr ${hex(mfn * PAGE_SIZE)})`}, ${own.owner} ${own.use}; ${where}\n`);
    return 0;
  }
  const runs = ownedRuns(sys.machine, d, from, to, table);
  const info = p2mInfo(d, runs, table);
  if (f.svg) writeOutput(io, f.svg, p2mSvg(sys, d, info, runs));
  if (f.json) io.out(json(p2mRunsJson(d.domid, info, d.shadow ? 'xen' : 'guest', from, to, runs)));
  else io.out((d.shadow ? formatXenP2mInfo(paint(io), info, columns(io)) : formatP2mInfo(paint(io), info, columns(io))) + formatRuns(paint(io), runs, columns(io)) + wrote(f.svg));
  return 0;
}

export interface RmaFlags extends InspectFlags { svg?: string }

export function runInspectRma(io: Io, f: RmaFlags): number {
  const sys = load(io, f);
  const d = domain(sys, f);
  const domu = d.domu?.layout;
  const map = d.layout ? dom0RmaMap(d.layout) : domu ? domuRmaMap(domu) : undefined;
  if (!map) throw new UsageError(`dom${d.domid} has no RMA layout in this state`);
  const who = `dom${d.domid}`;
  const maddr = d.rma.mfn * PAGE_SIZE;
  const extra = d.layout ? { stackPointer: d.layout.stackPointer, capacityEntries: d.layout.capacityEntries } : { stackPointer: null, capacityEntries: null };
  if (f.svg) writeOutput(io, f.svg, rmaSvg(who, map, maddr));
  io.out(f.json ? json(rmaJson(d.domid, map, maddr, extra)) : formatRma(paint(io), who, map, maddr, columns(io)) + wrote(f.svg));
  return 0;
}

export interface DevtreeFlags extends InspectFlags { dtb?: string; path?: string }

export function runInspectDevtree(io: Io, f: DevtreeFlags): number {
  const sys = load(io, f);
  // --domid N: a domU's own tree (built by create-domu), from its RMA.
  const d = f.domid === undefined ? sys.dom0() : domain(sys, f);
  const blob = d.domid === 0 ? dom0Blob(sys) : domuBlob(sys, d);
  const tree = readFdt(blob);
  if (f.path && !findNode(tree.root, f.path)) throw new UsageError(`no node ${quote(f.path)} in dom${d.domid}'s device tree`);
  if (f.dtb) writeOutput(io, f.dtb, blob);
  if (f.json) io.out(json(devtreeJson(d.domid, tree, f.path)));
  else io.out(toDts(tree, f.path ? { path: f.path } : undefined));
  if (f.dtb && !f.json) io.err(`wrote ${f.dtb} (${blob.length} bytes)\n`);
  return 0;
}

export interface MachineFlags extends InspectFlags { svg?: string }

export function runInspectMachine(io: Io, f: MachineFlags): number {
  const sys = load(io, f);
  if (f.svg) writeOutput(io, f.svg, machineSvg(sys));
  io.out(f.json ? json(machineJson(sys.machine)) : formatMachine(paint(io), sys.machine, columns(io)) + wrote(f.svg));
  return 0;
}


/** Registers `inspect` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  const inspect = ctx.declare(prog, 'inspect');
  ctx.declare(inspect, 'p2m', () => runInspectP2m);
  ctx.declare(inspect, 'rma', () => runInspectRma);
  ctx.declare(inspect, 'devtree', () => runInspectDevtree);
  ctx.declare(inspect, 'machine', () => runInspectMachine);
  ctx.declare(inspect, 'hpt', () => (require('./inspect_hpt') as typeof import('./inspect_hpt')).runInspectHpt);
}
