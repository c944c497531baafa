// Start a fresh `lever localnet` (the built binary) on a free port pair and read what it wrote:
// the demo's addresses (localnet.json) and keypairs (admin.json, pause-authority.json, user.json).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../../..');
export const LEVER = process.env.LEVER_BIN ?? path.join(repo, 'target/debug/lever');
export const idl = JSON.parse(readFileSync(path.join(repo, 'idls/lever.json'), 'utf8'));

function listen(port) {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}

/** A port whose successor is free too (the websocket is the RPC port + 1). */
async function freePortPair() {
  for (let i = 0; i < 50; i++) {
    const port = await listen(0);
    if (port >= 65535) continue;
    try {
      await listen(port + 1);
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error('no free port pair');
}

/** `args`: more arguments for `lever localnet` (the web app's folder: `['--web', dir]`). */
export async function startLocalnet({ args = [] } = {}) {
  if (!existsSync(LEVER)) {
    throw new Error(`${LEVER} is missing: run \`cargo build -p lever-cli\` first (or set LEVER_BIN)`);
  }
  const port = await freePortPair();
  const dir = mkdtempSync(path.join(tmpdir(), 'lever-node-tests-'));
  const child = spawn(LEVER, ['localnet', '--bind', `127.0.0.1:${port}`, '--keypairs', dir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lever localnet did not start:\n${stderr}`)), 120_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      if (stderr.includes('Ctrl-C stops it')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`lever localnet exited (${code}):\n${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  const info = JSON.parse(readFileSync(path.join(dir, 'localnet.json'), 'utf8'));
  const keypair = (name) => Uint8Array.from(JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')));
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port + 1}`,
    info,
    keypair,
    async stop() {
      // A client that has just confirmed may still have a poll in flight (web3.js's block-height
      // check runs beside the websocket): let it land before the node goes, or it fails after the
      // last test as an unhandled rejection.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function rpc(url, method, params = []) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await response.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

/** Close a web3.js Connection's websocket for good (it would keep reconnecting to a stopped node). */
export function closeConnection(connection) {
  const ws = connection?._rpcWebSocket;
  if (!ws) return;
  ws.reconnect = false;
  ws.close();
}
