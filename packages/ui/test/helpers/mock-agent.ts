/**
 * A stand-in for the agent's local API (the contract in packages/core/src/local-api.ts) with
 * in-memory data, serving packages/ui/dist like the agent does. It lets the UI tests reach states a
 * single real agent cannot show on demand (other PCs' downloads, errors, server notices, revoked
 * devices). The end-to-end tests in test/e2e/app.test.ts use the real agent instead.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize } from "node:path";
import type {
  AgentEvent,
  DeviceView,
  DownloadDetails,
  DownloadView,
  LinkView,
  NoticeView,
  SettingsView,
  StatusView,
  SyncView,
} from "@perpetuanet/core";
import { DIST_DIR } from "./build.ts";

export interface MockState {
  status: StatusView;
  password: string;
  links: LinkView[];
  downloads: DownloadView[];
  details: Record<string, Partial<DownloadDetails>>;
  devices: DeviceView[];
  notices: NoticeView[];
  settings: SettingsView;
  sync: SyncView;
  /** Every request the UI made: method, path and parsed body. */
  calls: Array<{ method: string; path: string; body: unknown }>;
}

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

const HOUR = 3_600_000;

export function sampleState(now = Date.now(), lock: StatusView["lock"] = "unlocked"): MockState {
  const device = { id: "dev-this-0001", name: "Office desktop", peerId: "12D3KooWThisPcPeerId" };
  const base: Omit<DownloadView, "id" | "name" | "status" | "progress" | "bytesDone"> = {
    linkId: "link-1",
    infoHash: "c9e15763f722f23e98a29decdfae341b98d53056",
    deviceId: device.id,
    deviceName: device.name,
    local: true,
    totalBytes: 734_003_200,
    downloadSpeed: 0,
    uploadSpeed: 0,
    eta: null,
    peers: 0,
    savePath: "/home/ada/Downloads/PerpetuaNet",
    error: null,
    updatedAt: now,
  };
  const d = (
    over: Partial<DownloadView> & Pick<DownloadView, "id" | "name" | "status" | "progress">,
  ): DownloadView => ({
    ...base,
    bytesDone: Math.round(base.totalBytes * over.progress),
    ...over,
  });
  return {
    password: "correct horse",
    status: {
      lock,
      login: lock === "setup" ? null : "ada",
      serverUrl: lock === "setup" ? null : "https://perpetuanet.example.org",
      device: lock === "setup" ? null : device,
      connectivity: "online",
      pending: 0,
      lastSyncAt: now - 60_000,
      lastError: null,
      version: "0.1.0",
    },
    links: [
      {
        id: "link-1",
        url: "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=debian-13.0.0-amd64-netinst.iso",
        kind: "magnet",
        title: "Debian 13 netinst",
        tags: ["linux", "iso"],
        notes: "The small installer image.",
        createdAt: now - 3 * 24 * HOUR,
      },
      {
        id: "link-2",
        url: "https://cdimage.example.org/archive/big-buck-bunny-1080p.torrent",
        kind: "torrent",
        title: "Big Buck Bunny (1080p)",
        tags: ["video", "creative commons"],
        notes: "",
        createdAt: now - 2 * 24 * HOUR,
      },
      {
        id: "link-3",
        url: "https://www.example.org/a/very/long/path/that/goes/on/and/on/to/check/that/long/addresses/wrap/instead/of/overflowing/the/window?with=query&and=more",
        kind: "web",
        title: "A page with a very long address",
        tags: [],
        notes: "Long URLs must wrap or truncate.",
        createdAt: now - 26 * HOUR,
      },
      {
        id: "link-4",
        url: "",
        kind: "note",
        title: "Shopping list for the NAS",
        tags: ["home"],
        notes: "Two 8 TB disks\nA UPS",
        createdAt: now - 5 * HOUR,
      },
    ],
    downloads: [
      d({
        id: "dl-1",
        name: "debian-13.0.0-amd64-netinst.iso",
        status: "downloading",
        progress: 0.423,
        downloadSpeed: 5_452_595,
        uploadSpeed: 120_000,
        eta: 78,
        peers: 12,
      }),
      d({ id: "dl-2", linkId: "link-2", name: "Big Buck Bunny 1080p", status: "paused", progress: 0.1 }),
      d({
        id: "dl-3",
        linkId: "link-5",
        name: "Sintel (4K) with a long name that has to be truncated somewhere sensible",
        status: "seeding",
        progress: 1,
        uploadSpeed: 800_000,
        peers: 3,
      }),
      d({
        id: "dl-4",
        linkId: "link-6",
        name: "archive-2019.tar",
        status: "error",
        progress: 0.05,
        error: "No space left on device: /home/ada/Downloads/PerpetuaNet",
      }),
      d({ id: "dl-5", linkId: "link-7", name: "ubuntu-24.04-desktop-amd64.iso", status: "completed", progress: 1 }),
      d({ id: "dl-6", linkId: "link-8", name: "Tears of Steel", status: "queued", progress: 0 }),
      d({
        id: "dl-7",
        name: "debian-13.0.0-amd64-netinst.iso",
        status: "completed",
        progress: 1,
        local: false,
        deviceId: "dev-laptop",
        deviceName: "Laptop",
      }),
    ],
    details: {
      "dl-1": {
        files: [
          { path: "debian-13.0.0-amd64-netinst.iso", length: 734_003_200, bytesDone: 310_483_354, progress: 0.423 },
        ],
        trackers: ["http://tracker.example.org:6969/announce", "udp://tracker.example.net:1337/announce"],
        peerList: [
          { address: "192.168.1.20:51413", client: "Transmission 4.0", downloadSpeed: 3_000_000, uploadSpeed: 0 },
          { address: "[2001:db8::7]:6881", client: "qBittorrent 5.0", downloadSpeed: 2_452_595, uploadSpeed: 120_000 },
        ],
        pieceLength: 262_144,
        elsewhere: [{ deviceId: "dev-laptop", deviceName: "Laptop", status: "completed", progress: 1 }],
      },
    },
    devices: [
      {
        id: device.id,
        name: device.name,
        peerId: device.peerId,
        thisDevice: true,
        trusted: true,
        revoked: false,
        connected: false,
        addresses: ["/ip4/192.168.1.10/tcp/40111"],
        lastSeen: now,
        lastSync: now - 60_000,
        failures: 0,
      },
      {
        id: "dev-laptop",
        name: "Laptop",
        peerId: "12D3KooWLaptop",
        thisDevice: false,
        trusted: true,
        revoked: false,
        connected: true,
        addresses: [
          "/ip4/192.168.1.22/tcp/40222",
          "/ip6/2001:db8::22/tcp/40222/p2p/12D3KooWLaptopPeerIdThatIsQuiteLongIndeed",
        ],
        lastSeen: now - 30_000,
        lastSync: now - 45_000,
        failures: 0,
      },
      {
        id: "dev-nas",
        name: "Home NAS",
        peerId: "12D3KooWNas",
        thisDevice: false,
        trusted: true,
        revoked: false,
        connected: false,
        addresses: [],
        lastSeen: now - 50 * HOUR,
        lastSync: now - 50 * HOUR,
        failures: 4,
      },
      {
        id: "dev-old",
        name: "Old netbook (sold)",
        peerId: null,
        thisDevice: false,
        trusted: false,
        revoked: true,
        connected: false,
        addresses: [],
        lastSeen: now - 400 * HOUR,
        lastSync: null,
        failures: 0,
      },
    ],
    notices: [
      {
        id: "n-1",
        source: "server",
        severity: "warning",
        kind: "maintenance",
        title: "Planned maintenance",
        body: "The server will be down for an upgrade. Your PCs keep syncing with each other.",
        createdAt: now - 2 * HOUR,
        startsAt: now + 20 * HOUR,
        endsAt: now + 22 * HOUR,
      },
      {
        id: "n-2",
        source: "local",
        severity: "info",
        kind: "download-completed",
        title: "Download completed",
        body: "ubuntu-24.04-desktop-amd64.iso",
        createdAt: now - HOUR,
        startsAt: null,
        endsAt: null,
      },
      {
        id: "n-3",
        source: "local",
        severity: "warning",
        kind: "offline",
        title: "Server unreachable",
        body: "Working offline since 10:02.",
        createdAt: now - 30 * HOUR,
        startsAt: null,
        endsAt: null,
      },
      {
        id: "n-4",
        source: "local",
        severity: "info",
        kind: "online",
        title: "Back online",
        body: "",
        createdAt: now - 29 * HOUR,
        startsAt: null,
        endsAt: null,
      },
      {
        id: "n-5",
        source: "server",
        severity: "critical",
        kind: "incident",
        title: "Incident: sync delayed",
        body: "Sync through the server is slow; peer sync is unaffected.",
        createdAt: now - 10 * 60_000,
        startsAt: null,
        endsAt: null,
      },
    ],
    settings: {
      downloadFolder: "/home/ada/Downloads/PerpetuaNet",
      maxConnections: 55,
      downloadLimit: 0,
      uploadLimit: 512 * 1024,
      seeding: true,
      dht: true,
      trackers: true,
      serverUrl: "https://perpetuanet.example.org",
      tlsFingerprint: null,
      startMinimised: false,
    },
    sync: {
      connectivity: "online",
      pending: 0,
      lastSyncAt: now - 60_000,
      lastError: null,
      history: [
        { state: "online", at: now - 31 * HOUR, detail: "started" },
        { state: "offline", at: now - 30 * HOUR, detail: "connect ECONNREFUSED 203.0.113.5:443" },
        { state: "syncing", at: now - 29 * HOUR, detail: "pushing 12 pending changes" },
        { state: "online", at: now - 29 * HOUR + 5000, detail: null },
      ],
    },
    calls: [],
  };
}

