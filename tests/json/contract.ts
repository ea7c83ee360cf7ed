/** The schemas in docs/schema/, compiled once, and a check that names the failing keys. */
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export const SCHEMA_DIR = path.resolve(__dirname, '..', '..', 'docs', 'schema');

let ajv: Ajv2020 | undefined;

export function schemas(): Ajv2020 {
  if (ajv) return ajv;
  ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  for (const f of fs.readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, f), 'utf8')));
  return ajv;
}

/** Errors validating `doc` against the schema its own `schema` key names ([] when it validates). */
export function contractErrors(doc: unknown): string[] {
  const id = (doc as { schema?: unknown }).schema;
  if (typeof id !== 'string') return ['the document has no "schema" key'];
  const v = schemas().getSchema(id);
  if (!v) return [`no schema with $id ${id} in docs/schema`];
  if (v(doc)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${(e.params as { additionalProperty: string }).additionalProperty})` : ''}`);
}
