// The in-process shared state: one server process, everything in its memory; the implementation of
// shared_state.ts's interfaces that a clustered one replaces.

import { GroupTable } from "./groups.ts";
import { type RateLimit, RateLimiter } from "./rate_limit.ts";
import { RecentSends } from "./recent_sends.ts";
import { SessionTable } from "./sessions.ts";
import { DEDUP_WINDOW, type SharedState } from "./shared_state.ts";
import { ADDRESS_POLICY, LoginThrottle } from "./throttle.ts";

/** No limit: a bucket refilled at 0 per second does not limit (see RateLimiter). */
const UNLIMITED: RateLimit = { burst: 1, perSecond: 0 };

/** The in-process shared state: one server process, everything in its memory. */
export function createLocalState(
  limits: { command: RateLimit; connect: RateLimit; register?: RateLimit } = {
    command: UNLIMITED,
    connect: UNLIMITED,
  },
): SharedState {
  return {
    sessions: new SessionTable(),
    groups: new GroupTable(),
    duplicates: new RecentSends(DEDUP_WINDOW),
    loginThrottle: new LoginThrottle(),
    addressThrottle: new LoginThrottle(ADDRESS_POLICY),
    commandLimit: new RateLimiter(limits.command),
    connectLimit: new RateLimiter(limits.connect),
    registrationLimit: new RateLimiter(limits.register ?? { ...UNLIMITED }),
  };
}
