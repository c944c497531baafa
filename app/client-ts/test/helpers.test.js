// The hand-written helpers against the IDL and the Rust SDK's fixtures: error names, PDAs, market
// keys, request mints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNoopSigner, getAddressDecoder } from '@solana/kit';
import * as lever from '../dist/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const idl = JSON.parse(readFileSync(path.join(repo, 'idls/lever.json'), 'utf8'));
const key = (n) => getAddressDecoder().decode(new Uint8Array(32).fill(n));

test('errorName and errorMessage give every IDL error its name and message, and nothing else', () => {
  assert.equal(idl.errors.length, lever.errorCodes().length);
  for (const e of idl.errors) {
    assert.equal(lever.errorName(e.code), e.name, `code ${e.code}`);
    assert.equal(lever.errorMessage(e.code), e.msg, `code ${e.code}`);
  }
  assert.equal(lever.errorName(6047), 'SlippageExceeded');
  assert.equal(lever.errorName(0), undefined);
  assert.equal(lever.errorName(2006), undefined); // Anchor's ConstraintSeeds: not Lever's
  assert.equal(lever.errorMessage(9999), undefined);
});

test('MARKET_VERSION is the one in constants.rs', () => {
  const constants = readFileSync(path.join(repo, 'programs/lever/src/constants.rs'), 'utf8');
  const version = /pub const MARKET_VERSION: u8 = (\d+);/.exec(constants);
  assert.ok(version, 'constants.rs declares MARKET_VERSION');
  assert.equal(lever.MARKET_VERSION, Number(version[1]));
  assert.equal(lever.isCurrentMarket({ version: lever.MARKET_VERSION }), true);
  assert.equal(lever.isCurrentMarket({ version: lever.MARKET_VERSION - 1 }), false);
});

test('the IDL seeds of every PDA account equal the helpers', async () => {
  // The IDL's const seeds are the program's seed constants (constants.rs); check each helper's.
  const utf8 = (bytes) => Buffer.from(bytes).toString('utf8');
  const seeds = new Map();
  for (const ix of idl.instructions) {
    for (const a of ix.accounts) {
      if (a.pda)
        seeds.set(
          a.name,
          a.pda.seeds.map((s) => (s.kind === 'const' ? utf8(s.value) : `${s.kind}:${s.path}`)),
        );
    }
  }
  assert.deepEqual(Object.fromEntries(seeds), {
    config: ['config'],
    market: ['market', 'account:underlying_mint', 'arg:args.id'],
    vault: ['vault', 'account:market'],
    lt_mint: ['lt_mint', 'account:market'],
    new_lt_mint: ['lt_mint', 'account:market', 'arg:args.epoch'],
    ft_mint: ['ft_mint', 'account:market'],
    locked_ft: ['locked_ft', 'account:market'],
    request: ['request', 'account:market', 'account:owner', 'arg:args.nonce'],
    escrow: ['escrow', 'account:request'],
  });
});

test('market keys, LT epochs and request mints follow the program', async () => {
  const keys = await lever.deriveMarketKeys(key(1), 7, lever.TOKEN_PROGRAM_ADDRESS);
  assert.equal(keys.market, await lever.marketAddress(key(1), 7));
  assert.notEqual(await lever.marketAddress(key(1), 8), keys.market);
  assert.equal(keys.ltMint, await lever.ltMintAddress(keys.market, 0));
  assert.notEqual(await lever.ltMintAddress(keys.market, 1), keys.ltMint);
  // marketKeys takes the current LT mint from the account, the rest from the PDAs.
  const later = await lever.ltMintAddress(keys.market, 4);
  const fromAccount = await lever.marketKeys({
    underlyingMint: key(1),
    id: 7,
    underlyingTokenProgram: lever.TOKEN_PROGRAM_ADDRESS,
    ltMint: later,
  });
  assert.deepEqual(fromAccount, { ...keys, ltMint: later });
  const { RequestKind, TOKEN_2022_PROGRAM_ADDRESS: T22, TOKEN_PROGRAM_ADDRESS: T } = lever;
  assert.deepEqual(lever.requestMints(keys, RequestKind.MintLt), {
    inputMint: keys.underlyingMint,
    outputMint: keys.ltMint,
    inputTokenProgram: T,
    outputTokenProgram: T22,
  });
  assert.deepEqual(lever.requestMints(keys, RequestKind.RedeemLt), {
    inputMint: keys.ltMint,
    outputMint: keys.underlyingMint,
    inputTokenProgram: T22,
    outputTokenProgram: T,
  });
  assert.deepEqual(lever.requestMints(keys, RequestKind.DepositFunding), {
    inputMint: keys.underlyingMint,
    outputMint: keys.ftMint,
    inputTokenProgram: T,
    outputTokenProgram: T22,
  });
  assert.deepEqual(lever.requestMints(keys, RequestKind.WithdrawFunding), {
    inputMint: keys.ftMint,
    outputMint: keys.underlyingMint,
    inputTokenProgram: T22,
    outputTokenProgram: T,
  });
  assert.equal(lever.wide({ lo: 5n, hi: 1n }), (1n << 64n) + 5n);
});

test("cancelRequestInstruction takes the escrow's own input mint over the market's current one", async () => {
  const keys = await lever.deriveMarketKeys(key(1), 7, lever.TOKEN_PROGRAM_ADDRESS);
  // After a re-base the market's LT mint is epoch 1's; a redemption opened before holds epoch 0's.
  const current = { ...keys, ltMint: await lever.ltMintAddress(keys.market, 1) };
  const retired = keys.ltMint;
  const request = await lever.requestAddress(keys.market, key(20), 5n);
  const r = {
    payer: key(24),
    kind: lever.RequestKind.RedeemLt,
    escrow: await lever.escrowAddress(request),
    source: key(21),
    destination: key(22),
  };
  const names = idl.instructions.find((i) => i.name === 'cancel_request').accounts.map((a) => a.name);
  const at = (ix, name) => ix.accounts[names.indexOf(name)].address;
  const canceller = createNoopSigner(key(26));
  const plain = await lever.cancelRequestInstruction(canceller, current, request, r);
  assert.equal(at(plain, 'input_mint'), current.ltMint);
  assert.equal(at(plain, 'input_token_program'), lever.TOKEN_2022_PROGRAM_ADDRESS);
  const own = await lever.cancelRequestInstruction(canceller, current, request, r, { inputMint: retired });
  assert.equal(at(own, 'input_mint'), retired);
  assert.equal(at(own, 'input_token_program'), lever.TOKEN_2022_PROGRAM_ADDRESS);
  assert.equal(own.accounts.length, plain.accounts.length);
  // Everything else is the same instruction.
  for (const name of names.filter((n) => n !== 'input_mint'))
    assert.equal(at(own, name), at(plain, name), name);
  assert.deepEqual(own.data, plain.data);
  const program = key(9);
  const both = await lever.cancelRequestInstruction(canceller, current, request, r, {
    inputMint: retired,
    inputTokenProgram: program,
  });
  assert.equal(at(both, 'input_token_program'), program);
});
