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
    expect(L.devtree.end).toBe(32 * MiB + 132 * KiB); // 68 KiB + the 64 KiB slot
    expect(L.p2m.start).toBe(32 * MiB + 132 * KiB);
    expect(L.p2m.end - L.p2m.start).toBe(4 * MiB);
    expect(L.sharedInfo).toMatchObject({ start: 64 * MiB - 4 * KiB, end: 64 * MiB });
    expect(L.stackPointer).toBe(32 * MiB - 112);
  });

  it('end: the table ends where shared_info begins', () => {
    const L = layoutRma({ ...base, placement: { kind: 'end' } });
    // 1 Mi entries x 4 B = 4 MiB, ending at shared_info (64 MiB - 4 KiB).
    expect(L.p2m.end).toBe(64 * MiB - 4 * KiB);
    expect(L.p2m.start).toBe(60 * MiB - 4 * KiB);
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
    // after-of, by hand: the device tree starts at ALIGN_UP(32 MiB + 64 KiB firmware + 4 KiB) =
    // 32 MiB + 68 KiB and its 64 KiB slot ends at 32 MiB + 132 KiB, where the table starts;
    // shared_info starts at 64 MiB - 4 KiB. floor((64 MiB - 4 KiB - (32 MiB + 132 KiB)) / 4)
    // = (33554432 - 139264) / 4 = 33415168 / 4 = 8353792 entries.
    expect(placementCapacity(base)).toBe(8353792);
    // end: the table ends at shared_info and can reach back to the same first free page after
    // the device tree slot, so the same 8353792 entries.
    expect(placementCapacity({ ...base, placement: { kind: 'end' } })).toBe(8353792);
    // A smaller device tree slot (16 KiB) moves the start to 32 MiB + 84 KiB:
    // (64 MiB - 4 KiB - 32 MiB - 84 KiB) / 4 = (33554432 - 90112) / 4 = 8366080.
    expect(placementCapacity({ ...base, devtreeSlot: 16 * KiB })).toBe(8366080);
  });

  it('regionsWithGaps covers the RMA exactly once', () => {
    const rs = regionsWithGaps(dom0RmaMap(layoutRma({ ...base, initrdSize: MiB })));
    expect(rs[0].start).toBe(0);
    expect(rs[rs.length - 1].end).toBe(64 * MiB);
    for (let i = 1; i < rs.length; i++) expect(rs[i].start).toBe(rs[i - 1].end);
  });
});
