/**
 * Every command's --json validates against its schema in docs/schema/, and so
 * does the error document a failing --json command prints; the schemas are
 * strict enough that a renamed key fails.
 */
import * as fs from 'fs';
import * as path from 'path';
import { cli, tempDir } from '../helpers/cli';
import { contractErrors, SCHEMA_DIR } from './contract';

let dir: string;
const st = (): string[] => ['--state', path.join(dir, 'st')];

async function doc(args: string[], code = 0): Promise<Record<string, unknown>> {
  const r = await cli([...args, '--json'], { cwd: dir });
  if (r.code !== code) throw new Error(`${args.join(' ')}: exit ${r.code}, expected ${code}: ${r.err}`);
  return JSON.parse(r.out);
}

async function valid(args: string[], schema: string, code = 0): Promise<Record<string, unknown>> {
  const d = await doc(args, code);
  expect(d.schema).toBe(`ppc-dombuild/${schema}/1`);
  expect(contractErrors(d)).toEqual([]);
  return d;
}

beforeAll(async () => {
  dir = tempDir('json');
  expect((await cli(['construct', '--mem', '2G', ...st()], { cwd: dir })).code).toBe(0);
});

describe('each schema', () => {
  it('has a $id naming it and its version, and is the file named after its command', () => {
    for (const f of fs.readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json'))) {
      const s = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8'));
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id).toBe(`ppc-dombuild/${f.replace('.schema.json', '')}/1`);
    }
  });
});

describe('every command --json validates against docs/schema', () => {
  it('construct (booted and --no-boot)', async () => {
    const d = await valid(['construct', '--mem', '1G', '--state', path.join(dir, 'c1')], 'construct');
    expect((d.dom0 as { rma: { maddrs: { start: number; end: number } } }).rma.maddrs.end - (d.dom0 as { rma: { maddrs: { start: number } } }).rma.maddrs.start).toBe(64 * 2 ** 20);
    const n = await valid(['construct', '--mem', '1G', '--no-boot', '--state', path.join(dir, 'c2')], 'construct');
    expect(n.guest).toBeNull();
  });

  it('inspect p2m: runs, one pfn, a pfn in the IO hole', async () => {
    const d = await valid(['inspect', 'p2m', ...st()], 'inspect-p2m');
    const runs = d.runs as { pfns: { start: number; end: number }; mfns: unknown; use: string }[];
    const hole = runs.find((r) => r.pfns.start === 0x80000)!;
    expect(hole).toMatchObject({ pfns: { start: 0x80000, end: 0x100000 }, mfns: null, use: 'IO hole (not RAM)' });
    await valid(['inspect', 'p2m', '--pfn', '0x4000', ...st()], 'inspect-p2m');
    const h = await valid(['inspect', 'p2m', '--pfn', '0x90000', ...st()], 'inspect-p2m');
    expect((h.translation as { mfn: unknown }).mfn).toBeNull();
  });

  it('inspect rma, devtree, machine, hpt (summary, --pteg, --ea)', async () => {
    await valid(['inspect', 'rma', ...st()], 'inspect-rma');
    const t = await valid(['inspect', 'devtree', ...st()], 'inspect-devtree');
    expect(typeof (t.reservations as { paddrs: { start: unknown } }[])[0].paddrs.start).toBe('number');
    await valid(['inspect', 'devtree', '--path', '/xen', ...st()], 'inspect-devtree');
    await valid(['inspect', 'machine', ...st()], 'inspect-machine');
    await valid(['inspect', 'hpt', ...st()], 'inspect-hpt');
    await valid(['inspect', 'hpt', '--pteg', '0x12c94', ...st()], 'inspect-hpt');
    const ea = await valid(['inspect', 'hpt', '--ea', '0xC000000000000000', ...st()], 'inspect-hpt');
    expect(ea).toMatchObject({ ea: '0xc000000000000000' });
    expect(typeof ea.vsid).toBe('number');
    expect(ea.avpn).toMatch(/^0x[0-9a-f]+$/);
    await valid(['inspect', 'hpt', '--ea', '0xD000000000000000', ...st()], 'inspect-hpt');
  });

  it('validate, limits (plain, --mem that fits, --mem that does not, a flat firmware map), xencomm, audit, audit --sweep', async () => {
    await valid(['validate', ...st()], 'validate');
    await valid(['limits'], 'limits');
    await valid(['limits', '--mem', '1G'], 'limits');
    const no = await valid(['limits', '--p2m-at', '32M', '--mem', '40G'], 'limits', 1);
    expect((no.check as { fits: boolean }).fits).toBe(false);
    const flat = await valid(['limits', '--firmware-dtb', path.resolve(__dirname, '../../fixtures/firmware/qemu-pseries-8g.dtb')], 'limits');
    expect(flat.hole).toBeNull();
    await valid(['xencomm', '--paddr', '0x3fff000', '--len', '12K', ...st()], 'xencomm');
    await valid(['audit', '--mem', '1G', '--domus', '1'], 'audit');
    await valid(['audit', '--sweep', '--machine', 'maple'], 'audit');
  });

  it('create-domu, list, inspect of a domU, map-foreign, unmap-foreign, balloon down and up, destroy-domu, report', async () => {
    const s = ['--state', path.join(dir, 'dom')];
    expect((await cli(['construct', '--mem', '2G', ...s], { cwd: dir })).code).toBe(0);
    await valid(['create-domu', '--mem', '256M', ...s], 'create-domu');
    const l = await valid(['list', ...s], 'list');
    expect((l.domains as unknown[]).length).toBe(2);
    await valid(['inspect', 'p2m', '--domid', '1', ...s], 'inspect-p2m');
    await valid(['inspect', 'p2m', '--domid', '1', '--pfn', '3', ...s], 'inspect-p2m');
    await valid(['inspect', 'rma', '--domid', '1', ...s], 'inspect-rma');
    await valid(['inspect', 'devtree', '--domid', '1', ...s], 'inspect-devtree');
    await valid(['map-foreign', '--domid', '1', '--pfn', '0x10', ...s], 'map-foreign');
    await valid(['unmap-foreign', '--domid', '1', '--pfn', '0x10', ...s], 'unmap-foreign');
    await valid(['balloon', '--target', '1G', ...s], 'balloon');
    await valid(['balloon', '--target', '2G', ...s], 'balloon');
    await valid(['destroy-domu', '--domid', '1', ...s], 'destroy-domu');
    await valid(['report', '--html', path.join(dir, 'r.html'), ...s], 'report');
  });
});

