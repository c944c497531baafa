// The market's views: figures, the band, the NAV and leverage chart, the operation form with its
// simulated preview, the wallet's open requests (the two-step wait) and the demo controls.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import type { Address, Signature } from '@solana/kit';
import type { Wallet, WalletAccount } from '@wallet-standard/base';
import { errorName, wide, type Flow, type OpenRequest } from '@lever/client';
import { IS_LOCAL, localCall } from './chain';
import type { Point } from './history';
import {
  formatUnits,
  leverage,
  parseUnits,
  percent,
  priceUsd,
  usd,
  type Loaded,
  type Status,
} from './market';
import {
  failureOfThrown,
  prepare,
  prepareCancel,
  prepareSettle,
  preview,
  signAndSend,
  type Failure,
  type Prepared,
  type Preview,
} from './ops';

export type Session = { wallet: Wallet; account: WalletAccount };
export type Balances = { underlying: bigint; lt: bigint; ft: bigint; lamports: bigint };

/** An address or signature shortened for display (`7UVi…jLiE`). */
export const short = (a: string) => `${a.slice(0, 4)}…${a.slice(-4)}`;
/** A unix time as the chain's clock time of day (UTC, `HH:MM:SS`). */
export const time = (unix: bigint | number) => new Date(Number(unix) * 1000).toISOString().slice(11, 19);

export function Figures({ l, s }: { l: Loaded; s: Status }) {
  const p = l.market.params;
  const d = l.market.decimals;
  const row = (label: string, value: unknown, id: string) =>
    html`<div class="figure"><span>${label}</span><b data-testid=${id}>${value}</b></div>`;
  return html`<section class="figures">
      ${row('LT NAV', usd(s.ltNav), 'lt-nav')} ${row('FT NAV', usd(s.ftNav), 'ft-nav')}
      ${row('Leverage', s.leveragePpm === undefined ? '–' : leverage(s.leveragePpm), 'leverage')}
      ${row('Target (band)', `${leverage(p.targetLeveragePpm)} (${leverage(s.band[0])}–${leverage(s.band[1])})`, 'band')}
      ${row('Utilization', `${percent(s.utilizationPpm)} (max ${percent(p.maxUtilizationPpm)})`, 'utilization')}
      ${row('Funding rate', `${percent(s.fundingRatePpm)} a year`, 'funding-rate')}
      ${row('Last price', `${usd(priceUsd(wide(l.market.lastPrice), d))}, ${s.lastPriceAge}s ago`, 'last-price')}
      ${row(
        'Oracle',
        l.oracle
          ? `${usd(Number(l.oracle.price) * 10 ** l.oracle.exponent)} ± ${usd(Number(l.oracle.conf) * 10 ** l.oracle.exponent)}, ${s.oracleAge}s old`
          : 'no update',
        'oracle',
      )}
      ${row('Figures priced at', s.pricedAt === 'oracle' ? 'the oracle (fresh)' : 'the last price used', 'priced-at')}
      ${row('Supply', `${formatUnits(l.market.ltSupply, d)} ${l.symbol} · ${formatUnits(l.market.ftSupply, d)} ${l.ftSymbol}`, 'supply')}
      ${row('Exposure cap', p.exposureCap === 2n ** 64n - 1n ? 'none' : formatUnits(p.exposureCap, d), 'exposure-cap')}
      ${row(
        'Fees',
        `mint ${percent(p.mintFeePpm)} · redeem ${percent(p.redeemFeePpm)} · deposit ${percent(p.depositFeePpm)} · withdraw ${percent(p.withdrawFeePpm)} · instant +${percent(p.instantFeePpm)}`,
        'fees',
      )}
      ${row('Two-step', `settles ${p.settleDelaySecs}s after the request, within ${p.settleWindowSecs}s`, 'two-step')}
      ${row('Paused', l.market.paused === 0 ? 'no' : `flags ${l.market.paused}`, 'paused')}
    </section>
    <${BandBar} s=${s} />`;
}

