import type { P2PLogger } from "./types.ts";

type Listener = (...args: unknown[]) => void;

/** The node's "applied" and "peers" listeners; one failing listener neither breaks the node nor the others. */
export class NodeEvents {
  private readonly listeners = new Map<string, Set<Listener>>();

  on(event: string, fn: Listener): void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
  }

  emit(logger: P2PLogger, event: string, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        fn(...args);
      } catch (error) {
        logger.warn(`p2p: an "${event}" listener threw`, error);
      }
    }
  }
}
