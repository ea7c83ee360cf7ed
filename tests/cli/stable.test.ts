import * as fs from 'fs';
import * as path from 'path';
import { cli, tempDir } from '../helpers/cli';

describe('the same inputs print the same bytes', () => {
  // Two working directories, each with its own state under the same relative name.
  const a = tempDir('stable-a');
  const b = tempDir('stable-b');
  const both = async (args: string[]) => [await cli(args, { cwd: a }), await cli(args, { cwd: b })];

  it('construct: text and JSON, in two directories', async () => {
    const [ta, tb] = await both(['construct', '--mem', '2G', '--state', 's']);
    expect(ta.code).toBe(0);
    expect(ta.out).toEqual(tb.out);
    expect(ta.out).not.toMatch(/\bms\b/);
    expect(ta.out).toMatch(/state\s+│ s\/state\.bin/); // paths as given, relative to the directory
    const [ja, jb] = await both(['construct', '--mem', '2G', '--state', 's', '--json']);
    expect(ja.out).toEqual(jb.out);
    const doc = JSON.parse(ja.out);
    expect(doc.files).toEqual({ state: 's/state.bin', dtb: 's/dom0.dtb', p2m: 's/dom0-p2m.bin' });
    expect(doc.guest.timing).toBeUndefined();
  });

  it('construct --timing says how long the boot took, in text and JSON', async () => {
    const t = await cli(['construct', '--mem', '1G', '--state', 't', '--timing'], { cwd: a });
    expect(t.out).toMatch(/, boot \d+\.\d ms/);
    const j = JSON.parse((await cli(['construct', '--mem', '1G', '--state', 't', '--timing', '--json'], { cwd: a })).out);
    expect(typeof j.guest.timing.bootMs).toBe('number');
  });

  it('audit and audit --sweep: no timing unless asked', async () => {
    const [ta, tb] = await both(['audit', '--mem', '1G', '--domus', '1']);
    expect(ta.out).toEqual(tb.out);
    const [ja, jb] = await both(['audit', '--mem', '1G', '--domus', '1', '--json']);
    expect(ja.out).toEqual(jb.out);
    expect(JSON.parse(ja.out).ms).toBeUndefined();
    const timed = await cli(['audit', '--mem', '1G', '--domus', '1', '--json', '--timing'], { cwd: a });
    expect(typeof JSON.parse(timed.out).ms).toBe('number');
    expect((await cli(['audit', '--mem', '1G', '--domus', '1', '--timing'], { cwd: a })).out).toMatch(/\(\d+ ms\)/);
    const [sa, sb] = await both(['audit', '--sweep', '--machine', 'maple']);
    expect(sa.out).toEqual(sb.out);
    expect(sa.out).toMatch(/\(\d+ builds\)/);
    expect(JSON.parse((await cli(['audit', '--sweep', '--machine', 'maple', '--json'], { cwd: a })).out).ms).toBeUndefined();
  });

  it('create-domu prints its state file relative to the directory', async () => {
    const [ra, rb] = await both(['create-domu', '--mem', '128M', '--state', 's', '--json']);
    expect(ra.out).toEqual(rb.out);
    expect(JSON.parse(ra.out).files.state).toBe('s/state.bin');
    expect(fs.existsSync(path.join(a, 's', 'state.bin'))).toBe(true);
  });
});

describe('one meaning of ..', () => {
  const dir = tempDir('ranges');

  it('inspect p2m, its runs and --trace agree: a..b has both ends in, [a, b) is half-open', async () => {
    const c = await cli(['construct', '--mem', '1G', '--trace', '--wide'], { cwd: dir });
    const trace = /p2m table=\[(0x[0-9a-f]+), (0x[0-9a-f]+)\)/.exec(c.err);
    expect(trace).not.toBeNull();
    const table = JSON.parse((await cli(['inspect', 'p2m', '--json'], { cwd: dir })).out).table;
    expect(Number(trace![1])).toBe(table.paddrs.start);
    expect(Number(trace![2])).toBe(table.paddrs.end);
    const text = (await cli(['inspect', 'p2m', '--wide'], { cwd: dir })).out;
    expect(text).toContain(`guest-physical │ 0x${table.paddrs.start.toString(16)}..0x${(table.paddrs.end - 1).toString(16)} `);
    // The RMA run: pfns 0..0x3fff are 0x4000 pages (64 MiB), as the trace's step 6 says too.
    expect(text).toMatch(/│ 0x0\.\.0x3fff +│ 0x[0-9a-f]+\.\.0x[0-9a-f]+ +│ +16384 │ 64 MiB │/);
    expect(c.err).toMatch(/pfns=0\.\.0x3fff/);
    // --range takes both ends too: 0x3ff0-0x4010 is 0x21 pfns.
    const r = JSON.parse((await cli(['inspect', 'p2m', '--range', '0x3ff0-0x4010', '--json'], { cwd: dir })).out);
    expect(r.runs.reduce((n: number, x: { pages: number }) => n + x.pages, 0)).toBe(0x21);
    expect(r.pfns).toEqual({ start: 0x3ff0, end: 0x4011 }); // JSON ranges are [start, end)
  });
});
