// @solana/web3.js 1.x and @solana/spl-token against `lever localnet`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import anchor from '@coral-xyz/anchor';
import {
  Connection,
  PublicKey,
  Transaction,
  SystemProgram,
  Keypair,
  sendAndConfirmTransaction,
  sendAndConfirmRawTransaction,
  VersionedTransaction,
  TransactionMessage,
} from '@solana/web3.js';
import { getMint, getAccount, getTokenMetadata, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID } from '@solana/spl-token';
import { startLocalnet, closeConnection } from './localnet.js';
import { program, mintAccounts, createLtAccount, keypairOf } from './lever.js';

let node;
let connection;
let user;

before(async () => {
  node = await startLocalnet();
  connection = new Connection(node.url, 'confirmed');
  user = keypairOf(node.keypair('user'));
});

after(async () => {
  // web3.js keeps its websocket open (and reconnecting) otherwise.
  closeConnection(connection);
  await node?.stop();
});

test('getVersion has a feature set; the websocket is the RPC port + 1', async () => {
  const version = await connection.getVersion();
  assert.equal(typeof version['feature-set'], 'number');
  assert.equal(version['solana-core'], '3.1.12');
  assert.equal(new URL(connection.rpcEndpoint).port, String(Number(new URL(node.wsUrl).port) - 1));
});

test('sendAndConfirmTransaction of a real Lever mint_lt returns once confirmed', async () => {
  const lever = program(connection, new anchor.Wallet(user));
  const accounts = mintAccounts(node.info, user.publicKey);
  const ix = await lever.methods
    .mintLt(new anchor.BN(1_000_000_000), new anchor.BN(0))
    .accountsStrict(accounts)
    .instruction();
  const tx = new Transaction().add(createLtAccount(node.info, user.publicKey), ix);
  const started = Date.now();
  const signature = await sendAndConfirmTransaction(connection, tx, [user], { commitment: 'confirmed' });
  assert.ok(Date.now() - started < 20_000);
  const status = await connection.getSignatureStatus(signature);
  assert.equal(status.value.err, null);
  const lt = await getAccount(connection, accounts.userLt, 'confirmed', TOKEN_2022_PROGRAM_ID);
  assert.ok(lt.amount > 0n);

  // The landed transaction's logs are the validator's, and getParsedTransaction parses it.
  const parsed = await connection.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0 });
  const logs = parsed.meta.logMessages;
  assert.ok(logs.includes('Program log: Instruction: MintLt'), logs.join('\n'));
  assert.ok(logs.some((l) => l.startsWith(`Program return: ${node.info.programId} `)), logs.join('\n'));
  assert.ok(parsed.transaction.message.accountKeys[0].signer);
  assert.ok(parsed.meta.postTokenBalances.some((b) => b.mint === node.info.ltMint));
  assert.ok(parsed.meta.innerInstructions.length > 0);
});

test('a transaction signed, held 30 s, then sent, lands', async () => {
  const to = Keypair.generate().publicKey;
  const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: user.publicKey, blockhash, lastValidBlockHeight }).add(
    SystemProgram.transfer({ fromPubkey: user.publicKey, toPubkey: to, lamports: 1_234_567 }),
  );
  tx.sign(user);
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  assert.equal((await connection.isBlockhashValid(blockhash)).value, true);
  assert.ok((await connection.getBlockHeight()) > lastValidBlockHeight - 150 + 50, 'blocks came meanwhile');
  const signature = await sendAndConfirmRawTransaction(connection, tx.serialize(), {
    signature: tx.signatures[0].signature ? anchor.utils.bytes.bs58.encode(tx.signatures[0].signature) : undefined,
    blockhash,
    lastValidBlockHeight,
  });
  assert.equal(typeof signature, 'string');
  assert.equal(await connection.getBalance(to), 1_234_567);
});

