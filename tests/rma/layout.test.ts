import { layoutRma, placementCapacity, RmaLayoutInput } from '../../src/rma/layout';
import { dom0RmaMap, regionsWithGaps } from '../../src/rma/regions';
import { FitError, UsageError } from '../../src/util/errors';
import { KiB, MiB } from '../../src/util/size';

const base: RmaLayoutInput = { rmaSize: 64 * MiB, ofAt: 32 * MiB, firmwareImage: 64 * KiB, devtreeSlot: 64 * KiB, kernelSize: 6 * MiB, initrdSize: 0, placement: { kind: 'after-of' }, entries: 1 << 20 };

describe('layoutRma', () => {
  it('after-of: the first page after the device tree slot', () => {
    const L = layoutRma(base);
    expect(L.firmware).toMatchObject({ start: 32 * MiB, end: 32 * MiB + 64 * KiB });
    expect(L.devtree.start).toBe(32 * MiB + 68 * KiB); // a page of bss after the handler
    expect(L.p2m.start).toBe(L.devtree.end);
    expect(L.p2m.end - L.p2m.start).toBe(4 * MiB);
    expect(L.sharedInfo).toMatchObject({ start: 64 * MiB - 4 * KiB, end: 64 * MiB });
    expect(L.stackPointer).toBe(32 * MiB - 112);
  });

  it('end: the table ends where shared_info begins', () => {
    const L = layoutRma({ ...base, placement: { kind: 'end' } });
    expect(L.p2m.end).toBe(L.sharedInfo.start);
  });

  it('an explicit address', () => {
    const L = layoutRma({ ...base, ofAt: 16 * MiB, placement: { kind: 'at', address: 32 * MiB } });
    expect(L.p2m.start).toBe(32 * MiB);
  });

  it('names both regions when they overlap', () => {
    expect(() => layoutRma({ ...base, placement: { kind: 'at', address: 32 * MiB } })).toThrow(/firmware .* overlaps p2m table|p2m table .* overlaps firmware/);
    expect(() => layoutRma({ ...base, placement: { kind: 'at', address: 32 * MiB } })).toThrow(FitError);
    expect(() => layoutRma({ ...base, kernelSize: 20 * MiB, initrdSize: 20 * MiB })).toThrow(/initrd .* does not end below the OF area/);
  });

  it('refuses a table that runs out of the RMA and an unaligned address', () => {
    expect(() => layoutRma({ ...base, entries: 8 << 20 })).toThrow(/does not fit in the 64 MiB RMA/);
    expect(() => layoutRma({ ...base, placement: { kind: 'at', address: 32 * MiB + 4 } })).toThrow(UsageError);
  });

  it('capacity: what the placement can hold up to shared_info', () => {
    expect(placementCapacity({ ...base, ofAt: 16 * MiB, placement: { kind: 'at', address: 32 * MiB } })).toBe((32 * MiB - 4 * KiB) / 4);
    const after = layoutRma(base);
    expect(placementCapacity(base)).toBe((after.sharedInfo.start - after.p2m.start) / 4);
    expect(placementCapacity({ ...base, placement: { kind: 'end' } })).toBe((after.sharedInfo.start - after.devtree.end) / 4);
  });

  it('regionsWithGaps covers the RMA exactly once', () => {
    const rs = regionsWithGaps(dom0RmaMap(layoutRma({ ...base, initrdSize: MiB })));
    expect(rs[0].start).toBe(0);
    expect(rs[rs.length - 1].end).toBe(64 * MiB);
    for (let i = 1; i < rs.length; i++) expect(rs[i].start).toBe(rs[i - 1].end);
  });
});
