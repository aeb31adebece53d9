// Which CURVE key `chatz connect` trusts for a server: the one given with --server-key, the one in
// the known-servers file, or, on first use, the one the server's key endpoint tells (then remembered).

import { isCurveKey, KEY_PROTOCOL_VERSION, keyEndpointFor } from "../protocol/curve.ts";
import { type GreetingProbe, probeGreeting } from "../transport/handshake.ts";
import { requestOnce } from "../transport/request_reply.ts";
import { encryptionMismatch, nothingListening } from "./dial_messages.ts";
import { listedEndpoints } from "./endpoints.ts";
import { knownServersPath, lookupKnownServer, rememberServer } from "./known_servers.ts";
import type { FirstUseDecision } from "./trust_prompt.ts";

/** How long to ask the key endpoint why a login went unanswered: the user already waited once. */
const DIAGNOSIS_TIMEOUT_MS = 2000;
/** A key reply is one short JSON object; anything bigger is not one. */
const MAX_KEY_REPLY_BYTES = 4096;

/** Codes of the client's own encryption failures; like `unreachable`, they never travel on the wire. */
export type TrustErrorCode =
  | "unreachable" // the login went unanswered, or nothing listens at the server's address
  | "encryption_mismatch" // met for the first time, the server turns out not to encrypt
  | "no_server_key" // no key known, and none could be fetched or remembered
  | "bad_server_key" // a key that is not 40 Z85 characters
  | "unknown_server_key" // a key met for the first time, and trusting it on first use refused
  | "wrong_server_key" // --server-key differs from the key the server's key endpoint reports
  | "server_key_changed"; // the remembered key differs from the one the key endpoint reports

/** Why the client will not, or could not, talk to a server over CURVE. */
export class TrustError extends Error {
  constructor(
    readonly code: TrustErrorCode,
    message: string,
    /** Lines to show the user before the message: the loud part of a warning. */
    readonly warning: readonly string[] = [],
  ) {
    super(message);
    this.name = "TrustError";
  }
}

/** What `trustServerKey` needs. */
export interface TrustOptions {
  /**
   * The chat endpoint as given with --server, or several comma-separated (the nodes of a cluster,
   * which serve one key): each is a line of the known-servers file.
   */
  server: string;
  /** --server-key: trusted as given. */
  serverKey?: string;
  /** --key-endpoint; default: the server's host, port + 1. */
  keyEndpoint?: string;
  /** How long to wait for the key endpoint on first use. */
  timeoutMs: number;
  /** Default: `knownServersPath()`. */
  knownServersFile?: string;
  /** Shows one line of a warning to the user (stderr). */
  warn(line: string): void;
  /** Decides about a key met for the first time, after the warning; default: trust it. */
  firstUse?: (key: string) => Promise<FirstUseDecision>;
  /** Told, on first use, that nothing listens at the server's address yet (the key is awaited). */
  onWaiting?: (why: "no_listener") => void;
}

/** The key to encrypt with, and how the client came to trust it. */
export interface TrustedKey {
  key: string;
  source: "given" | "known" | "first_use";
  /** The known-servers file; unset for a given key. */
  file?: string;
}

/**
 * Finds the server's key: `--server-key`, else the known-servers file, else trust on first use:
 * asks the key endpoint, warns loudly, remembers the key, and returns it.
 *
 * @example
 * ```ts
 * import { trustServerKey } from "./curve_trust.ts";
 * const trusted = await trustServerKey({
 *   server: "tcp://chat.example.org:5555",
 *   timeoutMs: 5000,
 *   warn: (line) => console.error(`chatz: ${line}`),
 * });
 * console.log(trusted.key, trusted.source); // "rq:rM>…", "first_use"
 * ```
 */
