// The market's history from its own events: every transaction that touched the market
// (`getSignaturesForAddress`), the `emit_cpi!` self-invocations in its inner instructions decoded
// with the generated types, and from each event that carries the books and the price, the LT NAV
// and the leverage just after it.
import { getBase58Encoder, type Address, type Signature } from '@solana/kit';
import {
  LEVER_PROGRAM_ADDRESS,
  getFundingAccruedDecoder,
  getFundingDepositedDecoder,
  getFundingWithdrawnDecoder,
  getLtMintedDecoder,
  getLtRedeemedDecoder,
  getRebalancedDecoder,
  getRequestOpenedDecoder,
  getRequestSettledDecoder,
  getRequestCancelledDecoder,
  type PoolSnapshot,
} from '@lever/client';
import { events as idlEvents } from '../../../idls/lever.json';
import { rpc } from './chain';
import { marks, priceUsd as usdPerToken } from './figures';

/** Anchor's tag on an `emit_cpi!` instruction's data, before the event's own discriminator. */
const EVENT_IX_TAG = [0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d];

type Decoded = { name: string; data: Record<string, unknown> };
type Decoder = { decode(bytes: Uint8Array): object };

/** The events the app reads, by name (their discriminators come from the IDL). */
const DECODERS: Record<string, () => Decoder> = {
  LtMinted: getLtMintedDecoder,
  LtRedeemed: getLtRedeemedDecoder,
  FundingDeposited: getFundingDepositedDecoder,
  FundingWithdrawn: getFundingWithdrawnDecoder,
  Rebalanced: getRebalancedDecoder,
  FundingAccrued: getFundingAccruedDecoder,
  RequestOpened: getRequestOpenedDecoder,
  RequestSettled: getRequestSettledDecoder,
  RequestCancelled: getRequestCancelledDecoder,
};

const DISCRIMINATORS: { name: string; bytes: number[] }[] = (
  idlEvents as { name: string; discriminator: number[] }[]
)
  .filter((e) => e.name in DECODERS)
  .map((e) => ({ name: e.name, bytes: e.discriminator }));

const startsWith = (data: Uint8Array, prefix: number[], at = 0) => prefix.every((b, i) => data[at + i] === b);

/** The Lever event in one inner instruction's data, or undefined. */
export function decodeEvent(data: Uint8Array): Decoded | undefined {
  if (!startsWith(data, EVENT_IX_TAG)) return undefined;
  const event = DISCRIMINATORS.find((d) => startsWith(data, d.bytes, 8));
  if (!event) return undefined;
  const decoder = DECODERS[event.name]!();
  return { name: event.name, data: decoder.decode(data.subarray(16)) as Record<string, unknown> };
}

export type Point = {
  signature: Signature;
  slot: bigint;
  time: number;
  event: string;
  /** USD per whole LT after the event, at its price. */
  ltNav: number;
  leveragePpm: bigint | undefined;
  priceUsd: number;
};

export type Activity = { signature: Signature; time: number; event: string; data: Record<string, unknown> };

/** A confirmed transaction never changes: each is fetched once per page load (the app polls). */
const fetched = new Map<Signature, ReturnType<typeof fetchTransaction>>();

function fetchTransaction(signature: Signature) {
  return rpc
    .getTransaction(signature, {
      encoding: 'json',
      maxSupportedTransactionVersion: 0,
      commitment: 'confirmed',
    })
    .send();
}

function transaction(signature: Signature) {
  let found = fetched.get(signature);
  if (!found) {
    found = fetchTransaction(signature);
    // A failed fetch is retried at the next poll.
    found.catch(() => fetched.delete(signature));
    fetched.set(signature, found);
  }
  return found;
}

/** The market's last `limit` transactions' events, oldest first, and the chart's points. */
export async function history(
  market: Address,
  decimals: number,
  limit = 100,
): Promise<{ points: Point[]; activity: Activity[] }> {
  const signatures = await rpc.getSignaturesForAddress(market, { limit }).send();
  const points: Point[] = [];
  const activity: Activity[] = [];
  const base58 = getBase58Encoder();
  const ordered = [...signatures].filter((s) => s.err === null).reverse();
  const transactions = await Promise.all(ordered.map((s) => transaction(s.signature)));
  transactions.forEach((tx, i) => {
    const sig = ordered[i]!;
    if (!tx?.meta) return;
    const keys = tx.transaction.message.accountKeys;
    const time = Number(tx.blockTime ?? sig.blockTime ?? 0n);
    for (const inner of tx.meta.innerInstructions ?? []) {
      for (const ix of inner.instructions) {
        if (keys[ix.programIdIndex] !== LEVER_PROGRAM_ADDRESS) continue;
        const event = decodeEvent(new Uint8Array(base58.encode(ix.data)));
        if (!event || (event.data.market as Address | undefined) !== market) continue;
        activity.push({ signature: sig.signature, time, event: event.name, data: event.data });
        const pool = event.data.pool as PoolSnapshot | undefined;
        const price = event.data.price as bigint | undefined;
        if (!pool || price === undefined || price === 0n) continue;
        const m = marks(
          {
            exposure: pool.exposure,
            debt: pool.debt,
            idle: pool.idle,
            ltSupply: pool.ltSupply,
            ftSupply: pool.ftSupply,
          },
          price,
          decimals,
        );
        points.push({
          signature: sig.signature,
          slot: sig.slot,
          time,
          event: event.name,
          ltNav: m.ltNav,
          leveragePpm: m.leveragePpm,
          priceUsd: usdPerToken(price, decimals),
        });
      }
    }
  });
  return { points, activity };
}
