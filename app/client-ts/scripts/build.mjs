// `npm run build`: compile src/ (the generated client and the helpers) with tsc into dist/ as
// CommonJS. Codama's TypeScript imports its own modules without file extensions ('../programs'),
// which Node's ES module loader does not resolve but its CommonJS loader (and every bundler)
// does; dist/package.json marks the folder as CommonJS inside this "type": "module" package, and
// Node's ESM `import` of it still gets every named export.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(pkg, 'tsconfig.json')], { stdio: 'inherit' });
mkdirSync(path.join(pkg, 'dist'), { recursive: true });
writeFileSync(path.join(pkg, 'dist/package.json'), '{ "type": "commonjs" }\n');