export async function trustServerKey(options: TrustOptions): Promise<TrustedKey> {
  const { server } = options;
  if (options.serverKey !== undefined) {
    if (!isCurveKey(options.serverKey)) {
      throw new TrustError(
        "bad_server_key",
        `Cannot use --server-key "${options.serverKey}": not a CURVE key (40 Z85 characters, ` +
          `as "chatz serve" prints it after "CURVE public key:")`,
      );
    }
    return { key: options.serverKey, source: "given" };
  }

  let file: string;
  let known: string | undefined;
  try {
    file = options.knownServersFile ?? knownServersPath();
    known = rememberedKey(file, server);
  } catch (error) {
    if (error instanceof TrustError) throw error;
    throw new TrustError("no_server_key", (error as Error).message);
  }
  if (known !== undefined) return { key: known, source: "known", file };

  // A plaintext server has no key endpoint, and a closed port no server: say so, not "no key".
  if ((await chatPortProblem(options)) === "refused") options.onWaiting?.("no_listener");
  let told: { key: string; endpoint: string };
  try {
    told = await firstUseKey(options);
  } catch (error) {
    // No key endpoint answered: when nothing listens at the chat port either, that is the cause.
    const unanswered = error instanceof TrustError && error.code === "no_server_key";
    if (unanswered && (await chatPortProblem(options)) === "refused") {
      throw new TrustError("unreachable", nothingListening(server, options.timeoutMs));
    }
    throw error;
  }
  const { key, endpoint } = told;
  options.warn(`WARNING: The authenticity of server "${server}" cannot be established.`);
  options.warn(
    `Its CURVE key is ${key} (as told, unencrypted, by its key endpoint "${endpoint}").`,
  );
  options.warn(`To be sure, compare it with the "CURVE public key:" line the server printed.`);
  const decision: FirstUseDecision = options.firstUse
    ? await options.firstUse(key)
    : { trusted: true };
  if (!decision.trusted) {
    throw new TrustError(
      "unknown_server_key",
      `Cannot connect to "${server}": its CURVE key is not known yet and was not trusted ` +
        `(${decision.why}); once it matches what the server printed, connect with ` +
        `--trust-on-first-use accept, or give it with --server-key`,
    );
  }
  options.warn(`Trusting it on first use and remembering it in "${file}".`);
  try {
    for (const listed of listedEndpoints(server)) rememberServer(file, listed, key);
  } catch (error) {
    throw new TrustError("no_server_key", (error as Error).message);
  }
  return { key, source: "first_use", file };
}

/**
 * The key remembered for the endpoints `server` lists, or undefined when none is. Several listed
 * endpoints are one cluster with one key: endpoints remembered with different keys are refused.
 */
function rememberedKey(file: string, server: string): string | undefined {
  const known = new Map<string, string>();
  for (const endpoint of listedEndpoints(server)) {
    const key = lookupKnownServer(file, endpoint);
    if (key === undefined) continue;
    if (!isCurveKey(key)) {
      throw new TrustError(
        "bad_server_key",
        `Cannot use the key remembered for "${endpoint}" in "${file}": not a CURVE key; ` +
          `fix or remove its line`,
      );
    }
    known.set(key, endpoint);
  }
  if (known.size > 1) {
    throw new TrustError(
      "bad_server_key",
      `Cannot connect to "${server}": its endpoints are remembered with different CURVE keys in ` +
        `"${file}" (${[...known].map(([key, at]) => `${at} ${key}`).join(", ")}); the nodes ` +
        `of one chat serve one key: remove the wrong line`,
    );
  }
  return known.keys().next().value;
}

/**
 * The key the server's key endpoints tell, for trust on first use: every listed node is asked at
 * once, and nodes that tell different keys are refused (a cluster's nodes share one key).
 */
async function firstUseKey(
  options: { server: string; keyEndpoint?: string; timeoutMs: number },
): Promise<{ key: string; endpoint: string }> {
  const { server } = options;
  const endpoints = keyEndpointsOf(options);
  const told = (await askKeyEndpoints(endpoints, options.timeoutMs, { throwIfNone: true }))
    .filter((answer): answer is { endpoint: string; key: string } => answer.key !== undefined);
  if (told.length === 0) {
    const which = endpoints.length === 1
      ? `its key endpoint "${endpoints[0]}" did not answer`
      : `none of its key endpoints (${endpoints.map((e) => `"${e}"`).join(", ")}) answered`;
    throw new TrustError(
      "no_server_key",
      `Cannot get the CURVE key of "${server}": ${which} within ${options.timeoutMs} ms (is the ` +
        `server running, and serving its key there?); give the key with --server-key, or the ` +
        `key endpoint with --key-endpoint`,
    );
  }
  if (told.some((answer) => answer.key !== told[0].key)) {
    throw new TrustError(
      "bad_server_key",
      `Cannot trust "${server}": its nodes tell different CURVE keys (${
        told.map((a) => `"${a.endpoint}" ${a.key}`).join(", ")
      }); every node of a cluster must serve the same key (copy the first node's curve.key into ` +
        `the others' data folders)`,
    );
  }
  return told[0];
}

