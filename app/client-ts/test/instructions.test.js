// Every instruction of the program, built by this client, equals the Rust SDK's (`lever_sdk::ix`)
// to the byte: program id, each account's address and signer/writable flags, and the data. The Rust
// side is the `ix_fixtures` example of lever-cli, run here (its JSON goes to target/, not committed);
// both build the same fixed keys ([n; 32]) and arguments.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createNoopSigner, getAddressDecoder, isSignerRole, isWritableRole, none, some } from '@solana/kit';
import * as lever from '../dist/index.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FIXTURES = path.join(repo, 'target/ix_fixtures.json');

let fixtures;
before(() => {
  execFileSync('cargo', ['run', '-q', '-p', 'lever-cli', '--example', 'ix_fixtures', '--', FIXTURES], {
    cwd: repo,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  fixtures = JSON.parse(readFileSync(FIXTURES, 'utf8'));
});

const key = (n) => getAddressDecoder().decode(new Uint8Array(32).fill(n));
const signer = (n) => createNoopSigner(key(n));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

function assertSame(name, ix) {
  const want = fixtures.instructions[name];
  assert.ok(want, `the Rust fixtures have no ${name}`);
  assert.equal(ix.programAddress, want.programId, `${name}: program`);
  const got = ix.accounts.map((a) => ({
    pubkey: a.address,
    isSigner: isSignerRole(a.role),
    isWritable: isWritableRole(a.role),
  }));
  assert.deepEqual(got, want.accounts, `${name}: accounts`);
  assert.equal(hex(ix.data), want.data, `${name}: data`);
}

const bounds = (scale) => ({
  minLeveragePpm: 2_000_000n,
  maxLeveragePpm: 10_000_000n,
  maxFeePpm: 50_000n / scale,
  maxPriceAgeSecs: 86_400n / scale,
  maxConfPpm: 100_000n / scale,
  minSeedUnits: 1_000n * scale,
});

const params = {
  targetLeveragePpm: 3_000_000n,
  bandPpm: 50_000n,
  mintFeePpm: 3_000n,
  redeemFeePpm: 2_000n,
  depositFeePpm: 1_000n,
  withdrawFeePpm: 1_001n,
  maxPriceAgeSecs: 60n,
  maxConfPpm: 20_000n,
  confMultiplierPpm: 1_500_000n,
  exposureCap: 2n ** 64n - 1n,
  maxUtilizationPpm: 900_000n,
  baseRatePpm: 20_000n,
  kinkPpm: 800_000n,
  slope1Ppm: 100_000n,
  slope2Ppm: 3_000_000n,
  settleDelaySecs: 10n,
  settleWindowSecs: 600n,
  minSettleTipLamports: 5_000n,
  instantMaxAgeSecs: 5n,
  instantFeePpm: 3_000n,
  instantMaxConfPpm: 10_000n,
  instantSlotCap: 123_456_789_012n,
};

const U64_MAX = 2n ** 64n - 1n;
const admin = signer(10);

async function fixtureKeys() {
  const keys = await lever.deriveMarketKeys(key(1), 7, lever.TOKEN_PROGRAM_ADDRESS);
  // A market in LT epoch 2 whose underlying is a Token-2022 mint.
  const second = await lever.deriveMarketKeys(key(2), 0x01020304, lever.TOKEN_2022_PROGRAM_ADDRESS);
  const later = { ...second, ltMint: await lever.ltMintAddress(keys.market, 2) };
  return { keys, later };
}

const user = { user: signer(20), userUnderlying: key(21), userShares: key(22), priceUpdate: key(30) };
const owned = { payer: signer(24), owner: signer(20), source: key(21), destination: key(22) };
const requestArgs = (nonce) => ({
  nonce,
  amount: 1_500_000_000n,
  minOut: 1_400_000_000n,
  tipLamports: 5_000n,
});

/** A recorded request as settle and cancel read it (the fields they use). */
async function recorded(keys, kind, nonce) {
  const address = await lever.requestAddress(keys.market, key(20), nonce);
  return {
    address,
    r: {
      payer: key(24),
      kind,
      escrow: await lever.escrowAddress(address),
      source: key(21),
      destination: key(22),
    },
  };
}

test('the fixtures name the program and its event authority as this client does', async () => {
  assert.equal(fixtures.programId, lever.LEVER_PROGRAM_ADDRESS);
  assert.equal(fixtures.eventAuthority, await lever.eventAuthorityAddress());
  const [generated] = await lever.findEventAuthorityPda();
  assert.equal(generated, fixtures.eventAuthority);
});

test('admin instructions equal the Rust SDK byte for byte', async () => {
  const { keys, later } = await fixtureKeys();
  assertSame(
    'initialize_config',
    await lever.getInitializeConfigInstructionAsync({
      admin,
      pauseAuthority: key(11),
      feeReceiver: key(12),
      bounds: bounds(1n),
    }),
  );
  assertSame(
    'update_config',
    await lever.getUpdateConfigInstructionAsync({
      admin,
      pauseAuthority: some(key(13)),
      feeReceiver: none(),
      bounds: some(bounds(2n)),
    }),
  );
  assertSame(
    'update_config_empty',
    await lever.getUpdateConfigInstructionAsync({
      admin,
      pauseAuthority: none(),
      feeReceiver: none(),
      bounds: none(),
    }),
  );
  assertSame('transfer_admin', await lever.getTransferAdminInstructionAsync({ admin, newAdmin: key(14) }));
  assertSame('accept_admin', await lever.getAcceptAdminInstructionAsync({ newAdmin: signer(14) }));
  assertSame(
    'create_market',
    await lever.getCreateMarketInstructionAsync({
      admin,
      // market: defaulted to the PDA of the underlying mint and `id` (the generation's visitor).
      underlyingMint: keys.underlyingMint,
      adminUnderlying: key(15),
      underlyingTokenProgram: keys.underlyingTokenProgram,
      id: 7,
      feedId: new Uint8Array(32).fill(0xab),
      params,
      seedUnits: 1_000_000n,
      ltName: 'SOL 3x Long',
      ltSymbol: 'SOL3X',
      ftName: 'SOL 3x Funding',
      ftSymbol: 'SOL3XF',
      uri: 'https://lever.example/sol3x.json',
      allowFreezeAuthority: true,
    }),
  );
  const unchanged = Object.fromEntries(Object.keys(params).map((k) => [k, none()]));
  assertSame(
    'update_market',
    await lever.getUpdateMarketInstructionAsync({
      admin,
      market: keys.market,
      ...unchanged,
      bandPpm: some(30_000n),
      exposureCap: some(0n),
      instantSlotCap: some(U64_MAX),
    }),
  );
  assertSame(
    'set_pause',
    await lever.getSetPauseInstructionAsync({ authority: signer(11), market: keys.market, paused: 0b101 }),
  );
  assertSame(
    'reopen_market',
    await lever.getReopenMarketInstructionAsync({ admin, market: later.market, ltMint: later.ltMint }),
  );
  assertSame(
    'start_lt_epoch',
    await lever.getStartLtEpochInstructionAsync({
      admin,
      market: later.market,
      ltMint: later.ltMint,
      // newLtMint: defaulted to the PDA of the market and `epoch`.
      epoch: 3,
      name: 'SOL 3x Long (3)',
      symbol: 'SOL3X3',
      uri: '',
    }),
  );
  assertSame(
    'rebase_lt',
    await lever.getRebaseLtInstructionAsync({
      admin,
      market: later.market,
      ltMint: later.ltMint,
      // newLtMint: defaulted to the PDA of the market and `epoch`.
      epoch: 4,
      ratio: 1_000_000n,
      name: 'SOL 3x Long (4)',
      symbol: 'SOL3X4',
      uri: 'https://lever.example/sol3x.json',
    }),
  );
  assertSame(
    'update_share_metadata',
    await lever.getUpdateShareMetadataInstructionAsync({
      admin,
      market: later.market,
      mint: later.ltMint,
      share: lever.ShareKind.Lt,
      name: some('SOL 4x Long'),
      symbol: none(),
      uri: some('https://lever.example/sol4x.json'),
    }),
  );
  assertSame(
    'update_share_metadata_ft',
    await lever.getUpdateShareMetadataInstructionAsync({
      admin,
      market: keys.market,
      mint: keys.ftMint,
      share: lever.ShareKind.Ft,
      name: none(),
      symbol: some('fSOL4X'),
      uri: some(''),
    }),
  );
  assertSame(
    'convert_retired_lt',
    await lever.getConvertRetiredLtInstructionAsync({
      owner: signer(12),
      market: later.market,
      retiredLtMint: key(17),
      ltMint: later.ltMint,
      ownerRetiredLt: key(18),
      destinationLt: key(19),
      amount: 3_000_000_005n,
    }),
  );
  assertSame(
    'withdraw_fees',
    await lever.getWithdrawFeesInstructionAsync({
      admin,
      market: keys.market,
      underlyingMint: keys.underlyingMint,
      vault: keys.vault,
      feeDestination: key(16),
      underlyingTokenProgram: keys.underlyingTokenProgram,
      amount: 12_345n,
    }),
  );
});

test('the four instant user instructions equal the Rust SDK byte for byte', async () => {
  const { keys, later } = await fixtureKeys();
  assertSame('mint_lt', await lever.instantInstruction(keys, 'mint', user, 1_500_000_000n, 1_486_536_705n));
  assertSame('redeem_lt', await lever.instantInstruction(later, 'redeem', user, U64_MAX, 0n));
  assertSame('deposit_funding', await lever.instantInstruction(keys, 'deposit', user, 20_000_000_000n, 1n));
  assertSame(
    'withdraw_funding',
    await lever.instantInstruction(later, 'withdraw', user, 5_000_000_000n, 4_984_967_069n),
  );
});

test('open_request of every kind, settle, cancel and rebalance equal the Rust SDK byte for byte', async () => {
  const { keys, later } = await fixtureKeys();
  const { RequestKind } = lever;
  const open = async (k, kind, nonce) =>
    (await lever.openRequestInstruction(k, kind, owned, requestArgs(nonce))).instruction;
  assertSame('request_mint_lt', await open(keys, RequestKind.MintLt, 1n));
  assertSame('request_redeem_lt', await open(later, RequestKind.RedeemLt, U64_MAX));
  assertSame('request_deposit_funding', await open(keys, RequestKind.DepositFunding, 0x0123456789abcdefn));
  assertSame('request_withdraw_funding', await open(later, RequestKind.WithdrawFunding, 0n));

  const settled = await recorded(keys, RequestKind.MintLt, 3n);
  assertSame(
    'settle_request',
    await lever.settleRequestInstruction(signer(25), keys, settled.address, settled.r, key(30)),
  );
  const cancelled = await recorded(later, RequestKind.RedeemLt, U64_MAX);
  assertSame(
    'cancel_request',
    await lever.cancelRequestInstruction(signer(26), later, cancelled.address, cancelled.r),
  );
  // The same redemption, cancelled with its escrow's own (retired) LT mint.
  assertSame(
    'cancel_request_retired',
    await lever.cancelRequestInstruction(signer(26), later, cancelled.address, cancelled.r, {
      inputMint: await lever.ltMintAddress(later.market, 1),
    }),
  );
  const withdrawn = await recorded(keys, RequestKind.WithdrawFunding, 9n);
  assertSame(
    'cancel_request_withdraw',
    await lever.cancelRequestInstruction(signer(26), keys, withdrawn.address, withdrawn.r),
  );
  assertSame(
    'rebalance',
    await lever.getRebalanceInstructionAsync({
      caller: signer(27),
      market: keys.market,
      priceUpdate: key(30),
    }),
  );
});

test('every instruction of the IDL has a fixture here', () => {
  const idl = JSON.parse(readFileSync(path.join(repo, 'idls/lever.json'), 'utf8'));
  const covered = new Set(
    Object.keys(fixtures.instructions).map((n) => n.replace(/_(empty|withdraw|retired|ft)$/, '')),
  );
  for (const ix of idl.instructions) {
    assert.ok(covered.has(ix.name), `no byte-equality case for ${ix.name}`);
  }
});
