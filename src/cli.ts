import { Command, CommanderError, Option } from 'commander';
import { DombuildError, EXIT_USAGE } from './util/errors';
import { processIo, paint, type Io } from './commands/io';
import { hintText } from './commands/hints';

// One version, the package's (dist/cli.js and src/cli.ts both sit one level below it).
const VERSION: string = require('../package.json').version;

/** Build the command tree; `act` wraps each action so its exit code is kept. */
function program(io: Io, setCode: (c: number) => void): Command {
  // Each command's module is loaded when that command runs, not at start-up.
  const act = <T>(load: () => Promise<(io: Io, flags: T) => number>) => async (...args: unknown[]): Promise<void> => {
    const cmd = args[args.length - 1] as Command;
    const fn = await load();
    setCode(fn(io, cmd.optsWithGlobals() as T));
  };
  const stateOpt = (): Option => new Option('--state <dir>', 'state directory (default ./.ppc-dombuild, or $PPC_DOMBUILD_STATE)');
  const jsonOpt = (): Option => new Option('--json', 'one JSON document on stdout');

  const prog = new Command('ppc-dombuild')
    .description('Build dom0 for Xen on PowerPC 970 with its p2m table in the RMA, then inspect and check it.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  prog.command('construct')
    .description('boot Xen on the simulated machine and build dom0 (SPEC construct_dom0 steps 1-12), saving the state')
    .option('--mem <size>', 'dom0 boot size (default RAM/16, at least 192 MiB), rounded up to 16 MiB extents')
    .option('--max-mem <size>', 'what the p2m table covers (default: the platform limit)')
    .option('--rma <size>', 'RMA size: 64M, 128M, 256M, 1G, 16G or 256G', '64M')
    .option('--p2m-placement <where>', "after-of, end, or a guest-physical address like 32M", 'after-of')
    .option('--of-at <addr>', 'where the Open Firmware handler goes in the RMA', '32M')
    .option('--kernel <file>', 'kernel image to load at 0')
    .option('--kernel-size <size>', 'size of a synthetic kernel (default 6M)')
    .option('--initrd <file>', 'initrd image, loaded after the kernel')
    .option('--initrd-size <size>', 'size of a synthetic initrd')
    .option('--bootargs <args>', 'kernel command line for /chosen')
    .option('--machine <name|file>', 'machine profile: js21 (default), maple, big64, or a JSON file')
    .option('--ram <size>', "override the machine's RAM")
    .option('--firmware-dtb <file>', "start from this firmware device tree (RAM from its /memory nodes unless --ram)")
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .option('--trace', 'print each construct_dom0 step on stderr as it happens')
    .option('--linear-page <size>', "page size dom0's kernel bolts its linear map with: 16M (default) or 4K")
    .option('--linear-fallback', 'map a 16 MiB extent that is not one aligned machine run with 4 KiB pages instead of refusing')
    .option('--no-boot', "stop after Xen's part: do not boot dom0's kernel (no hash table entries)")
    .option('--translation <scheme>', "proposal (dom0 keeps its p2m in its RMA, passes mfns) or legacy (Xen keeps it, dom0 passes pfns; Xen's part only)", 'proposal')
    .action(act(async () => (await import('./commands/construct')).runConstruct));

  const inspect = prog.command('inspect').description('show the built state');
  inspect.command('p2m')
    .description("dom0's p2m table: where it lives, then the mapping as pfn -> mfn runs")
    .option('--pfn <n>', 'translate one pfn')
    .option('--range <a-b>', 'only pfns a..b (inclusive)')
    .option('--raw', 'the table bytes as stored (big-endian u32); a hex dump on a terminal')
    .option('--domid <n>', 'domain', '0')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/inspect')).runInspectP2m));
  inspect.command('rma')
    .description("a domain's RMA layout (dom0's by default), as a table and a picture")
    .option('--svg <file>', 'also write an SVG memory map')
    .option('--domid <n>', 'domain', '0')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/inspect')).runInspectRma));
  inspect.command('devtree')
    .description("dom0's device tree as DTS (as `dtc -I dtb -O dts` prints it)")
    .option('--dtb <file>', 'write the blob')
    .option('--path <node>', 'only this node, e.g. /xen')
    .option('--domid <n>', "a domU's tree instead of dom0's")
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/inspect')).runInspectDevtree));
  inspect.command('machine')
    .description('RAM ranges, heap free per order, who owns what')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/inspect')).runInspectMachine));
  inspect.command('hpt')
    .description("dom0's hashed page table: size, counts, PTEG occupancy; one PTEG decoded; or an address walked to its HPTE")
    .option('--pteg <n>', 'decode the 8 slots of PTEG n (EA, VSID, pfn, mfn, owner, flags)')
    .option('--ea <addr>', 'walk an effective address: ESID, VSID, va, hash, groups, slot, mfn, and what the p2m says')
    .option('--domid <n>', 'domain', '0')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/inspect_hpt')).runInspectHpt));

  prog.command('validate')
    .description('check every invariant of the built state: exit 0 when all hold, 1 (after the report) when any is broken')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/validate')).runValidate));

  prog.command('limits')
    .description('the 32 GiB math: every constraint on dom0\'s size (p2m span, entry width, RMA, hash table block, RAM) and which one binds, on a machine')
    .option('--rma <size>', 'RMA size', '64M')
    .option('--p2m-at <addr>', 'table start (default: right after the OF area)')
    .option('--of-at <addr>', 'where the OF area is', '32M')
    .option('--entry-size <n>', '4 (u32 mfns) or 8', '4')
    .option('--mem <size>', 'check a dom0 of this size: exit 1 if it does not fit')
    .option('--machine <name|file>', 'machine profile: js21 (default), maple, big64, or a JSON file')
    .option('--ram <size>', "override the machine's RAM")
    .option('--firmware-dtb <file>', "the machine's firmware device tree (a tree without the IO hole keeps dom0's map flat)")
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/limits')).runLimits));
  prog.command('create-domu')
    .description('create a shadow domain (domU) beside dom0: Xen keeps its p2m; RMA from the domain heap, 16 MiB extents, its own device tree')
    .requiredOption('--mem <size>', 'domU memory, rounded up to 16 MiB extents')
    .option('--max-mem <size>', "what Xen's table for it covers (a balloon can grow it that far); default --mem")
    .option('--rma <size>', 'RMA size: 64M, 128M, 256M, 1G, 16G or 256G', '64M')
    .option('--bootargs <args>', 'kernel command line for its /chosen')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/domu')).runCreateDomu));
  prog.command('destroy-domu')
    .description('destroy a domU: its frames back to the domain heap, its Xen p2m and hash table to the Xen heap; refused while its frames are mapped by another domain')
    .requiredOption('--domid <n>', 'the domU')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/domu')).runDestroyDomu));
  prog.command('list')
    .description('every domain: memory, RMA, where its p2m table is and who keeps it')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/list')).runList));
  prog.command('audit')
    .description('build the machine the legacy way and the proposal\'s, in memory, and classify every number Xen can be handed (the saved state is not touched)')
    .option('--mem <size>', 'dom0 size (default 4G)')
    .option('--domus <n>', 'domUs built beside dom0', '2')
    .option('--domu-mem <size>', 'each domU\'s memory', '128M')
    .option('--rma <size>', "dom0's RMA size", '64M')
    .option('--machine <name|file>', 'machine profile (default js21)')
    .option('--ram <size>', "override the machine's RAM")
    .option('--state <dir>', 'audit the machine this saved state was built on (read only)')
    .option('--sweep', 'try dom0 sizes from 1 GiB up and show where each failure starts')
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/audit')).runAuditCommand));
  prog.command('xencomm')
    .description("the xencomm descriptor dom0 hands Xen for a buffer: one machine address per page, from dom0's own p2m")
    .requiredOption('--paddr <addr>', "the buffer's guest-physical address")
    .requiredOption('--len <size>', "the buffer's length")
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/xencomm')).runXencomm));
  prog.command('map-foreign')
    .description("dom0 maps another domain's frame: learns its mfn from Xen, H_ENTER with the machine address; Xen holds a page reference")
    .requiredOption('--domid <n>', 'whose frame')
    .requiredOption('--pfn <n>', 'its pfn there (decimal or 0x hex)')
    .option('--from <n>', 'the mapping domain (default 0; a non-privileged one gets H_PRIVILEGE)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/foreign')).runMapForeign));
  prog.command('unmap-foreign')
    .description('remove a foreign mapping with H_REMOVE; Xen drops the page reference')
    .requiredOption('--domid <n>', 'whose frame')
    .requiredOption('--pfn <n>', 'its pfn there')
    .option('--from <n>', 'the mapping domain (default 0)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/foreign')).runUnmapForeign));
  prog.command('balloon')
    .description("shrink or grow a domain: released pages lose their HPTEs and entries, then go to the heap; new pages come from the heap into the table")
    .requiredOption('--target <size>', 'the size to balloon to')
    .option('--domid <n>', 'the domain (default 0)')
    .addOption(stateOpt())
    .addOption(jsonOpt())
    .action(act(async () => (await import('./commands/balloon')).runBalloon));
  return prog;
}

/** Run the CLI; returns the exit code. Errors become one line on stderr. */
export async function run(argv: string[], io: Io = processIo()): Promise<number> {
  let code = 0;
  const prog = program(io, (c) => (code = c));
  try {
    await prog.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE; // commander already printed its one line
    }
    const p = paint(io, io.stderrTTY);
    if (e instanceof DombuildError) {
      const hint = hintText(e);
      io.err(`${p.red('ppc-dombuild:')} ${e.message}${hint ? ` (${hint})` : ''}\n`);
      return e.exitCode;
    }
    io.err(`${p.red('ppc-dombuild: internal error:')} ${(e as Error).stack ?? String(e)}\n`);
    return 70;
  }
}

export function main(): void {
  run(process.argv.slice(2)).then((c) => {
    process.exitCode = c;
  });
}
