// Lever instructions built with Anchor's client from the committed IDL.
import anchor from '@coral-xyz/anchor';
import { PublicKey, Keypair } from '@solana/web3.js';
import {
  TOKEN_2022_PROGRAM_ID,
  getAssociatedTokenAddressSync,
  createAssociatedTokenAccountIdempotentInstruction,
} from '@solana/spl-token';
import { idl } from './localnet.js';

export function program(connection, wallet) {
  const provider = new anchor.AnchorProvider(connection, wallet, { commitment: 'confirmed' });
  return new anchor.Program(idl, provider);
}

export const eventAuthority = (programId) =>
  PublicKey.findProgramAddressSync([Buffer.from('__event_authority')], programId)[0];

/** The accounts of `mint_lt` for `user` (its LT account is its Token-2022 ATA). */
export function mintAccounts(info, user) {
  const programId = new PublicKey(info.programId);
  const ltMint = new PublicKey(info.ltMint);
  return {
    user,
    market: new PublicKey(info.market),
    underlyingMint: new PublicKey(info.underlyingMint),
    vault: new PublicKey(info.vault),
    ltMint,
    userUnderlying: getAssociatedTokenAddressSync(new PublicKey(info.underlyingMint), user, false,
      new PublicKey(info.underlyingTokenProgram)),
    userLt: getAssociatedTokenAddressSync(ltMint, user, false, TOKEN_2022_PROGRAM_ID),
    priceUpdate: new PublicKey(info.priceAccount),
    underlyingTokenProgram: new PublicKey(info.underlyingTokenProgram),
    shareTokenProgram: TOKEN_2022_PROGRAM_ID,
    eventAuthority: eventAuthority(programId),
    program: programId,
  };
}

/** Create the user's LT account if missing (what `lever mint` adds). */
export function createLtAccount(info, user) {
  const ltMint = new PublicKey(info.ltMint);
  return createAssociatedTokenAccountIdempotentInstruction(
    user,
    getAssociatedTokenAddressSync(ltMint, user, false, TOKEN_2022_PROGRAM_ID),
    user,
    ltMint,
    TOKEN_2022_PROGRAM_ID,
  );
}

export const keypairOf = (bytes) => Keypair.fromSecretKey(bytes);

/** The Lever events a transaction emitted by self-CPI (its inner instructions to the program). */
export function cpiEvents(program, innerInstructions, accountKeys) {
  const programId = program.programId.toBase58();
  const out = [];
  for (const set of innerInstructions ?? []) {
    for (const ix of set.instructions) {
      const id = ix.programId?.toBase58?.() ?? accountKeys[ix.programIdIndex]?.toString();
      if (id !== programId) continue;
      const data = anchor.utils.bytes.bs58.decode(ix.data);
      // The event instruction's tag, then the event (discriminator and fields).
      const event = program.coder.events.decode(Buffer.from(data.subarray(8)).toString('base64'));
      if (event) out.push(event);
    }
  }
  return out;
}
