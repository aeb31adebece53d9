// What both stores build from their rows the same way: groups with their members, the other side
// of direct conversations, the operator's records. Rows come as plain records, whatever the database.

import { directParties } from "./pages.ts";
import type { AccountSummary, Ban, DeletedLogin, Invite, StoredGroup } from "./store.ts";

/** A row as a database driver returns it. */
type Row = Record<string, unknown>;

/**
 * Groups from their rows (key, name, owner, created) and their members' rows (grp, account, login)
 * in join order.
 */
export function groupsFromRows(groupRows: Iterable<Row>, memberRows: Iterable<Row>): StoredGroup[] {
  const groups = new Map<string, StoredGroup>();
  for (const row of groupRows) {
    groups.set(String(row.key), {
      key: String(row.key),
      name: String(row.name),
      ownerKey: String(row.owner),
      created: Number(row.created),
      members: [],
    });
  }
  for (const row of memberRows) {
    groups.get(String(row.grp))?.members.push({
      account: String(row.account),
      login: String(row.login),
    });
  }
  return [...groups.values()];
}

/** The accounts on the other side of `account`'s direct conversations (rows with `conv`), itself left out. */
export function otherParties(convRows: Iterable<Row>, account: string): string[] {
  const others: string[] = [];
  for (const row of convRows) {
    const [a, b] = directParties(String(row.conv));
    const other = a === account ? b : a;
    if (other !== account) others.push(other);
  }
  return others;
}

/** An account summary from its row (key, login, created, last_seen, role). */
export function summary(row: Row): AccountSummary {
  const found: AccountSummary = {
    key: String(row.key),
    login: String(row.login),
    created: Number(row.created),
    role: row.role === "operator" ? "operator" : "user",
  };
  if (row.last_seen !== null && row.last_seen !== undefined) found.lastSeen = Number(row.last_seen);
  return found;
}

/** A ban from its row. */
export function ban(row: Row): Ban {
  const found: Ban = {
    kind: row.kind === "address" ? "address" : "login",
    target: String(row.target),
    reason: String(row.reason),
    by: String(row.by),
    created: Number(row.created),
  };
  if (row.expires !== null && row.expires !== undefined) found.expires = Number(row.expires);
  return found;
}

/** An invitation from its row. */
export function invite(row: Row): Invite {
  const found: Invite = {
    hash: String(row.hash),
    uses: Number(row.uses),
    created: Number(row.created),
    by: String(row.by),
  };
  if (row.expires !== null && row.expires !== undefined) found.expires = Number(row.expires);
  return found;
}

/** A deleted login from its row (key, login, deleted, reserved_until, last_message). */
export function deletedLogin(row: Row): DeletedLogin {
  return {
    key: String(row.key),
    login: String(row.login),
    deleted: Number(row.deleted),
    reservedUntil: Number(row.reserved_until),
    lastMessageId: Number(row.last_message),
  };
}
