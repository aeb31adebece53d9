// Whether `chatz connect` trusts a server's key on first use: asks yes/no on a terminal, as SSH
// does; a script follows --trust-on-first-use (default refuse: a script cannot check a key).

/** `--trust-on-first-use`: what a client without a terminal does with a key it has not met. */
export type FirstUsePolicy = "accept" | "refuse";

/** The choices of `--trust-on-first-use`. */
export const FIRST_USE_POLICIES: readonly FirstUsePolicy[] = ["accept", "refuse"];

/** A first-use decision: trust the key, or not and why (the end of an error message). */
export type FirstUseDecision = { trusted: true } | { trusted: false; why: string };

/** Wrong answers before the question counts as answered no: a stuck key must not loop forever. */
const MAX_ASKS = 3;
/** An answer is one short word or a key; a longer line is not one. */
const MAX_ANSWER_BYTES = 256;

/**
 * Decides about an unknown key: `policy` when given, else a yes/no question when stdin is a
 * terminal, else refuse. A script has nobody to compare the key with what the server printed,
 * so it trusts a key only when told to (`--trust-on-first-use accept`), like `ssh -o BatchMode=yes`.
 *
 * @example
 * ```ts
 * import { decideFirstUse } from "./trust_prompt.ts";
 * const decision = await decideFirstUse("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", "accept");
 * console.log(decision.trusted); // true
 * ```
 */
export async function decideFirstUse(
  key: string,
  policy: FirstUsePolicy | undefined,
): Promise<FirstUseDecision> {
  if (policy === "accept") return { trusted: true };
  if (policy === "refuse") return { trusted: false, why: "--trust-on-first-use refuse" };
  if (!Deno.stdin.isTerminal()) {
    return {
      trusted: false,
      why: "stdin is not a terminal to ask, and --trust-on-first-use defaults to refuse there",
    };
  }
  return await askOnTerminal(key);
}

async function askOnTerminal(key: string): Promise<FirstUseDecision> {
  let question = "Are you sure you want to continue connecting (yes/no/[key])? ";
  for (let i = 0; i < MAX_ASKS; i++) {
    Deno.stderr.writeSync(new TextEncoder().encode(question));
    const answer = await readTerminalLine();
    if (answer === null) return { trusted: false, why: "no answer (end of input)" };
    const verdict = judgeAnswer(answer, key);
    if (verdict === "yes") return { trusted: true };
    if (verdict === "no") return { trusted: false, why: "you answered no" };
    question = "Please type 'yes', 'no' or the key: ";
  }
  return { trusted: false, why: "no yes or no after three questions" };
}

/**
 * Reads an answer as SSH does: "yes", "no", or the key itself (pasted from what the server
 * printed) counts as yes; a different key is no; anything else asks again.
 *
 * @example
 * ```ts
 * import { judgeAnswer } from "./trust_prompt.ts";
 * judgeAnswer(" Yes\n", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // "yes"
 * judgeAnswer("y", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"); // "again"
 * ```
 */
export function judgeAnswer(answer: string, key: string): "yes" | "no" | "again" {
  const word = answer.trim();
  if (word.toLowerCase() === "yes" || word === key) return "yes";
  if (word.toLowerCase() === "no") return "no";
  // Something key-sized that is not the key: the user compared, and it differs.
  if (word.length === key.length && !/\s/.test(word)) return "no";
  return "again";
}

/** One line from the terminal in its normal (echoing, line-edited) mode; null at end of input. */
async function readTerminalLine(): Promise<string | null> {
  const chunk = new Uint8Array(MAX_ANSWER_BYTES);
  const n = await Deno.stdin.read(chunk);
  if (n === null) return null;
  return new TextDecoder().decode(chunk.subarray(0, n)).split("\n")[0];
}
