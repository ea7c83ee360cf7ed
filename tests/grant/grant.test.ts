/**
 * Grant-table frames: grant_table_create's INITIAL_NR_GRANT_FRAMES = 4 shared
 * pages per domain (xen/common/grant_table.c:1311-1319 @ a046da3892;
 * asm-powerpc/grant_table.h:26), from the Xen heap.
 */
import * as fs from 'fs';
import * as path from 'path';
import { decodeState } from '../../src/state/snapshot';
import { legacyPfn2mfn, legacyView } from '../../src/xen/legacy/pfn2mfn';
import { cli, tempDir } from '../helpers/cli';

const stateOf = (dir: string) => decodeState(fs.readFileSync(path.join(dir, '.ppc-dombuild', 'state.bin')), 'x');

describe('grant-table frames', () => {
  it('construct on js21 (4G dom0): 4 Xen-heap pages 0x1fff, 0x1ffe, 0x1ffd, 0x1ffc, after the hash table', async () => {
    const dir = tempDir('grant');
    expect((await cli(['construct', '--mem', '4G'], { cwd: dir })).code).toBe(0);
    const s = stateOf(dir);
    const d = s.dom0();
    // The Xen heap on js21: mfns [0x1000, 0x21000) (16 MiB + 16 GiB/32 = 0x21000 pages, less Xen's
    // 16 MiB low memory), freed as its maximal aligned blocks upward (init_heap_pages): 0x1000 o12,
    // 0x2000 o13, 0x4000 o14, 0x8000 o15, 0x10000 o16, 0x20000 o12. The 64 MiB hash table (4G/64,
    // order 14) takes the 0x4000 block, as before. Each grant frame is one order-0 alloc
    // (grant_table.c:1313): the smallest free order is 12, head 0x1000; splitting keeps the lower
    // halves free and hands out the top page (page_alloc.c:393-398): 0x1fff, leaving 0x1ffe (o0) and
    // 0x1ffc (o1) free. Then 0x1ffe (the o0 list's head); then 0x1ffc splits: 0x1ffd, then 0x1ffc.
    expect(d.arch.hpt).toEqual({ mfn: 0x4000, order: 14 });
    expect(d.grantFrames).toEqual([0x1fff, 0x1ffe, 0x1ffd, 0x1ffc]);
    expect(s.machine.frames.lookup(0x1ffc)).toMatchObject({ mfn: 0x1ffc, count: 4, owner: 'xen', use: 'grant dom0' });

    // H_ENTER of dom0's grant frame 0x1fff with I|G (r low bits 0x28): Xen forces I=G=0 (papr/xlate.c:214-219 @ 1aa3c54a31^).
    const ent = await cli(['hcall', 'H_ENTER', '--ptex', '0x40', '--v', '0xd000000000000081', '--r', '0x1fff028', '--json'], { cwd: dir });
    expect(ent.code).toBe(0);
    const doc = JSON.parse(ent.out);
    expect(doc.return).toEqual({ name: 'H_SUCCESS', value: 0 });
    const read = JSON.parse((await cli(['hcall', 'H_READ', '--ptex', doc.out[0].value, '--json'], { cwd: dir })).out);
    // 0x1fff028 & ~(I 0x20 | G 0x08) = 0x1fff000.
    expect(read.out.map((o: { value: string }) => o.value)).toEqual(['0xd000000000000081', '0x1fff000']);
    // validate's RPN check takes the mapping (this V word's AVPN does not hash to PTEG 8: that finding is hpte-avpn's).
    const v = await cli(['validate', '--json'], { cwd: dir });
    const rpn = JSON.parse(v.out).invariants.filter((i: { name: string }) => /rpn/.test(i.name));
    expect(rpn.length).toBeGreaterThan(0);
    for (const i of rpn) expect(i.problems).toBe(0);
    // Xen's other pages stay refused: the hash table's first frame is H_PARAMETER (-4).
    expect((await cli(['hcall', 'H_ENTER', '--ptex', '0x40', '--v', '0xd000000000000081', '--r', '0x4000000'], { cwd: dir })).code).toBe(1);
  });

  it('a domU gets its own 4, freed on destroy-domu; the state keeps them', async () => {
    const dir = tempDir('grant-domu');
    expect((await cli(['construct', '--mem', '2G'], { cwd: dir })).code).toBe(0);
    expect((await cli(['create-domu', '--mem', '256M'], { cwd: dir })).code).toBe(0);
    const s = stateOf(dir);
    const d1 = s.domains.get(1)!;
    expect(d1.grantFrames).toHaveLength(4);
    for (const mfn of d1.grantFrames) expect(s.machine.frames.lookup(mfn)).toMatchObject({ owner: 'xen', use: 'grant dom1' });
    expect((await cli(['destroy-domu', '--domid', '1'], { cwd: dir })).code).toBe(0);
    const after = stateOf(dir);
    for (const mfn of d1.grantFrames) expect(after.machine.frames.lookup(mfn)).toBeUndefined();
  });

  it('legacy pfn2mfn of max_page is the first grant frame (--ram 4G: max_page = 0x180000, bit 22 clear)', async () => {
    const dir = tempDir('grant-legacy');
    expect((await cli(['construct', '--translation', 'legacy', '--ram', '4G', '--mem', '1G'], { cwd: dir })).code).toBe(0);
    const s = stateOf(dir);
    const d = s.dom0();
    const v = legacyView(s.machine, d);
    // 4 GiB of RAM: [0, 2 GiB) and [4 GiB, 6 GiB) around the IO hole; max_page = 6 GiB / 4 KiB = 0x180000,
    // below 1 << 22, so the foreign test passes it by and the grant branch (mm.c:434-443 @ 1aa3c54a31^) reads it.
    expect(v.maxPage).toBe(0x180000);
    expect(d.grantFrames).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(legacyPfn2mfn(v, 0x180000 + i)).toMatchObject({ kind: 'grant', mfn: d.grantFrames[i] });
    expect(legacyPfn2mfn(v, 0x180004).kind).not.toBe('grant');
  });
});
