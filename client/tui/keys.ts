// Decodes what a terminal sends on stdin into key presses, typed text and bracketed pastes.
// Pure and incremental: feed it chunks as they arrive; a sequence split across chunks is kept.

/** Named keys the client acts on. */
export type KeyName =
  | "enter"
  | "tab"
  | "backtab"
  | "backspace"
  | "delete"
  | "left"
  | "right"
  | "up"
  | "down"
  | "home"
  | "end"
  | "pageup"
  | "pagedown"
  | "escape";

/** One thing the user did at the keyboard. */
export type KeyEvent =
  /** Printable text typed (one or more characters, no control characters). */
  | { kind: "text"; text: string }
  /** A named key, with Alt or Ctrl held when the terminal says so. */
  | { kind: "key"; name: KeyName; alt?: boolean; ctrl?: boolean }
  /** Ctrl and a letter: `letter` is lowercase `a`…`z`. */
  | { kind: "ctrl"; letter: string }
  /** Alt (or Esc then) a printable character, as Alt-1 sends `ESC 1`. */
  | { kind: "alt"; char: string }
  /** Text the terminal marked as pasted (bracketed paste), line breaks as `\n`. */
  | { kind: "paste"; text: string };

/** Most characters of one paste kept; the rest is dropped (the server takes 4000 per message). */
export const MAX_PASTE_CHARS = 64 * 1024;

const PASTE_START = "\x1b[200~";
const PASTE_END = "\x1b[201~";

/** CSI final letters and `~` numbers of the keys decoded; others are ignored. */
const CSI_LETTERS: Record<string, KeyName> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  Z: "backtab",
};
const CSI_TILDES: Record<string, KeyName> = {
  "1": "home",
  "7": "home",
  "4": "end",
  "8": "end",
  "3": "delete",
  "5": "pageup",
  "6": "pagedown",
};

