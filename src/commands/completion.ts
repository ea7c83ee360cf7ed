import { Argument, type Command, type Option } from 'commander';
import type { CliContext } from './cli_context';
import { UsageError } from '../util/errors';
import { machineNames } from './machine_select';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

/** One command of the tree, as completion needs it. */
interface Node {
  /** The words after the program name: '' for the program, 'inspect p2m' for a nested one. */
  path: string;
  subs: { name: string; about: string }[];
  options: { flag: string; about: string }[];
}

/** An option's value kind: a directory, a file, one of a list, or free text; undefined for a switch. */
type Value = { kind: 'dir' } | { kind: 'file' } | { kind: 'words'; words: string[]; files: boolean } | { kind: 'text' };

function valueOf(o: Option, machines: string[]): Value | undefined {
  if (!o.required && !o.optional) return undefined;
  if (o.argChoices) return { kind: 'words', words: o.argChoices, files: false };
  if (/<dir>/.test(o.flags)) return { kind: 'dir' };
  if (o.long === '--machine') return { kind: 'words', words: machines, files: true };
  if (/<file>/.test(o.flags)) return { kind: 'file' };
  return { kind: 'text' };
}

/** Every command of the tree, depth first, with the options it takes (the program's own apply everywhere). */
function walk(root: Command): Node[] {
  const globals = root.options;
  const nodes: Node[] = [];
  const visit = (c: Command, words: string[]): void => {
    const own = c === root ? [] : c.options;
    const options = [...own, ...globals].flatMap((o) => [o.long, o.short].filter((f): f is string => !!f).map((flag) => ({ flag, about: o.description })));
    options.push({ flag: '--help', about: 'show help' });
    if (c === root) options.push({ flag: '--version', about: 'show the version' });
    // A command without subcommands completes its first argument's choices (completion: bash, zsh) in their place.
    const choices = c.commands.length ? [] : (c.registeredArguments[0]?.argChoices ?? []).map((name) => ({ name, about: c.registeredArguments[0].description }));
    nodes.push({ path: words.join(' '), subs: [...c.commands.map((s) => ({ name: s.name(), about: s.description() })), ...choices], options });
    for (const s of c.commands) visit(s, [...words, s.name()]);
  };
  visit(root, []);
  return nodes;
}

/** Every option of the tree that takes a value, by flag, with what its value is. */
function valueOptions(root: Command, machines: string[]): Map<string, Value> {
  const out = new Map<string, Value>();
  const visit = (c: Command): void => {
    for (const o of c.options) {
      const v = valueOf(o, machines);
      if (!v) continue;
      for (const f of [o.long, o.short]) if (f && !out.has(f)) out.set(f, v);
    }
    c.commands.forEach(visit);
  };
  visit(root);
  return out;
}

/** How the scripts spell a command's place: '' for the program, ' inspect p2m' (a space before each word). */
const key = (n: Node): string => (n.path ? ' ' + n.path : '');
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const dq = (s: string): string => `"${s}"`;

