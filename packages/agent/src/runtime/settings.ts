/**
 * Per-PC settings (download folder, limits, ...) are synced `settings` rows scoped to this device, so
 * they survive a reinstall from the account's data and other PCs can show them; they are applied
 * only on the PC they belong to.
 */
import { type JsonValue, type SettingsView, settingRowId } from "@perpetuanet/core";
import type { LocalStore } from "../store/index.ts";
import type { TorrentSettings } from "../torrent/index.ts";
import { UserInputError } from "./errors.ts";
import type { LocalWriter } from "./local-writer.ts";

/** The settings that belong to this PC (the server URL and pin live in client.json, not here). */
export type DeviceSettings = Omit<SettingsView, "serverUrl" | "tlsFingerprint">;

const MAX_RATE = 10 * 1024 ** 3;

function check(key: keyof DeviceSettings, value: unknown): JsonValue {
  switch (key) {
    case "downloadFolder":
      if (typeof value !== "string" || value.trim() === "" || value.length > 4096) {
        throw new UserInputError("the download folder must be a folder path");
      }
      return value.trim();
    case "maxConnections":
      if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 10_000) {
        throw new UserInputError("maximum connections must be a whole number from 1 to 10000");
      }
      return value as number;
    case "downloadLimit":
    case "uploadLimit":
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_RATE) {
        throw new UserInputError(`${key} must be bytes per second (0 = unlimited)`);
      }
      return value as number;
    default:
      if (typeof value !== "boolean") throw new UserInputError(`${key} must be true or false`);
      return value;
  }
}

export const SETTING_KEYS: Array<keyof DeviceSettings> = [
  "downloadFolder",
  "maxConnections",
  "downloadLimit",
  "uploadLimit",
  "seeding",
  "dht",
  "trackers",
  "startMinimised",
];

export class Settings {
  private readonly store: LocalStore;
  private readonly writer: LocalWriter;
  private readonly defaults: DeviceSettings;

  constructor(store: LocalStore, writer: LocalWriter, defaults: DeviceSettings) {
    this.store = store;
    this.writer = writer;
    this.defaults = defaults;
  }

  get(): DeviceSettings {
    const out = { ...this.defaults };
    const scope = this.writer.deviceId;
    for (const key of SETTING_KEYS) {
      const row = this.store.getRow("settings", settingRowId(scope, key));
      if (row && !row.deleted && row.value !== undefined) {
        try {
          (out as Record<string, JsonValue>)[key] = check(key, row.value);
        } catch {
          // A bad synced value falls back to the default rather than breaking the app.
        }
      }
    }
    return out;
  }

  /** Validates every given key first, then writes them together. */
  update(patch: Partial<DeviceSettings>): DeviceSettings {
    const scope = this.writer.deviceId;
    const current = this.get();
    const rows = [];
    for (const key of SETTING_KEYS) {
      if (!(key in patch) || patch[key] === undefined) continue;
      const value = check(key, patch[key]);
      if (value === current[key]) continue;
      rows.push({ table: "settings" as const, rowId: settingRowId(scope, key), values: { scope, key, value } });
    }
    this.writer.writeRows(rows);
    return this.get();
  }

  torrentSettings(): TorrentSettings {
    const { startMinimised: _, ...torrent } = this.get();
    return torrent;
  }
}
