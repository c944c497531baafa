// What a wallet sends: the four user operations (instant, or as a two-step request), the request's
// settlement and its cancellation, mirroring `app/sdk/src/ix.rs` and `app/sdk/src/ops/user.rs`.
import {
  AccountRole,
  type Account,
  type AccountSignerMeta,
  type Address,
  type Base58EncodedBytes,
  type GetAccountInfoApi,
  type GetProgramAccountsApi,
  getAddressDecoder,
  getBase58Decoder,
  getBase64Encoder,
  type Instruction,
  type Rpc,
  type TransactionSigner,
} from '@solana/kit';
import {
  fetchMaybeRequest,
  getRequestDecoder,
  LEVER_PROGRAM_ADDRESS,
  REQUEST_DISCRIMINATOR,
  getCancelRequestInstructionAsync,
  getDepositFundingInstructionAsync,
  getMintLtInstructionAsync,
  getRedeemLtInstructionAsync,
  getRequestDepositFundingInstructionAsync,
  getRequestMintLtInstructionAsync,
  getRequestRedeemLtInstructionAsync,
  getRequestWithdrawFundingInstructionAsync,
  getSettleRequestInstructionAsync,
  getWithdrawFundingInstructionAsync,
  RequestKind,
  type Market,
  type OpenRequestArgsArgs,
  type Request,
} from './generated';
import { marketKeys, requestMints, type MarketKeys } from './keys';
import {
  ASSOCIATED_TOKEN_PROGRAM_ADDRESS,
  SYSTEM_PROGRAM_ADDRESS,
  TOKEN_2022_PROGRAM_ADDRESS,
  associatedTokenAddress,
  escrowAddress,
  requestAddress,
  sponsoredPriceAccount,
} from './pda';

export type Flow = 'mint' | 'redeem' | 'deposit' | 'withdraw';

/** The request kind of each flow. */
export const REQUEST_KIND: Readonly<Record<Flow, RequestKind>> = {
  mint: RequestKind.MintLt,
  redeem: RequestKind.RedeemLt,
  deposit: RequestKind.DepositFunding,
  withdraw: RequestKind.WithdrawFunding,
};

/** Accounts of the four instant instructions, which share one shape (the SDK's `UserAccounts`). */
export type UserAccounts = {
  user: TransactionSigner;
  /** The user's underlying token account. */
  userUnderlying: Address;
  /** The user's LT (mint/redeem) or FT (deposit/withdraw) token account. */
  userShares: Address;
  priceUpdate: Address;
};

/** `mint_lt` / `redeem_lt` / `deposit_funding` / `withdraw_funding` (amount in, least out). */
export async function instantInstruction(
  keys: MarketKeys,
  flow: Flow,
  u: UserAccounts,
  amount: bigint | number,
  minOut: bigint | number,
): Promise<Instruction> {
  const common = {
    user: u.user,
    market: keys.market,
    underlyingMint: keys.underlyingMint,
    vault: keys.vault,
    userUnderlying: u.userUnderlying,
    priceUpdate: u.priceUpdate,
    underlyingTokenProgram: keys.underlyingTokenProgram,
    shareTokenProgram: TOKEN_2022_PROGRAM_ADDRESS,
  };
  switch (flow) {
    case 'mint':
      return getMintLtInstructionAsync({
        ...common,
        ltMint: keys.ltMint,
        userLt: u.userShares,
        amount,
        minSharesOut: minOut,
      });
    case 'redeem':
      return getRedeemLtInstructionAsync({
        ...common,
        ltMint: keys.ltMint,
        userLt: u.userShares,
        shares: amount,
        minUnitsOut: minOut,
      });
    case 'deposit':
      return getDepositFundingInstructionAsync({
        ...common,
        ftMint: keys.ftMint,
        userFt: u.userShares,
        amount,
        minSharesOut: minOut,
      });
    case 'withdraw':
      return getWithdrawFundingInstructionAsync({
        ...common,
        ftMint: keys.ftMint,
        userFt: u.userShares,
        shares: amount,
        minUnitsOut: minOut,
      });
  }
}

