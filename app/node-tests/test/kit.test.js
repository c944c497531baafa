// @solana/kit against `lever localnet`: its confirmation (`sendAndConfirmTransactionFactory`)
// watches the signature and the slots over the websocket and the block height through
// getEpochInfo.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import anchor from '@coral-xyz/anchor';
import { Connection, Keypair } from '@solana/web3.js';
import {
  AccountRole,
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
import { startLocalnet } from './localnet.js';
import { program, mintAccounts, createLtAccount, keypairOf } from './lever.js';

let node;

before(async () => {
  node = await startLocalnet();
});

after(async () => {
  await node?.stop();
});

/** A web3.js instruction as kit's, the wallet's account carrying its signer. */
function kitInstruction(ix, signer) {
  return {
    programAddress: address(ix.programId.toBase58()),
    accounts: ix.keys.map((k) => {
      const role = k.isSigner
        ? (k.isWritable ? AccountRole.WRITABLE_SIGNER : AccountRole.READONLY_SIGNER)
        : (k.isWritable ? AccountRole.WRITABLE : AccountRole.READONLY);
      const meta = { address: address(k.pubkey.toBase58()), role };
      return k.isSigner && k.pubkey.toBase58() === signer.address ? { ...meta, signer } : meta;
    }),
    data: new Uint8Array(ix.data),
  };
}

test('sendAndConfirmTransactionFactory lands a v0 Lever mint and a transfer', async () => {
  const rpc = createSolanaRpc(node.url);
  const rpcSubscriptions = createSolanaRpcSubscriptions(node.wsUrl);
  const signer = await createKeyPairSignerFromBytes(node.keypair('user'));
  const user = keypairOf(node.keypair('user'));
  const lever = program(new Connection(node.url), new anchor.Wallet(user));
  const mintIx = await lever.methods
    .mintLt(new anchor.BN(700_000_000), new anchor.BN(0))
    .accountsStrict(mintAccounts(node.info, user.publicKey))
    .instruction();
  const to = address(Keypair.generate().publicKey.toBase58());
  const transfer = {
    programAddress: address('11111111111111111111111111111111'),
    accounts: [
      { address: signer.address, role: AccountRole.WRITABLE_SIGNER, signer },
      { address: to, role: AccountRole.WRITABLE },
    ],
    // SystemInstruction::Transfer (2), then the lamports.
    data: new Uint8Array([2, 0, 0, 0, ...new Uint8Array(new BigUint64Array([3_000_000n]).buffer)]),
  };
  const { value: latestBlockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(signer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latestBlockhash, m),
    (m) => appendTransactionMessageInstructions(
      [kitInstruction(createLtAccount(node.info, user.publicKey), signer), kitInstruction(mintIx, signer), transfer],
      m,
    ),
  );
  const transaction = await signTransactionMessageWithSigners(message);
  const sendAndConfirm = sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions });
  await sendAndConfirm(transaction, { commitment: 'confirmed' });
  const signature = getSignatureFromTransaction(transaction);
  const { value: [status] } = await rpc.getSignatureStatuses([signature]).send();
  assert.equal(status.err, null);
  assert.equal((await rpc.getBalance(to).send()).value, 3_000_000n);
  const epoch = await rpc.getEpochInfo().send();
  assert.ok(epoch.blockHeight > 0n);
  const tokens = await rpc
    .getTokenAccountsByOwner(signer.address, { mint: address(node.info.ltMint) }, { encoding: 'jsonParsed' })
    .send();
  assert.equal(tokens.value.length, 1);
  assert.ok(BigInt(tokens.value[0].account.data.parsed.info.tokenAmount.amount) > 0n);
});
