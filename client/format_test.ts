// Tests of how events and replies are rendered as human lines and as `--json` lines.
// Timestamps are built from local date parts, so the expected `HH:MM` holds in any time zone.

import assert from "node:assert/strict";
import type { MessageEvent, ServerEvent } from "../protocol/mod.ts";
import { formatEvent, formatReply, formatTime, isSendAck, oneLine, toJsonLine } from "./format.ts";

const TS = new Date(2025, 0, 5, 9, 7).getTime(); // 09:07 on 5 January, local time
const ME = { self: "bob" };

function message(fields: Partial<MessageEvent>): MessageEvent {
  return { type: "message", id: 7, ts: TS, scope: "public", from: "alice", text: "hi", ...fields };
}

Deno.test("formatEvent() renders chat messages by scope", async (t) => {
  await t.step("public", () => {
    assert.equal(formatEvent(message({}), ME), "[09:07] <alice> hi");
  });
  await t.step("direct, to the own login", () => {
    assert.equal(
      formatEvent(message({ scope: "direct", to: "bob" }), ME),
      "[09:07] [alice → you] hi",
    );
  });
  await t.step("direct, from the own login on another session, in any case", () => {
    assert.equal(
      formatEvent(message({ scope: "direct", from: "Bob", to: "carol" }), ME),
      "[09:07] [you → carol] hi",
    );
  });
  await t.step("group", () => {
    assert.equal(
      formatEvent(message({ scope: "group", group: "ops" }), ME),
      "[09:07] [#ops] <alice> hi",
    );
  });
  await t.step("own public message", () => {
    assert.equal(formatEvent(message({ from: "bob" }), ME), "[09:07] <you> hi");
  });
});

Deno.test("formatEvent() renders actions in the third person", async (t) => {
  await t.step("public", () => {
    assert.equal(
      formatEvent(message({ action: true, text: "waves" }), ME),
      "[09:07] * alice waves",
    );
  });
  await t.step("group", () => {
    assert.equal(
      formatEvent(message({ action: true, text: "waves", scope: "group", group: "ops" }), ME),
      "[09:07] [#ops] * alice waves",
    );
  });
  await t.step("direct", () => {
    assert.equal(
      formatEvent(message({ action: true, text: "waves", scope: "direct", to: "bob" }), ME),
      "[09:07] [alice → you] * alice waves",
    );
  });
  await t.step("own action keeps the own name", () => {
    assert.equal(
      formatEvent(message({ action: true, text: "waves", from: "bob" }), ME),
      "[09:07] * bob waves",
    );
  });
});

Deno.test("formatEvent() tags replayed and delayed messages", async (t) => {
  await t.step("history", () => {
    assert.equal(formatEvent(message({ history: true }), ME), "[09:07] (history) <alice> hi");
  });
  await t.step("delayed, with the date it was sent", () => {
    assert.equal(
      formatEvent(message({ delayed: true, scope: "direct", to: "bob" }), ME),
      "[09:07] (delayed, sent 09:07 05 Jan) [alice → you] hi",
    );
  });
});

Deno.test("formatEvent() renders presence, group changes, notices, bye and errors", async (t) => {
  const cases: [ServerEvent, string][] = [
    [{ type: "presence", login: "carol", state: "online", ts: TS }, "[09:07] -- carol is online"],
    [{ type: "presence", login: "carol", state: "offline", ts: TS }, "[09:07] -- carol is offline"],
    [
      { type: "group", group: "ops", action: "join", login: "carol", ts: TS },
      "[09:07] -- carol joined #ops",
    ],
    [
      { type: "group", group: "ops", action: "leave", login: "carol", ts: TS },
      "[09:07] -- carol left #ops",
    ],
    [
      { type: "group", group: "ops", action: "create", login: "bob", ts: TS },
      "[09:07] -- you created #ops",
    ],
    [
      { type: "group", group: "ops", action: "delete", login: "carol", ts: TS },
      "[09:07] -- carol deleted #ops",
    ],
    [
      { type: "group", group: "ops", action: "kick", login: "bob", by: "carol", ts: TS },
      "[09:07] -- carol kicked you from #ops",
    ],
    [
      { type: "group", group: "ops", action: "kick", login: "bob", ts: TS },
      "[09:07] -- you were kicked from #ops",
    ],
    [
      { type: "group", group: "ops", action: "owner", login: "dave", ts: TS },
      "[09:07] -- dave is now the owner of #ops",
    ],
    [
      { type: "group", group: "ops", action: "owner", login: "dave", by: "bob", ts: TS },
      "[09:07] -- you made dave the owner of #ops",
    ],
    [{ type: "notice", text: "Restart at noon", ts: TS }, "[09:07] -!- Restart at noon"],
    [
      { type: "notice", text: "line one\nline two", ts: TS },
      "[09:07] -!- line one\n[09:07] -!- line two",
    ],
    [
      { type: "bye", code: "kicked", message: "Kicked by the operator" },
      "-!- Session ended: Kicked by the operator (kicked)",
    ],
    [
      { type: "error", code: "bad_frame", message: "Cannot decode message" },
      "error: Cannot decode message (bad_frame)",
    ],
  ];
  for (const [event, expected] of cases) {
    await t.step(expected, () => assert.equal(formatEvent(event, ME), expected));
  }
});

Deno.test("formatEvent() shows an event type it does not know instead of dropping it", () => {
  const future = { type: "typing", login: "carol" } as unknown as ServerEvent;
  assert.equal(formatEvent(future, ME), '-!- {"type":"typing","login":"carol"}');
});

