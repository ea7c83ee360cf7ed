import * as fs from 'fs';
import * as path from 'path';
import { encodeContainer, decodeContainer, joinPieces } from '../../src/state/container';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { StateError } from '../../src/util/errors';
import { cli, tempDir } from '../helpers/cli';

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

  it('a failed construct leaves the previous state whole', async () => {
    const f = path.join(dir, 's', 'state.bin');
    const before = fs.readFileSync(f);
    const r = await cli(['construct', '--mem', '64G', '--state', 's'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(fs.readFileSync(f).equals(before)).toBe(true);
    expect(fs.readdirSync(path.join(dir, 's')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
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
    expect(JSON.parse(r.out).table.domid).toBe(0);
  });
});
