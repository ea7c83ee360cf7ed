import { selectMachine } from '../../src/commands/machine_select';
import { Machine } from '../../src/machine/machine';
import { syntheticKernel } from '../../src/xen/images';
import { constructDom0 } from '../../src/xen/domain_build';
import { System } from '../../src/xen/system';
import { MiB } from '../../src/util/size';

/** Xen's part of construct (SPEC steps 1-12) on the default machine, in process: a System with dom0, not booted. */
export function buildDom0(memBytes: number): System {
  const sel = selectMachine(process.cwd(), undefined, undefined);
  const machine = Machine.boot(sel.profile);
  const { dom0, report } = constructDom0(machine, {
    mem: memBytes,
    rmaSize: 64 * MiB,
    placement: { kind: 'after-of' },
    ofAt: 32 * MiB,
    kernel: syntheticKernel(6 * MiB),
    bootargs: 'console=hvc0',
    firmwareTree: sel.firmwareTree,
  });
  const sys = new System(machine, sel.firmwareTree, sel.firmwareBlob, { machineSource: sel.source, options: {}, report });
  sys.domains.set(0, dom0);
  return sys;
}
