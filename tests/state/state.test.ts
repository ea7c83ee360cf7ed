import * as fs from 'fs';
import * as path from 'path';
import { encodeContainer, decodeContainer, joinPieces } from '../../src/state/container';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { StateError } from '../../src/util/errors';
import { MiB } from '../../src/util/size';
import { cli, tempDir } from '../helpers/cli';

/**
 * Fault injection for the atomic writer: when mockRenameFault(from, to) says so, fs.renameSync
 * throws EIO instead of renaming (the code under test calls fs.renameSync through this module).
 */
let mockRenameFault: ((from: string, to: string) => boolean) | undefined;
jest.mock('fs', () => {
  const real = jest.requireActual('fs');
  return {
    ...real,
    renameSync: (from: string, to: string) => {
      if (mockRenameFault?.(String(from), String(to))) throw Object.assign(new Error(`EIO: injected, rename '${from}' -> '${to}'`), { code: 'EIO' });
      return real.renameSync(from, to);
    },
  };
});

/** Every regular file in a directory, by name. */
function snapshotDir(dir: string): Map<string, Buffer> {
  return new Map(fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile()).map((n) => [n, fs.readFileSync(path.join(dir, n))]));
}

describe('state container', () => {
  it('round-trips a document and its sections', () => {
    const secs = new Map([['a', new Uint8Array([1, 2, 3])], ['b', new Uint8Array(0)], ['c', new Uint8Array(9).fill(7)]]);
    const buf = joinPieces(encodeContainer({ hello: 'world' }, secs));
    const { doc, sections } = decodeContainer(buf, 'x');
    expect(doc.hello).toBe('world');
    expect([...sections.get('c')!]).toEqual(new Array(9).fill(7));
    expect(sections.get('b')!.length).toBe(0);
  });

  it('refuses truncated, foreign, other-version and modified files', () => {
    const buf = joinPieces(encodeContainer({ x: 1 }, new Map([['s', new Uint8Array(100)]])));
    expect(() => decodeContainer(buf.subarray(0, 40), 'f')).toThrow(/checksum|truncated/);
    expect(() => decodeContainer(buf.subarray(0, 10), 'f')).toThrow(/truncated/);
    const foreign = Buffer.from(buf);
    foreign.write('NOTSTATE', 0, 'latin1');
    expect(() => decodeContainer(foreign, 'f')).toThrow(/bad magic/);
    const v2 = Buffer.from(buf);
    v2.writeUInt32BE(1, 8); // the first format, before typed sections
    expect(() => decodeContainer(v2, 'f')).toThrow(/format version 1/);
    const flipped = Buffer.from(buf);
    flipped[60] ^= 1;
    expect(() => decodeContainer(flipped, 'f')).toThrow(StateError);
    expect(() => decodeContainer(flipped, 'f')).toThrow(/checksum mismatch/);
  });
});

