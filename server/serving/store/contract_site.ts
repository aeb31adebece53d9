// What the store contract suites (contract.ts, contract_operator.ts) run on: a place where a
// store keeps its data. Its own module so that neither suite imports the other back.

import type { Store, StoreOptions } from "./store.ts";

/**
 * A place where a store keeps its data, empty at first: each `open()` sees what the stores opened
 * before it committed there. Every test makes one site and removes it at its end.
 */
export interface StoreSite {
  /** Opens a store on this site's data. */
  open(options?: StoreOptions): Store | Promise<Store>;
  /** Deletes the site's data; called once every store opened on it is closed. */
  remove(): void | Promise<void>;
}

/** Helpers of runStoreContract: a fresh site, or a store on one, removed afterwards. */
export interface ContractHelpers {
  withSite(fn: (site: StoreSite) => void | Promise<void>): Promise<void>;
  withStore(fn: (store: Store) => void | Promise<void>): Promise<void>;
}
