// What the app shows of a market: the books read through the generated client, priced the way the
// program prices them (app/sdk/src/ops/status.rs and programs/lever/src/math/pool.rs, ported for
// display: NAVs, leverage, utilization, the funding rate at that utilization).
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

export const PPM = 1_000_000n;
/** Value units per USD (value is 1e-18 USD). */
export const VALUE_PER_USD = 10n ** 18n;
/** `value_of(units, price) = units * price / PRICE_SCALE`. */
export const PRICE_SCALE = 10n ** 18n;
/** Pyth's (price, expo) becomes price units by 10^(expo + 36 - decimals). */
const PRICE_EXPONENT_OFFSET = 36;

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

/** Pyth's mantissa and exponent in price units for `decimals` (as `scale_mantissa`, rounding down). */
export function priceUnits(mantissa: bigint, exponent: number, decimals: number): bigint {
  const shift = exponent + PRICE_EXPONENT_OFFSET - decimals;
  return shift >= 0 ? mantissa * 10n ** BigInt(shift) : mantissa / 10n ** BigInt(-shift);
}

/** USD per whole underlying token at `price` (price units). */
export function priceUsd(price: bigint, decimals: number): number {
  return Number((price * 10n ** BigInt(decimals) * 1_000_000n) / (VALUE_PER_USD * PRICE_SCALE)) / 1e6;
}

export type Books = {
  exposure: bigint;
  debt: bigint;
  idle: bigint;
  ltSupply: bigint;
  ftSupply: bigint;
};

export function books(m: Market): Books {
  return {
    exposure: m.exposure,
    debt: wide(m.debt),
    idle: m.idle,
    ltSupply: m.ltSupply,
    ftSupply: m.ftSupply,
  };
}

export type Marks = {
  /** USD per whole LT / FT. */
  ltNav: number;
  ftNav: number;
  /** PPM; undefined while the leveraged pool is empty or insolvent. */
  leveragePpm: bigint | undefined;
  utilizationPpm: bigint;
};

const valueOf = (units: bigint, price: bigint) => (units * price) / PRICE_SCALE;

/** NAVs, leverage and utilization of `b` at `price` (pool.rs: E = N*P - D, F = min(D, N*P) + I*P). */
export function marks(b: Books, price: bigint, decimals: number): Marks {
  const exposureValue = valueOf(b.exposure, price);
  const equity = exposureValue - b.debt;
  const funding = (b.debt < exposureValue ? b.debt : exposureValue) + valueOf(b.idle, price);
  const whole = 10n ** BigInt(decimals);
  const usd = (value: bigint) => Number((value * 1_000_000n) / VALUE_PER_USD) / 1e6;
  // Utilization rounds up and is at most 100% (funding.rs `utilization_ppm`).
  const utilization = funding === 0n ? 0n : (b.debt * PPM + funding - 1n) / funding;
  return {
    ltNav: equity > 0n && b.ltSupply > 0n ? usd((equity * whole) / b.ltSupply) : 0,
    ftNav: b.ftSupply > 0n ? usd((funding * whole) / b.ftSupply) : 0,
    leveragePpm: equity > 0n ? (exposureValue * PPM) / equity : undefined,
    utilizationPpm: utilization > PPM ? PPM : utilization,
  };
}

/** The funding curve's yearly rate at `u` (funding.rs `rate_ppm`). */
export function fundingRatePpm(m: Market, u: bigint): bigint {
  const p = m.params;
  const util = u > PPM ? PPM : u;
  const kink = p.kinkPpm < 1n ? 1n : p.kinkPpm > PPM - 1n ? PPM - 1n : p.kinkPpm;
  return util <= kink
    ? p.baseRatePpm + (p.slope1Ppm * util) / kink
    : p.baseRatePpm + p.slope1Ppm + (p.slope2Ppm * (util - kink)) / (PPM - kink);
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

export function status(l: Loaded): Status {
  const m = l.market;
  const oracleAge = l.oracle ? l.now - l.oracle.publishTime : undefined;
  const fresh =
    l.oracle !== undefined &&
    oracleAge !== undefined &&
    oracleAge <= m.params.maxPriceAgeSecs &&
    l.oracle.price > 0n;
  const price = fresh ? priceUnits(l.oracle!.price, l.oracle!.exponent, m.decimals) : wide(m.lastPrice);
  const b = books(m);
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
    fundingRatePpm: fundingRatePpm(m, mk.utilizationPpm),
    band,
    bandState,
    lastPriceAge: l.now - m.lastPublishTime,
    oracleAge,
  };
}

/** Raw units as a decimal string (`1500000000`, 9 -> `1.5`). */
export function formatUnits(raw: bigint, decimals: number): string {
  const negative = raw < 0n;
  const abs = negative ? -raw : raw;
  const whole = abs / 10n ** BigInt(decimals);
  const frac = (abs % 10n ** BigInt(decimals)).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${frac ? '.' + frac : ''}`;
}

/** A decimal string as raw units, or undefined when it is not a non-negative amount with at most `decimals` places. */
export function parseUnits(text: string, decimals: number): bigint | undefined {
  const t = text.trim();
  if (!/^\d+(\.\d*)?$|^\.\d+$/.test(t)) return undefined;
  const [whole = '0', frac = ''] = t.split('.');
  if (frac.length > decimals) return undefined;
  return (
    BigInt(whole || '0') * 10n ** BigInt(decimals) +
    BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0')
  );
}

export const percent = (ppm: bigint) => `${(Number(ppm) / 1e4).toFixed(2)}%`;
export const leverage = (ppm: bigint) => `${(Number(ppm) / 1e6).toFixed(2)}x`;
export const usd = (v: number, digits = 4) =>
  `$${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
