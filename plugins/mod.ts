// The built-in plugins, in load order. They are ordinary plugins: the server sets them up
// through the same API as a drop-in file, and a compiled binary embeds them.

import type { Plugin } from "../protocol/plugin.ts";
import account from "./account.ts";
import direct from "./direct.ts";
import groups from "./groups.ts";
import history from "./history.ts";
import moderation from "./moderation.ts";
import presence from "./presence.ts";
import publicRoom from "./public_room.ts";

/** Every built-in plugin. */
export const BUILTIN_PLUGINS: readonly Plugin[] = [
  publicRoom,
  direct,
  groups,
  presence,
  history,
  account,
  moderation,
];
