/**
 * The local API client: same-origin relative URLs, `Authorization: Bearer <token>` on every call,
 * errors turned into ApiFailure with the agent's `{error, code}`. The token arrives once in
 * `location.hash` (`#token=...`), is kept in sessionStorage and removed from the address bar.
 */
import type {
  AddTorrentRequest,
  AgentEvent,
  DeviceView,
  DownloadDetails,
  DownloadView,
  LinkInput,
  LinkView,
  LoginRequest,
  NoticeView,
  RegisterRequest,
  SettingsView,
  StatusView,
  SyncView,
} from "@perpetuanet/core";

export const TOKEN_KEY = "perpetuanet.token";

/** `#token=abc&view=downloads` -> { token: "abc", view: "downloads" }. */
export function parseHash(hash: string): { token: string | null; view: string | null } {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return { token: params.get("token") || null, view: params.get("view") || null };
}

interface TokenEnv {
  location: { hash: string; pathname: string; search: string };
  storage: Pick<Storage, "getItem" | "setItem">;
  replaceUrl: (url: string) => void;
}

/** Takes the token from the hash (storing it) or from sessionStorage; strips it from the address bar. */
export function initToken(env: TokenEnv): { token: string | null; view: string | null } {
  const { token, view } = parseHash(env.location.hash);
  if (token) {
    env.storage.setItem(TOKEN_KEY, token);
    env.replaceUrl(env.location.pathname + env.location.search);
    return { token, view };
  }
  return { token: env.storage.getItem(TOKEN_KEY), view };
}

let token: string | null = null;
export function setToken(t: string | null): void {
  token = t;
}
export function getToken(): string | null {
  return token;
}

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string | undefined;
  constructor(status: number, message: string, code?: string) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
  }
}

export const AGENT_UNREACHABLE = "AGENT_UNREACHABLE";

/** A short, human sentence for an error thrown by `request`. */
export function errorText(err: unknown): string {
  if (err instanceof ApiFailure) {
    if (err.code === AGENT_UNREACHABLE) return err.message;
    if (err.status === 401 && (!err.code || err.code === "UNAUTHORIZED")) {
      return "This window's access token was refused. Open the app again with the address that perpetuanet start prints: each launch has its own token.";
    }
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiFailure(
      0,
      "The PerpetuaNet agent on this PC is not answering. Is it still running?",
      AGENT_UNREACHABLE,
    );
  }
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  if (!res.ok) {
    const e = parsed as { error?: unknown; code?: unknown } | null;
    const message =
      e && typeof e === "object" && typeof e.error === "string" ? e.error : `${res.status} ${res.statusText}`.trim();
    throw new ApiFailure(res.status, message, e && typeof e.code === "string" ? e.code : undefined);
  }
  return parsed as T;
}

const id = (s: string) => encodeURIComponent(s);

export const api = {
  status: () => request<StatusView>("GET", "/api/status"),
  register: (r: RegisterRequest) => request<StatusView>("POST", "/api/account/register", r),
  login: (r: LoginRequest) => request<StatusView>("POST", "/api/account/login", r),
  logout: () => request<StatusView>("POST", "/api/account/logout"),
  changePassword: (oldPassword: string, newPassword: string) =>
    request<StatusView>("POST", "/api/account/password", { oldPassword, newPassword }),
  links: (q: string) => request<LinkView[]>("GET", q ? `/api/links?q=${encodeURIComponent(q)}` : "/api/links"),
  addLink: (l: LinkInput) => request<LinkView>("POST", "/api/links", l),
  updateLink: (linkId: string, l: Partial<LinkInput>) => request<LinkView>("PATCH", `/api/links/${id(linkId)}`, l),
  deleteLink: (linkId: string) => request<null>("DELETE", `/api/links/${id(linkId)}`),
  downloadLink: (linkId: string, savePath?: string) =>
    request<DownloadView>("POST", `/api/links/${id(linkId)}/download`, savePath ? { savePath } : {}),
  downloads: () => request<DownloadView[]>("GET", "/api/downloads"),
  addTorrent: (r: AddTorrentRequest) => request<DownloadView>("POST", "/api/downloads", r),
  download: (downloadId: string) => request<DownloadDetails>("GET", `/api/downloads/${id(downloadId)}`),
  downloadAction: (downloadId: string, action: "pause" | "resume" | "cancel") =>
    request<DownloadView>("POST", `/api/downloads/${id(downloadId)}/${action}`, {}),
  removeDownload: (downloadId: string, deleteFiles: boolean) =>
    request<null>("DELETE", `/api/downloads/${id(downloadId)}?deleteFiles=${deleteFiles}`),
  devices: () => request<DeviceView[]>("GET", "/api/devices"),
  revokeDevice: (deviceId: string) => request<DeviceView>("POST", `/api/devices/${id(deviceId)}/revoke`, {}),
  sync: () => request<SyncView>("GET", "/api/sync"),
  syncNow: () => request<SyncView>("POST", "/api/sync/now", {}),
  notices: () => request<NoticeView[]>("GET", "/api/notices"),
  settings: () => request<SettingsView>("GET", "/api/settings"),
  saveSettings: (s: Partial<SettingsView>) => request<SettingsView>("PUT", "/api/settings", s),
};

export const EVENT_TYPES = ["status", "downloads", "notice", "data-changed", "devices"] as const;

/** One SSE message -> AgentEvent; accepts `data` as the whole event or as its payload only. */
export function parseEvent(type: string, data: string): AgentEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  if (value && typeof value === "object" && "type" in value && (value as { type: unknown }).type === type) {
    return value as AgentEvent;
  }
  switch (type) {
    case "status":
      return { type, status: value as StatusView };
    case "downloads":
      return Array.isArray(value) ? { type, downloads: value as DownloadView[] } : null;
    case "notice":
      return { type, notice: value as NoticeView };
    case "data-changed":
      return Array.isArray(value) ? { type, tables: value as string[] } : null;
    case "devices":
      return Array.isArray(value) ? { type, devices: value as DeviceView[] } : null;
    default:
      return null;
  }
}

/**
 * Opens the event stream. EventSource retries by itself after a dropped connection, but gives up
 * after an HTTP error (agent restarting, 5xx): then a new one is opened a few seconds later.
 * Returns a function that closes it.
 */
export function subscribe(onEvent: (e: AgentEvent) => void, onConnection: (open: boolean) => void): () => void {
  let source: EventSource | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const open = () => {
    const s = new EventSource(`/api/events?token=${encodeURIComponent(token ?? "")}`);
    source = s;
    s.onopen = () => onConnection(true);
    s.onerror = () => {
      onConnection(false);
      if (s.readyState === EventSource.CLOSED && !stopped) timer = setTimeout(open, 3000);
    };
    for (const type of EVENT_TYPES) {
      s.addEventListener(type, (msg) => {
        const event = parseEvent(type, (msg as MessageEvent<string>).data);
        if (event) onEvent(event);
      });
    }
  };
  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    source?.close();
  };
}

export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(",") + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
    reader.readAsDataURL(file);
  });
}