describe('saved state', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('state');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: dir })).code).toBe(0);
  });

  it('decodes to the same system and re-encodes byte for byte', () => {
    const buf = fs.readFileSync(path.join(dir, 's', 'state.bin'));
    const sys = decodeState(buf, 'x');
    expect(joinPieces(encodeState(sys)).equals(buf)).toBe(true);
    expect(sys.dom0().p2m().get(0)).toBe(sys.dom0().rma.mfn);
  });

  it.each([
    ['missing', (_f: string) => fs.rmSync(_f)],
    ['truncated', (f: string) => fs.truncateSync(f, 1000)],
    ['corrupted', (f: string) => {
      const b = fs.readFileSync(f);
      b[b.length >> 1] ^= 0xff;
      fs.writeFileSync(f, b);
    }],
    ['empty', (f: string) => fs.writeFileSync(f, '')],
  ])('%s state: exit 3, one line, nothing changed', async (_name, damage) => {
    const d = tempDir('bad');
    expect((await cli(['construct', '--mem', '1G'], { cwd: d })).code).toBe(0);
    const f = path.join(d, '.ppc-dombuild', 'state.bin');
    damage(f);
    const before = fs.existsSync(f) ? fs.readFileSync(f) : undefined;
    for (const args of [['inspect', 'p2m'], ['inspect', 'rma'], ['inspect', 'devtree'], ['inspect', 'machine']]) {
      const r = await cli(args, { cwd: d });
      expect(r.code).toBe(3);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/state|construct/);
    }
    const after = fs.existsSync(f) ? fs.readFileSync(f) : undefined;
    expect(after === undefined ? before === undefined : !!before && after.equals(before)).toBe(true);
  });

  it('a construct refused before it writes leaves the previous state whole', async () => {
    const f = path.join(dir, 's', 'state.bin');
    const before = fs.readFileSync(f);
    const r = await cli(['construct', '--mem', '64G', '--state', 's'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(fs.readFileSync(f).equals(before)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 's')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it("state.bin's rename failing after its temp file was written and flushed: the previous state and exports stay whole", async () => {
    const d = tempDir('atomic');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const sdir = path.join(d, 's');
    const before = snapshotDir(sdir);
    const target = path.join(sdir, 'state.bin');
    const seen: string[] = [];
    mockRenameFault = (from, to) => {
      if (to !== target) return false;
      seen.push(from);
      // The temp file is there, whole: the writer got past the write and fsync.
      expect(fs.statSync(from).size).toBeGreaterThan(before.get('state.bin')!.length);
      return true;
    };
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli(['construct', '--mem', '2G', '--state', 's'], { cwd: d });
    } finally {
      mockRenameFault = undefined;
    }
    expect(seen).toEqual([`${target}.${process.pid}.tmp`]);
    expect(r.code).not.toBe(0);
    const after = snapshotDir(sdir);
    // The previous state and both exports, byte for byte, and the state still decodes.
    for (const name of ['state.bin', 'dom0.dtb', 'dom0-p2m.bin']) expect(after.get(name)!.equals(before.get(name)!)).toBe(true);
    expect(decodeState(after.get('state.bin')!, 'x').dom0().totPages).toBe((1024 * MiB) / 4096);
    // What the code does today: writeAtomic only removes its temp file when a write fails, not when
    // the rename does, so state.bin's temp file (the would-be 2 GiB state) is left behind.
    expect([...after.keys()].filter((n) => n.endsWith('.tmp'))).toEqual([`state.bin.${process.pid}.tmp`]);
  });

  it('an export target that is a directory: the state is whole (the new one), the other export is stale', async () => {
    const d = tempDir('atomic-dir');
    expect((await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: d })).code).toBe(0);
    const sdir = path.join(d, 's');
    const before = snapshotDir(sdir);
    // dom0.dtb becomes a non-empty directory: the rename of its temp file over it fails (EISDIR),
    // after state.bin was already written and renamed into place.
    fs.rmSync(path.join(sdir, 'dom0.dtb'));
    fs.mkdirSync(path.join(sdir, 'dom0.dtb', 'x'), { recursive: true });
    const r = await cli(['construct', '--mem', '2G', '--state', 's'], { cwd: d });
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/dom0\.dtb/);
    const after = snapshotDir(sdir);
    // A clean construct of the same inputs elsewhere gives the bytes the new state must have.
    const clean = tempDir('atomic-clean');
    expect((await cli(['construct', '--mem', '2G', '--state', 's'], { cwd: clean })).code).toBe(0);
    const want = snapshotDir(path.join(clean, 's'));
    // state.bin is whole: exactly one of the two states, never a mixture. The code saves the state
    // first, so it is the new 2 GiB one (the previous state is gone), while dom0-p2m.bin, written
    // after the failed dtb, is still the 1 GiB export: state and exports disagree.
    const state = after.get('state.bin')!;
    expect(state.equals(want.get('state.bin')!)).toBe(true);
    expect(state.equals(before.get('state.bin')!)).toBe(false);
    expect(decodeState(state, 'x').dom0().totPages).toBe((2 * 1024 * MiB) / 4096);
    expect(after.get('dom0-p2m.bin')!.equals(before.get('dom0-p2m.bin')!)).toBe(true);
    expect(fs.statSync(path.join(sdir, 'dom0.dtb')).isDirectory()).toBe(true);
    // What the code does today: the dtb's temp file, whole, is left behind.
    expect([...after.keys()].filter((n) => n.endsWith('.tmp'))).toEqual([`dom0.dtb.${process.pid}.tmp`]);
    expect(after.get(`dom0.dtb.${process.pid}.tmp`)!.equals(want.get('dom0.dtb')!)).toBe(true);
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
