// Validation of decoded requests: turns untrusted JSON into a typed Request or a coded error.
// The server runs every incoming message through parseRequest before anything else sees it.

import type { ErrorCode } from "./errors.ts";
import { isCurveKey } from "./curve.ts";
import type { LoginRequest, Request } from "./messages.ts";
import { MAX_ARGS_LENGTH, MAX_PASSWORD_LENGTH } from "./wire.ts";

/** A request that failed validation; `id` is set when the message had a usable one. */
export interface RequestError {
  id?: number;
  code: ErrorCode;
  message: string;
}

/** Largest request id: ids must stay exact in every JSON implementation. */
export const MAX_REQUEST_ID = Number.MAX_SAFE_INTEGER;

/** Longest client message id (`cid`). */
export const MAX_CID_LENGTH = 64;

/** Longest token, client name or host name accepted in a login request. */
const MAX_LOGIN_FIELD_LENGTH = 256;

/** Checks one decoded message and returns it typed, or the error to send back. */
export function parseRequest(value: unknown): Request | RequestError {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { code: "bad_request", message: "Cannot read request: not a JSON object" };
  }
  const raw = value as Record<string, unknown>;
  const id = raw.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    return {
      code: "bad_request",
      message: "Cannot read request: `id` must be a non-negative integer",
    };
  }
  const fail: Fail = (code, message) => ({ id, code, message });
  switch (raw.op) {
    case "login":
      return parseLogin(raw, id, fail);
    case "cmd":
      return parseCmd(raw, id, fail);
    case "ping":
      return { op: "ping", id };
    case "logout":
      return { op: "logout", id };
    default:
      return typeof raw.op === "string"
        ? fail("unknown_op", `Cannot handle request: unknown op "${raw.op.slice(0, 32)}"`)
        : fail("bad_request", "Cannot read request: `op` must be a string");
  }
}

/** Makes the error answer of the request being checked. */
type Fail = (code: ErrorCode, message: string) => RequestError;

/** Checks a `login` request's fields; `id` is checked already. */
function parseLogin(
  raw: Record<string, unknown>,
  id: number,
  fail: Fail,
): LoginRequest | RequestError {
  if (typeof raw.login !== "string") {
    return fail("bad_request", "Cannot log in: `login` must be a string");
  }
  for (const field of ["password", "token", "client", "host", "invite", "key"] as const) {
    const v = raw[field];
    if (v !== undefined && typeof v !== "string") {
      return fail("bad_request", `Cannot log in: \`${field}\` must be a string`);
    }
  }
  const password = raw.password as string | undefined;
  if (password !== undefined && password.length > MAX_PASSWORD_LENGTH) {
    return fail(
      "bad_password",
      `Cannot log in: password over ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  const token = raw.token as string | undefined;
  if (token === "") {
    // Refused outright rather than tried: it matches no token, and a wrong one counts as a
    // failed login, where an empty one is a client's mistake (PROTOCOL.md §3.4).
    return fail(
      "bad_request",
      "Cannot log in: `token` must not be empty; omit it to log in with the password",
    );
  }
  const client = raw.client as string | undefined;
  const host = raw.host as string | undefined;
  const invite = raw.invite as string | undefined;
  if ([token, client, host, invite].some((v) => (v?.length ?? 0) > MAX_LOGIN_FIELD_LENGTH)) {
    return fail(
      "too_large",
      `Cannot log in: token, client, host or invite over ${MAX_LOGIN_FIELD_LENGTH} characters`,
    );
  }
  const resume = raw.resume;
  if (
    resume !== undefined &&
    (typeof resume !== "number" || !Number.isSafeInteger(resume) || resume < 0)
  ) {
    return fail("bad_request", "Cannot log in: `resume` must be a non-negative integer");
  }
  if (raw.echo !== undefined && typeof raw.echo !== "boolean") {
    return fail("bad_request", "Cannot log in: `echo` must be true or false");
  }
  const echo = raw.echo === true ? true : undefined;
  if (raw.register !== undefined && typeof raw.register !== "boolean") {
    return fail("bad_request", "Cannot log in: `register` must be true or false");
  }
  const login: LoginRequest = {
    op: "login",
    id,
    login: raw.login,
    password,
    token,
    client,
    host,
    resume,
    echo,
  };
  if (raw.register === false) login.register = false;
  if (invite !== undefined) login.invite = invite;
  if (raw.key !== undefined) {
    if (!isCurveKey(raw.key as string)) {
      return fail(
        "bad_request",
        "Cannot log in: `key` must be a CURVE public key, 40 characters of Z85",
      );
    }
    login.key = raw.key as string;
  }
  return login;
}

/** Checks a `cmd` request's fields; `id` is checked already. */
function parseCmd(raw: Record<string, unknown>, id: number, fail: Fail): Request | RequestError {
  if (typeof raw.cmd !== "string" || raw.cmd.length === 0 || raw.cmd.length > 64) {
    return fail(
      "bad_request",
      "Cannot run command: `cmd` must be a string of 1 to 64 characters",
    );
  }
  const args = raw.args ?? "";
  if (typeof args !== "string") {
    return fail("bad_request", "Cannot run command: `args` must be a string");
  }
  if (args.length > MAX_ARGS_LENGTH) {
    return fail(
      "too_large",
      `Cannot run command: arguments over ${MAX_ARGS_LENGTH} characters`,
    );
  }
  const cid = raw.cid;
  if (
    cid !== undefined &&
    (typeof cid !== "string" || cid.length === 0 || cid.length > MAX_CID_LENGTH)
  ) {
    return fail(
      "bad_request",
      `Cannot run command: \`cid\` must be a string of 1 to ${MAX_CID_LENGTH} characters`,
    );
  }
  return { op: "cmd", id, cmd: raw.cmd, args, cid };
}

/** Tells a validation failure from a request. */
export function isRequestError(value: Request | RequestError): value is RequestError {
  return "code" in value;
}
