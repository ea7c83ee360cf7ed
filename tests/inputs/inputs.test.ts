/**
 * Issue 13: every bad input gets one line and its documented exit code,
 * within a bound: firmware trees dtc refuses, files that are not regular,
 * kernels that are not PPC64, loose numbers, control characters in values,
 * commander's own errors, forged states.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { checkFdt, FdtCheckError } from '../../src/devtree/fdt_check';
import { enc, findNode, setProp, type DeviceTree } from '../../src/devtree/tree';
import { quote } from '../../src/util/quote';
import { cli, CliResult, itWith, tempDir } from '../helpers/cli';

const FW = path.resolve(__dirname, '../../fixtures/firmware');
const maple = (): DeviceTree => readFdt(fs.readFileSync(path.join(FW, 'maple.dtb')));

function oneLine(r: CliResult, code: number, msg?: RegExp): void {
  expect(r.code).toBe(code);
  const lines = r.err.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(r.err).toMatch(/^ppc-dombuild: /);
  expect(r.err).not.toMatch(/\n\s+at /);
  if (msg) expect(r.err).toMatch(msg);
}

describe('firmware trees checked as dtc checks them (exit 2, one line, node and rule)', () => {
  const dir = tempDir('fwcheck');
  const edits: [string, (t: DeviceTree) => void, RegExp][] = [
    ['#size-cells = [00 02] at the root', (t) => setProp(t.root, '#size-cells', new Uint8Array([0, 2])), /node '\/': #size-cells is 2 bytes, not one cell \(rule size_cells_is_cell\)/],
    ['#address-cells = 5 somewhere', (t) => setProp(findNode(t.root, '/cpus')!, '#address-cells', enc.u32(5)), /'\/cpus': #address-cells = 5 is more than 4 cells/],
    ['#size-cells = 0 at the root', (t) => setProp(t.root, '#size-cells', enc.u32(0)), /not 1 or 2 .*\(rule root-cells\)/],
    ['a duplicated property', (t) => t.root.props.push({ ...t.root.props[0]! }), /appears twice \(rule duplicate_property_names\)/],
    ['a duplicated node', (t) => t.root.children.push({ ...findNode(t.root, '/cpus')! }), /'\/cpus': a sibling has the same name \(rule duplicate_node_names\)/],
    ['a bad node name character', (t) => (findNode(t.root, '/cpus')!.name = 'cp us'), /bad character ' ' in the node name \(rule node_name_chars\)/],
    ['a newline in a node name', (t) => (findNode(t.root, '/cpus')!.name = 'cp\nus'), /'\\n' in the node name/],
    ['two @ in a node name', (t) => (findNode(t.root, '/cpus')!.name = 'cpus@1@2'), /rule node_name_format/],
    ['an empty base name', (t) => (findNode(t.root, '/cpus')!.name = '@1'), /rule node_name_not_empty/],
    ['a bad property name character', (t) => t.root.props.push({ name: 'a=b', value: new Uint8Array(0) }), /'=' in property name 'a=b' \(rule property_name_chars\)/],
    ['a zero phandle', (t) => setProp(findNode(t.root, '/cpus')!, 'phandle', enc.u32(0)), /rule explicit_phandles/],
    ['a phandle used twice', (t) => { setProp(findNode(t.root, '/cpus')!, 'phandle', enc.u32(77)); setProp(findNode(t.root, '/chosen')!, 'phandle', enc.u32(77)); }, /phandle 0x4d is also/],
    ['a wrong name property', (t) => setProp(findNode(t.root, '/cpus')!, 'name', enc.str('other')), /rule name_properties/],
    ['a reg that is not whole entries', (t) => { const m = t.root.children.find((c) => c.name.startsWith('memory'))!; setProp(m, 'reg', new Uint8Array(12)); }, /reg is 12 bytes, not whole entries of 2 address \+ 2 size cells \(rule reg_format\)/],
    ['/memory of 2^64 - 1 bytes', (t) => { const m = t.root.children.find((c) => c.name.startsWith('memory'))!; setProp(m, 'reg', enc.u64(0, 2n ** 64n - 1n)); }, /ends past 2\^53 bytes \(rule ram-range\)/],
    ['overlapping RAM', (t) => { t.root.children.push({ name: 'memory@1000', props: [{ name: 'device_type', value: enc.str('memory') }, { name: 'reg', value: enc.u64(0x1000, 0x1000) }], children: [] }); }, /overlaps .* \(rule ram-overlap\)/],
  ];
  it.each(edits)('%s', async (_name, edit, msg) => {
    const t = maple();
    edit(t);
    fs.writeFileSync(path.join(dir, 'fw.dtb'), writeFdt(t));
    const r = await cli(['construct', '--firmware-dtb', 'fw.dtb', '--no-boot', '--state', 'out'], { cwd: dir });
    oneLine(r, 2, msg);
    expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
  });

  it('every shipped firmware tree passes', () => {
    for (const f of fs.readdirSync(FW).filter((n) => n.endsWith('.dtb'))) expect(() => checkFdt(readFdt(fs.readFileSync(path.join(FW, f))))).not.toThrow();
  });

  it('the check names the node and the rule', () => {
    const t = maple();
    setProp(t.root, '#size-cells', new Uint8Array(2));
    let err: unknown;
    try {
      checkFdt(t);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FdtCheckError);
    const e = err as FdtCheckError;
    expect({ path: e.path, rule: e.rule, message: e.message }).toEqual({
      path: '/',
      rule: 'size_cells_is_cell',
      message: "node '/': #size-cells is 2 bytes, not one cell (rule size_cells_is_cell)",
    });
  });

  itWith('dtc')('a tree dtc refuses is refused, and dtc refuses what the check names (duplicate property)', () => {
    const t = maple();
    t.root.props.push({ ...t.root.props[0]! });
    const blob = path.join(dir, 'dup.dtb');
    fs.writeFileSync(blob, writeFdt(t));
    expect(() => execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', blob], { stdio: 'pipe' })).toThrow(/duplicate_property_names/);
  });
});

describe("dom0's tree passes dtc with no errors", () => {
  const dtbs = fs.readdirSync(FW).filter((n) => n.endsWith('.dtb'));
  itWith('dtc').each(dtbs)('construct --firmware-dtb %s: dtc -I dtb -O dts accepts dom0.dtb', async (f) => {
    const dir = tempDir('dtc');
    const r = await cli(['construct', '--firmware-dtb', path.join(FW, f), '--no-boot'], { cwd: dir });
    expect(r.code).toBe(0);
    // dtc writes its diagnostics to stderr (stdout is empty with -o).
    const d = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', path.join(dir, '.ppc-dombuild', 'dom0.dtb')], { encoding: 'utf8' });
    expect(d.error).toBeUndefined();
    expect(d.status).toBe(0);
    expect(d.stderr).not.toMatch(/ERROR/);
  });
  itWith('dtc').each([['--machine', 'big64', '--mem', '8G'], ['--mem', '4G', '--rma', '128M'], ['--translation', 'legacy', '--mem', '1G'], ['--machine', 'maple', '--p2m-placement', 'end']])('construct %s ...: dtc accepts dom0.dtb', async (...args) => {
    const dir = tempDir('dtc');
    const r = await cli(['construct', ...(args as string[])], { cwd: dir });
    expect(r.code).toBe(0);
    execFileSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', path.join(dir, '.ppc-dombuild', 'dom0.dtb')], { stdio: 'pipe' });
  });
});

describe('input files are regular files read up to a limit (exit 2, one line, within 2 s)', () => {
  const dir = tempDir('files');
  fs.writeFileSync(path.join(dir, 'notelf'), Buffer.alloc(8192, 0x41));
  const elf32 = Buffer.alloc(8192);
  elf32.set([0x7f, 0x45, 0x4c, 0x46, 1, 2, 1]);
  fs.writeFileSync(path.join(dir, 'elf32'), elf32);
  const little = Buffer.alloc(8192);
  little.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  fs.writeFileSync(path.join(dir, 'elfle'), little);
  const x86 = Buffer.alloc(8192);
  x86.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1]);
  x86.writeUInt16BE(62, 18);
  fs.writeFileSync(path.join(dir, 'elfx86'), x86);
  fs.writeFileSync(path.join(dir, 'big.img'), Buffer.alloc(0));
  fs.truncateSync(path.join(dir, 'big.img'), 65 * 1024 * 1024);
  fs.mkdirSync(path.join(dir, 'adir'));
  const cases: [string[], number, RegExp][] = [
    [['construct', '--kernel', '/dev/zero'], 2, /--kernel '\/dev\/zero' is a character device, not a regular file/],
    [['construct', '--initrd', '/dev/zero'], 2, /--initrd '\/dev\/zero' is a character device/],
    [['construct', '--firmware-dtb', '/dev/zero'], 2, /firmware tree '\/dev\/zero' is a character device/],
    [['limits', '--firmware-dtb', '/dev/zero'], 2, /character device/],
    [['construct', '--firmware-dtb', 'adir'], 2, /is a directory/],
    [['construct', '--machine', 'adir'], 2, /machine profile .* is a directory/],
    [['construct', '--initrd', 'big.img'], 2, /is 65 MiB, more than the 64 MiB RMA it is loaded into/],
    [['construct', '--kernel', 'notelf'], 2, /not an ELF file/],
    [['construct', '--kernel', 'elf32'], 2, /not ELF64 \(EI_CLASS 1, not ELFCLASS64 2\)/],
    [['construct', '--kernel', 'elfle'], 2, /not big-endian \(EI_DATA 1, not ELFDATA2MSB 2\)/],
    [['construct', '--kernel', 'elfx86'], 2, /e_machine 62, not EM_PPC64 21/],
    [['construct', '--kernel', 'x'.repeat(300)], 2, /cannot read it \(ENAMETOOLONG\)/],
    [['construct', '--firmware-dtb', 'y'.repeat(300)], 2, /ENAMETOOLONG/],
    [['construct', '--state', 'z'.repeat(300), '--no-boot'], 74, /ENAMETOOLONG/], // a state folder that cannot be written: the file exit code
    [['list', '--state', 'z'.repeat(300)], 74, /ENAMETOOLONG/],
  ];
  it.each(cases)('%j exits %d', async (args, code, msg) => {
    const r = await cli(args, { cwd: dir });
    oneLine(r, code, msg);
    expect(fs.existsSync(path.join(dir, '.ppc-dombuild'))).toBe(false);
  });

  it('list with a FIFO state.bin exits 3 with one line, without blocking on it', async () => {
    const st = tempDir('fifo');
    const fifo = path.join(st, 'state.bin');
    execFileSync('mkfifo', [fifo]);
    try {
      oneLine(await cli(['list', '--state', st], { cwd: dir }), 3, /is not a regular file/);
    } finally {
      fs.rmSync(fifo);
    }
  });
});

describe('values: strict numbers, quoted, one line', () => {
  const dir = tempDir('values');
  beforeAll(async () => {
    expect((await cli(['construct', '--mem', '512M', '--no-boot'], { cwd: dir })).code).toBe(0);
  });
  const cases: [string[], number, RegExp][] = [
    [['balloon', '--target', '4G\nX'], 2, /--target: '4G\\nX' is not a size/],
    [['limits', '--entry-size', '4.0'], 2, /--entry-size '4.0' is not 4 or 8/],
    [['limits', '--entry-size', ' 4'], 2, /not 4 or 8/],
    [['audit', '--domus', ''], 2, /--domus '' is not a whole number from 0 to 64/],
    [['audit', '--domus', '1.5'], 2, /not a whole number/],
    [['audit', '--domus', '+1'], 2, /not a whole number/],
    [['destroy-domu', '--domid', '1e0'], 2, /--domid '1e0' is not a domain id/],
    [['destroy-domu', '--domid', ' 1'], 2, /is not a domain id/],
    [['destroy-domu', '--domid', '-1'], 2, /^ppc-dombuild: --domid '-1' is not a domain id \(give a number, e\.g\. 1 \(see `ppc-dombuild list`\)\)$/m],
    [['inspect', 'p2m', '--pfn', '0x'], 2, /--pfn '0x' is not a page frame number/],
    [['inspect', 'p2m', '--pfn', '1.0'], 2, /not a page frame number/],
    [['inspect', 'hpt', '--pteg', ' 3'], 2, /--pteg ' 3' is not a number/],
    [['map-foreign', '--domid', '0', '--pfn', '1', '--from', '0.5'], 2, /--from '0.5' is not a domain id/],
    [['construct', '--mem', ' 1G'], 2, /is not a size/],
    [['construct', '--mem', 'a'.repeat(200)], 2, /\.\.\. \(200 characters\)/],
    [['limits', '--mem', '32768M'], 1, /dom0 of 32 GiB does not fit/],
    [['construct', '--bogus'], 2, /^ppc-dombuild: unknown option '--bogus' \(run with --help for usage\)$/m],
    [['construct', '--mem'], 2, /argument missing/],
    [['list', 'extra'], 2, /too many arguments/],
    [['frob\nnicate'], 2, /unknown command 'frob\\nnicate'/],
    [['construct', '--memm', '1G'], 2, /unknown option '--memm' \(Did you mean --mem\?\)/],
    [['balloon'], 2, /required option '--target <size>' not specified/],
  ];
  it.each(cases)('%j exits %d with one line', async (args, code, msg) => {
    oneLine(await cli(args, { cwd: dir }), code, msg);
  });

  it('quote escapes control characters and cuts long values', () => {
    expect(quote('a\nb\t\u0007\u2028')).toBe("'a\\nb\\t\\u0007\\u2028'");
    expect(quote("it's")).toBe("'it\\'s'");
    expect(quote('x'.repeat(100))).toBe(`'${'x'.repeat(80)}'... (100 characters)`);
  });
});