/**
 * What the chat ports' greetings tell before a key is asked for: throws `encryption_mismatch` when
 * a listed endpoint speaks plaintext; "refused" when nothing listens at any of them; else undefined.
 */
async function chatPortProblem(options: { server: string }): Promise<"refused" | undefined> {
  const greetings = await Promise.all(listedEndpoints(options.server).map(probeGreeting));
  const mismatch = mismatchOf(greetings, options.server, true);
  if (mismatch) throw new TrustError("encryption_mismatch", mismatch);
  return greetings.every((g) => g.kind === "refused") ? "refused" : undefined;
}

/**
 * Whether the server at `server` (every listed endpoint) speaks the other mode than the client
 * (`clientEncrypts`): the message that says so, read from the greetings of the endpoints that
 * answer, or undefined when none answers or one speaks the client's mode.
 *
 * @example
 * ```ts
 * import { modeMismatch } from "./curve_trust.ts";
 * const message = await modeMismatch("tcp://chat.example.org:5555", true);
 * if (message) console.error(message); // '… the server does not encrypt …'
 * ```
 */
export async function modeMismatch(
  server: string,
  clientEncrypts: boolean,
): Promise<string | undefined> {
  const greetings = await Promise.all(listedEndpoints(server).map(probeGreeting));
  return mismatchOf(greetings, server, clientEncrypts);
}

function mismatchOf(
  greetings: GreetingProbe[],
  server: string,
  clientEncrypts: boolean,
): string | undefined {
  const ours = clientEncrypts ? "CURVE" : "NULL";
  const spoken = greetings.flatMap((g) => g.kind === "mechanism" ? [g.mechanism] : []);
  const other = spoken.length > 0 && spoken.every((m) => m !== ours) &&
    spoken.includes(clientEncrypts ? "NULL" : "CURVE");
  return other ? encryptionMismatch(server, clientEncrypts) : undefined;
}

/**
 * Explains a login that went unanswered for the whole timeout, which is how a failed CURVE
 * handshake looks from a client. With a trusted key, asks the key endpoint: a different key there
 * means the remembered key is stale (refuse loudly) or the given one wrong. Without encryption,
 * hints that the server may need it. `timeoutMessage` is the connection's own error message.
 */
export async function explainUnansweredLogin(
  timeoutMessage: string,
  trusted: TrustedKey | undefined,
  options: Omit<TrustOptions, "warn" | "knownServersFile">,
): Promise<TrustError> {
  if (!trusted) {
    return new TrustError(
      "unreachable",
      `${timeoutMessage}; if the server encrypts (as chatz serve does unless given --no-curve), ` +
        `connect without --no-curve`,
    );
  }
  const { server } = options;
  let endpoints: string[] = [];
  let answers: { endpoint: string; key?: string }[] = [];
  try {
    endpoints = keyEndpointsOf(options);
    answers = await askKeyEndpoints(
      endpoints,
      Math.min(options.timeoutMs, DIAGNOSIS_TIMEOUT_MS),
    );
  } catch {
    // No usable key endpoint: nothing to compare with, so the hint below is all there is.
  }
  const other = answers.find((a) => a.key !== undefined && a.key !== trusted.key);
  if (!other && answers.some((a) => a.key === trusted.key)) {
    return new TrustError("unreachable", timeoutMessage);
  }
  if (!other) {
    const which = trusted.source === "given"
      ? '--server-key is not the key the server printed ("CURVE public key:")'
      : `the server's key changed since it was remembered in "${trusted.file}"`;
    const asked = endpoints.map((e) => `"${e}" `).join("");
    return new TrustError(
      "unreachable",
      `${timeoutMessage}; the CURVE handshake may have failed: perhaps ${which}, or the server ` +
        `runs with --no-curve (its key endpoint ${asked}did not answer to tell)`,
    );
  }
  const { endpoint, key: reported } = other;
  if (trusted.source === "given") {
    return new TrustError(
      "wrong_server_key",
      `Cannot connect to "${server}": the CURVE handshake failed: --server-key is ${trusted.key}, ` +
        `but the server's key endpoint "${endpoint}" reports ${reported}; check the key the ` +
        `server printed ("CURVE public key:")`,
    );
  }
  const banner = "@".repeat(72);
  return new TrustError(
    "server_key_changed",
    `Cannot connect to "${server}": its CURVE key has CHANGED from ${trusted.key} to ` +
      `${reported}; refusing to connect; if this is expected, remove its line from ` +
      `"${trusted.file}"`,
    [
      banner,
      `WARNING: the CURVE key of server "${server}" has CHANGED from ${trusted.key} to ${reported}`,
      banner,
      "Someone may be intercepting your connection (a man-in-the-middle attack),",
      "or the server's operator replaced its key (a new data folder, a lost curve.key).",
    ],
  );
}

