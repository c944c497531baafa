// Every address of one market, and which mints a request of each kind moves.
import type { Address } from '@solana/kit';
import { RequestKind, type Market } from './generated';
import {
  TOKEN_2022_PROGRAM_ADDRESS,
  ftMintAddress,
  lockedFtAddress,
  ltMintAddress,
  marketAddress,
  vaultAddress,
} from './pda';

export type MarketKeys = {
  id: number;
  market: Address;
  underlyingMint: Address;
  /** SPL Token or Token-2022, whichever owns the underlying mint. */
  underlyingTokenProgram: Address;
  vault: Address;
  /** The LT mint of the market's current epoch. */
  ltMint: Address;
  ftMint: Address;
  lockedFt: Address;
};

/** The keys of a market as `create_market` makes them (LT epoch 0). */
export async function deriveMarketKeys(
  underlyingMint: Address,
  id: number,
  underlyingTokenProgram: Address,
): Promise<MarketKeys> {
  const market = await marketAddress(underlyingMint, id);
  return {
    id,
    market,
    underlyingMint,
    underlyingTokenProgram,
    vault: await vaultAddress(market),
    ltMint: await ltMintAddress(market),
    ftMint: await ftMintAddress(market),
    lockedFt: await lockedFtAddress(market),
  };
}

/**
 * The `Market` layout this client decodes (`constants.rs` `MARKET_VERSION`): a market of another
 * version is refused by every instruction (`UnsupportedMarketVersion`) and its fields are not
 * where `decodeMarket` reads them, so skip it as the SDK's `decode_market` does.
 */
export const MARKET_VERSION = 3;

/** Whether `market` has the layout this client decodes. */
export function isCurrentMarket(market: Market): boolean {
  return market.version === MARKET_VERSION;
}

/**
 * The keys of `market` as its account records them (the SDK's `MarketKeys::of`): the LT mint of
 * its current epoch (`start_lt_epoch` replaces the epoch-0 one), never a derived one.
 */
export async function marketKeys(market: Market): Promise<MarketKeys> {
  const derived = await deriveMarketKeys(market.underlyingMint, market.id, market.underlyingTokenProgram);
  return { ...derived, ltMint: market.ltMint };
}

export type RequestMints = {
  inputMint: Address;
  outputMint: Address;
  inputTokenProgram: Address;
  outputTokenProgram: Address;
};

/** The mints and token programs of a request of `kind` (the program's `MarketMints::for_request`). */
export function requestMints(keys: MarketKeys, kind: RequestKind): RequestMints {
  const underlying = { mint: keys.underlyingMint, program: keys.underlyingTokenProgram };
  const lt = { mint: keys.ltMint, program: TOKEN_2022_PROGRAM_ADDRESS };
  const ft = { mint: keys.ftMint, program: TOKEN_2022_PROGRAM_ADDRESS };
  const [input, output] =
    kind === RequestKind.MintLt
      ? [underlying, lt]
      : kind === RequestKind.RedeemLt
        ? [lt, underlying]
        : kind === RequestKind.DepositFunding
          ? [underlying, ft]
          : [ft, underlying];
  return {
    inputMint: input.mint,
    outputMint: output.mint,
    inputTokenProgram: input.program,
    outputTokenProgram: output.program,
  };
}

/** A `WideU128` (two little-endian u64 halves) as a bigint. */
export function wide(value: { lo: bigint; hi: bigint }): bigint {
  return (value.hi << 64n) | value.lo;
}