test('getTokenAccountsByOwner and getParsedTokenAccountsByOwner list the wallet', async () => {
  const raw = await connection.getTokenAccountsByOwner(user.publicKey, { programId: TOKEN_PROGRAM_ID });
  assert.equal(raw.value.length, 1);
  assert.equal(raw.value[0].pubkey.toBase58(), node.info.userUnderlying);
  const parsed = await connection.getParsedTokenAccountsByOwner(user.publicKey, {
    mint: new PublicKey(node.info.underlyingMint),
  });
  assert.equal(parsed.value[0].account.data.parsed.info.owner, user.publicKey.toBase58());
  assert.equal(parsed.value[0].account.data.parsed.info.tokenAmount.decimals, 9);
  const balance = await connection.getTokenAccountBalance(new PublicKey(node.info.userUnderlying));
  assert.equal(balance.value.decimals, 9);
  const supply = await connection.getTokenSupply(new PublicKey(node.info.ltMint));
  assert.ok(Number(supply.value.amount) > 0);
});

test('getParsedAccountInfo of the LT mint shows its token metadata name', async () => {
  const info = await connection.getParsedAccountInfo(new PublicKey(node.info.ltMint));
  const data = info.value.data;
  assert.equal(data.program, 'spl-token-2022');
  const metadata = data.parsed.info.extensions.find((e) => e.extension === 'tokenMetadata');
  assert.equal(metadata.state.name, 'SOL 3x Long');
  // spl-token reads the same through getAccountInfo.
  const mint = await getMint(connection, new PublicKey(node.info.ltMint), 'confirmed', TOKEN_2022_PROGRAM_ID);
  assert.equal(mint.decimals, 9);
  const onchain = await getTokenMetadata(connection, new PublicKey(node.info.ltMint));
  assert.equal(onchain.symbol, 'SOL3X');
});

test('history: signatures, block, prioritization fees, simulation with accounts, v0', async () => {
  const signatures = await connection.getSignaturesForAddress(user.publicKey, { limit: 5 });
  assert.equal(signatures[0].confirmationStatus, "finalized");
  assert.ok(signatures.length >= 1);
  const block = await connection.getBlock(signatures[0].slot, { maxSupportedTransactionVersion: 0 });
  assert.ok(block.transactions.some((t) => t.transaction.signatures[0] === signatures[0].signature));
  assert.equal(typeof block.blockhash, 'string');
  const fees = await connection.getRecentPrioritizationFees();
  assert.ok(Array.isArray(fees) && fees.length > 0);
  const epoch = await connection.getEpochInfo();
  assert.equal(typeof epoch.blockHeight, 'number');

  // A v0 transfer, previewed with the accounts it leaves, then sent and confirmed.
  const to = Keypair.generate().publicKey;
  const { blockhash } = await connection.getLatestBlockhash();
  const message = new TransactionMessage({
    payerKey: user.publicKey,
    recentBlockhash: blockhash,
    instructions: [SystemProgram.transfer({ fromPubkey: user.publicKey, toPubkey: to, lamports: 2_000_000 })],
  }).compileToV0Message();
  const v0 = new VersionedTransaction(message);
  v0.sign([user]);
  const preview = await connection.simulateTransaction(v0, {
    accounts: { encoding: 'base64', addresses: [to.toBase58()] },
  });
  assert.equal(preview.value.err, null);
  assert.equal(preview.value.accounts[0].lamports, 2_000_000);
  const signature = await connection.sendTransaction(v0);
  const latest = await connection.getLatestBlockhash();
  await connection.confirmTransaction({ signature, ...latest }, 'confirmed');
  assert.equal(await connection.getBalance(to), 2_000_000);
  const landed = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
  assert.equal(landed.version, 0);
});

test('a browser may call it (CORS)', async () => {
  const preflight = await fetch(node.url, {
    method: 'OPTIONS',
    headers: { Origin: 'http://localhost:5173', 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'content-type, solana-client' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
});
