// Lever's error names and messages by code, and the code inside a failed transaction's error.
import { isSolanaError, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM, type Address } from '@solana/kit';
import * as generated from './generated';
import { getLeverErrorMessage, LEVER_PROGRAM_ADDRESS, type LeverError } from './generated';

/** `LEVER_ERROR__SLIPPAGE_EXCEEDED` -> `SlippageExceeded` (the program's variant name). */
function variantName(constant: string): string {
  return constant
    .slice('LEVER_ERROR__'.length)
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('');
}

const NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(generated)
    .filter(([key, value]) => key.startsWith('LEVER_ERROR__') && typeof value === 'number')
    .map(([key, value]) => [value as number, variantName(key)]),
);

/** The name of Lever's error `code` (`6047` -> `SlippageExceeded`), or undefined for another code. */
export function errorName(code: number): string | undefined {
  return NAMES.get(code);
}

/** The message of Lever's error `code`, or undefined for another code. */
export function errorMessage(code: number): string | undefined {
  return NAMES.has(code) ? getLeverErrorMessage(code as LeverError) : undefined;
}

/** Every Lever error code, ascending. */
export function errorCodes(): number[] {
  return [...NAMES.keys()].sort((a, b) => a - b);
}

export type LeverProgramError = { code: number; name: string; message: string; instructionIndex: number };

/**
 * The Lever error inside `error` (what kit throws for a failed send, simulation or confirmation:
 * the custom instruction error is somewhere in its `cause` chain), or undefined. With the
 * transaction's message, the failing instruction must be one of Lever's (another program's custom
 * code is not Lever's error).
 */
export function leverErrorOf(
  error: unknown,
  transactionMessage?: { instructions: Record<number, { programAddress: Address }> },
): LeverProgramError | undefined {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    if (isSolanaError(e, SOLANA_ERROR__INSTRUCTION_ERROR__CUSTOM)) {
      const { code, index } = e.context as { code: number; index: number };
      if (
        transactionMessage &&
        transactionMessage.instructions[index]?.programAddress !== LEVER_PROGRAM_ADDRESS
      ) {
        return undefined;
      }
      const name = errorName(Number(code));
      if (!name) return undefined;
      return { code: Number(code), name, message: errorMessage(Number(code)) ?? '', instructionIndex: index };
    }
  }
  return undefined;
}
