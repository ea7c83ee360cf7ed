import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_RMA_SIZE } from '../machine/cpu';
import { Machine } from '../machine/machine';
import { DEFAULT_OF_AT, parsePlacement, placementName } from '../rma/layout';
import { UsageError } from '../util/errors';
import { parsePositiveSize, parseSize } from '../util/size';
import { constructDom0, TraceEvent } from '../xen/domain_build';
import { BootImage, DEFAULT_KERNEL_SIZE, syntheticInitrd, syntheticKernel } from '../xen/images';
import { System } from '../xen/system';
import { formatConstruct, formatTraceEvent, constructJson } from '../format/construct';
import { json } from '../format/table';
import { paint, type Io } from './io';
import { selectMachine } from './machine_select';
import { saveState, stateDir } from './state_store';

export interface ConstructFlags {
  mem?: string;
  maxMem?: string;
  rma?: string;
  p2mPlacement?: string;
  ofAt?: string;
  kernel?: string;
  kernelSize?: string;
  initrd?: string;
  initrdSize?: string;
  bootargs?: string;
  machine?: string;
  ram?: string;
  state?: string;
  json?: boolean;
  trace?: boolean;
}

export function runConstruct(io: Io, f: ConstructFlags): number {
  if (f.kernel && f.kernelSize) throw new UsageError('--kernel and --kernel-size both given', 'give a kernel file or a synthetic size, not both');
  if (f.initrd && f.initrdSize) throw new UsageError('--initrd and --initrd-size both given', 'give an initrd file or a synthetic size, not both');
  const mem = f.mem !== undefined ? parsePositiveSize(f.mem, '--mem') : undefined;
  const maxMem = f.maxMem !== undefined ? parsePositiveSize(f.maxMem, '--max-mem') : undefined;
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : DEFAULT_RMA_SIZE;
  const placement = parsePlacement(f.p2mPlacement ?? 'after-of', (s) => parseSize(s, '--p2m-placement (after-of, end or an address)'));
  const ofAt = f.ofAt !== undefined ? parseSize(f.ofAt, '--of-at') : DEFAULT_OF_AT;
  const ram = f.ram !== undefined ? parsePositiveSize(f.ram, '--ram') : undefined;
  const kernel: BootImage = f.kernel ? readImage(io, f.kernel, '--kernel') : syntheticKernel(f.kernelSize !== undefined ? parsePositiveSize(f.kernelSize, '--kernel-size') : DEFAULT_KERNEL_SIZE);
  const initrd: BootImage | undefined = f.initrd ? readImage(io, f.initrd, '--initrd') : f.initrdSize !== undefined ? syntheticInitrd(parsePositiveSize(f.initrdSize, '--initrd-size')) : undefined;
  const bootargs = f.bootargs ?? 'console=hvc0 root=/dev/ram0';

  const sel = selectMachine(io.cwd, f.machine, ram);
  const machine = Machine.boot(sel.profile);
  const p = paint(io, io.stderrTTY);
  const events: TraceEvent[] = [];
  const tracer = (ev: TraceEvent): void => {
    events.push(ev);
    if (f.trace) io.err(formatTraceEvent(p, ev));
  };
  const { dom0, report } = constructDom0(machine, { mem, maxMem, rmaSize, placement, ofAt, kernel, initrd, bootargs, firmwareTree: sel.firmwareTree }, tracer);
  const sys = new System(machine, sel.firmwareTree, sel.firmwareBlob, {
    machineSource: sel.source,
    options: { mem: mem ?? null, maxMem: maxMem ?? null, rma: rmaSize, p2mPlacement: placementName(placement), ofAt, ram: ram ?? null, bootargs },
    report,
  });
  sys.domains.set(0, dom0);
  const dir = stateDir(io, f.state);
  const files = saveState(dir, sys);
  io.out(f.json ? json(constructJson(sys, files)) : formatConstruct(paint(io), sys, files));
  return 0;
}

function readImage(io: Io, file: string, what: string): BootImage {
  const full = path.resolve(io.cwd, file);
  try {
    const bytes = fs.readFileSync(full);
    if (bytes.length === 0) throw new UsageError(`${what} ${file} is empty`);
    return { bytes, source: file, size: bytes.length };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${what} ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
