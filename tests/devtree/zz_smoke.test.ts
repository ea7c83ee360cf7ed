import * as fs from 'fs';
import { readFdt } from '../../src/devtree/fdt_ro';
import { writeFdt } from '../../src/devtree/fdt_wr';
import { toDts } from '../../src/devtree/dts';
test('smoke', () => {
  const dir = '/work/main/fixtures/firmware/';
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.dtb'))) {
    const blob = fs.readFileSync(dir + f);
    const t = readFdt(blob);
    const w = writeFdt(t);
    const same = Buffer.compare(Buffer.from(w), blob) === 0;
    const dts = toDts(t);
    const gold = fs.readFileSync(dir + 'decompiled/' + f.replace('.dtb', '.dts'), 'latin1');
    console.log(f, 'bytes same:', same, w.length, blob.length, 'dts same:', dts === gold);
    if (dts !== gold) fs.writeFileSync('/tmp/ours-' + f + '.dts', dts);
  }
});
