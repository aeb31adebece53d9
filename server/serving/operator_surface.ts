// The operator's hold on a running server: status, users, groups, pause, kick, broadcast, clear
// identities, reconfigure. What `chatz serve`'s console and `chatz admin` reach through the thread.

import type { Logger } from "../log.ts";
import type { createBroker } from "./broker.ts";
import type { BrokerDeps } from "./broker/deps.ts";
import type { Relay } from "./cluster/relay.ts";
import type { ChatCore } from "./chat.ts";
import type { Gate } from "./gate.ts";
import type { OperatorServices } from "./operator_services.ts";
import type { RateWindow } from "./rate_window.ts";
import type { LiveSettings, RunningServer, ServerLimits, ServerOptions } from "./server_api.ts";
import type { Limiter, SessionDirectory } from "./shared_state.ts";
import type { Store } from "./store/store.ts";

/** The parts of a running server the operator's commands act on. */
export interface SurfaceParts {
  endpoint: string;
  startedAt: number;
  now: () => number;
  log: Logger;
  options: ServerOptions;
  store: Store;
  sessions: SessionDirectory;
  chat: ChatCore;
  gate: Gate;
  broker: ReturnType<typeof createBroker>;
  /** Mutable settings a reload changes in place. */
  live: {
    core: { maxGroupsPerUser: number; maxWaitingPerAccount: number };
    broker: BrokerDeps;
    connectLimit: Limiter;
  };
  rate: RateWindow;
  /** Accounts, invitations and bans (operator_services.ts). */
  operator: OperatorServices;
  requestFlush(): void;
  flush(): void;
  /** Cluster mode: this node and the others it hears. */
  cluster?: Pick<Relay, "node" | "nodes" | "kickElsewhere" | "tellOthers" | "usersElsewhere">;
}

/** The per-address connection bucket for a per-minute limit (0: no limit). */
export function connectRate(perMinute: number): { burst: number; perSecond: number } {
  return { burst: Math.max(1, perMinute / 10), perSecond: perMinute / 60 };
}

/** The registrations-per-address bucket for `--registrations-per-minute` (0: no limit). */
export function registrationRate(perMinute: number): { burst: number; perSecond: number } {
  return { burst: Math.max(1, perMinute), perSecond: perMinute / 60 };
}

/** The operator's commands on a running server. */
export function operatorSurface(
  parts: SurfaceParts,
): Omit<RunningServer, "endpoint" | "plugins" | "stop" | "metrics"> {
  const { endpoint, startedAt, now, log, store, sessions, chat, gate, broker, rate } = parts;
  const { requestFlush, flush } = parts;
  return {
    operator: parts.operator,
    status: () => ({
      endpoint,
      listening: !gate.paused,
      startedAt,
      uptimeMs: now() - startedAt,
      refusedWhilePaused: gate.refused,
      usersOnline: sessions.accountCount,
      sessions: sessions.sessionCount,
      groups: chat.groups().length,
      accounts: store.accountCount(),
      messagesStored: store.lastMessageId,
      messagesRelayed: chat.stats.messages,
      deliveries: chat.stats.deliveries,
      messagesPerSecond: rate.perSecond(),
      memoryRss: Deno.memoryUsage().rss,
      heapUsed: Deno.memoryUsage().heapUsed,
      ...(parts.cluster && {
        cluster: { node: parts.cluster.node, nodes: parts.cluster.nodes() },
      }),
    }),
    users: () => [
      ...sessions.list().map((s) => ({
        login: s.login,
        since: s.since,
        host: s.host,
        client: s.client,
      })),
      // Cluster mode: the other nodes' accounts, as their last heartbeats said.
      ...(parts.cluster?.usersElsewhere() ?? []).flatMap(({ node, online }) =>
        online.map((u) => ({
          login: u.login,
          since: u.since,
          host: "",
          client: "",
          node,
          sessions: u.sessions,
        }))
      ),
    ],
    groups: () => chat.groups(),
    pause() {
      const changed = !gate.paused;
      gate.pause();
      if (changed) log.info("operator_pause", {});
      return changed;
    },
    resume() {
      const changed = gate.paused;
      gate.resume();
      if (changed) log.info("operator_resume", {});
      return changed;
    },
    pauseOthers(paused) {
      return parts.cluster?.tellOthers({ action: paused ? "pause" : "resume" }) ?? 0;
    },
    kick(login, reason) {
      // In a cluster, the other nodes end its sessions there too.
      const n = broker.kick(login, reason) + (parts.cluster?.kickElsewhere(login, reason) ?? 0);
      if (n > 0) log.info("operator_kick", { login, sessions: n });
      requestFlush();
      return n;
    },
    broadcast(text) {
      chat.broadcast(text);
      log.info("operator_broadcast", {});
      requestFlush();
    },
    clearIdentities() {
      broker.endAll(
        "account_deleted",
        "The operator cleared all accounts; log in again to register",
        "identities_cleared",
      );
      parts.operator.identitiesCleared(store.listAccounts());
      const removed = store.clearIdentities();
      chat.groupsCleared();
      log.warn("identities_cleared", { accounts: removed });
      // The accounts are gone from the shared store: the other nodes log their sessions out too.
      parts.cluster?.tellOthers({ action: "clear" });
      flush();
      return removed;
    },
    reconfigure(settings) {
      return reconfigure(parts, settings);
    },
  };
}

/** Applies a reloaded configuration in place; returns the names of the settings that changed. */
function reconfigure(parts: SurfaceParts, settings: LiveSettings): string[] {
  const { options, log } = parts;
  const { core: coreOptions, broker: brokerDeps, connectLimit } = parts.live;
  const changed: string[] = [];
  const limits = options.limits;
  for (const key of Object.keys(limits) as (keyof ServerLimits)[]) {
    if (key === "peerQueueFrames" || limits[key] === settings.limits[key]) continue;
    limits[key] = settings.limits[key];
    changed.push(key);
  }
  coreOptions.maxGroupsPerUser = limits.maxGroupsPerUser;
  coreOptions.maxWaitingPerAccount = limits.maxWaitingPerAccount;
  brokerDeps.sessionTimeoutMs = limits.sessionTimeoutMs;
  brokerDeps.maxSessionsPerAccount = limits.maxSessionsPerAccount;
  brokerDeps.handlerTimeoutMs = limits.pluginTimeoutMs;
  Object.assign(brokerDeps.commandLimit.limit, {
    burst: limits.commandBurst,
    perSecond: limits.commandsPerSecond,
  });
  Object.assign(connectLimit.limit, connectRate(limits.connectsPerMinute));
  Object.assign(
    brokerDeps.registrationLimit.limit,
    registrationRate(limits.registrationsPerMinute),
  );
  if (brokerDeps.registration !== settings.registration) {
    brokerDeps.registration = settings.registration;
    changed.push("registration");
  }
  for (const key of ["maxMessages", "maxAgeMs"] as const) {
    if (options.retention[key] === settings.retention[key]) continue;
    options.retention[key] = settings.retention[key];
    changed.push(`retention.${key}`);
  }
  // Bans live in the store; another node of a cluster (or a restored backup) may have changed them.
  if (parts.operator.reloadBans()) changed.push("bans");
  if (changed.length > 0) log.info("reconfigured", { changed: changed.join(",") });
  return changed;
}
