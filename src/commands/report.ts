import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import * as path from 'path';
import { runAudit } from '../builder/audit';
import { validateBuilt } from '../builder/validate';
import { PAGE_SIZE } from '../machine/constants';
import { ownedRuns, p2mInfo } from '../p2m/inspect';
import { dom0RmaMap } from '../rma/regions';
import { DombuildError, UsageError } from '../util/errors';
import { formatSize } from '../util/size';
import { p2mOf } from '../xen/shadow_p2m';
import { reportHtml, reportJson, type ReportView } from '../format/report';
import { machineSvg } from '../format/svg/machine';
import { rmaSvg } from '../format/svg/rma';
import { p2mSvg } from '../format/svg/p2m';
import { hptSvg } from '../format/svg/hpt';
import { limitsSvg } from '../format/svg/limits';
import { json } from '../format/table';
import { AUDIT_DEFAULT_DOMU_MEM, AUDIT_DEFAULT_DOMUS } from './audit';
import { heatmapView } from './inspect_hpt';
import type { Io } from './io';
import { limitsView } from './limits';
import { writeOutput } from './outfile';
import { loadState, stateDir, STATE_FILE } from './state_store';

export interface ReportFlags { html?: string; state?: string; json?: boolean }

/**
 * report --html FILE: the built state on one page (construct summary, the
 * pictures, limits, validate, and the audit run in memory on the state's
 * machine, as `audit --state` does, with dom0 at the state's size). The
 * state is read, never changed.
 */
export function runReport(io: Io, f: ReportFlags): number {
  if (f.html === undefined) throw new UsageError('report needs --html FILE', 'e.g. --html report.html');
  const dir = stateDir(io, f.state);
  const sys = loadState(dir);
  const d = sys.dom0();
  if (!d.layout) throw new UsageError('dom0 in this state has no RMA layout to report on');
  const rmaMaddr = d.rma.mfn * PAGE_SIZE;
  const table = p2mOf(d);
  const runs = ownedRuns(sys.machine, d, 0, table.entries, table);
  const info = p2mInfo(d, runs, table);
  const machine = { profile: { ...sys.machine.profile }, firmwareTree: sys.firmwareTree };
  const { view: limits } = limitsView(io, { rma: String(d.rmaBytes), p2mAt: String(d.p2mPaddr), ofAt: String(d.layout.firmware.start) }, machine);
  const validation = validateBuilt(sys);
  let audit: ReportView['audit'];
  try {
    audit = runAudit(machine, { domus: AUDIT_DEFAULT_DOMUS, domuMem: AUDIT_DEFAULT_DOMU_MEM, rmaSize: d.rmaBytes, dom0Mem: d.totPages * PAGE_SIZE });
  } catch (e) {
    if (!(e instanceof DombuildError)) throw e;
    audit = { error: e.message };
  }
  const svgs: ReportView['svgs'] = [
    { id: 'machine', title: 'machine memory', caption: 'inspect machine --svg: RAM, the IO hole, Xen and its heap, each domain\'s RMA and extents (with the guest range each backs), free blocks', svg: machineSvg(sys) },
    { id: 'rma', title: "dom0's RMA", caption: 'inspect rma --svg: the RMA layout in guest-physical and machine addresses', svg: rmaSvg('dom0', dom0RmaMap(d.layout), rmaMaddr) },
    { id: 'p2m', title: "dom0's p2m table", caption: 'inspect p2m --svg: pfn runs to mfn runs; hatched: INVALID_MFN (the IO hole dom0\'s map keeps, and pfns past its memory)', svg: p2mSvg(sys, d, info, runs) },
    ...(d.arch.hpt ? [{ id: 'hpt', title: "dom0's hash table", caption: 'inspect hpt --svg: PTEG occupancy', svg: hptSvg(heatmapView(d, d.hpt)) }] : []),
    { id: 'limits', title: 'limits', caption: `limits --svg: the largest dom0 per RMA size for a table at the state's placement (RMA ${formatSize(d.rmaBytes)})`, svg: limitsSvg(limits) },
  ];
  const view: ReportView = { sys, stateFile: path.join(dir, STATE_FILE), svgs, limits, validation, audit };
  const html = reportHtml(view);
  const full = writeOutput(io, f.html, html);
  io.out(f.json ? json(reportJson(view, full, Buffer.byteLength(html))) : `wrote ${f.html}: ${svgs.length} pictures, validate ${validation.ok ? 'ok' : 'BROKEN'}, audit ${'error' in audit ? 'not run' : `${audit.schemes.proposal.misread} proposal misreads`}\n`);
  return 0;
}

/** Registers `report` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'report', () => runReport);
}
