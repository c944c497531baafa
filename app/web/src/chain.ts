// The cluster the app talks to: JSON-RPC through @solana/kit, the clock, token balances, and the
// local node's custom methods (price, clock, faucet) when the app runs against `lever localnet`.
import {
  address,
  createSolanaRpc,
  getBase64Encoder,
  getU64Decoder,
  type Address,
  type Base64EncodedWireTransaction,
  type ReadonlyUint8Array,
  type Signature,
} from '@solana/kit';

/**
 * The RPC endpoint: `?rpc=` when given, else the origin that served the app (`lever localnet`
 * serves it beside its JSON-RPC), else the local node's default address.
 */
export function endpoint(): string {
  const given = new URLSearchParams(location.search).get('rpc');
  if (given) return given;
  // `npm run dev`: Vite serves the app, the local node answers on its default address.
  if (import.meta.env.DEV) return 'http://127.0.0.1:8899';
  if (location.protocol.startsWith('http') && location.port !== '') return location.origin;
  return 'http://127.0.0.1:8899';
}

export const RPC_URL = endpoint();
export const rpc = createSolanaRpc(RPC_URL);

/** A local node (loopback): the app offers its test wallet and the demo controls there. */
export const IS_LOCAL = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(RPC_URL);

/** The wallet-standard chain of the endpoint (a local node is `solana:localnet`). */
export const CHAIN = IS_LOCAL
  ? 'solana:localnet'
  : RPC_URL.includes('devnet')
    ? 'solana:devnet'
    : 'solana:mainnet';

const CLOCK = address('SysvarC1ock11111111111111111111111111111111');

/** The cluster's clock: slot and unix time (the Clock sysvar: slot at 0, unix_timestamp at 32). */
export async function clock(): Promise<{ slot: bigint; unixTimestamp: bigint }> {
  const { value } = await rpc.getAccountInfo(CLOCK, { encoding: 'base64' }).send();
  if (!value) throw new Error('the cluster has no Clock sysvar account');
  const data = getBase64Encoder().encode(value.data[0]);
  const u64 = getU64Decoder();
  return { slot: u64.decode(data, 0), unixTimestamp: u64.decode(data, 32) };
}

/** Raw units in the token account at `account` (0 when it does not exist). */
export async function tokenBalance(account: Address): Promise<bigint> {
  const { value } = await rpc.getAccountInfo(account, { encoding: 'base64' }).send();
  if (!value) return 0n;
  return tokenAmount(getBase64Encoder().encode(value.data[0]));
}

/** The amount field of an SPL Token / Token-2022 account (bytes 64..72). */
export function tokenAmount(data: ReadonlyUint8Array): bigint {
  return data.length >= 72 ? getU64Decoder().decode(data, 64) : 0n;
}

/** Send a signed wire transaction and wait until the cluster confirms it (or says it failed). */
export async function sendAndConfirm(wire: Base64EncodedWireTransaction, lastValidBlockHeight: bigint) {
  const signature = await rpc
    .sendTransaction(wire, { encoding: 'base64', preflightCommitment: 'confirmed' })
    .send();
  return confirm(signature, lastValidBlockHeight);
}

/** Poll the signature's status until it is confirmed, failed, or its blockhash has expired. */
export async function confirm(signature: Signature, lastValidBlockHeight: bigint): Promise<Signature> {
  for (;;) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const status = value[0];
    if (status?.err) throw new TransactionFailed(signature, status.err);
    if (status && (status.confirmationStatus === 'confirmed' || status.confirmationStatus === 'finalized')) {
      return signature;
    }
    const height = await rpc.getBlockHeight({ commitment: 'confirmed' }).send();
    if (height > lastValidBlockHeight) throw new Error(`transaction ${signature} expired before it landed`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A transaction that landed and failed: `err` is the cluster's TransactionError JSON. */
export class TransactionFailed extends Error {
  constructor(
    readonly signature: Signature,
    readonly err: unknown,
  ) {
    super(`transaction ${signature} failed: ${JSON.stringify(err)}`);
  }
}

/** A custom method of the local node (`lever_setPrice`, `lever_advanceClock`, `lever_faucet`). */
export async function localCall<T = unknown>(method: string, params: unknown[]): Promise<T> {
  const response = await fetch(RPC_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}
