// The four user operations (instant or two-step), settlement and cancellation as the app sends
// them: the generated client's helpers build the instructions, the cluster simulates the
// transaction for the preview (the program's own outcome from its return data, balances after,
// the error by name), the wallet signs the very bytes the app then sends.
import {
  appendTransactionMessageInstructions,
  compileTransaction,
  createNoopSigner,
  createTransactionMessage,
  getBase64Decoder,
  getBase64EncodedWireTransaction,
  getBase64Encoder,
  getTransactionDecoder,
  getTransactionEncoder,
  pipe,
  setTransactionMessageFeePayer,
  setTransactionMessageLifetimeUsingBlockhash,
  type Address,
  type Base64EncodedWireTransaction,
  type Instruction,
  type Signature,
} from '@solana/kit';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import {
  LEVER_PROGRAM_ADDRESS,
  cancelRequestInstruction,
  escrowInput,
  errorName,
  leverErrorOf,
  fetchMarket,
  getDepositFundingOutcomeDecoder,
  getMintLtOutcomeDecoder,
  getRedeemLtOutcomeDecoder,
  getRequestReceiptDecoder,
  getSettleOutcomeDecoder,
  getWithdrawFundingOutcomeDecoder,
  prepareOperation,
  settleRequestInstruction,
  type Flow,
  type MarketKeys,
  type OpenRequest,
} from '@lever/client';
import { errors as idlErrors } from '../../../idls/lever.json';
import { CHAIN, TransactionFailed, rpc, sendAndConfirm, tokenAmount } from './chain';
import { signTransaction } from './wallets';

/** Error messages from the IDL: the generated client drops them from production bundles. */
const MESSAGES: ReadonlyMap<number, string> = new Map(
  (idlErrors as { code: number; msg?: string }[]).map((e) => [e.code, e.msg ?? '']),
);

/** A Lever error by name, or what else went wrong. */
export type Failure = { name: string; message: string; logs?: readonly string[] };

/** The error inside a TransactionError JSON (`{ InstructionError: [i, { Custom: code }] }`). */
export function failureOf(
  err: unknown,
  instructions: readonly Instruction[],
  logs?: readonly string[],
): Failure {
  const ie = (err as { InstructionError?: [number, unknown] })?.InstructionError;
  if (ie) {
    const [index, inner] = ie;
    const custom = (inner as { Custom?: number })?.Custom;
    if (custom !== undefined && instructions[index]?.programAddress === LEVER_PROGRAM_ADDRESS) {
      const name = errorName(Number(custom));
      if (name) return { name, message: MESSAGES.get(Number(custom)) ?? '', logs };
    }
    return {
      name: typeof inner === 'string' ? inner : JSON.stringify(inner),
      message: `instruction ${index}`,
      logs,
    };
  }
  return { name: typeof err === 'string' ? err : JSON.stringify(err), message: 'transaction error', logs };
}

export type Prepared = {
  instructions: Instruction[];
  wire: Base64EncodedWireTransaction;
  bytes: Uint8Array;
  lastValidBlockHeight: bigint;
  request?: Address;
  /** Token accounts whose balances the preview shows: [what is spent, what is received]. */
  watch: [Address, Address];
};

