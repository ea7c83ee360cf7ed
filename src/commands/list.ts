import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import { PAGE_SIZE } from '../machine/constants';
import { liveForeignRefs } from '../builder/domu_build';
import { p2mOf, tableLocation } from '../xen/shadow_p2m';
import type { System } from '../xen/system';
import { DomainRow, formatList, listJson, ListView } from '../format/domains';
import { json } from '../format/table';
import { columns, paint, type Io } from './io';
import { loadState, stateDir } from './state_store';

export interface ListFlags { state?: string; json?: boolean }

export function listView(sys: System): ListView {
  const m = sys.machine;
  const domains: DomainRow[] = [...sys.domains.values()].sort((a, b) => a.domid - b.domid).map((d) => {
    const table = p2mOf(d);
    const loc = tableLocation(d);
    const used = table.countValid();
    return {
      domid: d.domid,
      privileged: d.privileged,
      shadow: d.shadow,
      translation: d.translation,
      memBytes: used * PAGE_SIZE,
      pages: used,
      maxBytes: d.maxPages * PAGE_SIZE,
      rma: { bytes: d.rmaBytes, maddr: d.rma.mfn * PAGE_SIZE, firstMfn: d.rma.mfn },
      extents: d.extents.length,
      table: { ...loc, used },
      hpt: d.arch.hpt ? { bytes: 2 ** d.arch.hpt.order * PAGE_SIZE, maddr: d.arch.hpt.mfn * PAGE_SIZE } : null,
      foreignRefs: liveForeignRefs(m, d.domid).reduce((n, [, c]) => n + c, 0),
      ...(d.domu ? { layout: d.domu.layout } : {}),
    };
  });
  return { domains, heaps: { domHeapFreeBytes: m.domHeap.freeCount * PAGE_SIZE, xenHeapFreeBytes: m.xenHeap.freeCount * PAGE_SIZE } };
}

export function runList(io: Io, f: ListFlags): number {
  const sys = loadState(stateDir(io, f.state));
  const v = listView(sys);
  io.out(f.json ? json(listJson(v)) : formatList(paint(io), v, columns(io)));
  return 0;
}

/** Registers `list` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'list', () => runList);
}
