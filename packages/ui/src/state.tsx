/** App-wide state fed by the event stream: status, downloads, devices and per-table change counters. */
import type { AgentEvent, DeviceView, DownloadView, StatusView } from "@perpetuanet/core";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { AGENT_UNREACHABLE, ApiFailure, api, errorText, subscribe } from "./api.ts";

export type Topic = "links" | "downloads" | "devices" | "settings" | "notices" | "sync";

export interface AgentState {
  status: StatusView | null;
  /** Why the status could not be read (agent down, bad token), or null. */
  statusError: string | null;
  /** False while the agent's API or event stream does not answer. */
  agentReachable: boolean;
  downloads: DownloadView[];
  devices: DeviceView[] | null;
  /** Bumped when the agent says a table changed: screens refetch when their counter moves. */
  versions: Record<Topic, number>;
  setStatus(status: StatusView): void;
  /** Shows an action's result at once (the event stream confirms it). */
  updateDownload(download: DownloadView): void;
  /** Re-reads status and downloads (after an action, or when the stream reconnects). */
  refresh(): Promise<void>;
}

const Ctx = createContext<AgentState | null>(null);

export function useAgent(): AgentState {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAgent outside AgentProvider");
  return v;
}

const ZERO: Record<Topic, number> = { links: 0, downloads: 0, devices: 0, settings: 0, notices: 0, sync: 0 };

export function AgentProvider({ children }: { children: ReactNode }): ReactNode {
  const [status, setStatus] = useState<StatusView | null>(null);
  const [statusError, setStatusError] = useState<string | null>(null);
  const [agentReachable, setReachable] = useState(true);
  const [downloads, setDownloads] = useState<DownloadView[]>([]);
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [versions, setVersions] = useState(ZERO);
  const unlocked = status?.lock === "unlocked";
  const unlockedRef = useRef(unlocked);
  unlockedRef.current = unlocked;

  const bump = useCallback((topics: string[]) => {
    setVersions((v) => {
      const next = { ...v };
      for (const t of topics) if (t in next) next[t as Topic]++;
      return next;
    });
  }, []);

  const refresh = useCallback(async () => {
    try {
      const s = await api.status();
      setStatus(s);
      setStatusError(null);
      setReachable(true);
      if (s.lock === "unlocked") setDownloads(await api.downloads());
    } catch (err) {
      setStatusError(errorText(err));
      if (err instanceof ApiFailure && err.code === AGENT_UNREACHABLE) setReachable(false);
    }
  }, []);

  useEffect(() => {
    void refresh();
    const onEvent = (e: AgentEvent) => {
      switch (e.type) {
        case "status":
          setStatus(e.status);
          bump(["sync"]);
          break;
        case "downloads":
          setDownloads(e.downloads);
          break;
        case "notice":
          bump(["notices"]);
          break;
        case "devices":
          setDevices(e.devices);
          bump(["devices"]);
          break;
        case "data-changed":
          bump([...e.tables, "sync"]);
          break;
      }
    };
    return subscribe(onEvent, (open) => {
      // A stream error may be the agent gone or a refused token: the status request tells which.
      void refresh();
      // After a reconnection, catch up on what the stream missed.
      if (open) bump(Object.keys(ZERO));
    });
  }, [refresh, bump]);

  // When the account unlocks, everything on screen is new.
  useEffect(() => {
    if (unlocked) bump(Object.keys(ZERO));
  }, [unlocked, bump]);

  const updateDownload = useCallback((d: DownloadView) => {
    setDownloads((list) => list.map((x) => (x.id === d.id ? d : x)));
  }, []);

  const value = useMemo<AgentState>(
    () => ({ status, statusError, agentReachable, downloads, devices, versions, setStatus, updateDownload, refresh }),
    [status, statusError, agentReachable, downloads, devices, versions, updateDownload, refresh],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

/**
 * Loads `load()` now and whenever one of `topics` changes (or `deps` change); keeps the last value
 * while reloading so the screen does not flicker.
 */
export function useLoad<T>(
  load: () => Promise<T>,
  topics: Topic[],
  deps: unknown[] = [],
): { data: T | null; error: string | null; loading: boolean; reload(): void } {
  const { versions } = useAgent();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const key = topics.map((t) => versions[t]).join(",");
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the topic counters, deps or tick change
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef.current().then(
      (v) => {
        if (!live) return;
        setData(v);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setError(errorText(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [key, tick, ...deps]);
  return { data, error, loading, reload: useCallback(() => setTick((t) => t + 1), []) };
}
