// Tests of the counted-noun helper.

import assert from "node:assert/strict";
import { plural } from "./plural.ts";

Deno.test("plural() uses the singular for exactly one and the plural otherwise", () => {
  assert.equal(plural(1, "group"), "1 group");
  assert.equal(plural(0, "group"), "0 groups");
  assert.equal(plural(2, "missed message"), "2 missed messages");
  assert.equal(plural(5, "person", "people"), "5 people");
});
