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
  accountValueNode,
  addPdasVisitor,
  argumentValueNode,
  constantPdaSeedNodeFromString,
  createFromRoot,
  numberTypeNode,
  pdaSeedValueNode,
  pdaValueNode,
  programIdValueNode,
  publicKeyTypeNode,
  setInstructionAccountDefaultValuesVisitor,
  updateDefinedTypesVisitor,
  variablePdaSeedNode,
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
// The IDL's seeds that read a field of a struct argument (`args.id`, `args.epoch`) are dropped by
// nodes-from-anchor; once it has flattened those arguments they are plain instruction arguments,
// so the market of `create_market` and the new LT mint of `start_lt_epoch` and `rebase_lt` get their PDAs here
// (`constants.rs`: `["market", underlying_mint, id u32 LE]`, `["lt_mint", market, epoch u32 LE]`).
// The request of `request_*` stays an input: its nonce is inside the shared `OpenRequestArgs`.
codama.update(
  addPdasVisitor({
    lever: [
      { name: 'eventAuthority', seeds: [constantPdaSeedNodeFromString('utf8', '__event_authority')] },
      {
        name: 'market',
        seeds: [
          constantPdaSeedNodeFromString('utf8', 'market'),
          variablePdaSeedNode('underlyingMint', publicKeyTypeNode()),
          variablePdaSeedNode('id', numberTypeNode('u32')),
        ],
      },
      {
        name: 'ltMintOfEpoch',
        seeds: [
          constantPdaSeedNodeFromString('utf8', 'lt_mint'),
          variablePdaSeedNode('market', publicKeyTypeNode()),
          variablePdaSeedNode('epoch', numberTypeNode('u32')),
        ],
      },
    ],
  }),
);
codama.update(
  setInstructionAccountDefaultValuesVisitor([
    { account: 'eventAuthority', defaultValue: pdaValueNode('eventAuthority') },
    { account: 'program', defaultValue: programIdValueNode() },
    {
      instruction: 'createMarket',
      account: 'market',
      defaultValue: pdaValueNode('market', [
        pdaSeedValueNode('underlyingMint', accountValueNode('underlyingMint')),
        pdaSeedValueNode('id', argumentValueNode('id')),
      ]),
    },
    {
      instruction: 'startLtEpoch',
      account: 'newLtMint',
      defaultValue: pdaValueNode('ltMintOfEpoch', [
        pdaSeedValueNode('market', accountValueNode('market')),
        pdaSeedValueNode('epoch', argumentValueNode('epoch')),
      ]),
    },
    {
      instruction: 'rebaseLt',
      account: 'newLtMint',
      defaultValue: pdaValueNode('ltMintOfEpoch', [
        pdaSeedValueNode('market', accountValueNode('market')),
        pdaSeedValueNode('epoch', argumentValueNode('epoch')),
      ]),
    },
  ]),
);

await codama.accept(renderVisitor(out, { deleteFolderBeforeRendering: true, formatCode: true }));
console.log(
  `generated ${path.relative(process.cwd(), out) || '.'} from ${path.relative(process.cwd(), idlPath)}`,
);
