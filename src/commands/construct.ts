import type { Command } from 'commander';
import type { CliContext } from './cli_context';
import * as path from 'path';
import { DEFAULT_RMA_SIZE } from '../machine/cpu';
import { Machine } from '../machine/machine';
import { DEFAULT_OF_AT, placementName } from '../rma/layout';
import { parseLinearPage, parsePlacement, parseTranslation, parseWholeMiB } from './args';
import { DeviceTreeError } from '../devtree/tree';
import { UsageError } from '../util/errors';
import { formatSize, parsePositiveSize, parseMemorySize, parseSize } from '../util/size';
import { constructDom0 } from '../builder/domain_build';
import type { TraceEvent } from '../builder/report';
import { constructDom0Legacy } from '../builder/legacy_domain_build';
import { BootImage, DEFAULT_KERNEL_SIZE, kernelImageProblem, syntheticInitrd, syntheticKernel } from '../builder/images';
import { quote } from '../util/quote';
import { readRegularFile } from './regular_file';
import { System } from '../xen/system';
import { formatConstruct, formatTraceEvent, constructJson } from '../format/construct';
import { bootDom0Guest } from '../guest/boot';
import type { GuestRecord } from '../guest/record';
import { formatGuestBoot, guestBootJson } from '../format/hpt';
import { progressBar } from './progress';
import { json } from '../format/table';
import { columns, paint, relativePaths, type Io } from './io';
import { selectMachine } from './machine_select';
import { changeState, expectSave, stateDir } from './state_store';

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
  firmwareDtb?: string;
  state?: string;
  lockTimeout?: string;
  json?: boolean;
  trace?: boolean;
  /** --timing: how long the guest boot took (off: the same inputs print the same bytes). */
  timing?: boolean;
  /** --linear-page 16M|4K, --linear-fallback, --no-boot (boot: false). */
  linearPage?: string;
  linearFallback?: boolean;
  boot?: boolean;
  /** --translation proposal|legacy */
  translation?: string;
  /** --htab-mb N (Xen's dom0_shadow=), --legacy-cap */
  htabMb?: string;
  legacyCap?: boolean;
  /** --kernel-version 2.6.18|2.6.22: whose linear-map bolting (2.6.22 keeps a slot record) */
  kernelVersion?: string;
}

