/**
 * report --html: one self-contained page (no external URL, no script) with
 * the pictures inline, the construct summary, limits, validate and audit;
 * rendered in headless Chromium, which must log no console error.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cli, itWith, tempDir } from '../helpers/cli';

let dir: string;
let html: string;
const page = (): string => path.join(dir, 'report.html');
const st = (): string[] => ['--state', path.join(dir, 'st')];
const SECTIONS = ['construct', 'machine', 'rma', 'p2m', 'hpt', 'limits', 'limits-table', 'validate', 'audit'];

beforeAll(async () => {
  dir = tempDir('report');
  expect((await cli(['construct', '--mem', '4G', ...st()], { cwd: dir })).code).toBe(0);
  expect((await cli(['create-domu', '--mem', '256M', ...st()], { cwd: dir })).code).toBe(0);
  const before = fs.readFileSync(path.join(dir, 'st', 'state.bin'));
  const r = await cli(['report', '--html', 'report.html', ...st()], { cwd: dir });
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^wrote report\.html: 5 pictures, validate ok, audit 0 proposal misreads/);
  html = fs.readFileSync(page(), 'utf8');
  // The state is read, not changed.
  expect(fs.readFileSync(path.join(dir, 'st', 'state.bin')).equals(before)).toBe(true);
});

describe('the page', () => {
  it('holds every section, the pictures inline, and the verdicts', () => {
    for (const id of SECTIONS) expect(html).toContain(`<section id="${id}">`);
    expect((html.match(/<svg /g) ?? []).length).toBe(5);
    expect(html).toContain('every invariant holds');
    expect(html).toMatch(/largest dom0 <strong>15 GiB \+ 496 MiB<\/strong> \(machine-ram binds\)/);
    expect(html).toMatch(/IO hole: INVALID_MFN/);
    expect(html).toMatch(/dom1 RMA/);
  });

  it('is self-contained: no external URL, no script, one id per pattern', () => {
    // The SVG namespace is a name, never fetched; nothing else may point outside the page.
    const urls = (html.match(/(https?:|\/\/)[^"'\s<)]*/g) ?? []).filter((u) => u !== 'http://www.w3.org/2000/svg');
    expect(urls).toEqual([]);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  itWith('xmllint')('each inline picture is well-formed XML (xmllint)', () => {
    const svgs = html.match(/<svg [\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(5);
    svgs.forEach((svg, i) => {
      const f = path.join(dir, `inline-${i}.svg`);
      fs.writeFileSync(f, svg);
      const r = spawnSync('xmllint', ['--noout', f], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });
  });

  it('with --json, a document naming the page; an unwritable path is one line, exit 74 (a file that cannot be written)', async () => {
    const r = await cli(['report', '--html', 'r2.html', ...st(), '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ schema: 'ppc-dombuild/report/1', html: { path: path.join(dir, 'r2.html') }, validateOk: true, auditProposalMisread: 0 });
    const bad = await cli(['report', '--html', 'nowhere/r.html', ...st()], { cwd: dir });
    expect(bad.code).toBe(74);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
  });
});

describe('in headless Chromium', () => {
  const chromium = (args: string[]): { stdout: string; stderr: string } => {
    const r = spawnSync('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--window-size=1280,2000', '--enable-logging=stderr', '--v=0', ...args, `file://${page()}`], { encoding: 'utf8', timeout: 60000, maxBuffer: 64 * 1024 * 1024 });
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const consoleErrors = (log: string): string[] => log.split('\n').filter((l) => /Uncaught|ERROR:CONSOLE|console.*error/i.test(l));

  itWith('chromium')('renders the page to a screenshot with no console error', () => {
    const png = path.join(dir, 'report.png');
    const r = chromium([`--screenshot=${png}`]);
    expect(consoleErrors(r.stderr)).toEqual([]);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    // 1280 x 2000, as asked (IHDR width and height).
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1280, 2000]);
  });

  itWith('chromium')('builds a DOM with every section and every picture', () => {
    const r = chromium(['--dump-dom']);
    expect(consoleErrors(r.stderr)).toEqual([]);
    for (const id of SECTIONS) expect(r.stdout).toContain(`<section id="${id}">`);
    expect((r.stdout.match(/<svg /g) ?? []).length).toBe(5);
  });
});