describe('a failing --json command prints an error document on stdout and one line on stderr', () => {
  const cases: [string, string[], number, string][] = [
    ['usage (a bad size)', ['limits', '--rma', '3M'], 2, 'usage'],
    ['usage (an unknown option, from commander)', ['limits', '--frobnicate'], 2, 'usage'],
    ['state (none built)', ['list', '--state', 'nowhere'], 3, 'state'],
    ['fit (too big)', ['construct', '--mem', '64G', '--state', 'big'], 1, 'fit'],
    ['output file (a directory that does not exist)', ['inspect', 'machine', '--svg', 'no/such/dir/m.svg'], 74, 'io'],
  ];
  it.each(cases)('%s', async (_name, args, exit, code) => {
    const a = args[0] === 'inspect' ? [...args, ...st()] : args;
    const r = await cli([...a, '--json'], { cwd: dir });
    expect(r.code).toBe(exit);
    // One line saying what is wrong (commander's errors carry their "(run with --help for usage)" hint on that same line).
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^ppc-dombuild: [^\n]+\n$/);
    const d = JSON.parse(r.out);
    expect(contractErrors(d)).toEqual([]);
    expect(d).toMatchObject({ schema: 'ppc-dombuild/error/1', error: { code, exitCode: exit } });
    expect(r.err).toContain(d.error.message);
  });

  it('without --json, stdout stays empty', async () => {
    const r = await cli(['limits', '--rma', '3M'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
  });

  it('a command that printed its own document (limits --mem that does not fit) prints no second one', async () => {
    const r = await cli(['limits', '--p2m-at', '32M', '--mem', '40G', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).schema).toBe('ppc-dombuild/limits/1');
  });
});

describe('the schemas are strict', () => {
  it('a renamed, a missing or an extra key fails', async () => {
    const d = await doc(['list', ...st()]);
    const renamed = JSON.parse(JSON.stringify(d));
    renamed.heaps.domain.domHeapFreeBytes = renamed.heaps.domain.freeBytes;
    delete renamed.heaps.domain.freeBytes;
    expect(contractErrors(renamed).join('\n')).toMatch(/domHeapFreeBytes|freeBytes/);
    const old = JSON.parse(JSON.stringify(d));
    old.domains[0].rmaMaddr = old.domains[0].rma.maddrs.start;
    expect(contractErrors(old).join('\n')).toMatch(/rmaMaddr/);
    const hexed = JSON.parse(JSON.stringify(d));
    hexed.domains[0].rma.maddrs.start = '0x' + hexed.domains[0].rma.maddrs.start.toString(16);
    expect(contractErrors(hexed)).not.toEqual([]);
  });

  it('a 64-bit word as a number fails', async () => {
    const d = await doc(['inspect', 'hpt', '--ea', '0xC000000000000000', ...st()]);
    expect(contractErrors({ ...d, va: 1 })).not.toEqual([]);
  });
});

describe('two identical constructs print identical JSON', () => {
  it('byte for byte, run in two folders (file names are relative, timings only with --timing)', async () => {
    const a = tempDir('same-a');
    const b = tempDir('same-b');
    const run = async (cwd: string, args: string[]): Promise<string> => (await cli([...args, '--json'], { cwd })).out;
    expect(await run(b, ['construct', '--mem', '3G'])).toBe(await run(a, ['construct', '--mem', '3G']));
    expect(await run(b, ['inspect', 'p2m'])).toBe(await run(a, ['inspect', 'p2m']));
  });
});