/** Compile `instructions` for `payer` against a fresh blockhash, unsigned. */
export async function compile(payer: Address, instructions: Instruction[]) {
  const { value: latest } = await rpc.getLatestBlockhash({ commitment: 'confirmed' }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayer(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const transaction = compileTransaction(message);
  const bytes = new Uint8Array(getTransactionEncoder().encode(transaction));
  return {
    wire: getBase64EncodedWireTransaction(transaction),
    bytes,
    lastValidBlockHeight: latest.lastValidBlockHeight,
  };
}

export type OperationInput = {
  market: Address;
  owner: Address;
  flow: Flow;
  amount: bigint;
  minOut: bigint;
  instant: boolean;
};

/** The transaction of one operation: create the output account if missing, then the instant
 *  instruction or the request. */
export async function prepare(o: OperationInput): Promise<Prepared> {
  const market = await fetchMarket(rpc, o.market, { commitment: 'confirmed' });
  const op = await prepareOperation({
    market,
    owner: createNoopSigner(o.owner),
    flow: o.flow,
    amount: o.amount,
    minOut: o.minOut,
    instant: o.instant,
  });
  const compiled = await compile(o.owner, op.instructions);
  return {
    ...compiled,
    instructions: op.instructions,
    request: op.request,
    watch: [op.accounts.source, op.accounts.destination],
  };
}

export type Preview = {
  ok: boolean;
  failure?: Failure;
  /** What the program returned, decoded (the outcome of the instant path, the request's receipt). */
  outcome?: Record<string, unknown>;
  /** Raw balances of `watch` after the transaction. */
  after?: [bigint, bigint];
  units?: bigint;
  logs: readonly string[];
};

const OUTCOMES: Record<string, () => { decode(b: Uint8Array): object }> = {
  mint: getMintLtOutcomeDecoder,
  redeem: getRedeemLtOutcomeDecoder,
  deposit: getDepositFundingOutcomeDecoder,
  withdraw: getWithdrawFundingOutcomeDecoder,
};

/** Simulate `p` as the cluster would run it now: outcome, balances after, compute units, error by name. */
export async function preview(
  p: Prepared,
  flow: Flow | 'settle' | 'cancel',
  instant: boolean,
): Promise<Preview> {
  const { value } = await rpc
    .simulateTransaction(p.wire, {
      encoding: 'base64',
      sigVerify: false,
      replaceRecentBlockhash: true,
      commitment: 'confirmed',
      accounts: { encoding: 'base64', addresses: p.watch },
    })
    .send();
  const logs = value.logs ?? [];
  if (value.err) return { ok: false, failure: failureOf(value.err, p.instructions, logs), logs };
  const returned = value.returnData;
  let outcome: Record<string, unknown> | undefined;
  if (returned && returned.programId === LEVER_PROGRAM_ADDRESS) {
    const bytes = new Uint8Array(getBase64Encoder().encode(returned.data[0]));
    const decoder =
      flow === 'settle'
        ? getSettleOutcomeDecoder
        : flow === 'cancel'
          ? undefined
          : instant
            ? OUTCOMES[flow]
            : getRequestReceiptDecoder;
    if (decoder) outcome = decoder().decode(bytes) as Record<string, unknown>;
  }
  const after = (value.accounts ?? []).map((a) =>
    a ? tokenAmount(getBase64Encoder().encode(a.data[0])) : 0n,
  );
  return {
    ok: true,
    outcome,
    after: [after[0] ?? 0n, after[1] ?? 0n],
    units: value.unitsConsumed === undefined ? undefined : BigInt(value.unitsConsumed),
    logs,
  };
}

/** Have the wallet sign `p`'s bytes, send them, wait for confirmation; a failure comes back by name. */
export async function signAndSend(wallet: Wallet, account: WalletAccount, p: Prepared): Promise<Signature> {
  const signed = await signTransaction(wallet, account, p.bytes, CHAIN);
  const wire = getBase64Decoder().decode(
    getTransactionEncoder().encode(getTransactionDecoder().decode(signed)),
  ) as Base64EncodedWireTransaction;
  try {
    return await sendAndConfirm(wire, p.lastValidBlockHeight);
  } catch (e) {
    throw new OperationFailed(explain(e, p.instructions));
  }
}

export class OperationFailed extends Error {
  constructor(readonly failure: Failure) {
    super(`${failure.name}: ${failure.message}`);
  }
}

/** A send's failure: the preflight's simulation (RPC error -32002 with its `err`) or a landed one. */
function explain(e: unknown, instructions: readonly Instruction[]): Failure {
  if (e instanceof TransactionFailed) return failureOf(e.err, instructions);
  // kit's preflight failure carries the instruction error in its cause chain.
  const lever = leverErrorOf(e, { instructions });
  if (lever) return { name: lever.name, message: MESSAGES.get(lever.code) ?? lever.message };
  for (let c: unknown = e; c; c = (c as { cause?: unknown }).cause) {
    const context = (c as { context?: { __serverMessage?: string; err?: unknown; logs?: string[] } }).context;
    const err = context?.err;
    if (err) return failureOf(err, instructions, context?.logs);
  }
  return failureOfThrown(e);
}

/** What the app shows for anything thrown: a send's failure as `explain` named it, else the message. */
export function failureOfThrown(e: unknown): Failure {
  if (e instanceof OperationFailed) return e.failure;
  return { name: 'Error', message: e instanceof Error ? e.message : String(e) };
}

/** `settle_request` by `settler` (anyone; the tip goes to whoever settles). */
export async function prepareSettle(
  settler: Address,
  keys: MarketKeys,
  r: OpenRequest,
  priceUpdate: Address,
): Promise<Prepared> {
  const ix = await settleRequestInstruction(
    createNoopSigner(settler),
    keys,
    r.address,
    r.request,
    priceUpdate,
  );
  const compiled = await compile(settler, [ix]);
  return { ...compiled, instructions: [ix], watch: [r.request.source, r.request.destination] };
}

/** `cancel_request` by `canceller` (anyone, once the request has expired), of the mint its escrow
 *  holds (after an LT re-base, an LT redemption's escrow holds the retired mint, not the market's). */
export async function prepareCancel(canceller: Address, keys: MarketKeys, r: OpenRequest): Promise<Prepared> {
  const input = await escrowInput(rpc, r.request.escrow);
  const ix = await cancelRequestInstruction(createNoopSigner(canceller), keys, r.address, r.request, input);
  const compiled = await compile(canceller, [ix]);
  return { ...compiled, instructions: [ix], watch: [r.request.source, r.request.destination] };
}
