import type { Command, Option } from 'commander';
import { PAGE_SIZE } from '../machine/constants';
import { liveForeignRefs } from '../xen/domu_build';
import { p2mOf, readExtra, tableLocation, translationOf } from '../xen/shadow_p2m';
import type { System } from '../xen/system';
import { DomainRow, formatList, listJson, ListView } from '../format/domains';
import { json } from '../format/table';
import { runAuditCommand } from './audit';
import { runBalloon } from './balloon';
import { runMapForeign, runUnmapForeign } from './foreign';
import { runCreateDomu, runDestroyDomu } from './domu';
import { paint, type Io } from './io';
import { loadState, stateDir } from './state_store';
import { runXencomm } from './xencomm';

export interface ListFlags { state?: string; json?: boolean }

export function listView(sys: System): ListView {
  const m = sys.machine;
  const domains: DomainRow[] = [...sys.domains.values()].sort((a, b) => a.domid - b.domid).map((d) => {
    const table = p2mOf(sys, d);
    const loc = tableLocation(sys, d);
    const used = table.countValid();
    return {
      domid: d.domid,
      privileged: d.privileged,
      shadow: d.shadow,
      translation: translationOf(sys, d),
      memBytes: used * PAGE_SIZE,
      pages: used,
      maxBytes: d.maxPages * PAGE_SIZE,
      rma: { bytes: d.rmaBytes, maddr: d.rma.mfn * PAGE_SIZE, firstMfn: d.rma.mfn },
      extents: d.extents.length,
      table: { ...loc, used },
      htab: d.arch.htab ? { bytes: 2 ** d.arch.htab.order * PAGE_SIZE, maddr: d.arch.htab.mfn * PAGE_SIZE } : null,
      foreignRefs: liveForeignRefs(m, d.domid).reduce((n, [, c]) => n + c, 0),
      ...(readExtra(sys, d.domid)?.domu ? { layout: readExtra(sys, d.domid)!.domu } : {}),
    };
  });
  return { domains, heaps: { domHeapFreeBytes: m.domHeap.freeCount * PAGE_SIZE, xenHeapFreeBytes: m.xenHeap.freeCount * PAGE_SIZE } };
}

export function runList(io: Io, f: ListFlags): number {
  const sys = loadState(stateDir(io, f.state));
  const v = listView(sys);
  io.out(f.json ? json(listJson(v)) : formatList(paint(io), v));
  return 0;
}

type Act = <T>(fn: (io: Io, flags: T) => number) => (...args: unknown[]) => void;

/**
 * The commands of the shadow-domain / legacy / audit work, added to the
 * program by cli.ts: create-domu, destroy-domu, list, audit, xencomm
 * (and the foreign-mapping and balloon commands).
 */
export function addDomainCommands(prog: Command, act: Act, stateOpt: () => Option, jsonOpt: () => Option): void {
  prog.command('create-domu')
    .description('create a shadow domain (domU) beside dom0: Xen keeps its p2m; RMA from the domain heap, 16 MiB extents, its own device tree')
    .requiredOption('--mem <size>', 'domU memory, rounded up to 16 MiB extents')
    .option('--max-mem <size>', "what Xen's table for it covers (a balloon can grow it that far); default --mem")
    .option('--rma <size>', 'RMA size: 64M, 128M, 256M, 1G, 16G or 256G', '64M')
    .option('--bootargs <args>', 'kernel command line for its /chosen')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runCreateDomu));
  prog.command('destroy-domu')
    .description('destroy a domU: its frames back to the domain heap, its Xen p2m and hash table to the Xen heap; refused while its frames are mapped by another domain')
    .requiredOption('--domid <n>', 'the domU')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runDestroyDomu));
  prog.command('list')
    .description('every domain: memory, RMA, where its p2m table is and who keeps it')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runList));
  prog.command('audit')
    .description('build the machine the legacy way and the proposal\'s, in memory, and classify every number Xen can be handed (the saved state is not touched)')
    .option('--mem <size>', 'dom0 size (default 4G)')
    .option('--domus <n>', 'domUs built beside dom0', '2')
    .option('--domu-mem <size>', 'each domU\'s memory', '128M')
    .option('--rma <size>', "dom0's RMA size", '64M')
    .option('--machine <name|file>', 'machine profile (default js21)')
    .option('--ram <size>', "override the machine's RAM")
    .option('--state <dir>', 'audit the machine this saved state was built on (read only)')
    .option('--sweep', 'try dom0 sizes from 1 GiB up and show where each failure starts')
    .addOption(jsonOpt())
    .action(act(runAuditCommand));
  prog.command('xencomm')
    .description("the xencomm descriptor dom0 hands Xen for a buffer: one machine address per page, from dom0's own p2m")
    .requiredOption('--paddr <addr>', "the buffer's guest-physical address")
    .requiredOption('--len <size>', "the buffer's length")
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runXencomm));
  prog.command('map-foreign')
    .description("dom0 maps another domain's frame: learns its mfn from Xen, H_ENTER with the machine address; Xen holds a page reference")
    .requiredOption('--domid <n>', 'whose frame')
    .requiredOption('--pfn <n>', 'its pfn there (decimal or 0x hex)')
    .option('--from <n>', 'the mapping domain (default 0; a non-privileged one gets H_PRIVILEGE)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runMapForeign));
  prog.command('unmap-foreign')
    .description('remove a foreign mapping with H_REMOVE; Xen drops the page reference')
    .requiredOption('--domid <n>', 'whose frame')
    .requiredOption('--pfn <n>', 'its pfn there')
    .option('--from <n>', 'the mapping domain (default 0)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runUnmapForeign));
  prog.command('balloon')
    .description("shrink or grow a domain: released pages lose their HPTEs and entries, then go to the heap; new pages come from the heap into the table")
    .requiredOption('--target <size>', 'the size to balloon to')
    .option('--domid <n>', 'the domain (default 0)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(runBalloon));
}
