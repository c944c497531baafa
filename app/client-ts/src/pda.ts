// Program-derived addresses, seed for seed as `programs/lever/src/constants.rs` defines them
// (and `app/sdk/src/pda.rs` derives them).
import {
  address,
  getAddressEncoder,
  getProgramDerivedAddress,
  getU16Encoder,
  getU32Encoder,
  getU64Encoder,
  getUtf8Encoder,
  type Address,
  type ReadonlyUint8Array,
} from '@solana/kit';
import { LEVER_PROGRAM_ADDRESS } from './generated';

export const TOKEN_PROGRAM_ADDRESS = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
export const TOKEN_2022_PROGRAM_ADDRESS = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');
export const ASSOCIATED_TOKEN_PROGRAM_ADDRESS = address('ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL');
export const SYSTEM_PROGRAM_ADDRESS = address('11111111111111111111111111111111');
/** Pyth's push-oracle program: owner of the sponsored price-feed accounts' addresses. */
export const PYTH_PUSH_ORACLE_ADDRESS = address('pythWSnswVUd12oZpeFP8e9CVaEqJg25g1Vtc2biRsT');

const utf8 = getUtf8Encoder();
const addr = getAddressEncoder();

async function pda(seeds: (string | ReadonlyUint8Array)[], programAddress: Address = LEVER_PROGRAM_ADDRESS) {
  const [found] = await getProgramDerivedAddress({
    programAddress,
    seeds: seeds.map((s) => (typeof s === 'string' ? utf8.encode(s) : s)),
  });
  return found;
}

/** The protocol config: `["config"]`. */
export function configAddress(): Promise<Address> {
  return pda(['config']);
}

/** A market: `["market", underlying_mint, id (u32 LE)]`. */
export function marketAddress(underlyingMint: Address, id: number): Promise<Address> {
  return pda(['market', addr.encode(underlyingMint), getU32Encoder().encode(id)]);
}

/** A market's vault token account: `["vault", market]`. */
export function vaultAddress(market: Address): Promise<Address> {
  return pda(['vault', addr.encode(market)]);
}

/**
 * The LT mint of `epoch`: `["lt_mint", market]` for epoch 0 (made by `create_market`), then
 * `["lt_mint", market, epoch (u32 LE)]` (made by `start_lt_epoch`). A client takes the current
 * one from the market account (`marketKeys`), never from this with epoch 0.
 */
export function ltMintAddress(market: Address, epoch = 0): Promise<Address> {
  if (epoch === 0) return pda(['lt_mint', addr.encode(market)]);
  return pda(['lt_mint', addr.encode(market), getU32Encoder().encode(epoch)]);
}

/** A market's FT mint: `["ft_mint", market]`. */
export function ftMintAddress(market: Address): Promise<Address> {
  return pda(['ft_mint', addr.encode(market)]);
}

/** The token account holding the seed deposit's FT forever: `["locked_ft", market]`. */
export function lockedFtAddress(market: Address): Promise<Address> {
  return pda(['locked_ft', addr.encode(market)]);
}

/** A two-step request: `["request", market, owner, nonce (u64 LE)]`. */
export function requestAddress(market: Address, owner: Address, nonce: bigint | number): Promise<Address> {
  return pda(['request', addr.encode(market), addr.encode(owner), getU64Encoder().encode(nonce)]);
}

/** A request's escrow token account (authority: the market): `["escrow", request]`. */
export function escrowAddress(request: Address): Promise<Address> {
  return pda(['escrow', addr.encode(request)]);
}

/** Anchor's event authority (`emit_cpi!`): `["__event_authority"]`. */
export function eventAuthorityAddress(): Promise<Address> {
  return pda(['__event_authority']);
}

/** The associated token account of `owner` for `mint` under `tokenProgram` (SPL Token or Token-2022). */
export function associatedTokenAddress(
  owner: Address,
  mint: Address,
  tokenProgram: Address,
): Promise<Address> {
  return pda(
    [addr.encode(owner), addr.encode(tokenProgram), addr.encode(mint)],
    ASSOCIATED_TOKEN_PROGRAM_ADDRESS,
  );
}

/** Pyth's sponsored `PriceUpdateV2` account of `feedId` on `shardId` (0 is the one Pyth sponsors). */
export function sponsoredPriceAccount(feedId: ReadonlyUint8Array, shardId = 0): Promise<Address> {
  return pda([getU16Encoder().encode(shardId), feedId], PYTH_PUSH_ORACLE_ADDRESS);
}
