// The editable input line: grapheme clusters with cached widths, a cursor, and sent-line history.
// Every edit and every view costs time in the visible width, not the line length.

import stringWidth from "string-width";

/** Lines kept in the input history. */
const HISTORY_SIZE = 500;

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** What the input row shows: the visible part of the line and where the cursor is in it. */
export interface InputView {
  text: string;
  /** Terminal column of the cursor, counted from the start of `text`. */
  cursorColumn: number;
}

/** The line being typed. */
export class InputLine {
  #clusters: string[] = [];
  #widths: number[] = [];
  #cursor = 0;
  /** The first cluster shown: the view scrolls sideways as the cursor moves. */
  #first = 0;
  #history: string[] = [];
  /** Position in history while browsing with Up/Down; history.length when not browsing. */
  #browse = 0;
  /** The line typed before browsing started, restored by Down past the newest entry. */
  #draft = "";

  /** The whole line. Costs time in its length: call it on Enter or Tab, not on every key. */
  get text(): string {
    return this.#clusters.join("");
  }

  /** The line up to the cursor. */
  get beforeCursor(): string {
    return this.#clusters.slice(0, this.#cursor).join("");
  }

  /** Number of grapheme clusters in the line. */
  get length(): number {
    return this.#clusters.length;
  }

  /** The cursor, in clusters from the start. */
  get cursor(): number {
    return this.#cursor;
  }

  /** Inserts text at the cursor; a combining mark joins the cluster before it. */
  insert(text: string): void {
    if (text === "") return;
    let parts = [...segmenter.segment(text)].map((s) => s.segment);
    if (this.#cursor > 0) {
      const before = this.#clusters[this.#cursor - 1];
      const joined = [...segmenter.segment(before + parts[0])];
      if (joined.length === 1) {
        this.#cursor--;
        this.#clusters.splice(this.#cursor, 1);
        this.#widths.splice(this.#cursor, 1);
        parts = [joined[0].segment, ...parts.slice(1)];
      }
    }
    const widths = parts.map((part) => stringWidth(part));
    // Spreading a huge paste into splice's arguments could overflow the stack: splice in slices.
    for (let i = 0; i < parts.length; i += 4096) {
      this.#clusters.splice(this.#cursor + i, 0, ...parts.slice(i, i + 4096));
      this.#widths.splice(this.#cursor + i, 0, ...widths.slice(i, i + 4096));
    }
    this.#cursor += parts.length;
  }

  /** Replaces the whole line and puts the cursor at `cursor` clusters (default: the end). */
  set(text: string, cursor?: number): void {
    this.#clusters = [];
    this.#widths = [];
    this.#cursor = 0;
    this.#first = 0;
    this.insert(text);
    if (cursor !== undefined) this.#cursor = Math.max(0, Math.min(cursor, this.#clusters.length));
  }

  /** Replaces the whole line with `before + after`, the cursor between them (after a completion). */
  setAround(before: string, after: string): void {
    this.set(before + after);
    this.#cursor = this.#clusters.length - [...segmenter.segment(after)].length;
  }

  /** Replaces clusters `[start, end)` with `text` and leaves the cursor after it. */
  replace(start: number, end: number, text: string): void {
    this.#clusters.splice(start, end - start);
    this.#widths.splice(start, end - start);
    this.#cursor = start;
    this.insert(text);
  }

