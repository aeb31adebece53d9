// Tests of the input line: editing by grapheme cluster, history, and a view that follows the cursor.

import assert from "node:assert/strict";
import { InputLine } from "./input_line.ts";

Deno.test("InputLine edits by grapheme cluster: emoji, combining marks, wide characters", () => {
  const line = new InputLine();
  line.insert("a😀");
  line.insert("e");
  line.insert("\u0301"); // a combining acute accent joins the e before it
  line.insert("中");
  assert.equal(line.length, 4);
  line.backspace();
  line.left();
  line.backspace();
  assert.equal(line.text, "ae\u0301");
  assert.deepEqual(line.view(20), { text: "ae\u0301", cursorColumn: 1 });
});

Deno.test("InputLine word and line deletions", () => {
  const line = new InputLine();
  line.set("one two  three");
  line.deleteWordBack();
  assert.equal(line.text, "one two  ");
  line.wordLeft();
  line.deleteToEnd();
  assert.equal(line.text, "one ");
  line.deleteToStart();
  assert.equal(line.text, "");
});

Deno.test("InputLine history walks back and forth and restores the draft", () => {
  const line = new InputLine();
  line.set("first");
  line.submit();
  line.set("secret");
  line.submit(false);
  line.set("draft");
  line.historyUp();
  assert.equal(line.text, "first");
  line.historyUp();
  assert.equal(line.text, "first");
  line.historyDown();
  assert.equal(line.text, "draft");
});

Deno.test("InputLine.view() scrolls sideways to keep the cursor visible, counting wide cells", () => {
  const line = new InputLine();
  line.set("中".repeat(30)); // 60 columns
  const end = line.view(21);
  assert.equal(end.text, "中".repeat(10));
  assert.equal(end.cursorColumn, 20);
  line.home();
  const start = line.view(21);
  assert.equal(start.cursorColumn, 0);
  assert.equal(start.text, "中".repeat(10));
});

Deno.test("InputLine stays linear: 4,000 typed characters and a view after each", () => {
  // Counts work, not time: each view reads at most the visible width around the cursor.
  const line = new InputLine();
  for (let i = 0; i < 4000; i++) {
    line.insert(String.fromCharCode(97 + (i % 26)));
    const view = line.view(80);
    assert.ok(view.text.length <= 80);
  }
  assert.equal(line.length, 4000);
  assert.equal(line.view(80).cursorColumn, 79);
});
