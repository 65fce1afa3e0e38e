/**
 * Origins this store has entries of. highWaterMarks() lists only origins whose seq 1 has arrived, so an
 * origin seen only above a gap would never be offered or asked for; remembering every origin that passed
 * through the node (store meta "p2p.origins") closes that hole across restarts.
 */
import type { LocalStore } from "../store/index.ts";
import type { P2PLogger } from "./types.ts";

const META_KEY = "p2p.origins";

export class OriginRegistry {
  private readonly store: LocalStore;
  private readonly logger: P2PLogger;
  private readonly origins = new Set<string>();

  constructor(store: LocalStore, logger: P2PLogger) {
    this.store = store;
    this.logger = logger;
    try {
      const saved = store.getMeta(META_KEY);
      for (const origin of saved ? (JSON.parse(saved) as string[]) : []) this.origins.add(origin);
    } catch (error) {
      logger.warn("p2p: could not read the known origins", error);
    }
  }

  note(entries: Iterable<{ origin: string }>): void {
    let added = false;
    for (const { origin } of entries) {
      if (this.origins.has(origin)) continue;
      this.origins.add(origin);
      added = true;
    }
    if (!added) return;
    try {
      this.store.setMeta(META_KEY, JSON.stringify([...this.origins]));
    } catch (error) {
      this.logger.warn("p2p: could not save the known origins", error);
    }
  }

  /** Contiguous marks, with 0 for origins this store holds only above a gap. */
  localMarks(): Record<string, number> {
    const marks = this.store.highWaterMarks();
    for (const origin of this.origins) marks[origin] ??= 0;
    return marks;
  }
}