/**
 * Accounts of a `request_*`: the payer (signs; rent and tip), the owner (signs as the input's
 * authority; the same wallet as the payer for a user), the token account the input comes from and
 * the one that receives the output.
 */
export type RequestAccounts = {
  payer: TransactionSigner;
  owner: TransactionSigner;
  source: Address;
  destination: Address;
};

export type OpenedRequest = { instruction: Instruction; request: Address; escrow: Address };

/**
 * `request_mint_lt` / `request_redeem_lt` / `request_deposit_funding` / `request_withdraw_funding`
 * by `kind`: the request lands at `requestAddress(market, owner, args.nonce)`, its input waits in
 * the escrow `["escrow", request]` until a settlement at the price of `tau` or a cancellation.
 */
export async function openRequestInstruction(
  keys: MarketKeys,
  kind: RequestKind,
  u: RequestAccounts,
  args: OpenRequestArgsArgs,
): Promise<OpenedRequest> {
  const request = await requestAddress(keys.market, u.owner.address, args.nonce);
  const escrow = await escrowAddress(request);
  const { inputMint, outputMint, inputTokenProgram } = requestMints(keys, kind);
  const input = {
    payer: u.payer,
    owner: u.owner,
    market: keys.market,
    request,
    inputMint,
    outputMint,
    escrow,
    source: u.source,
    destination: u.destination,
    inputTokenProgram,
    args,
  };
  const build =
    kind === RequestKind.MintLt
      ? getRequestMintLtInstructionAsync
      : kind === RequestKind.RedeemLt
        ? getRequestRedeemLtInstructionAsync
        : kind === RequestKind.DepositFunding
          ? getRequestDepositFundingInstructionAsync
          : getRequestWithdrawFundingInstructionAsync;
  return { instruction: await build(input), request, escrow };
}

/** `settle_request` of the request at `request` as recorded in `r`, at the update `priceUpdate` covering its `tau`. */
export function settleRequestInstruction(
  settler: TransactionSigner,
  keys: MarketKeys,
  request: Address,
  r: Request,
  priceUpdate: Address,
): Promise<Instruction> {
  return getSettleRequestInstructionAsync({
    settler,
    market: keys.market,
    request,
    payer: r.payer,
    escrow: r.escrow,
    source: r.source,
    destination: r.destination,
    underlyingMint: keys.underlyingMint,
    vault: keys.vault,
    ltMint: keys.ltMint,
    ftMint: keys.ftMint,
    priceUpdate,
    underlyingTokenProgram: keys.underlyingTokenProgram,
    shareTokenProgram: TOKEN_2022_PROGRAM_ADDRESS,
  });
}

/**
 * The mint and token program a request's escrow holds, when they are not the market's current ones
 * for its kind: an LT redemption opened before `start_lt_epoch` or `rebase_lt` holds the retired LT
 * mint (read it from the escrow token account: its mint, and the program that owns it).
 */
export type RequestInput = { inputMint: Address; inputTokenProgram?: Address };

/**
 * `cancel_request` of the request at `request` as recorded in `r` (anyone, after `expiresAt`). The
 * input mint is the market's current one for the request's kind unless `input` names the escrow's
 * own (the SDK's `ix::cancel_request_with_input`); its token program defaults to the kind's (both LT
 * mints are Token-2022).
 */
export function cancelRequestInstruction(
  canceller: TransactionSigner,
  keys: MarketKeys,
  request: Address,
  r: Request,
  input?: RequestInput,
): Promise<Instruction> {
  const derived = requestMints(keys, r.kind);
  return getCancelRequestInstructionAsync({
    canceller,
    market: keys.market,
    request,
    payer: r.payer,
    escrow: r.escrow,
    source: r.source,
    inputMint: input?.inputMint ?? derived.inputMint,
    inputTokenProgram: input?.inputTokenProgram ?? derived.inputTokenProgram,
  });
}

