/**
 * Device tree source output, byte for byte what `dtc -I dtb -O dts` prints
 * (dtc 1.6.1, Debian bookworm; `dtcVersion: '1.7'` for dtc >= 1.7.1, which
 * splits string lists into "a", "b" where 1.6 prints "a\0b"). A blob carries
 * no types, so like dtc we guess each value: a string (list), u32 cells or
 * bytes. Like dtc we also drop a `name` property that only repeats the node's
 * base name (dtc's name_properties check deletes it), under the same
 * conditions as dtc.
 *
 * Names and string bytes come out one char per byte (latin1): write the
 * result with Buffer.from(text, 'latin1') to get dtc's exact bytes.
 */
import { DeviceTree, DeviceTreeError, FdtNode, FdtProperty, baseName, findNode, walkTree } from './model';

export interface ToDtsOptions {
  /** Print only the node at this path (and its subtree), without the /dts-v1/ header. */
  path?: string;
  /** Which dtc's output to match: '1.6' (default, Debian bookworm) or '1.7' (string lists split). */
  dtcVersion?: '1.6' | '1.7';
}

/** C isprint() in the C locale. */
const isPrint = (c: number): boolean => c >= 0x20 && c <= 0x7e;

/** dtc's isstring(): printable, NUL, or one of \a \b \t \n \v \f \r. */
const isStringByte = (c: number): boolean => isPrint(c) || c === 0 || (c >= 7 && c <= 13);

type Guess = 'string' | 'cells' | 'bytes';

/** dtc's guess_value_type() for a value without type markers (len > 0). */
function guessType(v: Uint8Array): Guess {
  let notString = 0;
  let nul = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (!isStringByte(c)) notString++;
    if (c === 0) nul++;
  }
  if (v[v.length - 1] === 0 && notString === 0 && nul <= v.length - nul) return 'string';
  return v.length % 4 === 0 ? 'cells' : 'bytes';
}

const ESCAPES: Record<number, string> = {
  7: '\\a',
  8: '\\b',
  9: '\\t',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
  0x5c: '\\\\',
  0x22: '\\"',
  0: '\\0',
};

/** dtc's write_propval_string(): the chunk's last byte is its NUL and is not printed. */
function quoted(v: Uint8Array, start: number, end: number): string {
  let s = '"';
  for (let i = start; i < end - 1; i++) {
    const c = v[i]!;
    const esc = ESCAPES[c];
    if (esc !== undefined) s += esc;
    else if (isPrint(c)) s += String.fromCharCode(c);
    else s += '\\x' + c.toString(16).padStart(2, '0');
  }
  return s + '"';
}

function formatValue(v: Uint8Array, dtcVersion: '1.6' | '1.7'): string {
  switch (guessType(v)) {
    case 'string': {
      if (dtcVersion === '1.6') return quoted(v, 0, v.length);
      const parts: string[] = [];
      for (let start = 0; start < v.length; ) {
        const end = v.indexOf(0, start) + 1;
        parts.push(quoted(v, start, end));
        start = end;
      }
      return parts.join(', ');
    }
    case 'cells': {
      const cells: string[] = [];
      for (let i = 0; i < v.length; i += 4) {
        const cell = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        cells.push('0x' + cell.toString(16).padStart(2, '0'));
      }
      return `<${cells.join(' ')}>`;
    }
    case 'bytes': {
      const bytes: string[] = [];
      for (let i = 0; i < v.length; i++) bytes.push(v[i]!.toString(16).padStart(2, '0'));
      return `[${bytes.join(' ')}]`;
    }
  }
}

/** A value that data_is_one_string() accepts: non-empty, one NUL, at the end. */
function isOneString(v: Uint8Array): boolean {
  return v.length > 0 && v.indexOf(0) === v.length - 1;
}

const NODE_CHARS = /^[a-zA-Z0-9,._+\-@]*$/;
const PROP_CHARS = /^[a-zA-Z0-9,._+*#?\-]*$/;

/**
 * Whether dtc gets as far as its name_properties check, which deletes
 * redundant `name` properties. dtc stops running checks at the first one
 * that fails with an error, and these run before it: duplicate node names,
 * duplicate property names, node name characters, one '@' per node name,
 * property name characters, and every `name` property being one string.
 * (With such errors plain dtc prints nothing; `dtc -f` prints the tree with
 * its `name` properties kept, which is what we match.)
 */
function dtcDropsNameProps(root: FdtNode): boolean {
  let ok = true;
  walkTree(root, (node) => {
    if (!ok) return;
    const childNames = new Set<string>();
    for (const child of node.children) {
      if (childNames.has(child.name)) ok = false;
      childNames.add(child.name);
    }
    const propNames = new Set<string>();
    for (const prop of node.props) {
      if (propNames.has(prop.name) || !PROP_CHARS.test(prop.name)) ok = false;
      propNames.add(prop.name);
    }
    const at = node.name.indexOf('@');
    if (!NODE_CHARS.test(node.name) || (at >= 0 && node.name.indexOf('@', at + 1) >= 0)) ok = false;
    const nameProp = node.props.find((p) => p.name === 'name');
    if (nameProp && !isOneString(nameProp.value)) ok = false;
  });
  return ok;
}

function isRedundantName(node: FdtNode, prop: FdtProperty): boolean {
  const base = baseName(node.name);
  if (prop.value.length !== base.length + 1) return false;
  for (let i = 0; i < base.length; i++) if (prop.value[i] !== base.charCodeAt(i)) return false;
  return true;
}

function formatNode(start: FdtNode, dropNames: boolean, dtcVersion: '1.6' | '1.7', out: string[]): void {
  walkTree(
    start,
    (node, depth) => {
      const indent = '\t'.repeat(depth);
      if (depth > 0) out.push('\n');
      out.push(`${indent}${node.name || '/'} {\n`);
      const nameProp = dropNames ? node.props.find((p) => p.name === 'name') : undefined;
      const skip = nameProp && isRedundantName(node, nameProp) ? nameProp : undefined;
      for (const prop of node.props) {
        if (prop === skip) continue;
        if (prop.value.length === 0) out.push(`${indent}\t${prop.name};\n`);
        else out.push(`${indent}\t${prop.name} = ${formatValue(prop.value, dtcVersion)};\n`);
      }
    },
    (_node, depth) => {
      out.push(`${'\t'.repeat(depth)}};\n`);
    },
  );
}

const hex16 = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');

export function toDts(tree: DeviceTree, opts: ToDtsOptions = {}): string {
  const dtcVersion = opts.dtcVersion ?? '1.6';
  const dropNames = dtcDropsNameProps(tree.root);
  const out: string[] = [];
  if (opts.path !== undefined) {
    const node = findNode(tree.root, opts.path);
    if (!node) throw new DeviceTreeError(`no node at path ${opts.path}`);
    formatNode(node, dropNames, dtcVersion, out);
    return out.join('');
  }
  out.push('/dts-v1/;\n\n');
  for (const r of tree.reservations) out.push(`/memreserve/\t${hex16(r.address)} ${hex16(r.size)};\n`);
  formatNode(tree.root, dropNames, dtcVersion, out);
  return out.join('');
}