  backspace(): void {
    if (this.#cursor === 0) return;
    this.#cursor--;
    this.#clusters.splice(this.#cursor, 1);
    this.#widths.splice(this.#cursor, 1);
  }

  deleteForward(): void {
    this.#clusters.splice(this.#cursor, 1);
    this.#widths.splice(this.#cursor, 1);
  }

  left(): void {
    this.#cursor = Math.max(0, this.#cursor - 1);
  }

  right(): void {
    this.#cursor = Math.min(this.#clusters.length, this.#cursor + 1);
  }

  home(): void {
    this.#cursor = 0;
  }

  end(): void {
    this.#cursor = this.#clusters.length;
  }

  /** Moves to the start of the word before the cursor (Ctrl-Left, Alt-B). */
  wordLeft(): void {
    let i = this.#cursor;
    while (i > 0 && isSpace(this.#clusters[i - 1])) i--;
    while (i > 0 && !isSpace(this.#clusters[i - 1])) i--;
    this.#cursor = i;
  }

  /** Moves past the end of the word after the cursor (Ctrl-Right, Alt-F). */
  wordRight(): void {
    let i = this.#cursor;
    const n = this.#clusters.length;
    while (i < n && isSpace(this.#clusters[i])) i++;
    while (i < n && !isSpace(this.#clusters[i])) i++;
    this.#cursor = i;
  }

  /** Deletes the word before the cursor (Ctrl-W). */
  deleteWordBack(): void {
    const end = this.#cursor;
    this.wordLeft();
    this.#clusters.splice(this.#cursor, end - this.#cursor);
    this.#widths.splice(this.#cursor, end - this.#cursor);
  }

  /** Deletes from the start of the line to the cursor (Ctrl-U). */
  deleteToStart(): void {
    this.#clusters.splice(0, this.#cursor);
    this.#widths.splice(0, this.#cursor);
    this.#cursor = 0;
  }

  /** Deletes from the cursor to the end of the line (Ctrl-K). */
  deleteToEnd(): void {
    this.#clusters.length = this.#cursor;
    this.#widths.length = this.#cursor;
  }

  /** Takes the line for sending: empties it and keeps it in history unless `remember` is false. */
  submit(remember = true): string {
    const text = this.text;
    if (remember && text.trim() !== "" && this.#history.at(-1) !== text) {
      this.#history.push(text);
      if (this.#history.length > HISTORY_SIZE) this.#history.shift();
    }
    this.#browse = this.#history.length;
    this.#draft = "";
    this.set("");
    return text;
  }

  /** Shows the previous line of history (Up). */
  historyUp(): void {
    if (this.#browse === 0) return;
    if (this.#browse === this.#history.length) this.#draft = this.text;
    this.#browse--;
    this.set(this.#history[this.#browse]);
  }

  /** Shows the next line of history, then the draft (Down). */
  historyDown(): void {
    if (this.#browse >= this.#history.length) return;
    this.#browse++;
    this.set(this.#browse === this.#history.length ? this.#draft : this.#history[this.#browse]);
  }

  /**
   * The part of the line that fits in `width` columns, scrolled so the cursor is visible. Reads only
   * the clusters around the cursor.
   */
  view(width: number): InputView {
    const room = Math.max(1, width - 1); // the last column is kept for the cursor
    if (this.#cursor < this.#first) this.#first = this.#cursor;
    // Too far right: walk back from the cursor until the row is full.
    let used = 0;
    let i = this.#cursor;
    while (i > this.#first && used + this.#widths[i - 1] <= room) used += this.#widths[--i];
    if (i > this.#first) this.#first = i;
    else if (this.#first > 0 && this.#cursor === this.#clusters.length) {
      // At the end after deleting: show as much as fits to the left.
      while (this.#first > 0 && used + this.#widths[this.#first - 1] <= room) {
        used += this.#widths[--this.#first];
      }
    }
    let column = 0;
    let cursorColumn = 0;
    const shown: string[] = [];
    for (let k = this.#first; k < this.#clusters.length; k++) {
      if (k === this.#cursor) cursorColumn = column;
      if (column + this.#widths[k] > width) break;
      shown.push(this.#clusters[k]);
      column += this.#widths[k];
    }
    if (this.#cursor === this.#clusters.length) cursorColumn = column;
    return { text: shown.join(""), cursorColumn };
  }
}

function isSpace(cluster: string): boolean {
  return cluster === " " || cluster === "\t";
}
