/** The link library: magnet links, .torrent links, web links and notes, with full-text search. */

import type { LinkInput, LinkView } from "@perpetuanet/core";
import { classifyLink, type Link, type LinkKind, newRowId, type RowOf } from "@perpetuanet/core";
import type { LocalStore } from "../store/index.ts";
import { NotFoundError, UserInputError } from "./errors.ts";
import type { LocalWriter } from "./local-writer.ts";

export function toLinkView(row: Link): LinkView {
  return {
    id: row.id,
    url: row.url ?? "",
    kind: row.kind ?? "web",
    title: row.title ?? "",
    tags: row.tags ?? [],
    notes: row.notes ?? "",
    createdAt: row.createdAt ?? 0,
  };
}

/** A link's URL and kind: notes need no URL, everything else must be a usable link. */
function urlAndKind(url: string | undefined, kind: LinkKind | undefined): { url: string; kind: LinkKind } {
  if (kind === "note") return { url: (url ?? "").trim(), kind };
  try {
    const classified = classifyLink(url ?? "");
    return { url: classified.url, kind: kind === "torrent" && classified.kind === "web" ? "torrent" : classified.kind };
  } catch (error) {
    throw new UserInputError((error as Error).message, "INVALID_LINK");
  }
}

function cleanTags(tags: string[] | undefined): string[] | undefined {
  if (!tags) return undefined;
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t.length > 0))];
}

export class Library {
  private readonly store: LocalStore;
  private readonly writer: LocalWriter;

  constructor(store: LocalStore, writer: LocalWriter) {
    this.store = store;
    this.writer = writer;
  }

  list(q?: string, limit = 1000): LinkView[] {
    return this.store.listLinks({ q, limit }).map(toLinkView);
  }

  get(id: string): LinkView {
    const row = this.store.getRow("links", id);
    if (!row || row.deleted) throw new NotFoundError(`no link ${id}`);
    return toLinkView(row as Link);
  }

  findByUrl(url: string): LinkView | undefined {
    const row = this.store.findRows("links", "url", url)[0];
    return row ? toLinkView(row as Link) : undefined;
  }

  add(input: LinkInput): LinkView {
    const { url, kind } = urlAndKind(input.url, input.kind);
    const id = newRowId();
    this.writer.write("links", id, {
      url,
      kind,
      title: (input.title ?? "").trim() || defaultTitle(url, kind),
      tags: cleanTags(input.tags) ?? [],
      notes: input.notes ?? "",
      createdAt: Date.now(),
      deleted: false,
    });
    return this.get(id);
  }

  /** The link with this URL, created when the library does not have it yet. */
  ensure(input: LinkInput): LinkView {
    const { url } = urlAndKind(input.url, input.kind);
    return this.findByUrl(url) ?? this.add(input);
  }

  update(id: string, patch: Partial<LinkInput>): LinkView {
    const current = this.get(id);
    const values: RowOf<"links"> = {};
    if (patch.url !== undefined || patch.kind !== undefined) {
      const next = urlAndKind(patch.url ?? current.url, patch.kind ?? current.kind);
      if (next.url !== current.url) values.url = next.url;
      if (next.kind !== current.kind) values.kind = next.kind;
    }
    if (patch.title !== undefined && patch.title !== current.title) values.title = patch.title.trim();
    const tags = cleanTags(patch.tags);
    if (tags && JSON.stringify(tags) !== JSON.stringify(current.tags)) values.tags = tags;
    if (patch.notes !== undefined && patch.notes !== current.notes) values.notes = patch.notes;
    this.writer.write("links", id, values);
    return this.get(id);
  }

  remove(id: string): void {
    this.get(id);
    this.writer.write("links", id, { deleted: true });
  }
}

function defaultTitle(url: string, kind: LinkKind): string {
  if (kind === "magnet") {
    const dn = /[?&]dn=([^&]+)/.exec(url)?.[1];
    if (dn) {
      try {
        return decodeURIComponent(dn.replace(/\+/g, " "));
      } catch {
        return dn;
      }
    }
  }
  if (kind === "note") return "Note";
  return url.slice(0, 200);
}