/** The bash script: `source <(ppc-dombuild completion bash)`. */
export function bashScript(root: Command, machines: string[]): string {
  const name = root.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const nodes = walk(root);
  const values = valueOptions(root, machines);
  const withValue = [...values.keys()];
  const cases = nodes.map((n) => `    ${dq(key(n))}) subs=${sq(n.subs.map((s) => s.name).join(' '))}; opts=${sq(n.options.map((o) => o.flag).join(' '))} ;;`).join('\n');
  const byKind = (pred: (v: Value) => boolean): string[] => [...values].filter(([, v]) => pred(v)).map(([f]) => f);
  const wordCases = [...values].filter(([, v]) => v.kind === 'words').map(([f, v]) => {
    const w = v as { words: string[]; files: boolean };
    return `    ${f}) COMPREPLY=($(compgen -W ${sq(w.words.join(' '))}${w.files ? ' -f' : ''} -- "$cur")); return ;;`;
  });
  const dirs = byKind((v) => v.kind === 'dir');
  const files = byKind((v) => v.kind === 'file');
  const text = byKind((v) => v.kind === 'text');
  return `# bash completion for ${name}, generated from its command tree by \`${name} completion bash\`.
# Use: source <(${name} completion bash), or save it in /etc/bash_completion.d/${name}.
${fn}() {
  local cur prev path w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      ${withValue.join('|')}) ((i++)); continue ;;
      -*) continue ;;
    esac
    case "$path $w" in
      ${nodes.filter((n) => n.path).map((n) => dq(' ' + n.path)).join('|')}) path="$path $w" ;;
    esac
  done
  case "$prev" in
${wordCases.join('\n')}
${dirs.length ? `    ${dirs.join('|')}) COMPREPLY=($(compgen -d -- "$cur")); return ;;\n` : ''}${files.length ? `    ${files.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;\n` : ''}${text.length ? `    ${text.join('|')}) COMPREPLY=(); return ;;\n` : ''}  esac
  local subs="" opts=""
  case "$path" in
${cases}
  esac
  if [[ "$cur" == -* || -z "$subs" ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  fi
}
complete -o default -F ${fn} ${name}
`;
}

/** The zsh script: `source <(ppc-dombuild completion zsh)`, or saved as _ppc-dombuild in $fpath. */
export function zshScript(root: Command, machines: string[]): string {
  const name = root.name();
  const fn = `_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
  const nodes = walk(root);
  const values = valueOptions(root, machines);
  const desc = (n: string, about: string): string => sq(`${n.replace(/:/g, '\\:')}:${about.replace(/\s+/g, ' ')}`);
  const cases = nodes.map((n) => `    (${dq(key(n))})\n      subs=(${n.subs.map((s) => desc(s.name, s.about)).join(' ')})\n      opts=(${n.options.map((o) => desc(o.flag, o.about)).join(' ')}) ;;`).join('\n');
  const valueCases = [...values].map(([f, v]) => {
    const action = v.kind === 'dir' ? '_files -/' : v.kind === 'file' ? '_files' : v.kind === 'words' ? `compadd -- ${v.words.map(sq).join(' ')}${v.files ? '; _files' : ''}` : ':';
    return `    (${f}) ${action}; return ;;`;
  });
  return `#compdef ${name}
# zsh completion for ${name}, generated from its command tree by \`${name} completion zsh\`.
# Use: source <(${name} completion zsh), or save it as ${fn} in a directory of $fpath.
${fn}() {
  local p="" w i
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    case $w in
      (${[...values.keys()].join('|')}) ((i++)); continue ;;
      (-*) continue ;;
    esac
    case "$p $w" in
      (${nodes.filter((n) => n.path).map((n) => dq(' ' + n.path)).join('|')}) p="$p $w" ;;
    esac
  done
  case \${words[CURRENT-1]} in
${valueCases.join('\n')}
  esac
  local -a subs opts
  case $p in
${cases}
  esac
  if [[ $PREFIX == -* || \${#subs} -eq 0 ]]; then
    _describe -t options option opts
  else
    _describe -t commands command subs
  fi
}
if [[ \${funcstack[1]} == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${name}
fi
`;
}

/** Registers `completion` on the command line. */
export function register(prog: Command, ctx: CliContext): void {
  ctx.run(ctx.examples(prog.command('completion')
    .description('print a shell completion script (bash or zsh), generated from the command tree')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(SHELLS)), [
    ['source <(ppc-dombuild completion bash)', 'complete in this bash session'],
    ['ppc-dombuild completion bash > /etc/bash_completion.d/ppc-dombuild', 'every bash session'],
    ['source <(ppc-dombuild completion zsh)', 'complete in this zsh session'],
  ]), (io, cmd) => {
    const shell = cmd.args[0];
    if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError(`no completion for shell '${shell}'`, `give one of ${SHELLS.join(', ')}`);
    const root = cmd.parent!;
    io.out(shell === 'bash' ? bashScript(root, machineNames()) : zshScript(root, machineNames()));
    return 0;
  });
}