export interface MockAgent {
  url: string;
  token: string;
  state: MockState;
  /** Sends an event to every open event stream. */
  emit(event: AgentEvent): void;
  close(): Promise<void>;
}

/** A download as the agent answers an add: queued, nothing transferred yet, in the chosen or default folder. */
function queuedDownload(state: MockState, linkId: string, name: string, savePath: unknown): DownloadView {
  return {
    id: `dl-${randomBytes(4).toString("hex")}`,
    linkId,
    infoHash: randomBytes(20).toString("hex"),
    name,
    status: "queued",
    bytesDone: 0,
    totalBytes: 0,
    progress: 0,
    downloadSpeed: 0,
    uploadSpeed: 0,
    eta: null,
    peers: 0,
    deviceId: state.status.device?.id ?? "",
    deviceName: state.status.device?.name ?? null,
    local: true,
    savePath: typeof savePath === "string" && savePath ? savePath : state.settings.downloadFolder,
    error: null,
    updatedAt: Date.now(),
  };
}

function fail(res: ServerResponse, status: number, error: string, code?: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify({ error, code }));
}

export async function startMockAgent(state: MockState = sampleState(), distDir: string = DIST_DIR): Promise<MockAgent> {
  const token = randomBytes(16).toString("hex");
  const streams = new Set<ServerResponse>();
  const send = (res: ServerResponse, e: AgentEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  const emit = (e: AgentEvent) => {
    for (const s of streams) send(s, e);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname;
    if (!path.startsWith("/api/")) {
      const file = normalize(join(distDir, path === "/" ? "index.html" : path));
      if (!file.startsWith(distDir) || !existsSync(file)) return fail(res, 404, "not found");
      res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
      return;
    }
    if (path === "/api/events") {
      if (url.searchParams.get("token") !== token) return fail(res, 401, "bad token", "UNAUTHORIZED");
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write(": hello\n\n");
      streams.add(res);
      send(res, { type: "status", status: state.status });
      req.on("close", () => streams.delete(res));
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) return fail(res, 401, "bad token", "UNAUTHORIZED");
    let body: unknown = null;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (chunks.length) body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    state.calls.push({ method: req.method ?? "GET", path: path + url.search, body });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };
    const b = (body ?? {}) as Record<string, unknown>;
    const m = `${req.method} ${path}`;
    let match: RegExpMatchArray | null;
    if (m === "GET /api/status") return json(200, state.status);
    if (m === "POST /api/account/register" || m === "POST /api/account/login") {
      if (typeof b.serverUrl === "string" && b.serverUrl.includes("unreachable")) {
        return fail(res, 502, `The server at ${b.serverUrl} cannot be reached (ECONNREFUSED)`, "SERVER_UNREACHABLE");
      }
      if (m.endsWith("login") && b.password !== state.password)
        return fail(res, 401, "Wrong password", "WRONG_PASSWORD");
      state.password = String(b.password);
      state.status = {
        ...state.status,
        lock: "unlocked",
        login: String(b.login),
        serverUrl: typeof b.serverUrl === "string" ? b.serverUrl : state.status.serverUrl,
        device: { id: "dev-this-0001", name: String(b.deviceName ?? "This PC"), peerId: "12D3KooWThisPcPeerId" },
      };
      emit({ type: "status", status: state.status });
      return json(200, state.status);
    }
    if (m === "POST /api/account/logout") {
      state.status = { ...state.status, lock: "locked" };
      return json(200, state.status);
    }
    if (m === "POST /api/account/password") {
      if (b.oldPassword !== state.password) return fail(res, 401, "Wrong password", "WRONG_PASSWORD");
      state.password = String(b.newPassword);
      return json(200, state.status);
    }
    if (m === "GET /api/links") {
      const q = (url.searchParams.get("q") ?? "").toLowerCase();
      return json(
        200,
        state.links.filter((l) => !q || [l.title, l.url, l.notes, ...l.tags].join(" ").toLowerCase().includes(q)),
      );
    }
    if (m === "POST /api/links") {
      const link: LinkView = {
        id: `link-${randomBytes(4).toString("hex")}`,
        url: String(b.url ?? ""),
        kind: (b.kind as LinkView["kind"]) ?? "web",
        title: String(b.title ?? ""),
        tags: (b.tags as string[]) ?? [],
        notes: String(b.notes ?? ""),
        createdAt: Date.now(),
      };
      state.links.unshift(link);
      return json(200, link);
    }
    if ((match = m.match(/^PATCH \/api\/links\/([^/]+)$/))) {
      const link = state.links.find((l) => l.id === decodeURIComponent(match?.[1] ?? ""));
      if (!link) return fail(res, 404, "no such link", "NOT_FOUND");
      Object.assign(link, b);
      return json(200, link);
    }
    if ((match = m.match(/^DELETE \/api\/links\/([^/]+)$/))) {
      state.links = state.links.filter((l) => l.id !== decodeURIComponent(match?.[1] ?? ""));
      res.writeHead(204).end();
      return;
    }
    if ((match = m.match(/^POST \/api\/links\/([^/]+)\/download$/))) {
      const link = state.links.find((l) => l.id === decodeURIComponent(match?.[1] ?? ""));
      if (!link) return fail(res, 404, "no such link", "NOT_FOUND");
      const dl = queuedDownload(state, link.id, link.title, b.savePath);
      state.downloads.unshift(dl);
      emit({ type: "downloads", downloads: state.downloads });
      return json(201, dl);
    }
    if (m === "GET /api/downloads") return json(200, state.downloads);
    if ((match = m.match(/^GET \/api\/downloads\/([^/]+)$/))) {
      const d = state.downloads.find((x) => x.id === match?.[1]);
      if (!d) return fail(res, 404, "no such download", "NOT_FOUND");
      const extra = state.details[d.id] ?? {};
      return json(200, { files: [], trackers: [], peerList: [], pieceLength: 0, elsewhere: [], ...d, ...extra });
    }
    if ((match = m.match(/^POST \/api\/downloads\/([^/]+)\/(pause|resume|cancel)$/))) {
      const d = state.downloads.find((x) => x.id === match?.[1]);
      if (!d) return fail(res, 404, "no such download", "NOT_FOUND");
      d.status = match[2] === "pause" ? "paused" : match[2] === "cancel" ? "cancelled" : "downloading";
      emit({ type: "downloads", downloads: state.downloads });
      return json(200, d);
    }
    if ((match = m.match(/^DELETE \/api\/downloads\/([^/]+)$/))) {
      state.downloads = state.downloads.filter((x) => x.id !== match?.[1]);
      emit({ type: "downloads", downloads: state.downloads });
      res.writeHead(204).end();
      return;
    }
    if (m === "GET /api/devices") return json(200, state.devices);
    if ((match = m.match(/^POST \/api\/devices\/([^/]+)\/revoke$/))) {
      const dev = state.devices.find((x) => x.id === match?.[1]);
      if (!dev) return fail(res, 404, "no such device", "NOT_FOUND");
      dev.revoked = true;
      dev.trusted = false;
      emit({ type: "devices", devices: state.devices });
      return json(200, dev);
    }
    if (m === "GET /api/sync" || m === "POST /api/sync/now") return json(200, state.sync);
    if (m === "GET /api/notices") return json(200, state.notices);
    if (m === "GET /api/settings") return json(200, state.settings);
    if (m === "PUT /api/settings") {
      Object.assign(state.settings, b);
      return json(200, state.settings);
    }
    return fail(res, 404, `no route ${m}`, "NOT_FOUND");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => fail(res, 500, String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    state,
    emit,
    close() {
      closing ??= (async () => {
        for (const s of streams) s.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