/** A CSI sequence: ESC [ parameters, intermediates, one final byte. */
// deno-lint-ignore no-control-regex -- escape sequences are the input
const CSI = /^\x1b\[([0-9;:<=>?]*)([ -/]*)([@-~])/;
/** The start of a CSI sequence whose final byte has not come yet. */
// deno-lint-ignore no-control-regex -- escape sequences are the input
const CSI_PREFIX = /^\x1b\[[0-9;:<=>?]*[ -/]*$/;
/** An SS3 sequence (application cursor keys): ESC O and one letter. */
// deno-lint-ignore no-control-regex -- escape sequences are the input
const SS3 = /^\x1bO([A-Za-z])/;

/** Decodes terminal input; `feed` returns the events complete so far. */
export class KeyDecoder {
  #pending = "";
  #paste: string[] | undefined;
  #pasteLength = 0;

  /** Decodes one chunk of input (already UTF-8 decoded). */
  feed(chunk: string): KeyEvent[] {
    const events: KeyEvent[] = [];
    let input = this.#pending + chunk;
    this.#pending = "";
    while (input.length > 0) {
      if (this.#paste) {
        input = this.#readPaste(input, events);
        continue;
      }
      const consumed = this.#readOne(input, events);
      if (consumed === 0) {
        // An incomplete escape sequence: wait for the rest.
        this.#pending = input;
        break;
      }
      input = input.slice(consumed);
    }
    return events;
  }

  /** Ends input: a lone pending ESC is the Escape key. */
  flush(): KeyEvent[] {
    const pending = this.#pending;
    this.#pending = "";
    return pending === "\x1b" ? [{ kind: "key", name: "escape" }] : [];
  }

  #readPaste(input: string, events: KeyEvent[]): string {
    const paste = this.#paste!;
    const end = input.indexOf(PASTE_END);
    // Keep a possible partial end marker for the next chunk.
    let body = end === -1 ? input : input.slice(0, end);
    let rest = end === -1 ? "" : input.slice(end + PASTE_END.length);
    if (end === -1) {
      const partial = partialSuffix(body, PASTE_END);
      if (partial > 0) {
        this.#pending = body.slice(body.length - partial);
        body = body.slice(0, body.length - partial);
        rest = "";
      }
    }
    const room = MAX_PASTE_CHARS - this.#pasteLength;
    if (room > 0) {
      paste.push(body.slice(0, room));
      this.#pasteLength += Math.min(room, body.length);
    }
    if (end !== -1) {
      this.#paste = undefined;
      this.#pasteLength = 0;
      const text = paste.join("").replace(/\r\n|\r/g, "\n");
      if (text !== "") events.push({ kind: "paste", text });
    }
    return rest;
  }

  /** Decodes one event at the start of `input`; returns the characters used, 0 when incomplete. */
  #readOne(input: string, events: KeyEvent[]): number {
    const first = input[0];
    if (first === "\x1b") return this.#readEscape(input, events);
    const code = first.charCodeAt(0);
    if (first === "\r" || first === "\n") {
      events.push({ kind: "key", name: "enter" });
      // A CR LF pair is one Enter.
      return first === "\r" && input[1] === "\n" ? 2 : 1;
    }
    if (first === "\t") return push(events, { kind: "key", name: "tab" }, 1);
    if (first === "\x7f" || first === "\b") {
      return push(events, { kind: "key", name: "backspace" }, 1);
    }
    if (code < 0x20) {
      return push(events, { kind: "ctrl", letter: String.fromCharCode(code + 0x60) }, 1);
    }
    // A run of printable text is one event: a fast typist or a paste without brackets.
    let end = 1;
    while (end < input.length && isPrintable(input.charCodeAt(end))) end++;
    const text = input.slice(0, end).replace(/[\u0080-\u009f]/g, "");
    if (text !== "") events.push({ kind: "text", text });
    return end;
  }

  #readEscape(input: string, events: KeyEvent[]): number {
    if (input.length === 1) return 0;
    if (input.startsWith(PASTE_START)) {
      this.#paste = [];
      this.#pasteLength = 0;
      return PASTE_START.length;
    }
    if (PASTE_START.startsWith(input)) return 0;
    const second = input[1];
    if (second === "[") {
      const match = CSI.exec(input);
      if (!match) return CSI_PREFIX.test(input) ? 0 : 2;
      const key = csiKey(match[1], match[3]);
      if (key) events.push(key);
      return match[0].length;
    }
    if (second === "O") {
      if (input.length === 2) return 0;
      const match = SS3.exec(input);
      const name = match && CSI_LETTERS[match[1]];
      if (name) events.push({ kind: "key", name });
      return match ? 3 : 2;
    }
    if (second === "\x1b") {
      // ESC before a sequence: Alt with a special key in some terminals (Alt-Left as ESC ESC [ D).
      const inner: KeyEvent[] = [];
      const used = this.#readEscape(input.slice(1), inner);
      if (used === 0) return 0;
      for (const event of inner) {
        events.push(event.kind === "key" ? { ...event, alt: true } : event);
      }
      return used + 1;
    }
    const code = second.charCodeAt(0);
    if (second === "\r") return push(events, { kind: "key", name: "enter", alt: true }, 2);
    if (second === "\x7f") return push(events, { kind: "key", name: "backspace", alt: true }, 2);
    if (code >= 0x20) return push(events, { kind: "alt", char: second }, 2);
    events.push({ kind: "key", name: "escape" });
    return 1;
  }
}

function csiKey(params: string, final: string): KeyEvent | undefined {
  const parts = params.split(";");
  // xterm modifiers: 1 + (shift 1, alt 2, ctrl 4).
  const modifier = Number(parts[1] ?? "1") - 1;
  const mods = {
    ...(modifier & 2 ? { alt: true } : {}),
    ...(modifier & 4 ? { ctrl: true } : {}),
  };
  const name = final === "~" ? CSI_TILDES[parts[0]] : CSI_LETTERS[final];
  return name ? { kind: "key", name, ...mods } : undefined;
}

function isPrintable(code: number): boolean {
  return code >= 0x20 && code !== 0x7f && code !== 0x1b;
}

function push(events: KeyEvent[], event: KeyEvent, used: number): number {
  events.push(event);
  return used;
}

/** How many characters at the end of `text` begin `marker` (a marker split across chunks). */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) {
    if (marker.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}
