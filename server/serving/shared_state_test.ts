// Runs the shared-state contract on the in-process implementation.

import { runSharedStateContract } from "./shared_state_contract.ts";
import { createLocalState } from "./shared_state.ts";

runSharedStateContract(
  "local",
  (limits) => Promise.resolve({ state: createLocalState(limits), close: () => Promise.resolve() }),
);