/**
 * What a request's escrow holds, for `cancelRequestInstruction`: the escrow token account's mint
 * (its first 32 bytes) and the token program that owns it. After an LT re-base an LT redemption's
 * escrow holds the retired mint, which the market's keys no longer name; the keeper reads it the
 * same way.
 */
export async function escrowInput(rpc: Rpc<GetAccountInfoApi>, escrow: Address): Promise<RequestInput> {
  const { value } = await rpc.getAccountInfo(escrow, { encoding: 'base64', commitment: 'confirmed' }).send();
  if (!value) throw new Error(`no escrow at ${escrow}`);
  const data = getBase64Encoder().encode(value.data[0]);
  return { inputMint: getAddressDecoder().decode(data.subarray(0, 32)), inputTokenProgram: value.owner };
}

export type OpenRequest = { address: Address; request: Request };

/**
 * The open requests `owner` holds on `market`, oldest first: the program's `Request` accounts with
 * the market at byte 8 and the owner at byte 40 (`getProgramAccounts` with memcmp filters).
 */
export async function openRequests(
  rpc: Rpc<GetProgramAccountsApi>,
  market: Address,
  owner: Address,
): Promise<OpenRequest[]> {
  const accounts = await rpc
    .getProgramAccounts(LEVER_PROGRAM_ADDRESS, {
      encoding: 'base64',
      commitment: 'confirmed',
      filters: [
        {
          memcmp: {
            offset: 0n,
            bytes: getBase58Decoder().decode(REQUEST_DISCRIMINATOR) as Base58EncodedBytes,
            encoding: 'base58',
          },
        },
        { memcmp: { offset: 8n, bytes: market as unknown as Base58EncodedBytes, encoding: 'base58' } },
        { memcmp: { offset: 40n, bytes: owner as unknown as Base58EncodedBytes, encoding: 'base58' } },
      ],
    })
    .send();
  return accounts
    .map((a) => ({
      address: a.pubkey,
      request: getRequestDecoder().decode(getBase64Encoder().encode(a.account.data[0])),
    }))
    .sort((a, b) => Number(a.request.requestedAt - b.request.requestedAt));
}

export type RequestTiming = { tau: bigint; expiresAt: bigint; requestedAt: bigint };

/**
 * When the request at `request` settles (at the one Pyth update with `prev_publish_time < tau <=
 * publish_time`) and when it may be cancelled; null once it is closed (settled or cancelled).
 */
export async function requestTiming(
  rpc: Rpc<GetAccountInfoApi>,
  request: Address,
): Promise<RequestTiming | null> {
  const account = await fetchMaybeRequest(rpc, request, { commitment: 'confirmed' });
  if (!account.exists) return null;
  const { tau, expiresAt, requestedAt } = account.data;
  return { tau, expiresAt, requestedAt };
}

/**
 * The ATA program's `CreateIdempotent` (instruction 1): creates `owner`'s associated token account
 * for `mint` if it does not exist, succeeds without change if it does.
 */
export async function createAssociatedTokenIdempotentInstruction(
  payer: TransactionSigner,
  owner: Address,
  mint: Address,
  tokenProgram: Address,
): Promise<Instruction> {
  const payerMeta: AccountSignerMeta = {
    address: payer.address,
    role: AccountRole.WRITABLE_SIGNER,
    signer: payer,
  };
  return {
    programAddress: ASSOCIATED_TOKEN_PROGRAM_ADDRESS,
    accounts: [
      payerMeta,
      { address: await associatedTokenAddress(owner, mint, tokenProgram), role: AccountRole.WRITABLE },
      { address: owner, role: AccountRole.READONLY },
      { address: mint, role: AccountRole.READONLY },
      { address: SYSTEM_PROGRAM_ADDRESS, role: AccountRole.READONLY },
      { address: tokenProgram, role: AccountRole.READONLY },
    ],
    data: new Uint8Array([1]),
  };
}

