// Wallets through the Wallet Standard: every wallet the page's extensions register (Phantom,
// Solflare, Backpack...), and, against a local node, Lever's own test wallet, registered the same
// way so the app has one path for both. The app asks a wallet only to sign
// (`solana:signTransaction`) and sends the transaction itself, so every wallet previews the same
// simulated transaction and the app sees the outcome by name.
import {
  createKeyPairFromPrivateKeyBytes,
  getAddressFromPublicKey,
  getTransactionDecoder,
  getTransactionEncoder,
  partiallySignTransaction,
  type Address,
} from '@solana/kit';
import { getWallets } from '@wallet-standard/app';
import type { Wallet, WalletAccount, WalletIcon } from '@wallet-standard/base';
import {
  StandardConnect,
  StandardDisconnect,
  StandardEvents,
  type StandardConnectFeature,
  type StandardDisconnectFeature,
  type StandardEventsFeature,
  type StandardEventsListeners,
} from '@wallet-standard/features';
import {
  SolanaSignTransaction,
  type SolanaSignTransactionFeature,
  type SolanaSignTransactionInput,
} from '@solana/wallet-standard-features';
import { registerWallet } from '@wallet-standard/wallet';

/** A wallet the app can use: it connects and signs Solana transactions on `chain`. */
export function usable(wallet: Wallet, chain: string): boolean {
  return (
    StandardConnect in wallet.features &&
    SolanaSignTransaction in wallet.features &&
    (wallet.chains.length === 0 || wallet.chains.some((c) => c === chain || c.startsWith('solana:')))
  );
}

/** The registered wallets the app can use, kept current as extensions register. */
export function watchWallets(chain: string, onChange: (wallets: Wallet[]) => void): () => void {
  const registry = getWallets();
  const update = () => onChange(registry.get().filter((w) => usable(w, chain)));
  update();
  const off1 = registry.on('register', update);
  const off2 = registry.on('unregister', update);
  return () => {
    off1();
    off2();
  };
}

export async function connect(wallet: Wallet): Promise<WalletAccount> {
  const { accounts } = await (wallet.features as StandardConnectFeature)[StandardConnect].connect();
  const account = accounts[0] ?? wallet.accounts[0];
  if (!account) throw new Error(`${wallet.name} gave no account`);
  return account;
}

/** Call `listener` when the wallet's accounts change (`standard:events`); returns the unsubscribe. */
export function onAccountsChanged(
  wallet: Wallet,
  listener: (accounts: readonly WalletAccount[]) => void,
): (() => void) | undefined {
  const events = (wallet.features as Partial<StandardEventsFeature>)[StandardEvents];
  return events?.on('change', ({ accounts }) => {
    if (accounts) listener(accounts);
  });
}

export async function disconnect(wallet: Wallet): Promise<void> {
  const feature = (wallet.features as Partial<StandardDisconnectFeature>)[StandardDisconnect];
  await feature?.disconnect();
}

/** Ask `wallet` to sign the wire `transaction` for `account`; returns the signed wire bytes. */
export async function signTransaction(
  wallet: Wallet,
  account: WalletAccount,
  transaction: Uint8Array,
  chain: string,
): Promise<Uint8Array> {
  const feature = (wallet.features as SolanaSignTransactionFeature)[SolanaSignTransaction];
  const [output] = await feature.signTransaction({
    account,
    transaction,
    chain: chain as `${string}:${string}`,
  });
  if (!output) throw new Error(`${wallet.name} returned no signed transaction`);
  return output.signedTransaction;
}

// ---------------------------------------------------------------------------------------------
// The test wallet
// ---------------------------------------------------------------------------------------------

const STORAGE_KEY = 'lever.testWallet.secretKey';
const ICON = `data:image/svg+xml;base64,${btoa(
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f6feb"/><path d="M9 8v16h14v-4H13V8z" fill="#fff"/></svg>',
)}` as WalletIcon;

/**
 * Lever's test wallet for a local node: an Ed25519 key made in the browser (WebCrypto) and kept
 * in localStorage, signing without asking. Never for real funds: anything on the page can read
 * the key. Funded by the node's `lever_faucet`.
 */
export class TestWallet implements Wallet {
  readonly version = '1.0.0' as const;
  readonly name = 'Lever test wallet';
  readonly icon = ICON;
  readonly chains = ['solana:localnet'] as const;
  #accounts: WalletAccount[] = [];
  #listeners: StandardEventsListeners['change'][] = [];
  #keys: { pair: CryptoKeyPair; address: Address } | undefined;

  get accounts(): readonly WalletAccount[] {
    return this.#accounts;
  }

  get features(): StandardConnectFeature &
    StandardDisconnectFeature &
    StandardEventsFeature &
    SolanaSignTransactionFeature {
    return {
      [StandardConnect]: { version: '1.0.0', connect: () => this.#connect() },
      [StandardDisconnect]: { version: '1.0.0', disconnect: async () => this.#set([]) },
      [StandardEvents]: {
        version: '1.0.0',
        on: (_event, listener) => {
          this.#listeners.push(listener);
          return () => {
            this.#listeners = this.#listeners.filter((l) => l !== listener);
          };
        },
      },
      [SolanaSignTransaction]: {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: (...inputs) => Promise.all(inputs.map((i) => this.#sign(i))),
      },
    };
  }

  async #connect() {
    const keys = await this.#load();
    const publicKey = new Uint8Array(await crypto.subtle.exportKey('raw', keys.pair.publicKey));
    this.#set([
      {
        address: keys.address,
        publicKey,
        chains: this.chains,
        features: [SolanaSignTransaction],
      },
    ]);
    return { accounts: this.#accounts };
  }

  #set(accounts: WalletAccount[]) {
    this.#accounts = accounts;
    for (const l of this.#listeners) l({ accounts });
  }

  async #load() {
    if (this.#keys) return this.#keys;
    let secret = localStorage.getItem(STORAGE_KEY);
    if (!secret) {
      secret = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
      localStorage.setItem(STORAGE_KEY, secret);
    }
    const bytes = Uint8Array.from(atob(secret), (c) => c.charCodeAt(0));
    const pair = await createKeyPairFromPrivateKeyBytes(bytes, true);
    this.#keys = { pair, address: await getAddressFromPublicKey(pair.publicKey) };
    return this.#keys;
  }

  async #sign(input: SolanaSignTransactionInput) {
    const keys = await this.#load();
    if (input.account.address !== keys.address) throw new Error('not this wallet’s account');
    const transaction = getTransactionDecoder().decode(input.transaction);
    const signed = await partiallySignTransaction([keys.pair], transaction);
    return { signedTransaction: new Uint8Array(getTransactionEncoder().encode(signed)) };
  }
}

let registered = false;

/** Register the test wallet (once) so it appears beside the page's other standard wallets. */
export function registerTestWallet(): void {
  if (registered) return;
  registered = true;
  registerWallet(new TestWallet());
}
