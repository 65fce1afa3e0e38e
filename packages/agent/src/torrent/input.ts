import { classifyLink } from "@perpetuanet/core";
import parseTorrent from "parse-torrent";
import { InvalidTorrentError, type TorrentInput } from "./types.ts";

export const MAX_TORRENT_FILE_BYTES = 10 * 1024 * 1024;

/** What WebTorrent needs to start (or restart) a download, in a form we can keep in memory. */
export type ResolvedTorrent =
  | { kind: "magnet"; magnet: string; infoHash: string; name: string; announce: string[] }
  | { kind: "file"; bytes: Buffer; infoHash: string; name: string; totalBytes: number; announce: string[] };

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

export async function parseMagnet(input: string): Promise<ResolvedTorrent> {
  let classified: ReturnType<typeof classifyLink>;
  try {
    classified = classifyLink(input);
  } catch (err) {
    throw new InvalidTorrentError(describe(err));
  }
  if (classified.kind !== "magnet") {
    throw new InvalidTorrentError(`not a magnet link: ${JSON.stringify(input.slice(0, 80))}`);
  }
  let parsed: Awaited<ReturnType<typeof parseTorrent>>;
  try {
    parsed = await parseTorrent(classified.url);
  } catch (err) {
    throw new InvalidTorrentError(`invalid magnet link: ${describe(err)}`);
  }
  if (!/^[0-9a-f]{40}$/.test(parsed.infoHash ?? "")) {
    throw new InvalidTorrentError("invalid magnet link: it has no BitTorrent v1 info hash");
  }
  const name = typeof parsed.name === "string" && parsed.name ? parsed.name : parsed.infoHash;
  return { kind: "magnet", magnet: classified.url, infoHash: parsed.infoHash, name, announce: parsed.announce ?? [] };
}

export async function parseTorrentFile(bytes: Buffer): Promise<ResolvedTorrent> {
  if (!((bytes as unknown) instanceof Uint8Array)) {
    throw new InvalidTorrentError("not a .torrent file: expected bytes");
  }
  if (bytes.length > MAX_TORRENT_FILE_BYTES) {
    throw new InvalidTorrentError(`not a .torrent file: ${bytes.length} bytes is over the 10 MiB limit`);
  }
  // parse-torrent reads 20 bytes as a raw info hash and anything else as bencode; a .torrent is a bencoded dict.
  if (bytes.length <= 20 || bytes[0] !== 0x64 /* "d" */) {
    throw new InvalidTorrentError("not a .torrent file: the bytes are not a bencoded dictionary");
  }
  let parsed: Awaited<ReturnType<typeof parseTorrent>>;
  try {
    parsed = await parseTorrent(bytes);
  } catch (err) {
    throw new InvalidTorrentError(`not a .torrent file: ${describe(err)}`);
  }
  if (!parsed.infoBuffer || !/^[0-9a-f]{40}$/.test(parsed.infoHash ?? "")) {
    throw new InvalidTorrentError("not a .torrent file: it has no info dictionary");
  }
  const name = typeof parsed.name === "string" && parsed.name ? parsed.name : parsed.infoHash;
  return {
    kind: "file",
    bytes: Buffer.from(bytes),
    infoHash: parsed.infoHash,
    name,
    totalBytes: parsed.length ?? 0,
    announce: parsed.announce ?? [],
  };
}

/** Download a .torrent over http(s), refusing anything over 10 MiB or slower than the timeout. */
export async function fetchTorrentFile(url: string, timeoutMs: number): Promise<ResolvedTorrent> {
  let classified: ReturnType<typeof classifyLink>;
  try {
    classified = classifyLink(url);
  } catch (err) {
    throw new InvalidTorrentError(describe(err));
  }
  if (classified.kind === "magnet" || classified.kind === "note") {
    throw new InvalidTorrentError(`not an http(s) .torrent URL: ${JSON.stringify(url.slice(0, 80))}`);
  }
  const fail = (why: string) =>
    new InvalidTorrentError(`could not download the .torrent file from ${classified.url}: ${why}`);
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(classified.url, { signal, redirect: "follow" });
  } catch (err) {
    throw fail(signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : describe(err));
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    throw fail(`HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > MAX_TORRENT_FILE_BYTES) {
    await response.body?.cancel().catch(() => {});
    throw fail(`it is ${declared} bytes, over the 10 MiB limit`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    const reader = response.body?.getReader();
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_TORRENT_FILE_BYTES) {
        await reader.cancel().catch(() => {});
        throw fail("it is over the 10 MiB limit");
      }
      chunks.push(Buffer.from(value));
    }
  } catch (err) {
    if (err instanceof InvalidTorrentError) throw err;
    throw fail(signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : describe(err));
  }
  return parseTorrentFile(Buffer.concat(chunks));
}

export async function resolveInput(input: TorrentInput, fetchTimeoutMs: number): Promise<ResolvedTorrent> {
  if (input && typeof input === "object") {
    if ("magnet" in input && typeof input.magnet === "string") return parseMagnet(input.magnet);
    if ("torrentFile" in input && input.torrentFile !== undefined) return parseTorrentFile(input.torrentFile);
    if ("torrentUrl" in input && typeof input.torrentUrl === "string") {
      return fetchTorrentFile(input.torrentUrl, fetchTimeoutMs);
    }
  }
  throw new InvalidTorrentError("expected { magnet }, { torrentFile } or { torrentUrl }");
}
