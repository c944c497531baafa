// The app's figures (src/figures.ts) against the program's own math through the Rust SDK: the
// `marks_fixtures` example of lever-cli draws 2,000 random books (decimals 0 to 12, Pyth
// exponents 0 to -10, debt from none to insolvent, empty supplies, kinks at both ends, up to three
// years of unaccrued funding) and writes what `quote::accrued`, `quote::marks`, the funding curve
// and `scale_mantissa` give; every number here must be equal, not close.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const FIXTURES = path.join(repo, 'target/marks_fixtures.json');

let figures;
let cases;

before(async () => {
  execFileSync('cargo', ['run', '-q', '-p', 'lever-cli', '--example', 'marks_fixtures', '--', FIXTURES], {
    cwd: repo,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  cases = JSON.parse(readFileSync(FIXTURES, 'utf8'));
  // figures.ts imports nothing: compile it alone to an ES module and load it.
  const out = mkdtempSync(path.join(tmpdir(), 'lever-figures-'));
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(
    process.execPath,
    [
      tsc,
      path.join(here, '../src/figures.ts'),
      '--outDir',
      out,
      '--target',
      'es2022',
      '--module',
      'esnext',
      '--moduleResolution',
      'bundler',
      '--strict',
      '--skipLibCheck',
    ],
    { stdio: 'inherit' },
  );
  writeFileSync(path.join(out, 'package.json'), '{ "type": "module" }\n');
  figures = await import(path.join(out, 'figures.js'));
});

const big = (v) => (v === null ? undefined : BigInt(v));

test('2,000 random books: price units, accrual, NAVs, leverage, utilization and rate as the program computes them', () => {
  assert.ok(cases.length >= 1_500, `only ${cases.length} cases`);
  let insolvent = 0;
  let accruedSome = 0;
  for (const [i, c] of cases.entries()) {
    const e = c.expect;
    const price = figures.priceUnits(BigInt(c.mantissa), c.exponent, c.decimals);
    assert.equal(price, BigInt(e.price), `case ${i}: price units`);
    const curve = {
      baseRatePpm: BigInt(c.params.baseRatePpm),
      kinkPpm: BigInt(c.params.kinkPpm),
      slope1Ppm: BigInt(c.params.slope1Ppm),
      slope2Ppm: BigInt(c.params.slope2Ppm),
    };
    const books = Object.fromEntries(Object.entries(c.books).map(([k, v]) => [k, BigInt(v)]));
    const after = figures.accrue(books, curve, price, BigInt(c.now) - BigInt(c.lastAccrualTs));
    assert.equal(after.debt, BigInt(e.accruedDebt), `case ${i}: accrued debt`);
    const m = figures.rawMarks(after, price);
    assert.equal(m.ltNav, BigInt(e.ltNav), `case ${i}: LT NAV`);
    assert.equal(m.ftNav, BigInt(e.ftNav), `case ${i}: FT NAV`);
    assert.equal(m.leveragePpm, big(e.leveragePpm), `case ${i}: leverage`);
    assert.equal(m.utilizationPpm, BigInt(e.utilizationPpm), `case ${i}: utilization`);
    assert.equal(figures.ratePpm(curve, m.utilizationPpm), BigInt(e.rateAfterPpm), `case ${i}: rate`);
    if (e.leveragePpm === null && BigInt(c.books.exposure) > 0n) insolvent += 1;
    if (after.debt !== books.debt) accruedSome += 1;
  }
  // The draw reaches the cases that matter.
  assert.ok(insolvent > 50, `${insolvent} insolvent books`);
  assert.ok(accruedSome > 500, `${accruedSome} books with funding accrued`);
});

test('formatUnits and parseUnits are inverse; bad amounts are refused', () => {
  for (const [text, decimals, raw] of [
    ['1.5', 9, 1_500_000_000n],
    ['0.000000001', 9, 1n],
    ['12', 0, 12n],
    ['.25', 6, 250_000n],
  ]) {
    assert.equal(figures.parseUnits(text, decimals), raw);
    assert.equal(figures.parseUnits(figures.formatUnits(raw, decimals), decimals), raw);
  }
  for (const bad of ['', '-1', '1e9', '1.0000000001', 'abc', '1.2.3']) {
    assert.equal(figures.parseUnits(bad, 9), undefined, `"${bad}"`);
  }
  // $150 a whole token: 150e18 value units per 1e9 raw units, whatever the decimals.
  assert.equal(figures.navUsd(150n * 10n ** 18n, 9), 150);
  assert.equal(figures.navUsd(150n * 10n ** 18n, 6), 0.15);
});
