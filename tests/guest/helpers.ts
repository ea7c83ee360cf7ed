import { selectMachine } from '../../src/commands/machine_select';
import { Machine } from '../../src/machine/machine';
import { syntheticKernel } from '../../src/builder/images';
import { constructDom0 } from '../../src/builder/domain_build';
import { System } from '../../src/xen/system';
import { MiB } from '../../src/util/size';

/** Xen's part of construct (construct_dom0) on the default machine, in process: a System with dom0, not booted. */
export function buildDom0(memBytes: number): System {
  const sel = selectMachine(process.cwd(), undefined, undefined);
  const sys = new System(Machine.boot(sel.profile), sel.firmwareTree, sel.firmwareBlob);
  const { report } = constructDom0(sys, {
    mem: memBytes,
    rmaSize: 64 * MiB,
    placement: { kind: 'after-of' },
    ofAt: 32 * MiB,
    kernel: syntheticKernel(6 * MiB),
    bootargs: 'console=hvc0',
    firmwareTree: sel.firmwareTree,
  });
  sys.build = { machineSource: sel.source, options: {}, report };
  return sys;
}
