// Anchor 0.32's TypeScript client against `lever localnet`: `.rpc()` confirms over the websocket,
// `.simulate()` parses the logs (and the self-CPI events decode from the inner instructions), and
// a refused instruction is an AnchorError with its name.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import anchor from '@coral-xyz/anchor';
import { Connection, PublicKey } from '@solana/web3.js';
import { startLocalnet, rpc, closeConnection } from './localnet.js';
import { program, mintAccounts, createLtAccount, keypairOf, eventAuthority, cpiEvents } from './lever.js';

let node;
let connection;
let user;
let lever;

before(async () => {
  node = await startLocalnet();
  connection = new Connection(node.url, 'confirmed');
  user = keypairOf(node.keypair('user'));
  lever = program(connection, new anchor.Wallet(user));
});

after(async () => {
  closeConnection(connection);
  await node?.stop();
});

const mint = (units) =>
  lever.methods
    .mintLt(new anchor.BN(units), new anchor.BN(0))
    .accountsStrict(mintAccounts(node.info, user.publicKey))
    .preInstructions([createLtAccount(node.info, user.publicKey)]);

test('.rpc() lands a mint and returns its signature once confirmed', async () => {
  const signature = await mint(1_500_000_000).rpc();
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  assert.equal(tx.meta.err, null);
  const keys = tx.transaction.message.staticAccountKeys;
  const events = cpiEvents(lever, tx.meta.innerInstructions.map((set) => ({
    instructions: set.instructions.map((i) => ({ programId: keys[i.programIdIndex], data: i.data })),
  })), keys);
  const minted = events.find((e) => e.name === 'ltMinted' || e.name === 'LtMinted');
  assert.ok(minted, JSON.stringify(events.map((e) => e.name)));
  assert.equal(minted.data.unitsIn.toString(), '1500000000');
});

test('.simulate() returns the logs (and the events a log parser finds) without throwing', async () => {
  const simulated = await mint(1_000_000_000).simulate();
  assert.ok(simulated.raw.includes('Program log: Instruction: MintLt'), simulated.raw.join('\n'));
  assert.ok(simulated.raw.some((l) => l.startsWith(`Program return: ${node.info.programId} `)));
  // Lever emits by self-CPI (no `Program data:` lines), as on chain: the parser finds none.
  assert.deepEqual(simulated.events, []);
  // The event parser follows the invoke nesting of the whole log without complaint.
  const parser = new anchor.EventParser(lever.programId, lever.coder);
  assert.deepEqual([...parser.parseLogs(simulated.raw)], []);
});

test('a refused instruction is an AnchorError with its name, from .rpc() and .simulate()', async () => {
  const rebalance = () =>
    lever.methods.rebalance().accountsStrict({
      caller: user.publicKey,
      market: new PublicKey(node.info.market),
      priceUpdate: new PublicKey(node.info.priceAccount),
      eventAuthority: eventAuthority(lever.programId),
      program: lever.programId,
    });
  await assert.rejects(rebalance().rpc(), (err) => {
    assert.ok(err instanceof anchor.AnchorError, String(err));
    assert.equal(err.error.errorCode.code, 'WithinBand');
    assert.equal(err.program.toBase58(), node.info.programId);
    return true;
  });
  await assert.rejects(rebalance().simulate(), (err) => {
    const logs = err.simulationResponse?.logs ?? err.logs ?? [];
    assert.ok(logs.some((l) => l.includes('Error Code: WithinBand')), String(err));
    return true;
  });
});

test('after lever_setPrice moves the price out of band, a rebalance lands', async () => {
  await rpc(node.url, 'lever_advanceClock', [5]);
  await rpc(node.url, 'lever_setPrice', [120]);
  const signature = await lever.methods
    .rebalance()
    .accountsStrict({
      caller: user.publicKey,
      market: new PublicKey(node.info.market),
      priceUpdate: new PublicKey(node.info.priceAccount),
      eventAuthority: eventAuthority(lever.programId),
      program: lever.programId,
    })
    .rpc();
  const tx = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0, commitment: 'confirmed' });
  assert.ok(tx.meta.logMessages.includes('Program log: Instruction: Rebalance'), tx.meta.logMessages.join('\n'));
});
