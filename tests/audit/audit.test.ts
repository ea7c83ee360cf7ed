import * as fs from 'fs';
import * as path from 'path';
import { selectMachine } from '../../src/commands/machine_select';
import { GiB, MiB } from '../../src/util/size';
import { AuditMachine, KINDS } from '../../src/xen/audit';
import { runAudit } from '../../src/builder/audit';
import { runSweep } from '../../src/builder/audit_sweep';
import { cli, tempDir } from '../helpers/cli';

const js21 = (): AuditMachine => {
  const sel = selectMachine(process.cwd(), 'js21', undefined);
  return { profile: sel.profile, firmwareTree: sel.firmwareTree };
};
const opts = { domus: 2, domuMem: 128 * MiB, rmaSize: 64 * MiB };

describe('audit: every number Xen can be handed, both ways', () => {
  it('a 4 GiB dom0: legacy reads 2 GiB of its pfns as IO, the proposal misreads nothing', () => {
    const r = runAudit(js21(), { ...opts, dom0Mem: 4 * GiB });
    const l = r.schemes.legacy;
    expect(l.misread).toBeGreaterThan(0);
    expect(l.kinds['pfn-as-io'].count).toBe((2 * GiB) / 4096);
    expect(l.kinds['pfn-as-io'].examples[0]).toMatchObject({ number: 0x80000, cls: 'dom0-pfn' });
    expect(l.classes['dom0-pfn']).toEqual({ total: (4 * GiB) / 4096, correct: (2 * GiB) / 4096, misread: (2 * GiB) / 4096 });
    const p = r.schemes.proposal;
    expect(p.misread).toBe(0);
    expect(p.classes['dom0-pfn'].correct).toBe((4 * GiB) / 4096);
    expect(p.classes['domu-frame'].correct).toBe(2 * (128 * MiB) / 4096);
    expect(p.classes['io-frame'].correct).toBe((2 * GiB) / 4096);
    // Counted in runs, not numbers.
    expect(l.runs + p.runs).toBeLessThan(2000);
  });

  it('a 1 GiB dom0: legacy misreads only the domUs\' frames (above 16 GiB), the proposal nothing', () => {
    // Was clean in both. Xen's heap (page_alloc.c:365,393-398 @ a046da3892) hands out the top
    // zone, [16 GiB, 18 GiB), from the top down: dom0 takes its last 1 GiB, so both 128 MiB
    // domUs get frames at 16 GiB and up, where the legacy scheme sees the foreign bit.
    const r = runAudit(js21(), { ...opts, dom0Mem: 1 * GiB });
    // Plus the 12 grant-table frames (4 per domain, grant_table.c:1311-1319 @ a046da3892), all
    // misread under legacy: dom0's gmfns max_page + i = 0x480000 + i (RAM ends at 18 GiB) have
    // bit 22 set, so the foreign test takes them first (mm.c:431 before :434 @ 1aa3c54a31^); each
    // domU's are Xen-heap mfns (0x1ef4..0x1efb here), below dom0's 64 MiB RMA's 0x4000 pages, so
    // the legacy RMA step (step 4 in src/xen/legacy/pfn2mfn.ts, before the raw-mfn hack of mm.c:466-482) reads them as dom0's own.
    expect(r.grantFrames).toBe(12);
    expect(r.schemes.legacy.misread).toBe((2 * 128 * MiB) / 4096 + 12);
    expect(r.schemes.legacy.kinds['mfn-foreign-bit'].count).toBe((2 * 128 * MiB) / 4096);
    expect(r.schemes.legacy.kinds['pfn-foreign-bit'].count).toBe(4);
    expect(r.schemes.legacy.kinds['mfn-as-dom0-pfn'].count).toBe(8);
    expect(r.schemes.legacy.classes['grant-frame']).toEqual({ total: 12, correct: 0, misread: 12 });
    expect(r.schemes.legacy.classes['dom0-pfn'].misread).toBe(0);
    // The proposal: each grant frame by machine frame is a grant frame to classify.
    expect(r.schemes.proposal.classes['grant-frame']).toEqual({ total: 12, correct: 12, misread: 0 });
    expect(r.schemes.proposal.misread).toBe(0);
    expect(r.domus).toHaveLength(2);
  });

  it('domU frames at machine addresses of 16 GiB and up collide with the foreign bit under legacy only', () => {
    // Three 1 GiB domUs do not fit below 2 GiB beside a 1 GiB dom0: the heap gives them [16 GiB, 18 GiB) first.
    const r = runAudit(js21(), { domus: 3, domuMem: GiB, rmaSize: 64 * MiB, dom0Mem: GiB });
    expect(r.schemes.legacy.kinds['mfn-foreign-bit'].count).toBeGreaterThan(0);
    expect(r.schemes.legacy.kinds['mfn-foreign-bit'].examples[0].readAs).toMatch(/foreign-map slot/);
    expect(r.schemes.proposal.misread).toBe(0);
  });

  it('a sweep finds where the IO misread starts: the first extent past 2 GiB', () => {
    const r = runSweep(js21(), opts, [GiB, 2 * GiB, 3 * GiB]);
    const io = r.starts.find((s) => s.scheme === 'legacy' && s.kind === 'pfn-as-io')!;
    expect(io.fromBytes).toBe(2 * GiB + 16 * MiB);
    expect(io.count).toBe(4096);
    for (const k of KINDS) expect(r.starts.find((s) => s.scheme === 'proposal' && s.kind === k)!.fromBytes).toBeNull();
  });
});

