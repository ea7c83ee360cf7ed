import { decodeHpt, encodeHpt, HptFormatError, hptSection } from '../../src/hpt/codec';
import { HashTable } from '../../src/hpt/table';
import { MiB } from '../../src/util/size';

describe('the saved hash table', () => {
  it('keeps only valid slots and round-trips them', () => {
    const t = new HashTable(64 * MiB);
    const slots = [0, 7, 8, 4095, 4096, 1234567, t.slots - 1];
    slots.forEach((s, i) => t.write(s, 0x408 + i, (0x80000011 + i * 128) | 0, i, (0x24000190 + i * 4096) | 0));
    const bytes = encodeHpt(t);
    const back = decodeHpt(bytes);
    expect(back.bytes).toBe(t.bytes);
    expect(back.countValid()).toBe(slots.length);
    for (const s of slots) expect([back.v(s), back.r(s)]).toEqual([t.v(s), t.r(s)]);
  });

  it('refuses a damaged section', () => {
    const t = new HashTable(1 * MiB);
    t.write(5, 1, 1, 0, 0);
    t.write(9, 1, 1, 0, 0);
    const good = Buffer.from(encodeHpt(t));
    expect(() => decodeHpt(good.subarray(0, good.length - 1))).toThrow(/runs past the end/);
    expect(() => decodeHpt(Buffer.concat([good, Buffer.of(0)]))).toThrow(/1 bytes after its 2 entries/);
    const badMagic = Buffer.from(good);
    badMagic[0] = 0;
    expect(() => decodeHpt(badMagic)).toThrow(/magic/);
    const badTag = Buffer.from(good);
    badTag[16] |= 0x80;
    expect(() => decodeHpt(badTag)).toThrow(/bad tag/);
    // Second record: an absolute slot (tag code 2) before the first one's: out of order.
    const h = Buffer.from('48505432000000140000000200000000' + '08' + '05' + '00000001' + '00000000' + '0a' + '00000004' + '00000001' + '00000000', 'hex');
    expect(() => decodeHpt(h)).toThrow(/out of order/);
    // A valid entry is all a section holds: v lo without the valid bit is refused.
    const invalid = Buffer.from('485054320000001400000001000000000800' + '00000010' + '00000000', 'hex');
    expect(() => decodeHpt(invalid)).toThrow(/saved but not valid/);
  });
});

describe('the saved hash table, streamed (HPT2)', () => {
  it('codes records as docs/state.md says: a gap or an absolute slot, words only where they differ from the last at that PTEG position, r lo as an RPN delta', () => {
    const t = new HashTable(2 * MiB); // 131072 slots
    t.write(9, 0x12345678, 0x9abcdef1 | 0, 0x0fedcba9, 0x87654321 | 0); // position 1, nothing to predict from
    t.write(17, 0x12345678, 0x9abcdef1 | 0, 0x0fedcba9, 0x87655321 | 0); // position 1 again: the next RPN
    t.write(70000, 0, 0x11, 0, 0x5190); // position 0, a gap past 16 bits: the slot itself
    t.write(70008, 0, 0x11, 0, 0x3000190); // RPN 0x3000, 0x2ffb past the last at position 0
    const b = Buffer.from(encodeHpt(t));
    const want = [
      '48505432' + '00000015' + '00000004' + '00000000', // "HPT2", 2^21 bytes, 4 records
      '1c' + '09' + '12345678' + '9abcdef1' + '0fedcba9' + '87654321', // v hi, v lo, r hi follow; gap 9; r lo whole
      '20' + '07' + '01', // gap 7 (17 = 9 + 1 + 7); r lo an i8 delta of +1
      '0a' + '00011170' + '00000011' + '00005190', // slot 70000; v lo follows; r lo whole (low 12 bits differ)
      '40' + '07' + '2ffb', // gap 7; r lo an i16 delta
    ].join('');
    expect(b.toString('hex').match(/.{1,2}/g)!.join(' ')).toBe(want.match(/.{1,2}/g)!.join(' '));
    const back = decodeHpt(b);
    for (const s of [9, 17, 70000, 70008]) expect([back.v(s), back.r(s)]).toEqual([t.v(s), t.r(s)]);
    expect(back.countValid()).toBe(4);
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
    // 300000 records of whole words (about 6 MB: no record predicts the next) cross the 4 MiB piece.
    const t = new HashTable(64 * MiB);
    let seed = 12345;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
    for (let k = 0; k < 300000; k++) {
      const slot = (k * 13) % t.slots;
      t.write(slot, rnd(), (0x11 | ((k & 1) << 2) | ((k % 3 === 0 ? 1 : 0) << 1) | (rnd() << 7)) | 0, rnd(), rnd());
    }
    const s = hptSection(t);
    const pieces: Buffer[] = [];
    for (const p of s.pieces()) pieces.push(Buffer.from(p)); // copied as it comes: the encoder reuses its buffer
    expect(pieces.length).toBeGreaterThan(1);
    const bytes = Buffer.concat(pieces);
    const back = decodeHpt(bytes);
    expect(back.countValid()).toBe(t.valid);
    // Every valid entry, slot and words, the same in the decoded table as in the original.
    const entries = (h: HashTable): number[][] => {
      const all: number[][] = [];
      h.forEachValid((...e) => all.push(e));
      return all;
    };
    const want = entries(t);
    const got = entries(back);
    expect(want).toHaveLength(300000);
    expect(got).toHaveLength(want.length);
    // (toEqual on 300000 entries takes seconds: the first that differs, if any, compared on its own.)
    const k = want.findIndex((e, i) => e.some((x, j) => x !== got[i][j]));
    expect(k === -1 ? undefined : { got: got[k], want: want[k] }).toBeUndefined();
    expect(s.stats()).toEqual(back.stats()); // the counts taken while coding are the decoded table's
    expect(s.stats()).toEqual(t.stats());
  });

  it('refuses the older layout (HPT1)', () => {
    const t = new HashTable(1 * MiB);
    t.write(5, 1, 1, 0, 0);
    const old = Buffer.from(encodeHpt(t));
    old.writeUInt32BE(0x48505431, 0);
    expect(() => decodeHpt(old)).toThrow(new HptFormatError('hash table section: bad magic'));
  });

  it('a linear map bolted with 4 KiB pages codes to about 3 bytes a record', () => {
    // The pages of one 256 MiB segment at the same positions of neighbouring groups (the
    // linear map's pattern, hpt/hash.ts): v the same, r one page on.
    const t = new HashTable(16 * MiB);
    const mask = t.ptegs - 1;
    for (let pfn = 0; pfn < 65536; pfn++) t.insertInGroup(((0x5a5a5 ^ pfn) & mask) * 8, 0x0c, (0x3000 + ((pfn >>> 11) << 7)) | 0x11, 0, ((0x100000 + pfn) << 12) | 0x190);
    const bytes = encodeHpt(t);
    expect(bytes.length).toBeLessThan(16 + 65536 * 3.1);
    expect(decodeHpt(bytes).stats()).toEqual(t.stats());
  });
});
