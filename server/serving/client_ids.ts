// Client message ids split as a stem and a counter (`3f9c1a7e-` and 41): the bundled client's ids
// count up per connection, which the duplicate table and history pages exploit (issue #14 item 6).

/** Most trailing digits read as a counter: 9 keep it a small integer. */
const COUNTER_DIGITS = 9;

/**
 * A client id split by `splitClientId`: `stem` is the stored id's stem (`<send>:<the cid's stem>`,
 * see shared_state.ts `storedClientId`), undefined when the cid has no counter, and the same string
 * object while a client's sends come, so a page or the duplicate table tells the stem is the last
 * one without reading a character.
 */
export interface ClientIdSplit {
  stem: string | undefined;
  counter: number;
  /** The last stem split, as the cid has it, and its send number: kept to reuse `stem`. */
  cidStem: string;
  send: number;
}

/** A split to reuse for every send of one chat core. */
export function newClientIdSplit(): ClientIdSplit {
  return { stem: undefined, counter: -1, cidStem: "", send: -1 };
}

/**
 * Splits the stored client id `<send>:<cid>` into `split`: the counter is the cid's last digits (at
 * most COUNTER_DIGITS, with no leading zero: as `String(n)` writes them), the stem all before.
 */
export function splitClientId(split: ClientIdSplit, send: number, cid: string): void {
  const end = cid.length;
  let stem = end;
  let counter = 0;
  for (let scale = 1; stem > 0 && end - stem < COUNTER_DIGITS; scale *= 10) {
    const digit = cid.charCodeAt(stem - 1) - 48;
    if (digit < 0 || digit > 9) break;
    counter += digit * scale;
    stem--;
  }
  if (stem === end || (cid.charCodeAt(stem) === 48 && end - stem > 1)) {
    split.stem = undefined;
    split.counter = -1;
    return;
  }
  if (
    send !== split.send || stem !== split.cidStem.length || !cid.startsWith(split.cidStem) ||
    split.stem === undefined
  ) {
    split.cidStem = cid.slice(0, stem);
    split.send = send;
    split.stem = `${send}:${split.cidStem}`;
  }
  split.counter = counter;
}
