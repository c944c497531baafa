// A wallet as a browser extension injects one: a page init script, plain browser JavaScript with
// no library, that registers itself through the Wallet Standard's window events
// (`wallet-standard:register-wallet` / `wallet-standard:app-ready`) and signs with a WebCrypto
// Ed25519 key. It shares no code with the app, so the app's discovery, connection and signing
// are exercised as a real extension would meet them.
(() => {
  const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  const base58 = (bytes) => {
    let n = 0n;
    for (const b of bytes) n = n * 256n + BigInt(b);
    let out = '';
    while (n > 0n) {
      out = ALPHABET[Number(n % 58n)] + out;
      n /= 58n;
    }
    for (const b of bytes) {
      if (b !== 0) break;
      out = '1' + out;
    }
    return out;
  };
  const keys = crypto.subtle.generateKey('Ed25519', true, ['sign', 'verify']).then(async (pair) => {
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return { pair, publicKey, address: base58(publicKey) };
  });
  // Wire transaction: shortvec signature count, the signatures, then the message, whose header
  // (after a 0x80|version byte for v0) is 3 bytes, then a shortvec key count and the keys.
  const shortvec = (bytes, at) => {
    let value = 0;
    let size = 0;
    for (;;) {
      const b = bytes[at + size];
      value |= (b & 0x7f) << (7 * size);
      size += 1;
      if ((b & 0x80) === 0) return [value, size];
    }
  };
  async function sign(transaction) {
    const { pair, publicKey } = await keys;
    const [count, countSize] = shortvec(transaction, 0);
    const messageAt = countSize + 64 * count;
    const message = transaction.subarray(messageAt);
    let at = message[0] & 0x80 ? 1 : 0;
    at += 3;
    const [keyCount, keyCountSize] = shortvec(message, at);
    at += keyCountSize;
    let index = -1;
    for (let i = 0; i < keyCount && index < 0; i++) {
      const key = message.subarray(at + 32 * i, at + 32 * (i + 1));
      if (key.every((b, j) => b === publicKey[j])) index = i;
    }
    if (index < 0 || index >= count) throw new Error('this wallet is not a signer of the transaction');
    const signature = new Uint8Array(await crypto.subtle.sign('Ed25519', pair.privateKey, message));
    const signed = new Uint8Array(transaction);
    signed.set(signature, countSize + 64 * index);
    window.__injectedSignatures = (window.__injectedSignatures ?? 0) + 1;
    return signed;
  }
  let accounts = [];
  const listeners = [];
  // What the extension's own UI would do: drop the connection (the app must notice).
  window.__injectedDisconnect = () => {
    accounts = [];
    for (const l of listeners) l({ accounts });
  };
  const wallet = {
    version: '1.0.0',
    name: 'Injected test wallet',
    icon:
      'data:image/svg+xml;base64,' +
      btoa(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4" fill="#7c3aed"/></svg>',
      ),
    chains: ['solana:localnet', 'solana:devnet'],
    get accounts() {
      return accounts;
    },
    features: {
      'standard:connect': {
        version: '1.0.0',
        connect: async () => {
          const { publicKey, address } = await keys;
          accounts = [
            { address, publicKey, chains: ['solana:localnet'], features: ['solana:signTransaction'] },
          ];
          return { accounts };
        },
      },
      'standard:events': {
        version: '1.0.0',
        on: (_event, listener) => {
          listeners.push(listener);
          return () => listeners.splice(listeners.indexOf(listener), 1);
        },
      },
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: (...inputs) =>
          Promise.all(inputs.map(async (i) => ({ signedTransaction: await sign(i.transaction) }))),
      },
    },
  };
  const register = ({ register }) => register(wallet);
  window.addEventListener('wallet-standard:app-ready', ({ detail }) => register(detail));
  window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: register }));
})();
