import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli';
import { examplesOf } from '../../src/commands/cli_context';
import { cli, tempDir } from '../helpers/cli';

const ESC = '\u001b[';

describe('help', () => {
  const dir = tempDir('help');

  it('help <command> <sub> shows the nested command\'s help', async () => {
    const r = await cli(['help', 'inspect', 'p2m'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: ppc-dombuild inspect p2m/);
    expect(r.out).toContain('--pfn <n>');
    expect(r.out).toEqual((await cli(['inspect', 'p2m', '--help'], { cwd: dir })).out);
    const top = await cli(['help', 'inspect'], { cwd: dir });
    expect(top.out).toMatch(/^Usage: ppc-dombuild inspect/);
    expect(top.out).toContain('p2m');
  });

  it('help of a command that does not exist is a usage error naming the ones that do', async () => {
    const r = await cli(['help', 'inspect', 'p3m'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no command 'inspect p3m' \(the commands of inspect: p2m, rma, devtree, machine, hpt\)/);
  });

  it('every command has an Examples block in its --help, and each example names the command', async () => {
    const walk = (c: Command, words: string[]): [Command, string[]][] => c.commands.flatMap((s) => [[s, [...words, s.name()]] as [Command, string[]], ...walk(s, [...words, s.name()])]);
    const all = walk(buildProgram(), []).filter(([, w]) => w[0] !== 'help');
    expect(all.length).toBeGreaterThan(15);
    for (const [c, words] of all) {
      const r = await cli([...words, '--help'], { cwd: dir });
      expect(r.out).toContain('\nExamples:\n');
      const ex = examplesOf(c);
      expect(ex.length).toBeGreaterThan(0);
      // Subcommands' examples run them; a parent's examples run one of its subcommands.
      for (const [line] of ex) expect(line).toMatch(new RegExp(`ppc-dombuild (help )?${words.join(' ')}\\b`));
    }
  });

  it('marks required options', async () => {
    const r = await cli(['balloon', '--help'], { cwd: dir });
    expect(r.out).toMatch(/--target <size>\s+the size to balloon to \(required\)/);
    expect(r.out).toMatch(/--domid <n>\s+the domain \(default 0\)\n/);
  });
});

describe('completion', () => {
  const dir = tempDir('completion');

  it('bash: a script bash parses, naming the commands and their options', async () => {
    const r = await cli(['completion', 'bash'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.out).toContain('construct');
    expect(r.out).toContain('--mem');
    const file = path.join(dir, 'ppc-dombuild.bash');
    fs.writeFileSync(file, r.out);
    execFileSync('bash', ['-n', file]);
  });

  it('bash: completes commands, subcommands, options and option values', async () => {
    const file = path.join(dir, 'c.bash');
    fs.writeFileSync(file, (await cli(['completion', 'bash'], { cwd: dir })).out);
    const complete = (...words: string[]): string[] => execFileSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ppc_dombuild; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(complete('ppc-dombuild', 'cons')).toEqual(['construct']);
    expect(complete('ppc-dombuild', 'inspect', '')).toEqual(['p2m', 'rma', 'devtree', 'machine', 'hpt']);
    expect(complete('ppc-dombuild', 'inspect', 'p2m', '--p')).toEqual(['--pfn']);
    expect(complete('ppc-dombuild', 'construct', '--mem', '4G', '--max')).toEqual(['--max-mem']);
    expect(complete('ppc-dombuild', '--color', '')).toEqual(['auto', 'always', 'never']);
    expect(complete('ppc-dombuild', 'construct', '--machine', 'b')).toContain('big64');
    expect(complete('ppc-dombuild', 'completion', '')).toEqual(['bash', 'zsh']);
  });

  it('zsh: names every command with its description and the options', async () => {
    const r = await cli(['completion', 'zsh'], { cwd: dir });
    expect(r.out).toMatch(/^#compdef ppc-dombuild\n/);
    expect(r.out).toContain("'construct:boot Xen on the simulated machine");
    expect(r.out).toContain("'--pfn:translate one pfn'");
  });

  it('another shell is a usage error', async () => {
    const r = await cli(['completion', 'fish'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/'fish'.*bash, zsh/);
  });
});

describe('colour and quiet', () => {
  const dir = tempDir('colour');
  const limits = (args: string[], opts: { tty?: boolean; env?: Record<string, string> } = {}) => cli([...args, 'limits'], { cwd: dir, ...opts });

  it('auto: colour on a terminal only, never with NO_COLOR; FORCE_COLOR forces it', async () => {
    expect((await limits([], { tty: true })).out).toContain(ESC);
    expect((await limits([])).out).not.toContain(ESC);
    expect((await limits([], { tty: true, env: { NO_COLOR: '1' } })).out).not.toContain(ESC);
    expect((await limits([], { env: { FORCE_COLOR: '1' } })).out).toContain(ESC);
    expect((await limits([], { env: { FORCE_COLOR: '' } })).out).toContain(ESC);
    expect((await limits([], { tty: true, env: { FORCE_COLOR: '0' } })).out).not.toContain(ESC);
    expect((await limits([], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).out).toContain(ESC);
  });

  it('--color always and never win over the terminal and the environment', async () => {
    expect((await limits(['--color', 'always'])).out).toContain(ESC);
    expect((await limits(['--color', 'always'], { env: { NO_COLOR: '1' } })).out).toContain(ESC);
    expect((await limits(['--color', 'never'], { tty: true, env: { FORCE_COLOR: '1' } })).out).not.toContain(ESC);
    // Also after the command, and on the error line.
    expect((await cli(['limits', '--color', 'always'], { cwd: dir })).out).toContain(ESC);
    const bad = await cli(['--color', 'always', 'limits', '--mem', '40G'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${ESC}31mppc-dombuild:`);
  });

  it('--color takes auto, always or never', async () => {
    const r = await cli(['--color', 'sometimes', 'limits'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/auto, always, never|"auto", "always", "never"/);
  });

  it('-q prints nothing but errors', async () => {
    const q = await cli(['-q', 'construct', '--mem', '1G', '--trace', '--state', 's'], { cwd: dir });
    expect(q).toMatchObject({ code: 0, out: '', err: '' });
    expect(fs.existsSync(path.join(dir, 's', 'state.bin'))).toBe(true);
    expect(await cli(['list', '-q', '--state', 's', '--json'], { cwd: dir })).toMatchObject({ code: 0, out: '' });
    const bad = await cli(['-q', 'construct', '--mem', '4096', '--state', 's'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.out).toBe('');
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    const fail = await cli(['-q', 'limits', '--mem', '40G'], { cwd: dir });
    expect(fail.code).toBe(1);
    expect(fail.out).toBe('');
    expect(fail.err).toMatch(/^ppc-dombuild: dom0 of 40 GiB does not fit/);
  });
});

describe('the man page', () => {
  it('is what man/generate.js makes of the command tree (run `npm run man` after changing a command)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { render, OUT } = require('../../man/generate.js') as { render(): string; OUT: string };
    const committed = fs.readFileSync(OUT, 'utf8');
    expect(committed).toEqual(render());
    expect(committed).toContain('.SS ppc\\-dombuild inspect p2m [options]');
    expect(committed).toContain('\\-\\-pfn <n>');
  });

  it('is installed with the package', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8'));
    expect(pkg.man).toEqual(['./man/ppc-dombuild.1']);
    expect(pkg.files).toContain('man');
  });
});