describe('ppc-dombuild audit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = tempDir('audit');
    expect((await cli(['construct', '--mem', '512M', '--no-boot'], { cwd: dir })).code).toBe(0);
  });

  it('--json: one document, legacy nonzero and the proposal zero at 4 GiB', async () => {
    const r = await cli(['audit', '--mem', '4G', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.schemes.legacy.misread).toBeGreaterThan(0);
    expect(doc.schemes.legacy.kinds['pfn-as-io'].text).toBe('dom0 pfn read as IO');
    expect(doc.schemes.proposal.misread).toBe(0);
    expect(doc.dom0.memBytes).toBe(4 * GiB);
  });

  it('the table says where legacy breaks, with examples', async () => {
    const r = await cli(['audit', '--mem', '4G', '--wide'], { cwd: dir });
    expect(r.out).toMatch(/dom0 pfn read as IO/);
    expect(r.out).toMatch(/proposal: no misreads/);
    expect(r.out).toMatch(/0x80000\.\.0xfffff/);
  });

  it('at 1 GiB the proposal is clean; legacy misreads only the domUs\' frames above 16 GiB', async () => {
    // Was 0 for both: see 'a 1 GiB dom0' above (Xen's heap order puts the domUs at 16 GiB and up).
    const doc = JSON.parse((await cli(['audit', '--mem', '1G', '--json'], { cwd: dir })).out);
    // Plus the 12 grant-table frames (see 'a 1 GiB dom0' above): 4 foreign-bit gmfns, 8 read as dom0 pfns.
    expect(doc.grantPages).toBe(12);
    expect(doc.schemes.legacy.classes['grant-frame']).toEqual({ total: 12, correct: 0, misread: 12 });
    expect(doc.schemes.legacy.misread).toBe(doc.schemes.legacy.kinds['mfn-foreign-bit'].count + 12);
    expect(doc.schemes.legacy.classes['dom0-pfn'].misread).toBe(0);
    expect(doc.schemes.proposal.misread).toBe(0);
  });

  it('does not touch the saved state, and can audit the machine it was built on', async () => {
    const file = path.join(dir, '.ppc-dombuild', 'state.bin');
    const before = fs.readFileSync(file);
    const mtime = fs.statSync(file).mtimeMs;
    const r = await cli(['audit', '--state', '.ppc-dombuild', '--mem', '2G', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).machine.name).toBe('js21');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('--sweep on a small machine prints where each failure starts', async () => {
    const r = await cli(['audit', '--sweep', '--ram', '6G'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/dom0 pfn read as IO from dom0 2 GiB \+ 16 MiB/);
    expect(r.out).toMatch(/proposal: none at any size/);
  });

  it('usage errors exit 2', async () => {
    expect((await cli(['audit', '--sweep', '--mem', '4G'], { cwd: dir })).code).toBe(2);
    expect((await cli(['audit', '--domus', 'x'], { cwd: dir })).code).toBe(2);
    expect((await cli(['audit', '--rma', '32M'], { cwd: dir })).code).toBe(2);
  });
});