/** Where the leverage sits in its band. */
function BandBar({ s }: { s: Status }) {
  const [lo, hi] = s.band;
  const span = Number(hi - lo) * 2;
  const min = Number(lo) - span / 4;
  const pos = (v: bigint) => Math.min(100, Math.max(0, ((Number(v) - min) / span) * 100));
  return html`<div class="bandbar" title="leverage against its band" data-state=${s.bandState}>
    <div class="band" style=${`left:${pos(lo)}%;width:${pos(hi) - pos(lo)}%`}></div>
    ${s.leveragePpm !== undefined && html`<div class="needle" style=${`left:${pos(s.leveragePpm)}%`}></div>`}
    <span data-testid="band-state"
      >${s.bandState === 'within' ? 'within the band' : s.bandState === 'out' ? 'out of the band: a rebalance is due' : s.bandState}</span
    >
  </div>`;
}

/** LT NAV and leverage after each event that carries the books. */
export function Chart({ points }: { points: Point[] }) {
  if (points.length < 1) return html`<p class="muted">No history yet.</p>`;
  const w = 640;
  const h = 120;
  const line = (values: number[]) => {
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    const range = hi - lo || Math.abs(hi) * 0.01 || 1;
    return values
      .map((v, i) => {
        const x = values.length === 1 ? w / 2 : (i / (values.length - 1)) * (w - 20) + 10;
        const y = h - 10 - ((v - lo) / range) * (h - 20);
        return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`;
      })
      .join(' ');
  };
  const navs = points.map((p) => p.ltNav);
  const levs = points.map((p) => Number(p.leveragePpm ?? 0n) / 1e6);
  const last = points[points.length - 1]!;
  return html`<div class="chart" data-testid="chart" data-points=${points.length}>
    <div class="chart-title">${'LT NAV '}<b>${usd(last.ltNav)}</b>${` (${usd(Math.min(...navs))}–${usd(Math.max(...navs))})`}</div>
    <svg viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none"><path d=${line(navs)} class="nav" /></svg>
    <div class="chart-title">${'Leverage '}<b>${levs[levs.length - 1]!.toFixed(2)}x</b>${` (${Math.min(...levs).toFixed(2)}x–${Math.max(...levs).toFixed(2)}x)`}</div>
    <svg viewBox=${`0 0 ${w} ${h}`} preserveAspectRatio="none"><path d=${line(levs)} class="lev" /></svg>
    <div class="muted">
      ${points.length} events, ${time(points[0]!.time)}–${time(last.time)} (chain time), each marked at the
      price it used: a mint or deposit at the upper end of the confidence interval, a redemption or withdrawal
      at the lower end, a rebalance or accrual at the mid
    </div>
  </div>`;
}

const FLOWS: { flow: Flow; label: string; spends: 'underlying' | 'lt' | 'ft' }[] = [
  { flow: 'mint', label: 'Mint', spends: 'underlying' },
  { flow: 'redeem', label: 'Redeem', spends: 'lt' },
  { flow: 'deposit', label: 'Fund', spends: 'underlying' },
  { flow: 'withdraw', label: 'Withdraw', spends: 'ft' },
];

export function FailureView({ f }: { f: Failure }) {
  return html`<div class="error" data-testid="error">
    <b data-testid="error-name">${f.name}</b> ${f.message}
  </div>`;
}

/** Mint / redeem / fund / withdraw: amount, least out, two-step or instant; preview, then sign. */
export function OperationForm({
  l,
  session,
  balances,
  onDone,
}: {
  l: Loaded;
  session: Session | undefined;
  balances: Balances | undefined;
  onDone: () => void;
}) {
  const [flow, setFlow] = useState<Flow>('mint');
  const [amount, setAmount] = useState('1');
  const [minOut, setMinOut] = useState('');
  const [slippage, setSlippage] = useState('1');
  const [instant, setInstant] = useState(false);
  const [state, setState] = useState<
    | { kind: 'idle' }
    | { kind: 'busy'; what: string }
    | { kind: 'preview'; prepared: Prepared; preview: Preview; quote: Preview | undefined }
    | { kind: 'sent'; signature: Signature; request?: Address }
    | { kind: 'failed'; failure: Failure }
  >({ kind: 'idle' });
  const d = l.market.decimals;
  const spec = FLOWS.find((f) => f.flow === flow)!;
  const outSymbol = flow === 'mint' ? l.symbol : flow === 'deposit' ? l.ftSymbol : 'underlying';
  const held = balances ? balances[spec.spends] : undefined;

  useEffect(() => setState({ kind: 'idle' }), [flow, instant, l.address]);

  async function doPreview() {
    if (!session) return;
    const raw = parseUnits(amount, d);
    if (raw === undefined || raw === 0n) {
      setState({
        kind: 'failed',
        failure: {
          name: 'InvalidAmount',
          message: `"${amount}" is not an amount with at most ${d} decimals`,
        },
      });
      return;
    }
    setState({ kind: 'busy', what: 'simulating' });
    try {
      const owner = session.account.address as Address;
      // The quote: the instant instruction at the current price, least-out 0 (what the books pay now).
      const quoteTx = await prepare({
        market: l.address,
        owner,
        flow,
        amount: raw,
        minOut: 0n,
        instant: true,
      });
      const quote = await preview(quoteTx, flow, true);
      const quoted = quote.ok
        ? ((quote.outcome?.sharesOut ?? quote.outcome?.unitsOut) as bigint | undefined)
        : undefined;
      let least = parseUnits(minOut, d);
      if (minOut.trim() === '' && quoted !== undefined) {
        const bps = BigInt(Math.round(Number(slippage) * 100));
        least = (quoted * (10_000n - bps)) / 10_000n;
        setMinOut(formatUnits(least, d));
      }
      const prepared = await prepare({
        market: l.address,
        owner,
        flow,
        amount: raw,
        minOut: least ?? 0n,
        instant,
      });
      const p = await preview(prepared, flow, instant);
      setState({ kind: 'preview', prepared, preview: p, quote });
    } catch (e) {
      setState({ kind: 'failed', failure: failureOfThrown(e) });
    }
  }

  async function doSend(prepared: Prepared) {
    if (!session) return;
    setState({ kind: 'busy', what: `waiting for ${session.wallet.name}` });
    try {
      const signature = await signAndSend(session.wallet, session.account, prepared);
      setState({ kind: 'sent', signature, request: prepared.request });
      setMinOut('');
      onDone();
    } catch (e) {
      setState({ kind: 'failed', failure: failureOfThrown(e) });
    }
  }

  return html`<section class="card form" data-testid="operation-form">
    <div class="tabs">
      ${FLOWS.map(
        (f) =>
          html`<button
            class=${f.flow === flow ? 'tab on' : 'tab'}
            data-testid=${`tab-${f.flow}`}
            onClick=${() => setFlow(f.flow)}
          >
            ${f.label}
          </button>`,
      )}
    </div>
    <label
      >Amount (${spec.spends === 'underlying' ? 'underlying' : spec.spends === 'lt' ? l.symbol : l.ftSymbol})
      <input
        data-testid="amount"
        value=${amount}
        onInput=${(e: Event) => setAmount((e.target as HTMLInputElement).value)}
      />
      ${held !== undefined && html`<small>you hold ${formatUnits(held, d)}</small>`}
    </label>
    <label
      >Least ${outSymbol} you accept (min-out; blank: quote less
      <input
        class="narrow"
        data-testid="slippage"
        value=${slippage}
        onInput=${(e: Event) => setSlippage((e.target as HTMLInputElement).value)}
      />%)
      <input
        data-testid="min-out"
        value=${minOut}
        onInput=${(e: Event) => setMinOut((e.target as HTMLInputElement).value)}
      />
    </label>
    <label class="check"
      ><input
        type="checkbox"
        data-testid="instant"
        checked=${instant}
        onChange=${(e: Event) => setInstant((e.target as HTMLInputElement).checked)}
      />
      Instant (at the current price, +${percent(l.market.params.instantFeePpm)}); otherwise a two-step request
      that settles at the Pyth update covering the moment ${l.market.params.settleDelaySecs}s after it lands
      (a price nobody picks)</label
    >
    <div class="actions">
      <button data-testid="preview" disabled=${!session || state.kind === 'busy'} onClick=${doPreview}>
        ${session ? 'Preview' : 'Connect a wallet first'}
      </button>
      ${
        state.kind === 'preview' &&
        state.preview.ok &&
        html`<button class="primary" data-testid="send" onClick=${() => doSend(state.prepared)}>
          Sign and send
        </button>`
      }
    </div>
    ${state.kind === 'busy' && html`<p class="muted" data-testid="busy">${state.what}…</p>`}
    ${state.kind === 'preview' && html`<${PreviewView} p=${state.preview} quote=${state.quote} instant=${instant} l=${l} flow=${flow} />`}
    ${
      state.kind === 'sent' &&
      html`<p class="ok" data-testid="sent">${'Confirmed '}<code>${short(state.signature)}</code>${state.request ? html`${': request '}<code>${short(state.request)}</code>${' opened; it waits under Your requests'}` : ''}</p>`
    }
    ${state.kind === 'failed' && html`<${FailureView} f=${state.failure} />`}
  </section>`;
}

function PreviewView({
  p,
  quote,
  instant,
  l,
  flow,
}: {
  p: Preview;
  quote: Preview | undefined;
  instant: boolean;
  l: Loaded;
  flow: Flow;
}) {
  const d = l.market.decimals;
  const out = (o: Record<string, unknown> | undefined) => (o?.sharesOut ?? o?.unitsOut) as bigint | undefined;
  const fee = (o: Record<string, unknown> | undefined) => o?.feeUnits as bigint | undefined;
  const quoteText = quote?.ok
    ? ` out, fee ${formatUnits(fee(quote.outcome) ?? 0n, d)} underlying` +
      (instant ? '' : ' (a request pays the two-step fee instead of the instant one)')
    : '';
  const after = ` · balances after: ${formatUnits(p.after?.[0] ?? 0n, d)} spent side, ${formatUnits(p.after?.[1] ?? 0n, d)} received side · ${p.units ?? '?'} compute units`;
  return html`<div class="preview" data-testid="preview-result">
    ${
      quote?.ok
        ? html`<p>${'At the current price: '}<b data-testid="quote-out">${formatUnits(out(quote.outcome) ?? 0n, d)}</b>${quoteText}</p>`
        : quote?.failure && html`<p class="muted">No instant quote now: ${quote.failure.name}</p>`
    }
    ${
      p.ok
        ? html`<p data-testid="preview-ok">
          ${
            instant
              ? html`${'Simulated: receives '}<b>${formatUnits(out(p.outcome) ?? 0n, d)}</b>`
              : html`${'Simulated: the request lands and settles at the update covering '}<b data-testid="tau">${time((p.outcome?.tau as bigint) ?? 0n)}</b>${`, or may be cancelled after ${time((p.outcome?.expiresAt as bigint) ?? 0n)}`}`
          }${after}
        </p>`
        : html`<${FailureView} f=${p.failure!} />`
    }
    ${flow === 'redeem' && !instant && html`<p class="muted">The LT waits in the request's escrow until it settles.</p>`}
  </div>`;
}

/** The wallet's open requests: the wait for tau and its price, then settle (or cancel after expiry). */
export function Requests({
  l,
  session,
  requests,
  onDone,
}: {
  l: Loaded;
  session: Session | undefined;
  requests: OpenRequest[];
  onDone: () => void;
}) {
  const [result, setResult] = useState<{ ok?: string; failure?: Failure }>({});
  if (!session) return null;
  const d = l.market.decimals;
  const oracle = l.oracle;
  async function act(r: OpenRequest, what: 'settle' | 'cancel') {
    if (!session) return;
    setResult({});
    try {
      const owner = session.account.address as Address;
      const p =
        what === 'settle'
          ? await prepareSettle(owner, l.keys, r, l.priceAccount)
          : await prepareCancel(owner, l.keys, r);
      const sim = await preview(p, what, false);
      if (!sim.ok) {
        setResult({ failure: sim.failure });
        return;
      }
      const filled = sim.outcome?.filled;
      await signAndSend(session.wallet, session.account, p);
      setResult({
        ok:
          what === 'settle'
            ? filled === false
              ? `Settled: refunded, ${errorName(Number(sim.outcome?.refundCode)) ?? `code ${sim.outcome?.refundCode}`} (the input came back)`
              : `Settled: received ${formatUnits((sim.outcome?.amountOut as bigint) ?? 0n, d)}`
            : 'Cancelled: the input came back',
      });
      onDone();
    } catch (e) {
      setResult({ failure: failureOfThrown(e) });
    }
  }
  // The local node publishes each update as if the one before it came a second earlier
  // (prev_publish_time = publish_time - 1), so the update covering tau is the one published at tau.
  async function publishAtTau(tau: bigint) {
    try {
      const { unixTimestamp } = await localCall<{ unixTimestamp: number }>('lever_advanceClock', [0]);
      if (BigInt(unixTimestamp) < tau)
        await localCall('lever_advanceClock', [Number(tau - BigInt(unixTimestamp))]);
      const usdPrice = oracle ? Number(oracle.price) * 10 ** oracle.exponent : 0;
      await localCall('lever_setPrice', [usdPrice]);
      onDone();
    } catch (e) {
      setResult({ failure: failureOfThrown(e) });
    }
  }
  return html`<section class="card" data-testid="requests">
    <h3>Your requests</h3>
    ${requests.length === 0 && html`<p class="muted" data-testid="no-requests">No open requests.</p>`}
    ${requests.map((r) => {
      const { tau, expiresAt, amount, kind } = r.request;
      const covered = oracle !== undefined && oracle.prevPublishTime < tau && tau <= oracle.publishTime;
      const missed = oracle !== undefined && oracle.prevPublishTime >= tau;
      const expired = l.now > expiresAt;
      const state = expired
        ? 'expired: cancel it to get the input back'
        : l.now < tau
          ? `waiting for tau ${time(tau)} (${tau - l.now}s)`
          : covered
            ? 'ready: the current update covers tau'
            : missed
              ? 'the update covering tau must be posted (a keeper does it)'
              : 'waiting for the price published at tau';
      return html`<div class="request" data-testid="request" data-ready=${covered && !expired}>
        <span>${['Mint', 'Redeem', 'Fund', 'Withdraw'][kind]} ${formatUnits(amount, d)}</span>
        <span data-testid="request-state">${state}</span>
        ${
          IS_LOCAL &&
          !covered &&
          !expired &&
          html`<button
            data-testid="publish-at-tau"
            title="local node: move the clock to tau and publish the update covering it"
            onClick=${() => publishAtTau(tau)}
          >
            Price at tau
          </button>`
        }
        <button data-testid="settle" disabled=${!covered || expired} onClick=${() => act(r, 'settle')}>
          Settle
        </button>
        <button data-testid="cancel" disabled=${!expired} onClick=${() => act(r, 'cancel')}>Cancel</button>
      </div>`;
    })}
    ${result.ok && html`<p class="ok" data-testid="settled">${result.ok}</p>`}
    ${result.failure && html`<${FailureView} f=${result.failure} />`}
  </section>`;
}

/** The local node's clock and price, so a demo can show a settlement and a rebalance. */
export function DemoControls({ l, onDone }: { l: Loaded; onDone: () => void }) {
  const [price, setPrice] = useState(
    l.oracle ? (Number(l.oracle.price) * 10 ** l.oracle.exponent).toFixed(2) : '150',
  );
  const [secs, setSecs] = useState('60');
  const [note, setNote] = useState('');
  if (!IS_LOCAL) return null;
  const run = async (f: () => Promise<string>) => {
    try {
      setNote(await f());
      onDone();
    } catch (e) {
      setNote(String(e));
    }
  };
  return html`<section class="card demo" data-testid="demo">
    <h3>Local node</h3>
    <label
      >Price $<input
        class="narrow"
        data-testid="demo-price"
        value=${price}
        onInput=${(e: Event) => setPrice((e.target as HTMLInputElement).value)}
    /></label>
    <button
      data-testid="publish-price"
      onClick=${() =>
        run(async () => {
          const r = await localCall<{ publishTime: number }>('lever_setPrice', [Number(price)]);
          return `published $${price} at ${time(r.publishTime)}`;
        })}
    >
      Publish price
    </button>
    <label
      >Clock +<input
        class="narrow"
        data-testid="demo-secs"
        value=${secs}
        onInput=${(e: Event) => setSecs((e.target as HTMLInputElement).value)}
      />s</label
    >
    <button
      data-testid="advance-clock"
      onClick=${() =>
        run(async () => {
          const r = await localCall<{ unixTimestamp: number }>('lever_advanceClock', [Number(secs)]);
          return `clock at ${time(r.unixTimestamp)}`;
        })}
    >
      Advance clock
    </button>
    <span class="muted" data-testid="demo-note">${note}</span>
  </section>`;
}
