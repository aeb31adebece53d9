// The key bindings of the terminal clients as one table: which key does what. Pure; the full-screen
// client and line mode both read it (line mode ignores the window actions).

import type { InputLine } from "./input_line.ts";
import type { KeyEvent } from "./keys.ts";

/** What a key asks for. */
export type KeyAction =
  /** An edit of the input line, by the name of its InputLine method. */
  | { edit: LineEdit }
  | { do: "submit" | "complete" | "complete-back" | "quit" | "quit-if-empty" }
  | { do: "page-up" | "page-down" | "next-window" | "previous-window" }
  /** Show window `window` (0-based). */
  | { window: number };

/** InputLine methods a key may call directly. */
export type LineEdit = keyof Pick<
  InputLine,
  | "backspace"
  | "deleteForward"
  | "left"
  | "right"
  | "wordLeft"
  | "wordRight"
  | "home"
  | "end"
  | "historyUp"
  | "historyDown"
  | "deleteWordBack"
  | "deleteToStart"
  | "deleteToEnd"
>;

const edit = (name: LineEdit): KeyAction => ({ edit: name });

/** Named keys, written `alt+` / `ctrl+` when modified, as irssi and readline bind them. */
const NAMED: Record<string, KeyAction> = {
  "enter": { do: "submit" },
  "tab": { do: "complete" },
  "backtab": { do: "complete-back" },
  "backspace": edit("backspace"),
  "alt+backspace": edit("deleteWordBack"),
  "delete": edit("deleteForward"),
  "left": edit("left"),
  "right": edit("right"),
  "ctrl+left": edit("wordLeft"),
  "ctrl+right": edit("wordRight"),
  "alt+left": { do: "previous-window" },
  "alt+right": { do: "next-window" },
  "up": edit("historyUp"),
  "down": edit("historyDown"),
  "home": edit("home"),
  "end": edit("end"),
  "pageup": { do: "page-up" },
  "pagedown": { do: "page-down" },
};

/** Ctrl and a letter. */
const CTRL: Record<string, KeyAction> = {
  a: edit("home"),
  e: edit("end"),
  b: edit("left"),
  f: edit("right"),
  u: edit("deleteToStart"),
  k: edit("deleteToEnd"),
  w: edit("deleteWordBack"),
  n: { do: "next-window" },
  p: { do: "previous-window" },
  c: { do: "quit" },
  // Ctrl-D on an empty line leaves, as in a shell; otherwise it deletes forward.
  d: { do: "quit-if-empty" },
};

/** Alt and a character: window numbers as in irssi (Alt-0 is window 10), words as in readline. */
const ALT: Record<string, KeyAction> = {
  ...Object.fromEntries(
    ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"].map((d, i) => [d, { window: i }]),
  ),
  b: edit("wordLeft"),
  f: edit("wordRight"),
};

/** The action bound to a key; undefined for text, pastes and unbound keys. */
export function keyAction(event: KeyEvent): KeyAction | undefined {
  switch (event.kind) {
    case "key": {
      const mods = `${event.ctrl ? "ctrl+" : ""}${event.alt ? "alt+" : ""}`;
      return NAMED[`${mods}${event.name}`] ?? NAMED[event.name];
    }
    case "ctrl":
      return CTRL[event.letter];
    case "alt":
      return ALT[event.char];
    default:
      return undefined;
  }
}
