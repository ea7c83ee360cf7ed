/**
 * Bounded property-based sweeps (fixed seeds, a few hundred runs in all):
 * mutated firmware blobs, argument vectors and forged states through the
 * CLI in-process. Whatever the input: exit 0, 1, 2 or 3; at most one line
 * on stderr, exactly one when the exit is not 0; never a stack trace; and a
 * refusal writes nothing. `npm run fuzz` runs the same sweeps at scale.
 */
import * as fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';
import { decodeState, encodeState } from '../../src/state/snapshot';
import { joinPieces } from '../../src/state/container';
import { cli, CliResult, tempDir } from '../helpers/cli';
import { applyBlobEdits, argv, blobEdit, FORGERIES } from './mutate';

const FW = path.resolve(__dirname, '../../fixtures/firmware');
const FIXTURES = fs.readdirSync(FW).filter((f) => f.endsWith('.dtb')).map((f) => fs.readFileSync(path.join(FW, f)));

function wellBehaved(r: CliResult): void {
  expect([0, 1, 2, 3]).toContain(r.code);
  const lines = r.err.split('\n').filter((l) => l !== '');
  if (r.code !== 0) expect(lines).toHaveLength(1);
  else expect(lines.length).toBeLessThanOrEqual(1);
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
}

describe('fuzz: firmware blobs', () => {
  const dir = tempDir('fuzzfw');
  it('mutated fixtures: limits and construct exit 0/1/2 with one line, and a refusal writes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: FIXTURES.length - 1 }), fc.array(blobEdit, { minLength: 1, maxLength: 4 }), fc.boolean(), async (which, edits, build) => {
        fs.writeFileSync(path.join(dir, 'fw.dtb'), applyBlobEdits(FIXTURES[which]!, edits));
        fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
        const r = build
          ? await cli(['construct', '--firmware-dtb', 'fw.dtb', '--no-boot', '--state', 'out'], { cwd: dir })
          : await cli(['limits', '--firmware-dtb', 'fw.dtb', '--json'], { cwd: dir });
        wellBehaved(r);
        expect(r.code).not.toBe(3);
        if (build && r.code !== 0) expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
      }),
      { seed: 13, numRuns: 80 },
    );
  });
});

describe('fuzz: argument vectors', () => {
  const dir = tempDir('fuzzargs');
  beforeAll(async () => {
    expect((await cli(['construct', '--mem', '256M', '--max-mem', '512M', '--no-boot'], { cwd: dir })).code).toBe(0);
  });
  it('any argv: exit 0-3, one line on a refusal', async () => {
    const state = path.join(dir, '.ppc-dombuild', 'state.bin');
    await fc.assert(
      fc.asyncProperty(argv.filter((a) => a[0] !== 'construct' && a[0] !== 'audit'), async (args) => {
        const before = fs.readFileSync(state);
        const r = await cli(args, { cwd: dir });
        wellBehaved(r);
        if (r.code !== 0) expect(fs.readFileSync(state).equals(before)).toBe(true);
      }),
      { seed: 13, numRuns: 80 },
    );
  });
});

describe('fuzz: forged states', () => {
  const base = tempDir('fuzzstate');
  beforeAll(async () => {
    expect((await cli(['construct', '--mem', '256M', '--max-mem', '512M', '--no-boot', '--state', base], { cwd: base })).code).toBe(0);
    expect((await cli(['create-domu', '--mem', '64M', '--state', base], { cwd: base })).code).toBe(0);
  });
  const COMMANDS = [['list'], ['validate'], ['balloon', '--target', '256M'], ['balloon', '--domid', '1', '--target', '32M'], ['destroy-domu', '--domid', '1'], ['inspect', 'p2m', '--domid', '1'], ['create-domu', '--mem', '64M'], ['inspect', 'devtree']];
  it('a state changed in memory and resealed: exit 0-3 with one line, refused before anything is written', async () => {
    const saved = fs.readFileSync(path.join(base, 'state.bin'));
    const dir = tempDir('forged');
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: FORGERIES.length - 1 }), fc.nat({ max: 1000 }), fc.nat({ max: COMMANDS.length - 1 }), async (which, n, cmd) => {
        const sys = decodeState(Buffer.from(saved), 'base'); // a copy: the System's memory is a view of the bytes
        FORGERIES[which]![1](sys, n);
        const bytes = joinPieces(encodeState(sys));
        fs.writeFileSync(path.join(dir, 'state.bin'), bytes);
        const r = await cli([...COMMANDS[cmd]!, '--state', dir], { cwd: dir });
        wellBehaved(r);
        if (r.code !== 0) expect(fs.readFileSync(path.join(dir, 'state.bin')).equals(bytes)).toBe(true);
      }),
      { seed: 13, numRuns: 60 },
    );
  });

  /** The base state forged, saved in a fresh folder, and validated there. */
  const validateForged = async (forge: (typeof FORGERIES)[number][1]): Promise<CliResult> => {
    const sys = decodeState(fs.readFileSync(path.join(base, 'state.bin')), 'base');
    forge(sys, 2);
    const dir = tempDir('forged');
    fs.writeFileSync(path.join(dir, 'state.bin'), joinPieces(encodeState(sys)));
    return cli(['validate', '--state', dir], { cwd: dir });
  };

  it.each(FORGERIES.filter(([name]) => ['dom0 removed', 'a domid field changed', 'an extent added', 'a foreign mapping added', 'tot_pages changed'].includes(name)))('%s: refused at load (exit 3, one line, the rule)', async (_name, forge) => {
    const r = await validateForged(forge);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/^ppc-dombuild: state .* is corrupt: .+\n$/);
  });

  it("a dom0 p2m entry changed: dom0's table is read on demand, so validate names it (exit 1)", async () => {
    const r = await validateForged(FORGERIES.find(([name]) => name === 'a p2m entry changed')![1]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/invariant\(s\) broken: .*p2m-entries/);
  });
});
