import { cli, tempDir } from '../helpers/cli';

describe('inspect rma --domid', () => {
  it("shows a domU's RMA: kernel, device tree and the special pages at the top", async () => {
    const dir = tempDir('domurma');
    expect((await cli(['construct', '--mem', '1G'], { cwd: dir })).code).toBe(0);
    expect((await cli(['create-domu', '--mem', '256M'], { cwd: dir })).code).toBe(0);
    const r = await cli(['inspect', 'rma', '--domid', '1'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^dom1 RMA: 64 MiB/);
    const j = JSON.parse((await cli(['inspect', 'rma', '--domid', '1', '--json'], { cwd: dir })).out);
    const names = j.regions.map((x: { name: string }) => x.name);
    expect(names.slice(-3)).toEqual(['xenstore', 'console', 'shared_info']);
    expect(names).not.toContain('p2m table'); // Xen keeps a domU's table
    expect(j.regions[j.regions.length - 1].paddrs.end).toBe(64 * 1024 * 1024);
    const dom0 = JSON.parse((await cli(['inspect', 'rma', '--json'], { cwd: dir })).out);
    expect(dom0.regions.map((x: { name: string }) => x.name)).toContain('p2m table');
    expect((await cli(['inspect', 'rma', '--domid', '7'], { cwd: dir })).code).toBe(2);
  });
});
