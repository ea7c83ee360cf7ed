/** The device tree library: model, blob reader/writer, DTS output, dom0 fix-up. */
export * from './tree';
export * from './fdt';
export { writeFdt } from './fdt_wr';
export type { WriteFdtOptions } from './fdt_wr';
export { readFdt, fdtHeader, FdtFormatError } from './fdt_ro';
export type { FdtHeader } from './fdt_ro';
export { toDts } from './dts';
export type { ToDtsOptions } from './dts';
export { fixupDom0Tree, machineRamFromTree, bootCpuNode, isMemoryNode } from './ofd_fixup';
export type { Dom0TreeParams } from './ofd_fixup';
