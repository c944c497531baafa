// The generated client and its helpers against a fresh `lever localnet` (the built binary, started
// as app/node-tests does), through @solana/kit only: read the market, the four instant
// operations, a two-step request settled at the update covering its `tau` after moving the node's
// clock and price, one cancelled after expiry, and program errors named by the client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  address,
  appendTransactionMessageInstructions,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  getSignatureFromTransaction,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import { startLocalnet, rpc as rawRpc } from '../../node-tests/test/localnet.js';
import * as lever from '../dist/index.js';

let node;
let rpc;
let sendAndConfirm;
let user;
let keeper;
let market;

before(async () => {
  node = await startLocalnet();
  rpc = createSolanaRpc(node.url);
  sendAndConfirm = sendAndConfirmTransactionFactory({
    rpc,
    rpcSubscriptions: createSolanaRpcSubscriptions(node.wsUrl),
  });
  user = await createKeyPairSignerFromBytes(node.keypair('user'));
  keeper = await createKeyPairSignerFromBytes(node.keypair('admin'));
  market = await lever.fetchMarket(rpc, address(node.info.market));
});

after(async () => {
  await node?.stop();
});

/** Sign with `payer` (and the instructions' signers), send, wait for confirmation over the websocket. */
async function send(instructions, payer = user) {
  const { value: latestBlockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latestBlockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const transaction = await signTransactionMessageWithSigners(message);
  try {
    await sendAndConfirm(transaction, { commitment: 'confirmed' });
  } catch (error) {
    error.transactionMessage = message;
    throw error;
  }
  return getSignatureFromTransaction(transaction);
}

async function balance(tokenAccount) {
  const { value } = await rpc
    .getAccountInfo(tokenAccount, { encoding: 'base64', commitment: 'confirmed' })
    .send();
  if (!value) return 0n;
  const { value: b } = await rpc.getTokenAccountBalance(tokenAccount, { commitment: 'confirmed' }).send();
  return BigInt(b.amount);
}

/** The balances a flow moves: the owner's source and destination token accounts. */
async function balances(op) {
  return { source: await balance(op.accounts.source), destination: await balance(op.accounts.destination) };
}

/** Run `op` and return how much left the source and arrived at the destination. */
async function run(op, payer = user) {
  const before = await balances(op);
  await send(op.instructions, payer);
  const after = await balances(op);
  return { spent: before.source - after.source, received: after.destination - before.destination };
}

async function refreshMarket() {
  market = await lever.fetchMarket(rpc, market.address, { commitment: 'confirmed' });
  return market;
}

/** The program error a rejected send carries, as the client names it. */
async function rejection(promise) {
  try {
    await promise;
  } catch (error) {
    const found = lever.leverErrorOf(error, error.transactionMessage);
    assert.ok(found, `not a Lever program error: ${error}`);
    return found;
  }
  assert.fail('the transaction landed');
}

test('the market, its keys, its price account and the config read through the generated decoders', async () => {
  const { info } = node;
  const keys = await lever.marketKeys(market.data);
  assert.deepEqual(keys, {
    id: info.marketId,
    market: info.market,
    underlyingMint: info.underlyingMint,
    underlyingTokenProgram: info.underlyingTokenProgram,
    vault: info.vault,
    ltMint: info.ltMint,
    ftMint: info.ftMint,
    lockedFt: info.lockedFt,
  });
  assert.equal(market.data.params.targetLeveragePpm, 3_000_000n);
  assert.equal(market.data.decimals, info.underlyingDecimals);
  assert.equal(await lever.sponsoredPriceAccount(market.data.feedId), info.priceAccount);
  assert.equal(`0x${Buffer.from(market.data.feedId).toString('hex')}`, info.feedId);
  assert.equal(market.data.exposure + market.data.idle + market.data.feeUnits, await balance(keys.vault));
  const config = await lever.fetchConfig(rpc, await lever.configAddress());
  assert.equal(config.data.admin, info.admin);
  assert.equal(config.data.pauseAuthority, info.pauseAuthority);
});

test('mint, redeem, deposit and withdraw on the instant path move exactly what they say', async () => {
  const instant = (flow, amount, minOut = 1n) =>
    lever.prepareOperation({ market, owner: user, flow, amount, minOut, instant: true });

  const minted = await run(await instant('mint', 1_500_000_000n));
  assert.equal(minted.spent, 1_500_000_000n);
  assert.ok(minted.received > 1_480_000_000n && minted.received < 1_500_000_000n, `${minted.received} LT`);

  const redeemed = await run(await instant('redeem', minted.received));
  assert.equal(redeemed.spent, minted.received);
  assert.ok(
    redeemed.received > 1_470_000_000n && redeemed.received < 1_500_000_000n,
    `${redeemed.received} units`,
  );

  const deposited = await run(await instant('deposit', 20_000_000_000n));
  assert.equal(deposited.spent, 20_000_000_000n);
  assert.ok(deposited.received > 19_800_000_000n, `${deposited.received} FT`);

  const withdrawn = await run(await instant('withdraw', deposited.received));
  assert.equal(withdrawn.spent, deposited.received);
  assert.ok(
    withdrawn.received > 19_700_000_000n && withdrawn.received < 20_000_000_000n,
    `${withdrawn.received} units`,
  );

  const m = (await refreshMarket()).data;
  assert.equal(m.exposure + m.idle + m.feeUnits, await balance(market.data.vault));
});

test('a refused mint is named SlippageExceeded by the client, and nothing moves', async () => {
  const op = await lever.prepareOperation({
    market,
    owner: user,
    flow: 'mint',
    amount: 1_000_000_000n,
    minOut: 1_000_000_000_000n,
    instant: true,
  });
  const before = await balances(op);
  const error = await rejection(send(op.instructions));
  assert.equal(error.name, 'SlippageExceeded');
  assert.equal(error.code, 6047);
  assert.equal(error.message, "Output is below the caller's minimum");
  assert.equal(error.instructionIndex, 1);
  assert.deepEqual(await balances(op), before);
});

test('a two-step mint waits in escrow, is refused before its update, and settles at the update covering tau', async () => {
  const op = await lever.prepareOperation({
    market,
    owner: user,
    flow: 'mint',
    amount: 1_000_000_000n,
    minOut: 900_000_000n,
  });
  const before = await balances(op);
  await send(op.instructions);
  const timing = await lever.requestTiming(rpc, op.request);
  assert.ok(timing, 'the request is open');
  assert.equal(timing.tau, timing.requestedAt + market.data.params.settleDelaySecs);
  const request = await lever.fetchRequest(rpc, op.request, { commitment: 'confirmed' });
  assert.equal(request.data.escrow, await lever.escrowAddress(op.request));
  assert.equal(request.data.kind, lever.RequestKind.MintLt);
  assert.equal(request.data.tipLamports, market.data.params.minSettleTipLamports);
  assert.equal(await balance(request.data.escrow), 1_000_000_000n);
  assert.equal(before.source - (await balance(op.accounts.source)), 1_000_000_000n);

  // The current update was published before the request: it does not cover tau.
  const settle = await lever.settleRequestInstruction(
    keeper,
    op.keys,
    op.request,
    request.data,
    op.priceUpdate,
  );
  const early = await rejection(send([settle], keeper));
  assert.equal(early.name, 'PriceUpdateNotForTarget');

  // Move the chain's clock to tau and publish the update covering it: (tau - 1, tau].
  const { unixTimestamp: now } = await rawRpc(node.url, 'lever_advanceClock', [0]);
  await rawRpc(node.url, 'lever_advanceClock', [Number(timing.tau) - now]);
  const published = await rawRpc(node.url, 'lever_setPrice', [150]);
  assert.equal(BigInt(published.publishTime), timing.tau);

  await send(
    [await lever.settleRequestInstruction(keeper, op.keys, op.request, request.data, op.priceUpdate)],
    keeper,
  );
  assert.equal(await lever.requestTiming(rpc, op.request), null, 'the request closed');
  assert.equal(await balance(request.data.escrow), 0n);
  const received = (await balance(op.accounts.destination)) - before.destination;
  assert.ok(received >= 900_000_000n && received < 1_000_000_000n, `${received} LT`);
});

test('a two-step redemption nobody settles is cancelled after expiry and the LT comes back', async () => {
  await refreshMarket();
  const keys = await lever.marketKeys(market.data);
  const lt = (await lever.userTokenAccounts(keys, user.address, 'redeem')).source;
  const held = await balance(lt);
  assert.ok(held > 0n);
  const op = await lever.prepareOperation({
    market,
    owner: user,
    flow: 'redeem',
    amount: held,
    minOut: 1n,
    nonce: 42n,
  });
  assert.equal(op.request, await lever.requestAddress(keys.market, user.address, 42n));
  await send(op.instructions);
  assert.equal(await balance(lt), 0n);
  const request = await lever.fetchRequest(rpc, op.request, { commitment: 'confirmed' });
  // The wallet finds it among its open requests, and its escrow holds the LT.
  const open = await lever.openRequests(rpc, keys.market, user.address);
  assert.deepEqual(
    open.map((o) => o.address),
    [op.request],
  );
  assert.equal(open[0].request.amount, held);
  assert.deepEqual(
    await lever.openRequests(rpc, keys.market, keeper.address),
    [],
    "another owner's are not listed",
  );
  assert.deepEqual(await lever.escrowInput(rpc, request.data.escrow), {
    inputMint: keys.ltMint,
    inputTokenProgram: lever.TOKEN_2022_PROGRAM_ADDRESS,
  });

  const cancel = await lever.cancelRequestInstruction(keeper, keys, op.request, request.data);
  assert.equal((await rejection(send([cancel], keeper))).name, 'RequestNotExpired');

  const { unixTimestamp: now } = await rawRpc(node.url, 'lever_advanceClock', [0]);
  await rawRpc(node.url, 'lever_advanceClock', [Number(request.data.expiresAt) - now + 1]);
  const input = await lever.escrowInput(rpc, request.data.escrow);
  await send([await lever.cancelRequestInstruction(keeper, keys, op.request, request.data, input)], keeper);
  assert.equal(await lever.requestTiming(rpc, op.request), null, 'the request closed');
  assert.deepEqual(await lever.openRequests(rpc, keys.market, user.address), []);
  assert.equal(await balance(lt), held);
});