export type UserTokenAccounts = {
  /** The owner's underlying associated token account. */
  underlying: Address;
  /** The owner's LT (mint/redeem) or FT (deposit/withdraw) associated token account. */
  shares: Address;
  /** Where the input comes from and where the output goes. */
  source: Address;
  destination: Address;
  outputMint: Address;
  outputTokenProgram: Address;
};

/** The owner's associated token accounts a `flow` on the market moves. */
export async function userTokenAccounts(
  keys: MarketKeys,
  owner: Address,
  flow: Flow,
): Promise<UserTokenAccounts> {
  const { inputMint, outputMint, inputTokenProgram, outputTokenProgram } = requestMints(
    keys,
    REQUEST_KIND[flow],
  );
  const source = await associatedTokenAddress(owner, inputMint, inputTokenProgram);
  const destination = await associatedTokenAddress(owner, outputMint, outputTokenProgram);
  const spendsUnderlying = flow === 'mint' || flow === 'deposit';
  return {
    underlying: spendsUnderlying ? source : destination,
    shares: spendsUnderlying ? destination : source,
    source,
    destination,
    outputMint,
    outputTokenProgram,
  };
}

export type OperationOptions = {
  /** The market account, fetched (`fetchMarket(rpc, address)`). */
  market: Account<Market>;
  /** The wallet: fee payer, rent payer and authority of the input. */
  owner: TransactionSigner;
  flow: Flow;
  amount: bigint | number;
  /** Least output accepted (shares for mint/deposit, units for redeem/withdraw). */
  minOut: bigint | number;
  /** The Pyth `PriceUpdateV2` account (default: the sponsored one of the market's feed). */
  priceUpdate?: Address;
  /** One transaction at the current price (the market's instant fee) instead of a two-step request. */
  instant?: boolean;
  /** The request's nonce (default: the wall clock in nanoseconds, as the SDK picks it). */
  nonce?: bigint;
  /** The settlement tip (default: the market's `minSettleTipLamports`, the least it takes). */
  tipLamports?: bigint | number;
};

export type Operation = {
  instructions: Instruction[];
  keys: MarketKeys;
  priceUpdate: Address;
  /** The two-step request's address (undefined on the instant path). */
  request?: Address;
  accounts: UserTokenAccounts;
};

/**
 * The instructions of one user operation with the owner's associated token accounts (the SDK's
 * `ops::prepare` without the quote): the output account created if missing, then the instant
 * instruction or the request.
 */
export async function prepareOperation(o: OperationOptions): Promise<Operation> {
  const keys = await marketKeys(o.market.data);
  if (keys.market !== o.market.address) {
    throw new Error(`${o.market.address} is not the PDA of its underlying mint and id`);
  }
  const priceUpdate = o.priceUpdate ?? (await sponsoredPriceAccount(o.market.data.feedId));
  const accounts = await userTokenAccounts(keys, o.owner.address, o.flow);
  const create = await createAssociatedTokenIdempotentInstruction(
    o.owner,
    o.owner.address,
    accounts.outputMint,
    accounts.outputTokenProgram,
  );
  if (o.instant) {
    const ix = await instantInstruction(
      keys,
      o.flow,
      { user: o.owner, userUnderlying: accounts.underlying, userShares: accounts.shares, priceUpdate },
      o.amount,
      o.minOut,
    );
    return { instructions: [create, ix], keys, priceUpdate, accounts };
  }
  const nonce = o.nonce ?? BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
  const opened = await openRequestInstruction(
    keys,
    REQUEST_KIND[o.flow],
    { payer: o.owner, owner: o.owner, source: accounts.source, destination: accounts.destination },
    {
      nonce,
      amount: o.amount,
      minOut: o.minOut,
      tipLamports: o.tipLamports ?? o.market.data.params.minSettleTipLamports,
    },
  );
  return { instructions: [create, opened.instruction], keys, priceUpdate, request: opened.request, accounts };
}
