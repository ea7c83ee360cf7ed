import * as fs from 'fs';
import * as path from 'path';
import { HEADER_BYTES, MemoryFile, NO_DOMAIN, SECTION, StateContainer, joinPieces, writeContainer } from '../../src/state/container';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { crc32, crc32Table } from '../../src/util/crc32';
import { decodeHpt, encodeHpt } from '../../src/hpt/codec';
import { StateError } from '../../src/util/errors';
import { MiB } from '../../src/util/size';
import { closeOpenStates, loadState, saveTuning } from '../../src/commands/state_store';
import { cli, tempDir } from '../helpers/cli';

/**
 * Fault injection for the writer: when mockFault(syscall, path) says so, that fs call throws the
 * errno given instead (the code under test calls fs through this module).
 */
let mockFault: ((call: string, p: string) => string | undefined) | undefined;

/** Run the CLI with `fault` injected into the writer's fs calls, and take it away after. */
async function underFault(fault: (call: string, p: string) => string | undefined, args: string[], cwd: string): Promise<Awaited<ReturnType<typeof cli>>> {
  mockFault = fault;
  try {
    return await cli(args, { cwd });
  } finally {
    mockFault = undefined;
  }
}
jest.mock('fs', () => {
  const real = jest.requireActual('fs');
  const wrap = (call: string, fn: (...a: any[]) => any) => (...args: any[]) => {
    const code = mockFault?.(call, String(args[0]));
    if (code) throw Object.assign(new Error(`${code}: injected, ${call} '${args[0]}'`), { code, syscall: call, path: String(args[0]) });
    return fn(...args);
  };
  return { ...real, renameSync: wrap('rename', real.renameSync), openSync: wrap('open', real.openSync), linkSync: wrap('link', real.linkSync) };
});

function sec(kind: number, domid: number, index: number, bytes: Uint8Array) {
  return { kind: kind as 1, domid, index, length: bytes.length, pieces: () => [bytes] };
}

describe('state container', () => {
  it('crc32 is the IEEE one (zlib\'s and the table agree with the check value)', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Table(check)).toBe(0xcbf43926);
    const big = new Uint8Array(100_003).map((_, i) => (i * 31) & 0xff);
    expect(crc32Table(big)).toBe(crc32(big));
    expect(crc32(big.subarray(500), crc32(big.subarray(0, 500)))).toBe(crc32(big));
  });

  it('round-trips sections by kind, domain and index, read at their offsets', () => {
    const f = new MemoryFile();
    writeContainer(f, [sec(SECTION.structure, NO_DOMAIN, 0, Buffer.from('{"a":1}')), sec(SECTION.rmaChunk, 0, 7, new Uint8Array(9).fill(7)), sec(SECTION.hpt, 3, 0, new Uint8Array(0))]);
    const c = StateContainer.open(f, 'x');
    expect(Buffer.from(c.read(c.find(SECTION.structure)!)).toString()).toBe('{"a":1}');
    expect([...c.read(c.find(SECTION.rmaChunk, 0, 7)!)]).toEqual(new Array(9).fill(7));
    expect(c.find(SECTION.rmaChunk, 0, 6)).toBeUndefined();
    expect(c.read(c.find(SECTION.hpt, 3)!).length).toBe(0);
    for (const e of c.entries) expect(e.offset % 8).toBe(0);
  });

  it('appends to a copy: carried sections keep their offsets, new ones go after the old end', () => {
    const f = new MemoryFile();
    writeContainer(f, [sec(SECTION.structure, NO_DOMAIN, 0, Buffer.from('old')), sec(SECTION.rmaChunk, 0, 0, new Uint8Array(64).fill(1))]);
    const old = StateContainer.open(f, 'old');
    const chunk = old.find(SECTION.rmaChunk, 0, 0)!;
    const copy = new MemoryFile(new Uint8Array(f.contents()));
    writeContainer(copy, [sec(SECTION.structure, NO_DOMAIN, 0, Buffer.from('new')), { kind: SECTION.rmaChunk, domid: 0, index: 0, carried: chunk, from: old }], { appendTo: old });
    const c = StateContainer.open(copy, 'new');
    expect(c.find(SECTION.rmaChunk, 0, 0)!.offset).toBe(chunk.offset);
    expect(c.find(SECTION.structure)!.offset).toBeGreaterThanOrEqual(old.size);
    expect(Buffer.from(c.read(c.find(SECTION.structure)!)).toString()).toBe('new');
    expect([...c.read(c.find(SECTION.rmaChunk, 0, 0)!)]).toEqual(new Array(64).fill(1));
  });

  it('refuses truncated, foreign, other-version and modified files; a bad section only when it is read', () => {
    const f = new MemoryFile();
    writeContainer(f, [sec(SECTION.structure, NO_DOMAIN, 0, Buffer.from('{}')), sec(SECTION.rmaChunk, 0, 0, new Uint8Array(100))]);
    const buf = f.contents();
    const open = (b: Uint8Array) => StateContainer.open(new MemoryFile(new Uint8Array(b)), 'f');
    expect(() => open(buf.subarray(0, buf.length - 10))).toThrow(/truncated/);
    expect(() => open(buf.subarray(0, 10))).toThrow(/truncated/);
    const foreign = Buffer.from(buf);
    foreign.write('NOTSTATE', 0, 'latin1');
    expect(() => open(foreign)).toThrow(/bad magic/);
    const v2 = Buffer.from(buf);
    v2.writeUInt32BE(2, 8); // the single-seal format before sections were read on demand
    expect(() => open(v2)).toThrow(/format version 2; this ppc-dombuild reads version 5/);
    const v4 = Buffer.from(buf);
    v4.writeUInt32BE(4, 8); // hash tables saved as two lists (HPT1), before they were streamed
    v4.writeUInt32BE(crc32(v4.subarray(0, 28)), 28);
    expect(() => open(v4)).toThrow(/format version 4; this ppc-dombuild reads version 5/);
    const header = Buffer.from(buf);
    header[13] ^= 1;
    expect(() => open(header)).toThrow(/header checksum/);
    const body = Buffer.from(buf);
    const chunk = open(buf).find(SECTION.rmaChunk, 0, 0)!;
    body[chunk.offset + 50] ^= 1;
    const c = open(body); // the table is fine: the damage is found when the chunk is read
    expect(Buffer.from(c.read(c.find(SECTION.structure)!)).toString()).toBe('{}');
    expect(() => c.read(c.find(SECTION.rmaChunk, 0, 0)!)).toThrow(StateError);
    expect(() => c.read(c.find(SECTION.rmaChunk, 0, 0)!)).toThrow(/rmaChunk 0 of dom0 checksum mismatch/);
    expect(HEADER_BYTES).toBe(32);
  });
});

