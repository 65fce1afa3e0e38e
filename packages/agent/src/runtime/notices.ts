/**
 * Notices shown to the user: the server's (maintenance, incidents), fetched while online and kept in
 * the store so they stay visible offline, and local ones (went offline, back online, download done).
 */
import { type NoticeView, newRowId } from "@perpetuanet/core";
import type { LocalStore } from "../store/index.ts";
import type { ServerNotice } from "./server-client.ts";

export class Notices {
  private readonly store: LocalStore;
  private readonly onNew: (notice: NoticeView) => void;
  private readonly known = new Set<string>();

  constructor(store: LocalStore, onNew: (notice: NoticeView) => void) {
    this.store = store;
    this.onNew = onNew;
    for (const n of store.listNotices(10_000)) this.known.add(n.id);
  }

  list(limit = 200): NoticeView[] {
    return this.store.listNotices(limit);
  }

  local(severity: NoticeView["severity"], kind: string, title: string, body = ""): NoticeView {
    const notice: NoticeView = {
      id: `local-${newRowId()}`,
      source: "local",
      severity,
      kind,
      title,
      body,
      createdAt: Date.now(),
      startsAt: null,
      endsAt: null,
    };
    this.add(notice);
    return notice;
  }

  /** Stores the server's current notices; returns those this PC had not seen. */
  fromServer(notices: ServerNotice[]): NoticeView[] {
    const fresh: NoticeView[] = [];
    for (const n of notices) {
      const notice: NoticeView = {
        id: `server-${n.id}`,
        source: "server",
        severity: n.severity,
        kind: n.kind,
        title: n.title,
        body: n.body,
        createdAt: Date.parse(n.createdAt),
        startsAt: n.startsAt ? Date.parse(n.startsAt) : null,
        endsAt: n.endsAt ? Date.parse(n.endsAt) : null,
      };
      if (this.add(notice)) fresh.push(notice);
    }
    return fresh;
  }

  private add(notice: NoticeView): boolean {
    if (this.known.has(notice.id)) return false;
    this.known.add(notice.id);
    this.store.addNotice(notice);
    this.onNew(notice);
    return true;
  }
}
