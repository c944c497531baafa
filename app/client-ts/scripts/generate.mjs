// Generate the client in src/generated/ from the committed IDL (idls/lever.json) with Codama.
// `node scripts/generate.mjs [OUT_DIR]`: OUT_DIR defaults to src/generated (the drift test
// renders into a temporary directory and compares).
//
// The IDL names no address for two accounts every instruction takes (`emit_cpi!`'s
// `event_authority` and `program`), so a plain rendering would make every caller pass them. The
// visitors below give them their defaults: `program` is the program itself and `event_authority`
// the PDA `["__event_authority"]` of it (Anchor's rule).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  addPdasVisitor,
  constantPdaSeedNodeFromString,
  createFromRoot,
  pdaValueNode,
  programIdValueNode,
  setInstructionAccountDefaultValuesVisitor,
  updateDefinedTypesVisitor,
} from 'codama';
import { rootNodeFromAnchor } from '@codama/nodes-from-anchor';
import { renderVisitor } from '@codama/renderers-js';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.resolve(here, '..');
const idlPath = path.resolve(pkg, '../../idls/lever.json');
const out = path.resolve(process.argv[2] ?? path.join(pkg, 'src/generated'));

const idl = JSON.parse(readFileSync(idlPath, 'utf8'));
const codama = createFromRoot(rootNodeFromAnchor(idl));

// The account `Request` renders a `RequestArgs` type (its encoder's input), which would clash with
// the instruction argument struct `RequestArgs` of the four `request_*` instructions.
codama.update(updateDefinedTypesVisitor({ requestArgs: { name: 'openRequestArgs' } }));
codama.update(
  addPdasVisitor({
    lever: [{ name: 'eventAuthority', seeds: [constantPdaSeedNodeFromString('utf8', '__event_authority')] }],
  }),
);
codama.update(
  setInstructionAccountDefaultValuesVisitor([
    { account: 'eventAuthority', defaultValue: pdaValueNode('eventAuthority') },
    { account: 'program', defaultValue: programIdValueNode() },
  ]),
);

await codama.accept(renderVisitor(out, { deleteFolderBeforeRendering: true, formatCode: true }));
console.log(
  `generated ${path.relative(process.cwd(), out) || '.'} from ${path.relative(process.cwd(), idlPath)}`,
);
