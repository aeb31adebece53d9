// The full-screen client in a real terminal (tmux) against a real server: three people, windows,
// backlog, completion, highlights, the unread marker, a paste, a resize and a hostile escape.

import assert from "node:assert/strict";
import { CHATZ_PERMISSIONS, client, ROOT, startServerProcess, TEST_CONFIG_DIR } from "./harness.ts";
import { stablePort } from "./ports.ts";
import { hasTmux, startPane, type TmuxPane } from "./tmux.ts";

/** Messages sent before anyone logs in: more than the backlog shows, so /history has work. */
const EARLIER = 70;

function chatz(endpoint: string, login: string, ...extra: string[]): string[] {
  return [
    Deno.execPath(),
    "run",
    ...CHATZ_PERMISSIONS,
    `${ROOT}main.ts`,
    "connect",
    "--server",
    endpoint,
    "--login",
    login,
    ...extra,
  ];
}

const has = (text: string) => (screen: string[]) => screen.some((row) => row.includes(text));
const statusOf = (screen: string[]) => screen.at(-2) ?? "";
const inputOf = (screen: string[]) => screen.at(-1) ?? "";

Deno.test({
  name: "full-screen client: windows, backlog, completion, highlights, paste, resize, safety",
  // Without tmux a developer's run skips this; CI installs tmux, so there it must run.
  ignore: !hasTmux() && Deno.env.get("CI") !== "true",
  async fn(t) {
    // The example plugins: /roll sends a message from a plugin command.
    const server = await startServerProcess({ args: ["--plugins", "plugins/examples"] });
    const dave = await client(server.endpoint, "dave");
    const panes: TmuxPane[] = [];
    const open = async (login: string, ...extra: string[]) => {
      const pane = await startPane(chatz(server.endpoint, login, ...extra), {
        columns: 80,
        rows: 24,
        env: { CHATZ_PASSWORD: `pw-${login}`, CHATZ_CONFIG_DIR: TEST_CONFIG_DIR },
        cwd: ROOT,
      });
      panes.push(pane);
      return pane;
    };
    try {
      for (let i = 1; i <= EARLIER; i++) await dave.cmd("say", `old ${i}`);
      const alice = await open("alice", "--highlight", "deploy");
      const bob = await open("bob");

      await t.step(
        "login shows the public room's recent messages, then a backlog line",
        async () => {
          const screen = await alice.waitFor(has("end of backlog"), "the backlog");
          assert.ok(has(`<dave> old ${EARLIER}`)(screen));
          assert.match(screen[0], /chatz .* alice · encrypted \(CURVE\)/);
          assert.match(statusOf(screen), /\[alice\] \[1:public\]/);
          await bob.waitFor(has("end of backlog"), "bob's backlog");
        },
      );

      await t.step("a group gets its own window; a plain line goes to it", async () => {
        await alice.type("/group create devs");
        await alice.keys("Enter");
        await alice.waitFor((s) => statusOf(s).includes("[2:#devs]"), "alice's #devs window");
        await bob.type("/group join devs");
        await bob.keys("Enter");
        await bob.waitFor((s) => statusOf(s).includes("[2:#devs]"), "bob's #devs window");
        await bob.type("hello devs");
        await bob.keys("Enter");
        await alice.waitFor(has("<bob> hello devs"), "bob's line in #devs");
      });

      await t.step(
        "Tab completes /msg al to /msg alice; a direct message is a mention",
        async () => {
          await bob.type("/msg al");
          await bob.keys("Tab");
          await bob.waitFor((s) => inputOf(s).endsWith("/msg alice"), "the completed login");
          await bob.type("psst, private");
          await bob.keys("Enter");
          await alice.waitFor((s) => statusOf(s).includes("[Act: 3*]"), "[Act: 3*]");
          await alice.keys("M-3");
          const screen = await alice.waitFor(has("<bob> psst, private"), "the query window");
          assert.match(statusOf(screen), /\[3:bob\]/);
        },
      );

      await t.step(
        "a highlight word marks the window; the unread marker shows where I left",
        async () => {
          await bob.type("the deploy is done");
          await bob.keys("Enter");
          await alice.waitFor(
            (s) => statusOf(s).includes("[Act: 2*]"),
            "[Act: 2*] for the highlight",
          );
          await alice.keys("M-2");
          const screen = await alice.waitFor(has("<bob> the deploy is done"), "the highlight");
          const marker = screen.findIndex((row) => /-+ unread -+/.test(row));
          const line = screen.findIndex((row) => row.includes("the deploy is done"));
          assert.ok(marker !== -1 && marker < line, "the marker is above the unread line");
          assert.ok(screen.findIndex((row) => row.includes("hello devs")) < marker);
        },
      );

      await t.step("a three-line paste asks once and arrives as one message", async () => {
        await alice.paste("first line\n/msg bob not a command\nthird line");
        await alice.waitFor(
          (s) => inputOf(s).includes("Send 3 pasted lines as one message to #devs? (y/n)"),
          "the paste question",
        );
        await alice.type("y");
        const screen = await bob.waitFor(has("third line"), "the pasted message");
        const first = screen.findIndex((row) => row.includes("<alice> first line"));
        assert.ok(first !== -1);
        assert.match(screen[first + 1], /^\s+\/msg bob not a command$/);
        assert.match(screen[first + 2], /^\s+third line$/);
      });

      await t.step(
        "a plugin command's message shows its sender once, from the server",
        async () => {
          await bob.keys("M-1");
          await bob.type("/roll 2d6");
          await bob.keys("Enter");
          const screen = await bob.waitFor(has("You rolled 2d6"), "the reply's text");
          assert.equal(screen.filter((row) => row.includes("* bob rolls 2d6:")).length, 1);
        },
      );

      await t.step("an escape sequence from another user is shown, not obeyed", async () => {
        await dave.cmd("say", "\x1b[2J\x1b[H\x1b]0;pwned\x07evil \x1b[31mred");
        await alice.keys("M-1");
        const screen = await alice.waitFor(has("evil"), "the hostile line");
        const row = screen.find((r) => r.includes("evil"))!;
        assert.match(row, /<dave> \uFFFD\[2J\uFFFD\[H\uFFFD\]0;pwned\uFFFDevil \uFFFD\[31mred/);
        assert.match(screen[0], /chatz .* alice/, "the title line is still there");
        assert.ok(has(`<dave> old ${EARLIER}`)(screen), "the screen was not cleared");
      });

      await t.step("/history and PageUp read older messages", async () => {
        await alice.type("/history 30");
        await alice.keys("Enter");
        await alice.waitFor(has("20 older messages above"), "the older page");
        const oldest = (s: string[]) => s.some((r) => /<dave> old 1$/.test(r));
        let screen = await alice.screen();
        for (let presses = 0; presses < 20 && !oldest(screen); presses++) {
          await alice.keys("PPage");
          screen = await alice.waitFor((s) => statusOf(s).includes("-MORE-"), "scrolled view");
        }
        assert.ok(oldest(screen), "the oldest message came into view");
        await alice.keys("NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage", "NPage");
      });

      await t.step("the layout follows a resize", async () => {
        await alice.resize(50, 16);
        const screen = await alice.waitFor(
          (s) =>
            s.length === 16 && /^ chatz/.test(s[0]) && statusOf(s).includes("[1:public]") &&
            /^\[public\]/.test(inputOf(s)),
          "the title, status and input lines at the new size",
        );
        assert.ok(screen.every((row) => row.length <= 50));
      });

      await t.step("--plain keeps line mode: completion and a paste asked once", async () => {
        const carol = await open("carol", "--plain");
        await carol.waitFor(has("-!- Logged in as carol"), "carol's login line");
        await carol.type("/msg bo");
        await carol.keys("Tab");
        await carol.waitFor((s) => s.some((r) => r.endsWith("carol> /msg bob")), "completion");
        await carol.keys("C-u");
        await carol.paste("plain one\nplain two");
        await carol.waitFor(has("Send 2 pasted lines as one message? (y/n)"), "the question");
        await carol.type("y");
        await carol.waitFor(has("<you> plain one"), "carol's own line, echoed by the server");
        // Alice looks at the public room (window 1) since the escape-sequence step.
        const screen = await alice.waitFor(has("plain two"), "carol's paste at alice's");
        assert.ok(has("<carol> plain one")(screen));
      });

      await t.step("Ctrl-Z suspends to the shell and fg brings the screen back", async () => {
        const shell = await startPane(["bash", "--norc", "--noprofile", "-i"], {
          columns: 80,
          rows: 24,
          env: { PS1: "SHELL$ ", CHATZ_PASSWORD: "pw-dana", CHATZ_CONFIG_DIR: TEST_CONFIG_DIR },
          cwd: ROOT,
        });
        panes.push(shell);
        await shell.waitFor(has("SHELL$"), "the shell prompt");
        await shell.type(chatz(server.endpoint, "dana").join(" "));
        await shell.keys("Enter");
        await shell.waitFor((s) => /^ chatz .* dana/.test(s[0]), "dana's screen");
        await shell.keys("C-z");
        await shell.waitFor(has("Stopped"), "the shell's job control");
        await shell.type("fg");
        await shell.keys("Enter");
        await shell.waitFor(
          (s) => /^ chatz .* dana/.test(s[0]) && statusOf(s).includes("[dana]"),
          "the screen drawn again",
        );
        await shell.type("/quit");
        await shell.keys("Enter");
        await shell.waitFor(
          (s) => !/^ chatz/.test(s[0]) && has("SHELL$")(s),
          "the shell's own screen again",
        );
      });

      await t.step("/quit gives the terminal back", async () => {
        await bob.type("/quit");
        await bob.keys("Enter");
        await bob.waitFor(has("EXITED 0"), "bob's exit");
      });
    } finally {
      for (const pane of panes) await pane.close();
      await dave.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "full-screen client whose server's key changed leaves the WARNING on the terminal",
  ignore: !hasTmux() && Deno.env.get("CI") !== "true",
  async fn() {
    const bind = ["--bind", `tcp://127.0.0.1:${stablePort(2)}`]; // the key endpoint takes port + 1
    let server = await startServerProcess({ args: bind });
    const pane = await startPane(chatz(server.endpoint, "ivan"), {
      columns: 80,
      rows: 24,
      env: { CHATZ_PASSWORD: "pw-ivan", CHATZ_CONFIG_DIR: TEST_CONFIG_DIR },
      cwd: ROOT,
    });
    try {
      await pane.waitFor((s) => statusOf(s).includes("[ivan]"), "ivan's screen");
      await server.stop();
      // The same address served from a new data folder: a new CURVE key.
      for (let attempt = 1;; attempt++) {
        try {
          server = await startServerProcess({ args: bind });
          break;
        } catch (error) {
          // Another test's socket may hold port + 1 meanwhile: a fixed port races the suite.
          if (attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
        }
      }
      const screen = await pane.waitFor(has("EXITED 1"), "ivan's client ending", 90_000);
      // The full screen is gone: the loud part a fresh connect prints must be on the terminal.
      assert.ok(has("WARNING: the CURVE key of server")(screen), screen.join("\n"));
      assert.ok(has("@".repeat(72))(screen), screen.join("\n"));
      assert.ok(has("session ended")(screen), screen.join("\n"));
    } finally {
      await pane.close();
      await server.stop();
    }
  },
});