export function runConstruct(io: Io, f: ConstructFlags): number {
  if (f.kernel && f.kernelSize) throw new UsageError('--kernel and --kernel-size both given', 'give a kernel file or a synthetic size, not both');
  if (f.initrd && f.initrdSize) throw new UsageError('--initrd and --initrd-size both given', 'give an initrd file or a synthetic size, not both');
  const mem = f.mem !== undefined ? parseMemorySize(f.mem, '--mem') : undefined;
  const maxMem = f.maxMem !== undefined ? parseMemorySize(f.maxMem, '--max-mem') : undefined;
  const rmaSize = f.rma !== undefined ? parsePositiveSize(f.rma, '--rma') : DEFAULT_RMA_SIZE;
  const placement = parsePlacement(f.p2mPlacement ?? 'after-of');
  const ofAt = f.ofAt !== undefined ? parseSize(f.ofAt, '--of-at') : DEFAULT_OF_AT;
  const ram = f.ram !== undefined ? parseMemorySize(f.ram, '--ram') : undefined;
  const kernel: BootImage = f.kernel ? readImage(io, f.kernel, '--kernel', rmaSize) : syntheticKernel(f.kernelSize !== undefined ? parsePositiveSize(f.kernelSize, '--kernel-size') : DEFAULT_KERNEL_SIZE);
  const initrd: BootImage | undefined = f.initrd ? readImage(io, f.initrd, '--initrd', rmaSize) : f.initrdSize !== undefined ? syntheticInitrd(parsePositiveSize(f.initrdSize, '--initrd-size')) : undefined;
  const bootargs = f.bootargs ?? 'console=hvc0 root=/dev/ram0';
  const linearPageShift = parseLinearPage(f.linearPage);
  const kernelVersion = f.kernelVersion ?? '2.6.18';
  if (kernelVersion !== '2.6.18' && kernelVersion !== '2.6.22') throw new UsageError(`--kernel-version '${f.kernelVersion}' is not 2.6.18 or 2.6.22`, '2.6.18 keeps no slot record for its bolted linear map; 2.6.22 keeps linear_map_hash_slots');
  const translation = parseTranslation(f.translation);
  if (f.kernelVersion !== undefined && (f.boot === false || translation === 'legacy')) throw new UsageError('--kernel-version without booting dom0', 'the kernel version says how the guest bolts its linear map: drop --no-boot / --translation legacy');
  if (f.boot === false && (f.linearPage !== undefined || f.linearFallback)) throw new UsageError('--linear-page / --linear-fallback with --no-boot', 'the linear map is the guest\'s: drop --no-boot, or the linear map options');
  // The simulated kernel boots the proposal's way (it reads /xen/p2m): a legacy dom0 is Xen's part only.
  if (translation === 'legacy' && (f.linearPage !== undefined || f.linearFallback)) throw new UsageError('--linear-page / --linear-fallback with --translation legacy', "the simulated kernel boots through the proposal's /xen/p2m: a legacy dom0 is built without booting it");

  if (f.legacyCap && translation !== 'legacy') throw new UsageError('--legacy-cap without --translation legacy', "the cap is upstream's pre-proposal domain_build.c: the proposal's dom0 is not capped at the IO hole");
  const hptMiB = f.htabMb !== undefined ? parseWholeMiB(f.htabMb, '--htab-mb') : undefined;
  // What the save will write: dom0's table twice (its RMA chunks, dom0-p2m.bin) and, bolted with
  // 4 KiB pages, about 3 bytes of hash table a page (src/hpt/codec.ts). A large one's thread starts now.
  if (mem !== undefined && f.boot !== false && translation !== 'legacy') expectSave((mem / 4096) * (8 + (linearPageShift === 12 ? 3 : 0)));
  const sel = selectMachine(io.cwd, f.machine, ram, f.firmwareDtb);
  // The System exists before dom0 is built, as Xen's construct_dom0 is handed a domain that exists.
  const sys = new System(Machine.boot(sel.profile), sel.firmwareTree, sel.firmwareBlob);
  const p = paint(io, io.stderrTTY);
  const tracer = (ev: TraceEvent): void => {
    if (f.trace) io.err(formatTraceEvent(p, ev, columns(io, io.stderrTTY)));
  };
  const dom0Opts = { mem, maxMem, rmaSize, placement, ofAt, kernel, initrd, bootargs, firmwareTree: sel.firmwareTree, hptMiB, legacyCap: !!f.legacyCap };
  const built = withTreeErrors(sel.source, () => (translation === 'legacy' ? constructDom0Legacy(sys, dom0Opts, tracer) : constructDom0(sys, dom0Opts, tracer)));
  const { dom0, report } = built;
  sys.build = {
    machineSource: sel.source,
    options: { mem: mem ?? null, maxMem: maxMem ?? null, rma: rmaSize, p2mPlacement: placementName(placement), ofAt, ram: ram ?? null, bootargs, translation },
    report,
  };
  let guest: GuestRecord | undefined;
  let bootMs: number | undefined;
  if (f.boot !== false && translation !== 'legacy') {
    const t0 = performance.now();
    guest = bootDom0Guest(sys, dom0, { linearPageShift, linearFallback: !!f.linearFallback, kernelVersion, progress: progressBar(io, 'bolting the linear map') });
    if (f.timing) bootMs = performance.now() - t0;
  }
  const dir = stateDir(io, f.state);
  // Paths as given, relative to where the command runs: the same command prints the same bytes wherever it runs.
  const files = relativePaths(io, changeState(io, dir, f.lockTimeout, (_load, save) => save(sys)));
  if (f.json) io.out(json(constructJson(sys, files, guest ? guestBootJson(guest, bootMs) : undefined)));
  else io.out(formatConstruct(paint(io), sys, files, columns(io)) + (guest ? formatGuestBoot(paint(io), guest, columns(io), bootMs) : ''));
  return 0;
}

/** A firmware tree the fix-up cannot work with is a bad input file (exit 2), not an internal error. */
function withTreeErrors<T>(source: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DeviceTreeError) throw new UsageError(`firmware tree ${source}: ${e.message}`);
    throw e;
  }
}

/**
 * A kernel or initrd file: a regular file no larger than the RMA it is
 * loaded into (`limit`), read only that far; a kernel must be ELF64
 * big-endian PowerPC.
 */
export function readImage(io: Io, file: string, what: '--kernel' | '--initrd', limit: number): BootImage {
  const bytes = readRegularFile(path.resolve(io.cwd, file), what, { limit, limitText: `the ${formatSize(limit)} RMA it is loaded into` });
  if (bytes.length === 0) throw new UsageError(`${what} ${quote(file)} is empty`);
  if (what === '--kernel') {
    const problem = kernelImageProblem(bytes);
    if (problem) throw new UsageError(`${what} ${quote(file)} is not a kernel Xen can boot: ${problem}`, 'give a PowerPC 64 vmlinux (ELF64 big-endian), or --kernel-size for a synthetic one');
  }
  return { bytes, source: file, size: bytes.length };
}

/** Registers `construct` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.declare(prog, 'construct', () => runConstruct);
}
