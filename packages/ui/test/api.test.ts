import { describe, expect, it } from "vitest";
import { initToken, parseEvent, parseHash, TOKEN_KEY } from "../src/api.ts";

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), m };
}

describe("access token from the URL", () => {
  it("reads token and view from the hash", () => {
    expect(parseHash("#token=abc&view=downloads")).toEqual({ token: "abc", view: "downloads" });
    expect(parseHash("")).toEqual({ token: null, view: null });
  });

  it("keeps the token in sessionStorage and removes it from the address bar", () => {
    const storage = memoryStorage();
    const replaced: string[] = [];
    const r = initToken({
      location: { hash: "#token=s3cret", pathname: "/", search: "" },
      storage,
      replaceUrl: (u) => replaced.push(u),
    });
    expect(r.token).toBe("s3cret");
    expect(storage.m.get(TOKEN_KEY)).toBe("s3cret");
    expect(replaced).toEqual(["/"]);
  });

  it("falls back to the stored token after a reload", () => {
    const storage = memoryStorage();
    storage.setItem(TOKEN_KEY, "kept");
    const r = initToken({ location: { hash: "", pathname: "/", search: "" }, storage, replaceUrl: () => {} });
    expect(r.token).toBe("kept");
  });
});

describe("event stream messages", () => {
  it("accepts the whole event or only its payload", () => {
    expect(parseEvent("downloads", JSON.stringify({ type: "downloads", downloads: [] }))).toEqual({
      type: "downloads",
      downloads: [],
    });
    expect(parseEvent("data-changed", JSON.stringify(["links"]))).toEqual({ type: "data-changed", tables: ["links"] });
    expect(parseEvent("status", "not json")).toBeNull();
    expect(parseEvent("unknown", "{}")).toBeNull();
  });
});