describe('saved state', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('state');
    expect((await cli(['construct', '--mem', '1G', '--linear-page', '4K', '--state', 's'], { cwd: dir })).code).toBe(0);
  });

  it('decodes to the same system and re-encodes byte for byte', () => {
    const buf = fs.readFileSync(path.join(dir, 's', 'state.bin'));
    const sys = decodeState(buf, 'x');
    expect(joinPieces(encodeState(sys)).equals(buf)).toBe(true);
    expect(sys.dom0().p2m().get(0)).toBe(sys.dom0().rma.mfn);
  });

  it("the hash table's saved counts are what the decoded table counts", () => {
    const sys = decodeState(fs.readFileSync(path.join(dir, 's', 'state.bin')), 'x');
    const bytes = sys.dom0().hptForSave().saved!.load();
    const decoded = decodeHpt(bytes).stats();
    expect(sys.dom0().hptStats()).toEqual(decoded);
    expect(decoded.valid).toBe(1024 * 256);
    expect(decodeHpt(encodeHpt(decodeHpt(bytes))).stats()).toEqual(decoded);
  });

  it('reads only the sections a command uses: a damaged chunk elsewhere fails validate (3), not inspect p2m --pfn 0', async () => {
    const d = tempDir('ondemand');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const file = path.join(d, 's', 'state.bin');
    const c = StateContainer.open(new MemoryFile(fs.readFileSync(file)), file);
    const sys = decodeState(fs.readFileSync(file), 'x');
    // The chunk holding the table's last entries, not the one holding pfn 0's.
    const d0 = sys.dom0();
    const dtChunk = Math.floor((d0.p2mPaddr + d0.p2mEntries * 4 - 1) / MiB);
    expect(Math.floor(d0.p2mPaddr / MiB)).not.toBe(dtChunk);
    const e = c.find(SECTION.rmaChunk, 0, dtChunk)!;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0xde, 0xad]), 0, 2, e.offset + 100);
    fs.closeSync(fd);
    const ok = await cli(['inspect', 'p2m', '--pfn', '0', '--state', 's'], { cwd: d });
    expect(ok.code).toBe(0);
    const bad = await cli(['validate', '--state', 's'], { cwd: d });
    expect(bad.code).toBe(3);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(new RegExp(`rmaChunk ${dtChunk} of dom0 checksum mismatch`));
  });

  it.each([
    ['missing', (_f: string) => fs.rmSync(_f)],
    ['truncated', (f: string) => fs.truncateSync(f, 1000)],
    ['corrupted', (f: string) => {
      const b = fs.readFileSync(f);
      b[b.length - 40] ^= 0xff; // in the section table
      fs.writeFileSync(f, b);
    }],
    ['empty', (f: string) => fs.writeFileSync(f, '')],
  ])('%s state: exit 3, one line, nothing changed', async (_name, damage) => {
    const d = tempDir('bad');
    expect((await cli(['construct', '--mem', '1G'], { cwd: d })).code).toBe(0);
    const f = path.join(d, '.ppc-dombuild', 'state.bin');
    damage(f);
    const before = fs.existsSync(f) ? fs.readFileSync(f) : undefined;
    for (const args of [['inspect', 'p2m'], ['inspect', 'rma'], ['inspect', 'devtree'], ['inspect', 'machine'], ['create-domu', '--mem', '256M']]) {
      const r = await cli(args, { cwd: d });
      expect(r.code).toBe(3);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/state|construct/);
    }
    const after = fs.existsSync(f) ? fs.readFileSync(f) : undefined;
    expect(after === undefined ? before === undefined : !!before && after.equals(before)).toBe(true);
  });

  it('an old-format state is refused with exit 3 and a line saying to construct again', async () => {
    const d = tempDir('old');
    fs.mkdirSync(path.join(d, 's'));
    const old = Buffer.alloc(64);
    old.write('PPCDOMB\0', 0, 'latin1');
    old.writeUInt32BE(2, 8);
    fs.writeFileSync(path.join(d, 's', 'state.bin'), old);
    const r = await cli(['list', '--state', 's'], { cwd: d });
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/format version 2.*run `ppc-dombuild construct` again/);
    // construct over it replaces it (the old regular file becomes a link to the new generation).
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    expect(fs.lstatSync(path.join(d, 's', 'state.bin')).isSymbolicLink()).toBe(true);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
  });

  it('a construct refused before it writes leaves the previous state whole', async () => {
    const f = path.join(dir, 's', 'state.bin');
    const before = fs.readFileSync(f);
    const r = await cli(['construct', '--mem', '64G', '--state', 's'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(fs.readFileSync(f).equals(before)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 's')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it.each([
    // Written whole, then not swapped in: the folder stays for the next writer to clear.
    ['the swap of the generation link fails', 'rename', (p: string) => path.basename(p).startsWith('current.'), 'EIO', 2],
    // The save fails while writing: it removes its own half-written folder.
    ['the disk fills writing dom0-p2m.bin', 'open', (p: string) => p.endsWith('dom0-p2m.bin') && p.includes('gen-'), 'ENOSPC', 1],
  ])('%s: one line (exit 74), the previous state and exports stay whole and agree; nothing is left after the next run', async (_what, call, match, code, generations) => {
    const d = tempDir('atomic');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const sdir = path.join(d, 's');
    const read = () => Object.fromEntries(['state.bin', 'dom0.dtb', 'dom0-p2m.bin'].map((n) => [n, fs.readFileSync(path.join(sdir, n))]));
    const before = read();
    const r = await underFault((c, p) => (c === call && match(p) ? code : undefined), ['construct', '--mem', '2G', '--state', 's'], d);
    expect(r.code).toBe(74);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    if (code === 'ENOSPC') expect(r.err).toMatch(/no space left.*free some space/);
    const after = read();
    for (const n of Object.keys(before)) expect(after[n].equals(before[n])).toBe(true);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
    expect(fs.readdirSync(sdir).filter((n) => n.startsWith('gen-')).length).toBe(generations);
    expect((await cli(['construct', '--mem', '2G', '--state', 's'], { cwd: d })).code).toBe(0);
    expect(fs.readdirSync(sdir).filter((n) => n.startsWith('gen-')).length).toBe(1);
    expect(decodeState(fs.readFileSync(path.join(sdir, 'state.bin')), 'x').dom0().totPages).toBe((2 * 1024 * MiB) / 4096);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
  });

  it('validate checks the exports against the state (exports-match)', async () => {
    const d = tempDir('exports');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const p2m = path.join(d, 's', 'dom0-p2m.bin');
    const b = fs.readFileSync(p2m);
    b[100] ^= 1;
    fs.writeFileSync(p2m, b);
    const r = await cli(['validate', '--state', 's'], { cwd: d });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/│ exports-match +│ BROKEN/);
    expect(r.out).toMatch(/dom0-p2m\.bin differs from the state/);
  });

  it('a state-changing command on a large-ish state carries unread sections over (changed state, same unchanged bytes)', async () => {
    const d = tempDir('carry');
    expect((await cli(['construct', '--mem', '1G', '--linear-page', '4K', '--state', 's'], { cwd: d })).code).toBe(0);
    const oldFile = fs.readFileSync(path.join(d, 's', 'state.bin'));
    const before = decodeState(oldFile, 'a');
    expect((await cli(['create-domu', '--mem', '256M', '--state', 's'], { cwd: d })).code).toBe(0);
    const newFile = fs.readFileSync(path.join(d, 's', 'state.bin'));
    const after = decodeState(newFile, 'b');
    expect(after.domains.size).toBe(2);
    // Carried, not encoded again: dom0's hash table and every RMA chunk of it are the old file's sections
    // where they were (same offset, part and CRC, as the append test above checks), and what the save
    // wrote anew (the structure, the new domain) lies past the old file's end.
    const was = StateContainer.open(new MemoryFile(new Uint8Array(oldFile)), 'a');
    const now = StateContainer.open(new MemoryFile(new Uint8Array(newFile)), 'b');
    const at = (e: { offset: number; length: number; crc: number; part?: string } | undefined) => e && { offset: e.offset, length: e.length, crc: e.crc, part: e.part };
    const chunks = was.entries.filter((e) => e.kind === SECTION.rmaChunk && e.domid === 0);
    expect(chunks.length).toBeGreaterThan(0);
    for (const e of [was.find(SECTION.hpt, 0)!, ...chunks]) expect(at(now.find(e.kind, e.domid, e.index))).toEqual(at(e));
    expect(now.find(SECTION.structure)!.offset).toBeGreaterThanOrEqual(was.size);
    const fresh = now.entries.filter((e) => e.domid === 1);
    expect(fresh.length).toBeGreaterThan(0);
    for (const e of fresh) expect(e.offset).toBeGreaterThanOrEqual(was.size);
    expect(Buffer.from(after.dom0().hptForSave().saved!.load()).equals(Buffer.from(before.dom0().hptForSave().saved!.load()))).toBe(true);
    const d0 = before.dom0();
    expect(Buffer.concat(after.dom0().memory.slices(d0.p2mPaddr, d0.p2mEntries * 4)).equals(Buffer.concat(d0.memory.slices(d0.p2mPaddr, d0.p2mEntries * 4)))).toBe(true);
    expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
  });

  it('on a large state (here: any, the threshold lowered) unchanged sections stay in hard-linked part files; the state is the one the copy path makes', async () => {
    const linked = tempDir('link');
    const copied = tempDir('link');
    const steps = [['construct', '--mem', '1G', '--linear-page', '4K'], ['create-domu', '--mem', '256M'], ['create-domu', '--mem', '256M'], ['destroy-domu', '--domid', '1']];
    const min = saveTuning.linkMinBytes;
    try {
      for (const args of steps) {
        saveTuning.linkMinBytes = 0;
        const before = fs.statSync(path.join(linked, 's', 'state.bin'), { throwIfNoEntry: false });
        expect((await cli([...args, '--state', 's'], { cwd: linked })).code).toBe(0);
        saveTuning.linkMinBytes = min;
        expect((await cli([...args, '--state', 's'], { cwd: copied })).code).toBe(0);
        const gen = fs.realpathSync(path.join(linked, 's', 'current'));
        const parts = fs.readdirSync(gen).filter((n) => n.startsWith('part-'));
        if (args[0] === 'construct') expect(parts).toEqual([]);
        else {
          // The previous state file is in the new generation under a part name: the same file, not a copy.
          expect(parts.map((n) => fs.statSync(path.join(gen, n)).ino)).toContain(before!.ino);
        }
        expect((await cli(['validate', '--state', 's'], { cwd: linked })).code).toBe(0);
        const a = loadState(path.join(linked, 's'));
        const b = loadState(path.join(copied, 's'));
        expect(joinPieces(encodeState(a)).equals(joinPieces(encodeState(b)))).toBe(true);
        closeOpenStates();
      }
      expect((await cli(['inspect', 'p2m', '--pfn', '0', '--state', 's'], { cwd: linked })).out).toBe((await cli(['inspect', 'p2m', '--pfn', '0', '--state', 's'], { cwd: copied })).out);
      // Read alone, the state file knows where its sections are and says so when one is elsewhere.
      const alone = decodeState(fs.readFileSync(path.join(linked, 's', 'state.bin')), 'alone');
      expect(alone.domains.size).toBe(2);
      expect(() => alone.dom0().hptForSave().saved!.load()).toThrow(/incomplete: section hpt of dom0 is in part-[0-9a-f]{16}\.bin, which is not beside it/);
    } finally {
      saveTuning.linkMinBytes = min;
      closeOpenStates();
    }
  });

  it('linking fails (the disk fills): exit 74, the previous state stays whole; a missing part is exit 3 for the commands that read it', async () => {
    const d = tempDir('linkfail');
    const min = saveTuning.linkMinBytes;
    saveTuning.linkMinBytes = 0;
    try {
      expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
      const sdir = path.join(d, 's');
      const before = fs.readFileSync(path.join(sdir, 'state.bin'));
      const r = await underFault((c, p) => (c === 'link' && path.basename(p) === 'state.bin' ? 'ENOSPC' : undefined), ['create-domu', '--mem', '256M', '--state', 's'], d);
      expect(r.code).toBe(74);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(fs.readFileSync(path.join(sdir, 'state.bin')).equals(before)).toBe(true);
      expect((await cli(['validate', '--state', 's'], { cwd: d })).code).toBe(0);
      expect((await cli(['create-domu', '--mem', '256M', '--state', 's'], { cwd: d })).code).toBe(0);
      const gen = fs.realpathSync(path.join(sdir, 'current'));
      for (const n of fs.readdirSync(gen).filter((x) => x.startsWith('part-'))) fs.rmSync(path.join(gen, n));
      expect((await cli(['inspect', 'machine', '--state', 's'], { cwd: d })).code).toBe(0);
      const v = await cli(['validate', '--state', 's'], { cwd: d });
      expect(v.code).toBe(3);
      expect(v.err).toMatch(/incomplete: section .* is in part-[0-9a-f]{16}\.bin, which is not beside it/);
    } finally {
      saveTuning.linkMinBytes = min;
    }
  });

  it('is a function of its inputs: the same construct gives the same bytes', async () => {
    const a = tempDir('det');
    const b = tempDir('det');
    for (const d of [a, b]) expect((await cli(['construct', '--mem', '1G', '--linear-page', '4K', '--initrd-size', '1M'], { cwd: d })).code).toBe(0);
    for (const f of ['state.bin', 'dom0.dtb', 'dom0-p2m.bin']) {
      expect(fs.readFileSync(path.join(a, '.ppc-dombuild', f)).equals(fs.readFileSync(path.join(b, '.ppc-dombuild', f)))).toBe(true);
    }
  });

  it('finds the state through PPC_DOMBUILD_STATE', async () => {
    const r = await cli(['inspect', 'p2m', '--json'], { cwd: '/', env: { PPC_DOMBUILD_STATE: path.join(dir, 's') } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).domid).toBe(0);
  });
});

describe('errors around files: one line, a documented code, never 70', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('fileerr');
    expect((await cli(['construct', '--mem', '1G'], { cwd: dir })).code).toBe(0);
    fs.writeFileSync(path.join(dir, 'plain'), 'x');
  });

  it.each([
    ['inspect rma --svg into a missing folder', ['inspect', 'rma', '--svg', '/nonexistent/x.svg'], /cannot write \/nonexistent\/x\.svg: no such file or folder/],
    ['inspect devtree --dtb into a missing folder', ['inspect', 'devtree', '--dtb', '/nonexistent/x.dtb'], /cannot write \/nonexistent\/x\.dtb/],
    ['--state at an ordinary file (read)', ['list', '--state', 'plain'], /is a file, not a folder/],
    ['--state at an ordinary file (write)', ['create-domu', '--mem', '256M', '--state', 'plain'], /is a file, not a folder/],
    ['--svg onto a folder', ['inspect', 'rma', '--svg', '.'], /cannot write/],
  ])('%s: exit 74', async (_what, args, msg) => {
    const r = await cli(args as string[], { cwd: dir });
    expect(r.code).toBe(74);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(msg as RegExp);
    expect(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
