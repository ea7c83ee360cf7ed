import { inlineAudit, type InlineAuditRow } from '../guest/xencomm';
import { EXTENT_SIZE, IO_HOLE_END_MFN, IO_HOLE_START_MFN, PAGE_SIZE } from '../machine/constants';
import { Machine } from '../machine/machine';
import type { Dom0Limits } from '../p2m/limits';
import { DEFAULT_OF_AT } from '../rma/layout';
import { FitError } from '../util/errors';
import { exactSize, formatSize, MiB } from '../util/size';
import { AuditMachine, AuditOptions, AuditResult, auditLegacy, auditProposal, Built, domuFrameRuns, EXAMPLES, Scheme } from '../xen/audit';
import type { Domain } from '../xen/domain';
import { System } from '../xen/system';
import { constructDom0, Dom0Options, dom0LimitsFor, remediesFor } from './domain_build';
import { createDomU } from './domu_build';
import { syntheticKernel } from './images';
import { constructDom0Legacy } from './legacy_domain_build';

/**
 * audit: build the same machine the legacy way and the proposal's, in
 * memory, and let Xen's two readings (src/xen/audit.ts) classify every
 * number dom0 can hand it.
 */

function dom0Options(m: AuditMachine, o: AuditOptions): Dom0Options {
  return {
    mem: o.dom0Mem,
    // The table covers the boot size only: room to balloon changes no number the audit reads, and costs time.
    maxMem: o.dom0Mem,
    rmaSize: o.rmaSize,
    placement: { kind: 'after-of' },
    ofAt: DEFAULT_OF_AT,
    kernel: syntheticKernel(6 * MiB),
    bootargs: 'console=hvc0',
    firmwareTree: m.firmwareTree,
  };
}

/** Build dom0 one way and then the domUs, all in memory. */
function build(m: AuditMachine, o: AuditOptions, scheme: Scheme): Built {
  const sys = new System(Machine.boot({ ...m.profile }), m.firmwareTree, new Uint8Array(0));
  const opts = dom0Options(m, o);
  const dom0 = (scheme === 'legacy' ? constructDom0Legacy(sys, opts) : constructDom0(sys, opts)).dom0;
  const domus: Domain[] = [];
  let skipped = 0;
  for (let i = 0; i < o.domus; i++) {
    try {
      domus.push(createDomU(sys, { mem: o.domuMem, kernel: syntheticKernel(4 * MiB) }).d);
    } catch (e) {
      if (!(e instanceof FitError)) throw e;
      skipped++;
    }
  }
  return { sys, dom0, domus, skipped };
}

/** Inline xencomm buffer sizes and in-page offsets the audit tries. */
export const INLINE_LENS = [64, 4096, 8192, 16384, 65536];
export const INLINE_OFFSETS = [0, 2048, 4032];

/** The audit, with the proposal's inline xencomm handles counted. */
export type BuiltAudit = AuditResult & { inline: InlineAuditRow[] };

/**
 * Build the machine both ways and classify every number. `limits` depend on
 * the machine and the RMA only, not dom0's size: a sweep computes them once.
 */
export function runAudit(m: AuditMachine, o: AuditOptions, limits: Dom0Limits = auditLimits(m, o)): BuiltAudit {
  const largest = largestDom0(m, o, limits);
  if (Math.ceil(o.dom0Mem / EXTENT_SIZE) * EXTENT_SIZE > largest) {
    const binding = limits.constraints.find((c) => c.binds)!;
    throw new FitError(`a dom0 of ${formatSize(o.dom0Mem)} cannot be built both ways on ${m.profile.name} (${formatSize(m.profile.ram)} RAM): the largest is ${exactSize(largest)}, where ${binding.name} binds (${binding.detail})`, remediesFor(binding));
  }
  const keep = o.examples ?? EXAMPLES;
  const legacy = build(m, o, 'legacy');
  const proposal = build(m, o, 'proposal');
  // Both builds take the same frames from the domain heap: the same machine.
  const l0 = legacy.dom0;
  const p0 = proposal.dom0;
  if (l0.rma.mfn !== p0.rma.mfn || l0.extents.join() !== p0.extents.join()) throw new Error('the legacy and proposal builds placed dom0 differently');
  const domus = proposal.domus.map((d) => {
    const runs = domuFrameRuns(proposal.sys, d);
    return { domid: d.domid, memBytes: d.totPages * PAGE_SIZE, frames: runs.reduce((n, r) => n + r.count, 0), firstMfn: runs[0]?.mfn ?? 0, lastMfn: runs.length ? runs[runs.length - 1].mfn + runs[runs.length - 1].count - 1 : 0 };
  });
  return {
    machine: m.profile.name,
    ramBytes: m.profile.ram,
    dom0: { memBytes: p0.totPages * PAGE_SIZE, pages: p0.totPages, rmaMaddr: p0.rma.mfn * PAGE_SIZE, extents: p0.extents.length },
    domus,
    domusSkipped: proposal.skipped,
    ioFrames: IO_HOLE_END_MFN - IO_HOLE_START_MFN,
    grantFrames: [p0, ...proposal.domus].reduce((n, d) => n + d.grantFrames.length, 0),
    schemes: { legacy: auditLegacy(legacy, keep), proposal: auditProposal(proposal, keep) },
    // Inline xencomm handles under the proposal: one machine address, walked page by page by Xen.
    inline: inlineAudit(p0, p0.p2m(), INLINE_LENS, INLINE_OFFSETS),
  };
}

/** The largest dom0 both schemes can build on this machine (whole extents; the proposal's table must fit). */
export function largestDom0(m: AuditMachine, o: Pick<AuditOptions, 'rmaSize'>, limits: Dom0Limits = auditLimits(m, o)): number {
  return Math.max(o.rmaSize, limits.maxDom0Bytes ?? 0);
}

/**
 * The proposal's dom0 binds: every limit construct checks (the span less the IO
 * hole, the hash table's block, the domain heap), for the layout the audit builds.
 */
export function auditLimits(m: AuditMachine, o: Pick<AuditOptions, 'rmaSize'>): Dom0Limits {
  return dom0LimitsFor(Machine.boot({ ...m.profile }), dom0Options(m, { dom0Mem: o.rmaSize, domus: 0, domuMem: 0, rmaSize: o.rmaSize })).limits;
}
