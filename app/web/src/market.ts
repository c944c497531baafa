// What the app shows of a market: its account read through the generated client, its share tokens'
// names, its oracle's latest update and the clock, and the figures of `figures.ts` at the price
// the program would use (the SDK's `ops::market_status`).
import { getBase58Decoder, getBase64Encoder, type Address } from '@solana/kit';
import {
  LEVER_PROGRAM_ADDRESS,
  MARKET_DISCRIMINATOR,
  getMarketDecoder,
  getPriceUpdateV2Decoder,
  isCurrentMarket,
  MARKET_VERSION,
  marketKeys,
  sponsoredPriceAccount,
  wide,
  type Market,
  type MarketKeys,
  type PriceFeedMessage,
} from '@lever/client';
import { clock, rpc } from './chain';
import { accrue, marks, PPM, priceUnits, ratePpm, type Books, type Marks } from './figures';

export * from './figures';

export type Loaded = {
  address: Address;
  market: Market;
  keys: MarketKeys;
  name: string;
  symbol: string;
  ftSymbol: string;
  priceAccount: Address;
  oracle: PriceFeedMessage | undefined;
  now: bigint;
  slot: bigint;
};

/** Every Lever market of the current layout on the cluster. */
export async function listMarkets(): Promise<Address[]> {
  const accounts = await rpc
    .getProgramAccounts(LEVER_PROGRAM_ADDRESS, {
      encoding: 'base64',
      dataSlice: { offset: 0, length: 0 },
      filters: [
        {
          memcmp: {
            offset: 0n,
            bytes: getBase58Decoder().decode(MARKET_DISCRIMINATOR) as never,
            encoding: 'base58',
          },
        },
      ],
    })
    .send();
  return accounts.map((a) => a.pubkey).sort();
}

/** A market with its share tokens' names, its oracle's latest update and the clock. */
export async function loadMarket(address: Address): Promise<Loaded> {
  const { value } = await rpc.getAccountInfo(address, { encoding: 'base64' }).send();
  if (!value) throw new Error(`no market at ${address}`);
  const market = getMarketDecoder().decode(getBase64Encoder().encode(value.data[0]));
  if (!isCurrentMarket(market)) {
    throw new Error(`${address} is a market of layout version ${market.version}, not ${MARKET_VERSION}`);
  }
  const keys = await marketKeys(market);
  const priceAccount = await sponsoredPriceAccount(market.feedId);
  const [lt, ft, oracle, time] = await Promise.all([
    tokenMetadata(market.ltMint),
    tokenMetadata(market.ftMint),
    priceMessage(priceAccount),
    clock(),
  ]);
  return {
    address,
    market,
    keys,
    name: lt?.name ?? 'Lever market',
    symbol: lt?.symbol ?? 'LT',
    ftSymbol: ft?.symbol ?? 'FT',
    priceAccount,
    oracle,
    now: time.unixTimestamp,
    slot: time.slot,
  };
}

type Metadata = { name: string; symbol: string; uri: string };

/** Token-2022 metadata of `mint`, through the node's `jsonParsed` (as a wallet reads it). */
export async function tokenMetadata(mint: Address): Promise<Metadata | undefined> {
  const { value } = await rpc.getAccountInfo(mint, { encoding: 'jsonParsed' }).send();
  const parsed = (
    value?.data as { parsed?: { info?: { extensions?: { extension: string; state: Metadata }[] } } }
  )?.parsed;
  return parsed?.info?.extensions?.find((e) => e.extension === 'tokenMetadata')?.state;
}

/** The price message of the PriceUpdateV2 at `account` (its layout after the 8-byte discriminator). */
export async function priceMessage(account: Address): Promise<PriceFeedMessage | undefined> {
  const { value } = await rpc.getAccountInfo(account, { encoding: 'base64' }).send();
  if (!value) return undefined;
  const data = getBase64Encoder().encode(value.data[0]);
  return data.length > 8 ? getPriceUpdateV2Decoder().decode(data, 8).priceMessage : undefined;
}

export function books(m: Market): Books {
  return {
    exposure: m.exposure,
    debt: wide(m.debt),
    idle: m.idle,
    ltSupply: m.ltSupply,
    ftSupply: m.ftSupply,
  };
}

export type Status = Marks & {
  /** The price the figures use: the oracle's when fresh enough for the program, else the last used. */
  price: bigint;
  pricedAt: 'oracle' | 'last';
  fundingRatePpm: bigint;
  band: [bigint, bigint];
  bandState: 'empty' | 'within' | 'out' | 'insolvent';
  lastPriceAge: bigint;
  oracleAge: bigint | undefined;
};

/** The market as the next instruction sees it (the SDK's `ops::market_status`): priced at the
 *  oracle when it is fresh enough for the program, else at the last price used, with funding
 *  accrued to the chain's clock first. */
export function status(l: Loaded): Status {
  const m = l.market;
  const oracleAge = l.oracle ? l.now - l.oracle.publishTime : undefined;
  const fresh =
    l.oracle !== undefined &&
    oracleAge !== undefined &&
    oracleAge <= m.params.maxPriceAgeSecs &&
    l.oracle.price > 0n;
  const price = fresh ? priceUnits(l.oracle!.price, l.oracle!.exponent, m.decimals) : wide(m.lastPrice);
  const b = price > 0n ? accrue(books(m), m.params, price, l.now - m.lastAccrualTs) : books(m);
  const mk = marks(b, price, m.decimals);
  const target = m.params.targetLeveragePpm;
  const delta = (target * m.params.bandPpm) / PPM;
  const band: [bigint, bigint] = [target - delta, target + delta];
  const bandState =
    b.exposure === 0n && b.debt === 0n
      ? 'empty'
      : mk.leveragePpm === undefined
        ? 'insolvent'
        : mk.leveragePpm >= band[0] && mk.leveragePpm <= band[1]
          ? 'within'
          : 'out';
  return {
    ...mk,
    price,
    pricedAt: fresh ? 'oracle' : 'last',
    fundingRatePpm: ratePpm(m.params, mk.utilizationPpm),
    band,
    bandState,
    lastPriceAge: l.now - m.lastPublishTime,
    oracleAge,
  };
}
