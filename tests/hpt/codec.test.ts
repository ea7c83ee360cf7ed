import { decodeHpt, encodeHpt, HptFormatError } from '../../src/hpt/codec';
import { HashTable } from '../../src/hpt/table';
import { MiB } from '../../src/util/size';

describe('the saved hash table', () => {
  it('keeps only valid slots and round-trips them', () => {
    const t = new HashTable(64 * MiB);
    const slots = [0, 7, 8, 4095, 4096, 1234567, t.slots - 1];
    slots.forEach((s, i) => t.write(s, 0x408 + i, (0x80000011 + i * 128) | 0, i, (0x24000190 + i * 4096) | 0));
    const bytes = encodeHpt(t);
    expect(bytes.length).toBe(16 + slots.length * 20);
    const back = decodeHpt(bytes);
    expect(back.bytes).toBe(t.bytes);
    expect(back.countValid()).toBe(slots.length);
    for (const s of slots) expect([back.v(s), back.r(s)]).toEqual([t.v(s), t.r(s)]);
  });

  it('refuses a damaged section', () => {
    const t = new HashTable(1 * MiB);
    t.write(5, 1, 1, 0, 0);
    t.write(9, 1, 1, 0, 0);
    const good = encodeHpt(t);
    expect(() => decodeHpt(good.subarray(0, 20))).toThrow(HptFormatError);
    const unordered = good.slice();
    new DataView(unordered.buffer).setUint32(16, 9); // slot indices must ascend
    expect(() => decodeHpt(unordered)).toThrow(/out of order/);
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(() => decodeHpt(badMagic)).toThrow(/magic/);
  });
});
