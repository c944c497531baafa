// Lever's web app: the markets on the cluster, one market's figures and history, and the wallet's
// operations on it. Preact with htm templates (no JSX build step); state is polled from the
// cluster every two seconds and after every transaction.
import { html } from 'htm/preact';
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import type { Address } from '@solana/kit';
import type { Wallet } from '@wallet-standard/base';
import {
  associatedTokenAddress,
  openRequests,
  TOKEN_2022_PROGRAM_ADDRESS,
  type OpenRequest,
} from '@lever/client';
import { CHAIN, IS_LOCAL, RPC_URL, localCall, rpc, tokenBalance } from './chain';
import { history, type Activity, type Point } from './history';
import { formatUnits, leverage, listMarkets, loadMarket, status, usd, type Loaded } from './market';
import {
  Chart,
  DemoControls,
  Figures,
  OperationForm,
  Requests,
  short,
  time,
  type Balances,
  type Session,
} from './views';
import { connect, disconnect, onAccountsChanged, registerTestWallet, watchWallets } from './wallets';
import './style.css';

if (IS_LOCAL) registerTestWallet();

function WalletBar({
  session,
  setSession,
}: {
  session: Session | undefined;
  setSession: (s: Session | undefined) => void;
}) {
  const [wallets, setWallets] = useState<Wallet[]>([]);
  const [error, setError] = useState('');
  const [lamports, setLamports] = useState<bigint | undefined>();
  useEffect(() => watchWallets(CHAIN, setWallets), []);
  // The wallet may switch or drop the account on its side (standard:events).
  useEffect(() => {
    if (!session) return;
    return onAccountsChanged(session.wallet, (accounts) => {
      const next = accounts[0];
      setSession(next ? { wallet: session.wallet, account: next } : undefined);
    });
  }, [session?.wallet]);
  useEffect(() => {
    if (!session) return;
    let live = true;
    const read = () =>
      rpc
        .getBalance(session.account.address as Address)
        .send()
        .then((b) => live && setLamports(b.value))
        .catch(() => {});
    read();
    const t = setInterval(read, 2000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [session]);
  if (session) {
    return html`<div class="wallet">
      <img src=${session.wallet.icon} alt="" />
      <span data-testid="wallet-address" title=${session.account.address}
        >${short(session.account.address)}</span
      >
      <span class="muted">${lamports === undefined ? '' : `${formatUnits(lamports, 9)} SOL`}</span>
      ${
        IS_LOCAL &&
        html`<button
          data-testid="faucet"
          onClick=${() => localCall('lever_faucet', [session.account.address]).catch((e) => setError(String(e)))}
        >
          Faucet
        </button>`
      }
      <button
        onClick=${async () => {
          await disconnect(session.wallet);
          setSession(undefined);
        }}
      >
        Disconnect
      </button>
      ${error && html`<span class="error">${error}</span>`}
    </div>`;
  }
  return html`<div class="wallet">
    ${wallets.length === 0 && html`<span class="muted">No Wallet Standard wallet found</span>`}
    ${wallets.map(
      (w) =>
        html`<button
          data-testid=${`connect-${w.name.replace(/\s+/g, '-').toLowerCase()}`}
          onClick=${async () => {
            try {
              setSession({ wallet: w, account: await connect(w) });
            } catch (e) {
              setError(String(e));
            }
          }}
        >
          <img src=${w.icon} alt="" /> Connect ${w.name}
        </button>`,
    )}
    ${error && html`<span class="error">${error}</span>`}
  </div>`;
}

type Summary = { address: Address; symbol: string; nav: number; leveragePpm: bigint | undefined };

function MarketList({
  selected,
  onSelect,
  markets,
}: {
  selected?: Address;
  onSelect: (a: Address) => void;
  markets: Summary[];
}) {
  return html`<nav class="markets" data-testid="market-list">
    <h2>Markets</h2>
    ${markets.length === 0 && html`<p class="muted">No markets on this cluster.</p>`}
    ${markets.map(
      (m) =>
        html`<button
          class=${m.address === selected ? 'market on' : 'market'}
          data-testid="market"
          onClick=${() => onSelect(m.address)}
        >
          <b>${m.symbol}</b><span>${usd(m.nav)}</span
          ><span>${m.leveragePpm === undefined ? '–' : leverage(m.leveragePpm)}</span>
        </button>`,
    )}
  </nav>`;
}

function ActivityList({ activity, decimals }: { activity: Activity[]; decimals: number }) {
  const shown = activity.slice(-12).reverse();
  const amount = (a: Activity) => {
    const v = (a.data.sharesOut ?? a.data.unitsOut ?? a.data.amountOut ?? a.data.amount) as
      bigint | undefined;
    return v === undefined ? '' : formatUnits(v, decimals);
  };
  return html`<section class="card" data-testid="activity">
    <h3>Activity</h3>
    ${shown.length === 0 && html`<p class="muted">No events yet.</p>`}
    <table>
      ${shown.map(
        (a) =>
          html`<tr>
            <td>${time(a.time)}</td>
            <td data-testid="event-name">${a.event}</td>
            <td>${amount(a)}</td>
            <td><code>${short(a.signature)}</code></td>
          </tr>`,
      )}
    </table>
  </section>`;
}

function App() {
  const [session, setSession] = useState<Session | undefined>();
  const [markets, setMarkets] = useState<Summary[]>([]);
  const [selected, setSelected] = useState<Address | undefined>(
    () => (location.hash.slice(1) as Address) || undefined,
  );
  const [loaded, setLoaded] = useState<Loaded | undefined>();
  const [balances, setBalances] = useState<Balances | undefined>();
  const [requests, setRequests] = useState<OpenRequest[]>([]);
  const [chart, setChart] = useState<{ points: Point[]; activity: Activity[] }>({ points: [], activity: [] });
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  const refresh = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const t = setInterval(refresh, 2000);
    return () => clearInterval(t);
  }, [refresh]);

  useEffect(() => {
    let live = true;
    (async () => {
      const addresses = await listMarkets();
      // A market of another layout version (or one that cannot be read) is left out of the list.
      const all = await Promise.all(addresses.map((a) => loadMarket(a).catch(() => undefined)));
      const summaries = all
        .filter((l): l is Loaded => l !== undefined)
        .map((l) => {
          const s = status(l);
          return { address: l.address, symbol: l.symbol, nav: s.ltNav, leveragePpm: s.leveragePpm };
        });
      if (!live) return;
      setMarkets(summaries);
      const current = selected ?? summaries[0]?.address;
      if (!current) return;
      if (!selected) setSelected(current);
      const l = all.find((x) => x?.address === current);
      if (!l) return;
      setLoaded(l);
      const [h, rq, b] = await Promise.all([
        history(l.address, l.market.decimals),
        session ? openRequests(rpc, l.address, session.account.address as Address) : Promise.resolve([]),
        session ? readBalances(l, session.account.address as Address) : Promise.resolve(undefined),
      ]);
      if (!live) return;
      setChart(h);
      setRequests(rq);
      setBalances(b);
      setError('');
    })().catch((e) => live && setError(String(e)));
    return () => {
      live = false;
    };
  }, [tick, selected, session]);

  const s = loaded && status(loaded);
  return html`<header>
      <h1>Lever</h1>
      <span class="muted" data-testid="endpoint">${RPC_URL}${IS_LOCAL ? ' (local node)' : ''}</span>
      <${WalletBar} session=${session} setSession=${setSession} />
    </header>
    ${error && html`<p class="error" data-testid="load-error">${error}</p>`}
    <main>
      <${MarketList}
        markets=${markets}
        selected=${selected}
        onSelect=${(a: Address) => {
          location.hash = a;
          setSelected(a);
        }}
      />
      ${
        loaded && s
          ? html`<div class="detail">
              <h2 data-testid="market-name">
                ${loaded.name} <span class="muted">${loaded.symbol} · ${short(loaded.address)}</span>
              </h2>
              <${Figures} l=${loaded} s=${s} />
              ${
                session &&
                balances &&
                html`<section class="card holdings" data-testid="holdings">
                  <span>${'Underlying '}<b data-testid="balance-underlying">${formatUnits(balances.underlying, loaded.market.decimals)}</b></span>
                  <span>${`${loaded.symbol} `}<b data-testid="balance-lt">${formatUnits(balances.lt, loaded.market.decimals)}</b></span>
                  <span>${`${loaded.ftSymbol} `}<b data-testid="balance-ft">${formatUnits(balances.ft, loaded.market.decimals)}</b></span>
                  <span>${'worth '}<b data-testid="holdings-usd">${usd(holdingsUsd(balances, loaded.market.decimals, s.ltNav, s.ftNav), 2)}</b></span>
                </section>`
              }
              <div class="columns">
                <div>
                  <${OperationForm} l=${loaded} session=${session} balances=${balances} onDone=${refresh} />
                  <${Requests} l=${loaded} session=${session} requests=${requests} onDone=${refresh} />
                  <${DemoControls} l=${loaded} onDone=${refresh} />
                </div>
                <div>
                  <section class="card">
                    <h3>History</h3>
                    <${Chart} points=${chart.points} />
                  </section>
                  <${ActivityList} activity=${chart.activity} decimals=${loaded.market.decimals} />
                </div>
              </div>
            </div>`
          : html`<p class="muted">Loading…</p>`
      }
    </main>`;
}

/** What the wallet's LT and FT are worth at the figures' NAVs. */
function holdingsUsd(b: Balances, decimals: number, ltNav: number, ftNav: number): number {
  const whole = 10 ** decimals;
  return (Number(b.lt) / whole) * ltNav + (Number(b.ft) / whole) * ftNav;
}

async function readBalances(l: Loaded, owner: Address): Promise<Balances> {
  const k = l.keys;
  const [u, lt, ft] = await Promise.all([
    associatedTokenAddress(owner, k.underlyingMint, k.underlyingTokenProgram),
    associatedTokenAddress(owner, k.ltMint, TOKEN_2022_PROGRAM_ADDRESS),
    associatedTokenAddress(owner, k.ftMint, TOKEN_2022_PROGRAM_ADDRESS),
  ]);
  const [underlying, ltBal, ftBal, lamports] = await Promise.all([
    tokenBalance(u),
    tokenBalance(lt),
    tokenBalance(ft),
    rpc.getBalance(owner).send(),
  ]);
  return { underlying, lt: ltBal, ft: ftBal, lamports: lamports.value };
}

render(html`<${App} />`, document.getElementById('app')!);