/**
 * Whether the server's key endpoint still reports the trusted key: when it does, a CURVE handshake
 * that keeps failing is a refusal (a paused server hangs up too), not a wrong key. False when no
 * endpoint answers in time or one reports another key.
 */
export async function serverKeyMatches(
  trusted: TrustedKey,
  options: { server: string; keyEndpoint?: string; timeoutMs: number },
): Promise<boolean> {
  try {
    const timeout = Math.min(options.timeoutMs, DIAGNOSIS_TIMEOUT_MS);
    const answers = await askKeyEndpoints(keyEndpointsOf(options), timeout);
    return answers.some((a) => a.key === trusted.key) &&
      answers.every((a) => a.key === undefined || a.key === trusted.key);
  } catch {
    return false;
  }
}

/**
 * Asks a key endpoint for the server's public key. Resolves with the key, or undefined when nobody
 * answered in time; throws a TrustError for an answer that is not a key or an unusable endpoint.
 *
 * @example
 * ```ts
 * import { fetchServerKey } from "./curve_trust.ts";
 * const key = await fetchServerKey("tcp://chat.example.org:5556", 5000);
 * ```
 */
export async function fetchServerKey(
  endpoint: string,
  timeoutMs: number,
): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let result: string | TrustError | undefined;
  try {
    result = await requestOnce<string | TrustError>({
      endpoint,
      frames: [KEY_PROTOCOL_VERSION, "{}"],
      timeoutMs,
      accept([version, body]) {
        if (!version || decoder.decode(version) !== KEY_PROTOCOL_VERSION) return undefined;
        let key: unknown;
        try {
          key = JSON.parse(decoder.decode(body)).key;
        } catch { /* checked below */ }
        return typeof key === "string" && isCurveKey(key) ? key : new TrustError(
          "bad_server_key",
          `Cannot use the answer of key endpoint "${endpoint}": it holds no CURVE key`,
        );
      },
      socket: {
        immediate: true, // the request waits for a connection instead of being lost in a dead one
        reconnectInterval: 100,
        reconnectMaxInterval: 1000,
        maxMessageSize: MAX_KEY_REPLY_BYTES,
      },
    });
  } catch (error) {
    throw new TrustError(
      "no_server_key",
      `Cannot ask key endpoint "${endpoint}" for the server's key: ${(error as Error).message}`,
    );
  }
  if (result instanceof TrustError) throw result;
  return result;
}

/** The key endpoints to ask: `--key-endpoint`, else each listed server's (its port + 1), in order. */
function keyEndpointsOf(options: { server: string; keyEndpoint?: string }): string[] {
  if (options.keyEndpoint !== undefined) return [options.keyEndpoint];
  const endpoints = listedEndpoints(options.server).map(keyEndpointFor)
    .filter((endpoint): endpoint is string => endpoint !== undefined);
  if (endpoints.length === 0) {
    throw new TrustError(
      "no_server_key",
      `Cannot find the key endpoint of "${options.server}": give --key-endpoint or --server-key`,
    );
  }
  return [...new Set(endpoints)];
}

/**
 * Asks every key endpoint at once; each answer is a key, or none when that endpoint did not answer
 * in time or could not be asked. With `throwIfNone`, when no endpoint could be asked or answered
 * usably, throws the first one's error (a single endpoint keeps its own error).
 */
async function askKeyEndpoints(
  endpoints: string[],
  timeoutMs: number,
  options: { throwIfNone?: boolean } = {},
): Promise<{ endpoint: string; key?: string }[]> {
  const settled = await Promise.allSettled(
    endpoints.map((endpoint) => fetchServerKey(endpoint, timeoutMs)),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (options.throwIfNone && failed && settled.every((s) => s.status === "rejected")) {
    throw failed.reason;
  }
  return settled.map((s, i) => ({
    endpoint: endpoints[i],
    key: s.status === "fulfilled" ? s.value : undefined,
  }));
}
