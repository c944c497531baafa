// The committed src/generated/ is what `npm run generate` makes from the committed IDL today
// (as idls/'s own test keeps the IDL equal to the program).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const committed = path.join(pkg, 'src/generated');

function files(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    )
    .sort();
}

test('src/generated is what `npm run generate` makes from idls/lever.json', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lever-client-generated-'));
  try {
    const out = path.join(dir, 'generated');
    execFileSync(process.execPath, [path.join(pkg, 'scripts/generate.mjs'), out], { stdio: 'pipe' });
    const fresh = files(out);
    const have = files(committed);
    const hint =
      'src/generated is out of date: regenerate with `npm run generate` (in app/client-ts) and commit it';
    assert.deepEqual(have, fresh, `${hint} (files differ)`);
    for (const f of fresh) {
      const a = readFileSync(path.join(committed, f), 'utf8');
      const b = readFileSync(path.join(out, f), 'utf8');
      assert.ok(a === b, `${hint}: ${f} differs`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
