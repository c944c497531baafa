// The web app in a real browser: Debian's Chromium, driven by playwright-core, opens the static
// build served by a fresh `lever localnet` (the built binary, `--web dist`), connects the test
// wallet through the Wallet Standard, takes underlying from the node's faucet, mints on the
// instant path and sees its LT balance, moves the price and sees the NAV change, opens a two-step
// mint and sees it wait for tau, then settle at the price covering tau, and reads a refused
// operation's error by name. `LEVER_SCREENSHOTS=dir` saves the README's screenshots there.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { LEVER, rpc, startLocalnet } from '../../node-tests/test/localnet.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, '../dist');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const shots = process.env.LEVER_SCREENSHOTS;

let node;
let browser;
let page;
const pageErrors = [];

before(async () => {
  assert.ok(existsSync(path.join(dist, 'index.html')), 'run `npm run build` first');
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/setup installs Debian's chromium`);
  node = await startLocalnet({ args: ['--web', dist] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // As the machine's probe runs it: no sandbox as root, and no background connections (the
    // network is closed).
    args: LAUNCH_ARGS,
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.setDefaultTimeout(20_000);
  if (shots) mkdirSync(shots, { recursive: true });
});

// Money is conserved after every step the app took: the vault holds exactly what the books owe
// (`lever status` compares the vault's balance with exposure + idle + fees).
afterEach(() => {
  const statuses = JSON.parse(execFileSync(LEVER, ['status', '-u', node.url, '--json'], { encoding: 'utf8' }));
  for (const s of statuses) assert.equal(s.conserved, true, `${s.market}: vault ${s.vault_units}`);
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

const text = (id, p = page) => p.getByTestId(id).first().innerText();
const usd = (s) => Number(s.replace(/[$,]/g, ''));
const amount = async (id, p = page) => Number(await text(id, p));
async function shot(name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}
/** Wait until `f()` holds (the app polls the node every 2 s). */
async function until(what, f, p = page) {
  const end = Date.now() + 20_000;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await p.waitForTimeout(250);
  }
}
async function fill(id, value, p = page) {
  await p.getByTestId(id).fill(value);
}
/** Open a two-step `flow` of `amount` from the form (min-out from the quote less `slippage` %),
 *  and wait until the app lists the request. */
async function openRequest(flow, amount, slippage = '1') {
  await page.getByTestId(`tab-${flow}`).click();
  await page.getByTestId('instant').uncheck();
  await fill('amount', amount);
  await fill('min-out', '');
  await fill('slippage', slippage);
  await page.getByTestId('preview').click();
  await page.getByTestId('tau').waitFor();
  await page.getByTestId('send').click();
  await page.getByTestId('sent').waitFor();
  await page.getByTestId('request').waitFor();
}

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

test('the app loads the market from the node it was served by', async () => {
  await page.goto(node.url);
  await page.getByTestId('market').first().waitFor();
  assert.match(await text('market-name'), /SOL 3x Long/);
  assert.equal(await text('leverage'), '3.00x');
  assert.match(await text('band'), /3\.00x \(2\.85x–3\.15x\)/);
  assert.match(await text('oracle'), /\$150\.00/);
  assert.equal(usd(await text('lt-nav')), 150);
  assert.match(await text('utilization'), /max 90\.00%/);
  assert.match(await text('funding-rate'), /a year/);
  assert.match(await text('last-price'), /\$150\.00, \d+s ago/);
  assert.match(await text('exposure-cap'), /none/);
});

test('the test wallet connects through the Wallet Standard and the faucet funds it', async () => {
  await page.getByTestId('connect-lever-test-wallet').click();
  await page.getByTestId('wallet-address').waitFor();
  await page.getByTestId('faucet').click();
  await until('the underlying from the faucet', async () => (await amount('balance-underlying')) === 100);
  assert.equal(await amount('balance-lt'), 0);
});

test('an instant mint: the preview quotes it from a simulation, the LT arrives', async () => {
  await page.getByTestId('tab-mint').click();
  await page.getByTestId('instant').check();
  await fill('amount', '2');
  await page.getByTestId('preview').click();
  await page.getByTestId('preview-ok').waitFor();
  const quoted = Number(await text('quote-out'));
  // 2 units at $150 buy 2 LT at NAV $150, less the mint and instant fees (0.3% + 0.3%).
  assert.ok(quoted > 1.98 && quoted < 2, `quoted ${quoted} LT`);
  const minOut = Number(await page.getByTestId('min-out').inputValue());
  assert.ok(minOut < quoted && minOut > quoted * 0.98, `min-out ${minOut} is the quote less 1%`);
  await shot('mint-preview');
  await page.getByTestId('send').click();
  await page.getByTestId('sent').waitFor();
  await until('the LT balance', async () => (await amount('balance-lt')) === quoted);
  assert.equal(await amount('balance-underlying'), 98);
  await until('the mint in the activity', async () =>
    (await page.getByTestId('event-name').allInnerTexts()).includes('LtMinted'),
  );
});

test('a new price moves the LT NAV by about three times the price move', async () => {
  const before = usd(await text('lt-nav'));
  await fill('demo-price', '153');
  await page.getByTestId('publish-price').click();
  await until('the NAV at $153', async () => usd(await text('lt-nav')) !== before);
  const after = usd(await text('lt-nav'));
  // +2% on the price is about +6% on a 3x NAV.
  assert.ok(after > before * 1.055 && after < before * 1.065, `NAV ${before} -> ${after}`);
  assert.match(await text('holdings-usd'), /\$/);
});

test('a two-step mint waits for tau, then settles at the price published after it', async () => {
  const lt = await amount('balance-lt');
  await openRequest('mint', '1');
  assert.match(await text('request-state'), /waiting for tau/);
  assert.equal(await amount('balance-underlying'), 97, 'the unit waits in escrow');
  assert.ok(await page.getByTestId('settle').isDisabled(), 'nothing to settle at before tau');
  await shot('request-waiting');

  // The local node's clock moves to tau and the update published there covers it.
  await page.getByTestId('publish-at-tau').click();
  await until('the update covering tau', async () => /ready/.test(await text('request-state')));
  await page.getByTestId('settle').click();
  await page.getByTestId('settled').waitFor();
  assert.match(await text('settled'), /Settled: received/);
  await until('the request closed', async () => (await page.getByTestId('no-requests').count()) === 1);
  await until('the settled LT', async () => (await amount('balance-lt')) > lt);
  await until('the settlement in the activity', async () =>
    (await page.getByTestId('event-name').allInnerTexts()).includes('RequestSettled'),
  );
  await until(
    'a chart of the events',
    async () => Number(await page.getByTestId('chart').getAttribute('data-points')) >= 2,
  );
  await shot('market');
});

test('an instant redemption pays underlying for LT', async () => {
  const lt = await amount('balance-lt');
  const underlying = await amount('balance-underlying');
  await page.getByTestId('tab-redeem').click();
  await page.getByTestId('instant').check();
  await fill('amount', '0.5');
  await fill('min-out', '');
  await page.getByTestId('preview').click();
  await page.getByTestId('preview-ok').waitFor();
  const quoted = Number(await text('quote-out'));
  await page.getByTestId('send').click();
  await page.getByTestId('sent').waitFor();
  await until('the LT burned', async () => Math.abs((await amount('balance-lt')) - (lt - 0.5)) < 1e-9);
  await until(
    'the underlying paid',
    async () => Math.abs((await amount('balance-underlying')) - (underlying + quoted)) < 1e-9,
  );
  await page.getByTestId('tab-mint').click();
});

test('the figures are those `lever status` computes from the same chain', async () => {
  const [s] = JSON.parse(execFileSync(LEVER, ['status', '-u', node.url, '--json'], { encoding: 'utf8' }));
  // Let the page poll the same state (nothing moves the chain between the two reads).
  await page.waitForTimeout(2500);
  assert.equal(usd(await text('lt-nav')).toFixed(2), s.lt_nav_usd.toFixed(2));
  assert.equal(usd(await text('ft-nav')).toFixed(2), s.ft_nav_usd.toFixed(2));
  assert.equal(await text('leverage'), `${(s.leverage_ppm / 1e6).toFixed(2)}x`);
  assert.match(await text('utilization'), new RegExp(`^${(s.utilization_ppm / 1e4).toFixed(2)}%`));
  assert.match(await text('funding-rate'), new RegExp(`^${(s.funding_rate_ppm / 1e4).toFixed(2)}%`));
  assert.equal(s.priced_at, 'oracle');
  assert.match(await text('priced-at'), /oracle/);
});

test('a two-step mint whose price at tau misses its min-out is refunded, by name', async () => {
  const underlying = await amount('balance-underlying');
  const lt = await amount('balance-lt');
  await openRequest('mint', '1');
  // The world moves without the app: at tau the price is 4% higher, so a unit buys about 12% fewer
  // LT than the quote the min-out came from. The chain's clock stands still between reads, so the
  // seconds the app shows are exactly the way to tau.
  const wait = Number(/\((\d+)s\)/.exec(await text('request-state'))[1]);
  await rpc(node.url, 'lever_advanceClock', [wait]);
  await rpc(node.url, 'lever_setPrice', [159.12]);
  await until('the update covering tau', async () => /ready/.test(await text('request-state')));
  await page.getByTestId('settle').click();
  await page.getByTestId('settled').waitFor();
  assert.match(await text('settled'), /refunded, SlippageExceeded/);
  await until('the unit back', async () => (await amount('balance-underlying')) === underlying);
  assert.equal(await amount('balance-lt'), lt);
  await rpc(node.url, 'lever_setPrice', [153]);
  await until('the price back', async () => /\$153\.00/.test(await text('oracle')));
});

test('a two-step redemption nobody settles is cancelled after expiry and the LT comes back', async () => {
  const lt = await amount('balance-lt');
  await openRequest('redeem', '0.25');
  await until('the LT in escrow', async () => Math.abs((await amount('balance-lt')) - (lt - 0.25)) < 1e-9);
  assert.ok(await page.getByTestId('cancel').isDisabled(), 'no cancel before expiry');
  // Past the 600 s window with no settlement (the clock moves, no price is published).
  await rpc(node.url, 'lever_advanceClock', [700]);
  await until('expired', async () => /expired/.test(await text('request-state')));
  await page.getByTestId('cancel').click();
  await page.getByTestId('settled').waitFor();
  assert.match(await text('settled'), /Cancelled/);
  await until('the LT back', async () => (await amount('balance-lt')) === lt);
  await until('the request closed', async () => (await page.getByTestId('no-requests').count()) === 1);
  // A fresh price again for what follows.
  await rpc(node.url, 'lever_setPrice', [153]);
  await until('a fresh oracle', async () => /, 0s old/.test(await text('oracle')));
  await page.getByTestId('tab-mint').click();
});

test('a price that moves between the preview and the send: the send is refused by name', async () => {
  const lt = await amount('balance-lt');
  await page.getByTestId('tab-mint').click();
  await page.getByTestId('instant').check();
  await fill('amount', '1');
  await fill('min-out', '');
  await fill('slippage', '0.1');
  await page.getByTestId('preview').click();
  await page.getByTestId('preview-ok').waitFor();
  // The price rises 2% after the preview: the same unit buys about 6% fewer LT than quoted.
  await fill('demo-price', '156');
  await page.getByTestId('publish-price').click();
  await until('the new price', async () => /\$156\.00/.test(await text('oracle')));
  await page.getByTestId('send').click();
  await page.getByTestId('error-name').waitFor();
  assert.equal(await text('error-name'), 'SlippageExceeded');
  assert.equal(await amount('balance-lt'), lt, 'nothing was minted');
  await fill('demo-price', '153');
  await page.getByTestId('publish-price').click();
  await until('the price back', async () => /\$153\.00/.test(await text('oracle')));
});

test('a refused operation shows the program error by name, and nothing is sent', async () => {
  const lt = await amount('balance-lt');
  await page.getByTestId('instant').check();
  await fill('amount', '1');
  await fill('min-out', '1000');
  await page.getByTestId('preview').click();
  await page.getByTestId('error-name').waitFor();
  assert.equal(await text('error-name'), 'SlippageExceeded');
  assert.match(await text('error'), /Output is below the caller's minimum/, 'with the IDL message');
  assert.equal(await page.getByTestId('send').count(), 0, 'no send button for a refused preview');
  await shot('error');
  assert.equal(await amount('balance-lt'), lt);
  assert.deepEqual(pageErrors, []);
});

test('a wallet injected as an extension is found through the Wallet Standard, funds, withdraws and disconnects', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 960 } });
  await context.addInitScript({ content: readFileSync(path.join(here, 'injected-wallet.js'), 'utf8') });
  const other = await context.newPage();
  other.setDefaultTimeout(20_000);
  const errors = [];
  other.on('pageerror', (e) => errors.push(e.message));
  const amountOn = (id) => amount(id, other);
  const wait = (what, f) => until(what, f, other);
  await other.goto(node.url);
  // Both wallets are offered: the app's own test wallet and the injected one.
  await other.getByTestId('connect-lever-test-wallet').waitFor();
  await other.getByTestId('connect-injected-test-wallet').click();
  await other.getByTestId('wallet-address').waitFor();
  await other.getByTestId('faucet').click();
  await wait('the faucet', async () => (await amountOn('balance-underlying')) === 100);

  await other.getByTestId('tab-deposit').click();
  await other.getByTestId('instant').check();
  await fill('amount', '5', other);
  await other.getByTestId('preview').click();
  await other.getByTestId('preview-ok').waitFor();
  const ft = Number(await other.getByTestId('quote-out').innerText());
  assert.ok(ft > 4.9 && ft < 5, `${ft} FT for 5 units at FT NAV near the unit price`);
  await other.getByTestId('send').click();
  await other.getByTestId('sent').waitFor();
  await wait('the FT', async () => (await amountOn('balance-ft')) === ft);
  assert.equal(await amountOn('balance-underlying'), 95);

  await other.getByTestId('tab-withdraw').click();
  await fill('amount', String(ft), other);
  await fill('min-out', '', other);
  await other.getByTestId('preview').click();
  await other.getByTestId('preview-ok').waitFor();
  const back = Number(await other.getByTestId('quote-out').innerText());
  await other.getByTestId('send').click();
  await other.getByTestId('sent').waitFor();
  await wait('the FT withdrawn', async () => (await amountOn('balance-ft')) === 0);
  assert.ok(Math.abs((await amountOn('balance-underlying')) - (95 + back)) < 1e-9);
  assert.ok(back > 4.9 && back < 5, `${back} units back`);
  assert.equal(await other.evaluate(() => window.__injectedSignatures), 2, 'the injected wallet signed both');
  // The wallet drops the connection on its side: the app lets go of the account.
  await other.evaluate(() => window.__injectedDisconnect());
  await other.getByTestId('connect-injected-test-wallet').waitFor();
  assert.equal(await other.getByTestId('wallet-address').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

test('against a cluster that is not a local node the test wallet is not offered', async () => {
  const context = await browser.newContext();
  const other = await context.newPage();
  // A non-loopback endpoint (never reached: the network is closed); the app is still served locally.
  await other.goto(`${node.url}/?rpc=${encodeURIComponent('https://rpc.example.invalid')}`);
  await other.getByTestId('endpoint').waitFor();
  assert.equal(await other.getByTestId('endpoint').innerText(), 'https://rpc.example.invalid');
  await other.getByText('No Wallet Standard wallet found').waitFor();
  assert.equal(await other.getByTestId('connect-lever-test-wallet').count(), 0);
  await context.close();
});
