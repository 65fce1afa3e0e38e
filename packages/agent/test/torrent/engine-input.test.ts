import { writeFile } from "node:fs/promises";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTorrentEngine, InvalidTorrentError, type TorrentEngine } from "../../src/torrent/index.ts";
import { memoryPersistence, tempDir, testSettings } from "../helpers/torrent-fixtures.ts";

let work: Awaited<ReturnType<typeof tempDir>>;
let http: HttpServer;
let base: string;
let engine: TorrentEngine;
let persistence: ReturnType<typeof memoryPersistence>;
const hanging = new Set<import("node:http").ServerResponse>();

beforeAll(async () => {
  work = await tempDir("torrent-input");
  http = createServer((req, res) => {
    if (req.url === "/garbage.torrent") res.end("<html>this is a web page, not a torrent</html>");
    else if (req.url === "/huge.torrent") {
      res.writeHead(200, { "content-length": String(11 * 1024 * 1024) });
      res.end(Buffer.alloc(11 * 1024 * 1024, 0x64));
    } else if (req.url === "/endless.torrent") {
      // No content-length: the limit has to be enforced while streaming.
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 0x64);
      let sent = 0;
      const push = () => {
        while (sent < 12 && res.write(chunk)) sent++;
        if (sent < 12) res.once("drain", push);
        else res.end();
      };
      push();
    } else if (req.url === "/slow.torrent") hanging.add(res);
    else res.writeHead(404).end("missing");
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  persistence = memoryPersistence();
  engine = createTorrentEngine({
    settings: testSettings(path.join(work.dir, "downloads")),
    persistence,
    fetchTimeoutMs: 1500,
  });
});

afterAll(async () => {
  await engine?.close();
  for (const res of hanging) res.destroy();
  http?.closeAllConnections();
  await new Promise((resolve) => http?.close(resolve));
  await work?.cleanup();
});

const opts = { id: "bad", linkId: "link" };

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the promise to reject");
}

describe("torrent engine rejects unusable input with a clear error", () => {
  it.each([
    [{ torrentFile: Buffer.from("just some text that is not bencoded") }, /^not a \.torrent file: /],
    [{ torrentFile: Buffer.from("d8:announce3:foo4:infoi1ee") }, /^not a \.torrent file: /],
    [{ torrentFile: Buffer.alloc(0) }, /^not a \.torrent file: /],
    [{ magnet: "" }, /link is empty/],
    [{ magnet: "magnet:?dn=no-hash-here" }, /invalid magnet link: it has no xt=urn:btih: info hash/],
    [{ magnet: "magnet:?xt=urn:btih:1234" }, /invalid magnet link/],
    [{ magnet: "https://example.invalid/file.torrent" }, /not a magnet link/],
    [{ torrentUrl: "ftp://127.0.0.1/file.torrent" }, /unsupported link scheme ftp:/],
    [{ torrentUrl: "not a url" }, /not a link/],
  ])("%j", async (input, message) => {
    const err = await rejection(engine.add(input as never, opts));
    expect(err).toBeInstanceOf(InvalidTorrentError);
    expect(err.message).toMatch(message);
  });

  it("reports HTTP errors, garbage and oversized answers from a .torrent URL", async () => {
    const missing = await rejection(engine.add({ torrentUrl: `${base}/missing.torrent` }, opts));
    expect(missing).toBeInstanceOf(InvalidTorrentError);
    expect(missing.message).toMatch(/could not download the \.torrent file from .*missing\.torrent: HTTP 404/);

    const garbage = await rejection(engine.add({ torrentUrl: `${base}/garbage.torrent` }, opts));
    expect(garbage).toBeInstanceOf(InvalidTorrentError);
    expect(garbage.message).toMatch(/^not a \.torrent file: /);

    const huge = await rejection(engine.add({ torrentUrl: `${base}/huge.torrent` }, opts));
    expect(huge.message).toMatch(/over the 10 MiB limit/);

    const endless = await rejection(engine.add({ torrentUrl: `${base}/endless.torrent` }, opts));
    expect(endless.message).toMatch(/over the 10 MiB limit/);
  });

  it("gives up on a .torrent URL that never answers", async () => {
    const started = Date.now();
    const err = await rejection(engine.add({ torrentUrl: `${base}/slow.torrent` }, opts));
    expect(err).toBeInstanceOf(InvalidTorrentError);
    expect(err.message).toMatch(/no answer within 2 s/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("refuses a download folder that cannot be created", async () => {
    const blocker = path.join(work.dir, "a-file");
    await writeFile(blocker, "not a folder");
    const torrentFile = Buffer.from(
      "d4:infod6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaaee",
    );
    const err = await rejection(engine.add({ torrentFile }, { ...opts, savePath: path.join(blocker, "sub") }));
    expect(err.message).toMatch(/^cannot use download folder .*a-file\/sub: (ENOTDIR|EEXIST)/);
  });

  it("keeps nothing from rejected input", () => {
    expect(engine.list()).toEqual([]);
    expect(persistence.saved).toEqual([]);
    expect(persistence.torrentFiles.size).toBe(0);
  });
});
