/**
 * The pictures: well-formed XML (xmllint), an opaque background, no two
 * labels overlapping and none outside the picture, and the things a design
 * review looks for in each. Rendered with rsvg-convert where it is installed.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli, itWith, tempDir } from '../helpers/cli';

let dir: string;
const st = (): string[] => ['--state', path.join(dir, 'st')];

interface Box { x0: number; y0: number; x1: number; y1: number; text: string }

/** Each <text>'s box from its x, y, font-size and anchor (monospace: 0.6 em a character). */
function textBoxes(svg: string): Box[] {
  const out: Box[] = [];
  const re = /<text x="([\d.-]+)" y="([\d.-]+)" font-size="(\d+)"((?: [a-z-]+="[^"]*")*)>([^<]*)<\/text>/g;
  for (let m = re.exec(svg); m; m = re.exec(svg)) {
    const [x, y, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const anchor = /text-anchor="(\w+)"/.exec(m[4])?.[1] ?? 'start';
    const t = m[5].replace(/&[a-z]+;/g, '_');
    const w = t.length * size * 0.6;
    const x0 = anchor === 'end' ? x - w : anchor === 'middle' ? x - w / 2 : x;
    out.push({ x0, x1: x0 + w, y0: y - size * 0.8, y1: y + size * 0.2, text: t });
  }
  return out;
}

function checkPicture(svg: string): void {
  const size = /<svg [^>]*width="(\d+)" height="(\d+)"/.exec(svg)!;
  const [W, H] = [Number(size[1]), Number(size[2])];
  // Opaque: a white rectangle over the whole picture before anything is drawn.
  expect(svg).toMatch(new RegExp(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`));
  const boxes = textBoxes(svg);
  expect(boxes.length).toBeGreaterThan(5);
  expect(boxes.length).toBe((svg.match(/<text /g) ?? []).length);
  for (const b of boxes) {
    expect({ text: b.text, inside: b.x0 >= 0 && b.x1 <= W && b.y0 >= 0 && b.y1 <= H }).toEqual({ text: b.text, inside: true });
  }
  const overlaps: string[] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      if (a.x0 < b.x1 - 0.5 && b.x0 < a.x1 - 0.5 && a.y0 < b.y1 - 0.5 && b.y0 < a.y1 - 0.5) overlaps.push(`'${a.text}' / '${b.text}'`);
    }
  }
  expect(overlaps).toEqual([]);
}

const pictures: [string, string[], RegExp[]][] = [
  ['machine', ['inspect', 'machine'], [/IO hole/, /Xen heap: hpt dom0/, /dom0 RMA/, /dom0 extents/, /dom1 RMA/, /domain heap: free/, /guest 0x0\.\.0x4000000/]],
  ['rma', ['inspect', 'rma'], [/p2m table/, /shared_info/, /machine 0x/, />guest</]],
  ['p2m', ['inspect', 'p2m'], [/IO hole: INVALID_MFN/, />0x80000</, />0x100000</, /INVALID_MFN \(not populated\)/, /mfns 0x/]],
  ['hpt', ['inspect', 'hpt'], [/PTEG occupancy/, /PTEGs with n valid entries/]],
  ['limits', ['limits'], [/RMA 64 MiB \*/, /machine-ram binds/, /not allocatable/]],
];

beforeAll(async () => {
  dir = tempDir('svg');
  expect((await cli(['construct', '--mem', '4G', ...st()], { cwd: dir })).code).toBe(0);
  expect((await cli(['create-domu', '--mem', '256M', ...st()], { cwd: dir })).code).toBe(0);
  for (const [name, args] of pictures) {
    const r = await cli([...args, ...(name === 'limits' ? [] : st()), '--svg', `${name}.svg`], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${name}.svg`);
  }
});

describe.each(pictures)('%s --svg', (name, _args, wants) => {
  const svg = (): string => fs.readFileSync(path.join(dir, `${name}.svg`), 'utf8');

  it('is opaque, with every label inside the picture and none overlapping another', () => checkPicture(svg()));

  it('shows what a design review needs', () => {
    for (const w of wants) expect(svg()).toMatch(w);
  });

  itWith('xmllint')('is well-formed XML (xmllint)', () => {
    execFileSync('xmllint', ['--noout', path.join(dir, `${name}.svg`)], { stdio: 'pipe' });
  });

  itWith('rsvg-convert')('renders (rsvg-convert)', () => {
    const png = path.join(dir, `${name}.png`);
    execFileSync('rsvg-convert', [path.join(dir, `${name}.svg`), '-o', png], { stdio: 'pipe' });
    expect(fs.readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });
});

describe('writing a picture', () => {
  it('a path that cannot be written is one line and exit 74 (the file exit code), not an internal error', async () => {
    const r = await cli(['inspect', 'rma', ...st(), '--svg', 'no/such/dir/rma.svg'], { cwd: dir });
    expect(r.code).toBe(74);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/no\/such\/dir\/rma\.svg/);
  });

  it('a domU has its own RMA picture; --svg with --pteg is refused', async () => {
    expect((await cli(['inspect', 'rma', '--domid', '1', ...st(), '--svg', 'rma1.svg'], { cwd: dir })).code).toBe(0);
    const svg = fs.readFileSync(path.join(dir, 'rma1.svg'), 'utf8');
    expect(svg).toMatch(/xenstore/);
    checkPicture(svg);
    expect((await cli(['inspect', 'hpt', '--pteg', '0', '--svg', 'x.svg', ...st()], { cwd: dir })).code).toBe(2);
  });
});
