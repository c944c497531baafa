// The program's numbers, ported for display: prices in price units (math/price.rs
// `scale_mantissa`), the books' values, NAVs, leverage and utilization (math/pool.rs,
// math/funding.rs), the funding curve and its accrual. Pure bigint arithmetic, rounding as the
// program rounds; `test/figures.test.js` holds every function here to the Rust SDK's results for
// 2,000 random books (`cargo run -p lever-cli --example marks_fixtures`).

export const PPM = 1_000_000n;
/** Value units per USD (value is 1e-18 USD). */
export const VALUE_PER_USD = 10n ** 18n;
/** `value_of(units, price) = units * price / PRICE_SCALE`. */
export const PRICE_SCALE = 10n ** 18n;
/** A NAV is value units per this many raw share units (pool.rs `lt_nav`). */
export const NAV_UNIT = 1_000_000_000n;
export const SECONDS_PER_YEAR = 31_536_000n;
/** Pyth's (price, expo) becomes price units by 10^(expo + 36 - decimals). */
const PRICE_EXPONENT_OFFSET = 36;

export type Books = {
  exposure: bigint;
  /** Value units. */
  debt: bigint;
  idle: bigint;
  ltSupply: bigint;
  ftSupply: bigint;
};

export type Curve = { baseRatePpm: bigint; kinkPpm: bigint; slope1Ppm: bigint; slope2Ppm: bigint };

/** Pyth's mantissa and exponent in price units for `decimals` (`scale_mantissa`, rounding down). */
export function priceUnits(mantissa: bigint, exponent: number, decimals: number): bigint {
  const shift = exponent + PRICE_EXPONENT_OFFSET - decimals;
  return shift >= 0 ? mantissa * 10n ** BigInt(shift) : mantissa / 10n ** BigInt(-shift);
}

/** USD per whole underlying token at `price` (price units). */
export function priceUsd(price: bigint, decimals: number): number {
  return Number((price * 10n ** BigInt(decimals) * 1_000_000n) / (VALUE_PER_USD * PRICE_SCALE)) / 1e6;
}

/** `value_of`, rounding down. */
export const valueOf = (units: bigint, price: bigint) => (units * price) / PRICE_SCALE;

export type RawMarks = {
  /** Value units per `NAV_UNIT` raw LT / FT units. */
  ltNav: bigint;
  ftNav: bigint;
  /** PPM; undefined while the leveraged pool is empty or insolvent. */
  leveragePpm: bigint | undefined;
  utilizationPpm: bigint;
};

/** `E = N*P - D`, `F = min(D, N*P) + I*P`; NAVs per `NAV_UNIT`, leverage `N*P / E`, utilization `D / F`. */
export function rawMarks(b: Books, price: bigint): RawMarks {
  const exposureValue = valueOf(b.exposure, price);
  const equity = exposureValue - b.debt;
  const funding = (b.debt < exposureValue ? b.debt : exposureValue) + valueOf(b.idle, price);
  // Utilization rounds up and is at most 100% (funding.rs `utilization_ppm`).
  const utilization = funding === 0n ? 0n : (b.debt * PPM + funding - 1n) / funding;
  return {
    ltNav: equity > 0n && b.ltSupply > 0n ? (equity * NAV_UNIT) / b.ltSupply : 0n,
    ftNav: b.ftSupply > 0n ? (funding * NAV_UNIT) / b.ftSupply : 0n,
    leveragePpm: equity > 0n ? (exposureValue * PPM) / equity : undefined,
    utilizationPpm: utilization > PPM ? PPM : utilization,
  };
}

/** USD per whole share (10^decimals raw units) of a NAV per `NAV_UNIT` (the SDK's `nav_usd`). */
export function navUsd(nav: bigint, decimals: number): number {
  return (Number(nav) / 1e27) * 10 ** decimals;
}

export type Marks = {
  /** USD per whole LT / FT. */
  ltNav: number;
  ftNav: number;
  leveragePpm: bigint | undefined;
  utilizationPpm: bigint;
};

/** `rawMarks` with the NAVs in USD per whole share. */
export function marks(b: Books, price: bigint, decimals: number): Marks {
  const m = rawMarks(b, price);
  return { ...m, ltNav: navUsd(m.ltNav, decimals), ftNav: navUsd(m.ftNav, decimals) };
}

/** The funding curve's yearly rate at utilization `u` (funding.rs `rate_ppm`). */
export function ratePpm(c: Curve, u: bigint): bigint {
  const util = u > PPM ? PPM : u;
  const kink = c.kinkPpm < 1n ? 1n : c.kinkPpm > PPM - 1n ? PPM - 1n : c.kinkPpm;
  return util <= kink
    ? c.baseRatePpm + (c.slope1Ppm * util) / kink
    : c.baseRatePpm + c.slope1Ppm + (c.slope2Ppm * (util - kink)) / (PPM - kink);
}

/** The books after `elapsed` seconds of funding at `price` (funding.rs `accrue_funding`): the
 *  rate at the utilization before, interest on the debt rounded up. */
export function accrue(b: Books, c: Curve, price: bigint, elapsed: bigint): Books {
  if (b.debt === 0n || elapsed <= 0n) return b;
  const rate = ratePpm(c, rawMarks(b, price).utilizationPpm);
  const divisor = PPM * SECONDS_PER_YEAR;
  return { ...b, debt: b.debt + (b.debt * rate * elapsed + divisor - 1n) / divisor };
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
