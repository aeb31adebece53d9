// What both stores build from their rows the same way: groups with their members, the other side
// of direct conversations. Rows come as plain records, whatever the database.

import { directParties } from "./pages.ts";
import type { StoredGroup } from "./store.ts";

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