Deno.test("formatEvent() keeps escape sequences and line breaks from peers out", async (t) => {
  await t.step("an escape sequence in a message", () => {
    const line = formatEvent(message({ text: "\x1b[2Jgotcha\x07" }), ME);
    assert.equal(line, "[09:07] <alice> \ufffd[2Jgotcha\ufffd");
    assert.ok(!line.includes("\x1b"));
  });
  await t.step("line breaks in a message start indented lines, each made safe", () => {
    assert.equal(
      formatEvent(message({ text: "a\nb\x1b[2J\r\nc" }), ME),
      "[09:07] <alice> a\n        b\ufffd[2J\n        c",
    );
  });
  await t.step("bidirectional overrides and C1 controls", () => {
    assert.equal(oneLine("x\u202ey\u009bz\tw"), "x\ufffdy\ufffdz w");
  });
  await t.step("bidirectional marks and line separators, as the server log escapes them", () => {
    assert.equal(
      oneLine("a\u200eb\u200fc\u061cd\u2028e\u2029f"),
      "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf",
    );
  });
});

Deno.test("formatEvent() colors lines by kind only when asked", async (t) => {
  const color = { self: "bob", color: true };
  await t.step("public names in cyan, time dimmed", () => {
    assert.equal(
      formatEvent(message({}), color),
      "\x1b[2m[09:07]\x1b[0m \x1b[36m<alice>\x1b[0m hi",
    );
  });
  await t.step("direct, group and notice lines differ", () => {
    const direct = formatEvent(message({ scope: "direct", to: "bob" }), color);
    const group = formatEvent(message({ scope: "group", group: "ops" }), color);
    const notice = formatEvent({ type: "notice", text: "x", ts: TS }, color);
    assert.ok(direct.includes("\x1b[35m[alice → you]"), direct);
    assert.ok(group.includes("\x1b[32m[#ops]"), group);
    assert.ok(notice.includes("\x1b[33m-!- x"), notice);
  });
  await t.step("errors in red", () => {
    assert.equal(
      formatReply({ re: 2, ok: false, code: "no_such_user", message: "No" }, color),
      "\x1b[31merror: No (no_such_user)\x1b[0m",
    );
  });
  await t.step("no escapes without the option", () => {
    assert.ok(!formatEvent(message({ scope: "group", group: "ops" }), ME).includes("\x1b"));
  });
});

Deno.test("formatTime() pads hours and minutes", () => {
  assert.equal(formatTime(new Date(2025, 5, 1, 0, 5).getTime()), "00:05");
  assert.equal(formatTime(new Date(2025, 5, 1, 23, 59).getTime()), "23:59");
});

Deno.test("formatReply() prints the messages of a history page, then its text", () => {
  const page = {
    re: 3,
    ok: true as const,
    text: "2 messages of the public room",
    data: {
      messages: [
        {
          type: "message",
          id: 1,
          ts: TS,
          scope: "public",
          from: "carol",
          text: "hi",
          history: true,
        },
        { type: "message", id: 2, ts: TS, scope: "public", from: "bob", text: "two\nlines" },
        { type: "message", id: "x" },
      ],
    },
  };
  assert.equal(
    formatReply(page, ME),
    [
      "[09:07] (history) <carol> hi",
      "[09:07] (history) <you> two",
      "        lines",
      "2 messages of the public room",
    ].join("\n"),
  );
});

Deno.test("isSendAck() recognises the reply to a sent message", () => {
  assert.equal(isSendAck({ re: 3, ok: true, data: { id: 42, ts: TS } }), true);
  assert.equal(
    isSendAck({ re: 3, ok: true, text: "Joined group ops", data: { name: "ops" } }),
    false,
  );
});

Deno.test("formatReply() shows other replies' text or error", async (t) => {
  await t.step("text, line by line", () => {
    assert.equal(
      formatReply({ re: 2, ok: true, text: "alice\nbob\x1b[0m" }, ME),
      "alice\nbob\ufffd[0m",
    );
  });
  await t.step("nothing for a success without text", () => {
    assert.equal(formatReply({ re: 2, ok: true, data: { n: 1 } }, ME), undefined);
  });
  await t.step("an error with its code", () => {
    assert.equal(
      formatReply({
        re: 2,
        ok: false,
        code: "user_offline",
        message: 'Cannot send to "x": offline',
      }, ME),
      'error: Cannot send to "x": offline (user_offline)',
    );
  });
});

Deno.test("toJsonLine() renders events as on the wire and replies as typed objects", async (t) => {
  await t.step("a message event unchanged", () => {
    const event = message({ scope: "group", group: "ops" });
    assert.deepEqual(JSON.parse(toJsonLine(event)), event);
    assert.equal(
      toJsonLine(event),
      `{"type":"message","id":7,"ts":${TS},"scope":"group","from":"alice","text":"hi","group":"ops"}`,
    );
  });
  await t.step("an ok reply", () => {
    assert.equal(
      toJsonLine({ re: 4, ok: true, text: "Joined #ops", data: { group: "ops" } }),
      '{"type":"reply","re":4,"text":"Joined #ops","data":{"group":"ops"}}',
    );
    assert.equal(toJsonLine({ re: 5, ok: true }), '{"type":"reply","re":5}');
  });
  await t.step("an error reply", () => {
    assert.equal(
      toJsonLine({ re: 6, ok: false, code: "no_such_group", message: 'Cannot join "x"' }),
      '{"type":"error","re":6,"code":"no_such_group","message":"Cannot join \\"x\\""}',
    );
  });
  await t.step("a local error", () => {
    assert.equal(
      toJsonLine({ type: "error", code: "unknown_command", message: "No" }),
      '{"type":"error","code":"unknown_command","message":"No"}',
    );
  });
  await t.step("one line, whatever the text holds", () => {
    assert.doesNotMatch(toJsonLine(message({ text: "a\nb\u2028c" })), /\n|\u2028/);
  });
});
