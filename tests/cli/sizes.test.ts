import { cli, tempDir } from '../helpers/cli';

/** The hint in brackets at the end of an error line. */
const hintOf = (err: string): string => /\(([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$/.exec(err.trim())![1];

describe('memory sizes', () => {
  const dir = tempDir('sizes');

  it('--mem 4096 exits 2 with a hint, and following the hint builds a 4 GiB dom0', async () => {
    const r = await cli(['construct', '--mem', '4096', '--state', 'a'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^ppc-dombuild: --mem: '4096' is 4096 bytes, less than 1 MiB \(4096 bytes\? write 4096M or 4G\)\n$/);
    const suggested = /write (\S+) or (\S+)$/.exec(hintOf(r.err))!.slice(1);
    expect(suggested).toEqual(['4096M', '4G']);
    for (const mem of suggested) {
      const ok = await cli(['construct', '--mem', mem, '--state', 'a', '--json'], { cwd: dir });
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.out).dom0.memBytes).toBe(4 * 2 ** 30);
    }
  });

  it('every memory-size option refuses a bare number below 1 MiB; hex, units and large byte counts pass', async () => {
    await cli(['construct', '--mem', '1G', '--state', 's'], { cwd: dir });
    const refused: string[][] = [
      ['construct', '--mem', '512', '--state', 'x'],
      ['construct', '--max-mem', '8192', '--state', 'x'],
      ['construct', '--ram', '16384', '--state', 'x'],
      ['create-domu', '--mem', '256', '--state', 's'],
      ['create-domu', '--mem', '256M', '--max-mem', '1024', '--state', 's'],
      ['balloon', '--target', '2048', '--state', 's'],
      ['audit', '--mem', '1024'],
      ['audit', '--domu-mem', '128'],
      ['audit', '--ram', '16'],
      ['limits', '--mem', '4096'],
      ['limits', '--ram', '65536'],
    ];
    for (const args of refused) {
      const r = await cli(args, { cwd: dir });
      const opt = args.find((a, i) => a.startsWith('--') && /^\d+$/.test(args[i + 1] ?? ''))!;
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(`${opt}: '${args[args.indexOf(opt) + 1]}' is `);
      expect(r.err).toMatch(/bytes\? write \d+M/);
    }
    // 512 is not a whole number of KiB: only the M spelling is offered.
    expect((await cli(['construct', '--mem', '512', '--state', 'x'], { cwd: dir })).err).toMatch(/\(512 bytes\? write 512M\)\n$/);
    // Said in hex or with a unit, a small size is what was meant: construct rounds it up to the RMA.
    for (const mem of ['0x1000', '4096B', '4K']) {
      const r = await cli(['construct', '--mem', mem, '--state', 'x', '--json'], { cwd: dir });
      expect({ mem, code: r.code }).toEqual({ mem, code: 0 });
      expect(JSON.parse(r.out).dom0.memBytes).toBe(64 * 2 ** 20);
    }
    const bytes = await cli(['construct', '--mem', String(2 ** 30), '--state', 'x', '--json'], { cwd: dir });
    expect(JSON.parse(bytes.out).dom0.memBytes).toBe(2 ** 30);
  });

  it('--mem 20G on a 16 GiB machine: the hint says a smaller --mem or more RAM (not --max-mem), and each works', async () => {
    const r = await cli(['construct', '--mem', '20G', '--state', 'b'], { cwd: dir });
    expect(r.code).toBe(1);
    const hint = hintOf(r.err);
    expect(hint).toBe('a smaller --mem; a machine with more RAM (--machine, --ram)');
    expect(r.err).not.toContain('--max-mem');
    expect(r.err).toContain('does not fit: it breaks machine-ram, at most 15 GiB + 496 MiB (');
    // A smaller --mem: the largest the message names fits; one extent more does not.
    expect((await cli(['construct', '--mem', '15856M', '--state', 'b'], { cwd: dir })).code).toBe(0);
    expect((await cli(['construct', '--mem', '15872M', '--state', 'b'], { cwd: dir })).code).toBe(1);
    // More RAM: --ram, or a bigger machine.
    expect((await cli(['construct', '--mem', '20G', '--ram', '32G', '--state', 'b'], { cwd: dir })).code).toBe(0);
    expect((await cli(['construct', '--mem', '20G', '--machine', 'big64', '--state', 'b'], { cwd: dir })).code).toBe(0);
  });

  it("limits --mem 40G: the hint's remedy (more RAM, with --rma 128M) is what makes it fit", async () => {
    const r = await cli(['limits', '--mem', '40G'], { cwd: dir });
    expect(r.code).toBe(1);
    const hint = hintOf(r.err);
    expect(hint).toMatch(/more RAM would \(--ram or --machine\), with --rma 128M$/);
    expect((await cli(['limits', '--mem', '40G', '--ram', '64G'], { cwd: dir })).code).toBe(1);
    expect((await cli(['limits', '--mem', '40G', '--ram', '64G', '--rma', '128M'], { cwd: dir })).code).toBe(0);
  });
});
