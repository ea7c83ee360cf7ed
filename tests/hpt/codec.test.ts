import { decodeHpt, encodeHpt, HptFormatError, hptSection, hptSectionStats } from '../../src/hpt/codec';
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

describe('the saved hash table, streamed (HPT2)', () => {
  it('lays out a record as the format says: slot, v hi, v lo, r hi, r lo, big-endian after a 16-byte header', () => {
    const t = new HashTable(256 * 1024);
    t.write(9, 0x12345678, 0x9abcdef1 | 0, 0x0fedcba9, 0x87654321 | 0);
    const b = Buffer.from(encodeHpt(t));
    expect(b.subarray(0, 16).toString('hex')).toBe('48505432' + '00000012' + '00000001' + '00000000');
    expect(b.subarray(16).toString('hex')).toBe('00000009' + '12345678' + '9abcdef1' + '0fedcba9' + '87654321');
  });

  it('keeps its count of valid slots as slots are written, inserted and cleared', () => {
    const t = new HashTable(1 * MiB);
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    for (let k = 0; k < 5000; k++) {
      const slot = rnd(t.slots);
      const op = rnd(3);
      if (op === 0) t.write(slot, 1, rnd(2) ? 0x11 : 0x10, 0, 0);
      else if (op === 1) t.insertInGroup(slot - (slot % 8), 2, 0x11, 0, 0);
      else t.clear(slot);
    }
    expect(t.valid).toBe(t.countValid());
    expect(t.valid).toBeGreaterThan(0);
  });

  it('a table of several pieces: the pieces join to one section that decodes back, with the counts of its bytes', () => {
    // 300000 records (6 MB) cross the 4 MiB piece: the header, then whole regions per piece.
    const t = new HashTable(64 * MiB);
    for (let k = 0; k < 300000; k++) {
      const slot = (k * 13) % t.slots;
      t.write(slot, k >>> 3, (0x11 | ((k & 1) << 2) | ((k % 3 === 0 ? 1 : 0) << 1) | (k << 7)) | 0, 0, (k << 12) | 0x190);
    }
    const s = hptSection(t);
    const pieces: Buffer[] = [];
    for (const p of s.pieces()) pieces.push(Buffer.from(p)); // copied as it comes: the encoder reuses its buffer
    expect(pieces.length).toBeGreaterThan(1);
    const bytes = Buffer.concat(pieces);
    expect(bytes.length).toBe(s.length);
    expect(bytes.equals(Buffer.from(encodeHpt(t)))).toBe(true);
    const back = decodeHpt(bytes);
    expect(back.countValid()).toBe(t.valid);
    for (const slot of [0, 13, 13 * 299999 % t.slots]) expect([back.v(slot), back.r(slot)]).toEqual([t.v(slot), t.r(slot)]);
    expect(s.stats()).toEqual(hptSectionStats(bytes));
    expect(s.stats()).toEqual(t.stats());
  });

  it('refuses the older layout (HPT1) and a section whose length does not match its count', () => {
    const t = new HashTable(1 * MiB);
    t.write(5, 1, 1, 0, 0);
    const good = encodeHpt(t);
    const old = Buffer.from(good);
    old.writeUInt32BE(0x48505431, 0);
    expect(() => decodeHpt(old)).toThrow(/magic/);
    const short = Buffer.from(good);
    short.writeUInt32BE(2, 8);
    expect(() => decodeHpt(short)).toThrow(/bytes for 2 entries/);
    expect(() => hptSectionStats(short)).toThrow(HptFormatError);
  });
});
