import { addChild, DeviceTree, emptyTree, enc, FdtNode } from '../devtree/tree';
import type { MachineProfile } from './profile';
import { ramRanges } from './memmap';
import { PAGE_SIZE } from './constants';

const node = (name: string): FdtNode => ({ name, props: [], children: [] });

/**
 * A plain firmware tree for a profile that ships no blob of its own: root,
 * one PPC970 cpu, the RAM as memory nodes, /chosen. Real machines come with
 * their own (fixtures/firmware); this keeps a hand-written profile usable.
 */
export function genericFirmwareTree(p: MachineProfile): DeviceTree {
  const t = emptyTree();
  const root = t.root;
  root.props.push(
    { name: '#address-cells', value: enc.u32(2) },
    { name: '#size-cells', value: enc.u32(2) },
    { name: 'model', value: enc.str(p.name) },
    { name: 'compatible', value: enc.strs([p.name, 'ppc970']) },
  );
  const cpus = addChild(root, node('cpus'));
  cpus.props.push({ name: '#address-cells', value: enc.u32(1) }, { name: '#size-cells', value: enc.u32(0) });
  const cpu = addChild(cpus, node('PowerPC,970@0'));
  cpu.props.push(
    { name: 'device_type', value: enc.str('cpu') },
    { name: 'reg', value: enc.u32(0) },
    { name: 'cpu-version', value: enc.u32(0x00440100) },
    { name: 'clock-frequency', value: enc.u32(1800000000) },
    { name: 'timebase-frequency', value: enc.u32(14318000) },
    { name: 'd-cache-block-size', value: enc.u32(128) },
    { name: 'i-cache-block-size', value: enc.u32(128) },
    { name: '64-bit', value: enc.empty() },
  );
  for (const r of ramRanges(p.ram)) {
    const mem = addChild(root, node(`memory@${(r.mfn * PAGE_SIZE).toString(16)}`));
    mem.props.push({ name: 'device_type', value: enc.str('memory') }, { name: 'reg', value: enc.u64(r.mfn * PAGE_SIZE, r.count * PAGE_SIZE) });
  }
  addChild(root, node('chosen'));
  return t;
}
