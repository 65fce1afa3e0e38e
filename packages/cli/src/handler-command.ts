/**
 * `perpetuanet install-handler` (Linux): makes PerpetuaNet the handler of magnet: links and .torrent
 * files for this user without Electron, the way torrent clients do on freedesktop systems: a desktop
 * entry in `$XDG_DATA_HOME/applications` whose Exec runs `perpetuanet open`, set as the default with
 * `xdg-mime`. (The Electron shell registers itself instead.)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { CLI_MAIN } from "./open-command.ts";

export const DESKTOP_FILE = "perpetuanet.desktop";
export const HANDLED_TYPES = ["x-scheme-handler/magnet", "application/x-bittorrent"];

/** One Exec argument, quoted as the Desktop Entry Specification asks when it holds reserved characters. */
function execArg(arg: string): string {
  if (/^[\w/.,:=@+-]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`)}"`;
}

export function desktopEntry(command: string[]): string {
  return [
    "[Desktop Entry]",
    "Type=Application",
    "Version=1.0",
    "Name=PerpetuaNet",
    "GenericName=BitTorrent client and link library",
    "Comment=Keeps your links and downloads alive on every PC you own",
    `Exec=${[...command.map(execArg), "%U"].join(" ")}`,
    "Terminal=false",
    "Categories=Network;FileTransfer;P2P;",
    `MimeType=${HANDLED_TYPES.join(";")};`,
    "",
  ].join("\n");
}

interface HandlerFlags {
  dataDir?: string;
  xdgMime: boolean;
}

export function installHandlerCommand(): Command {
  return new Command("install-handler")
    .description("Linux: open magnet: links and .torrent files with PerpetuaNet (a desktop entry and xdg-mime).")
    .addOption(
      new Option("--data-dir <dir>", "the data folder the links go to (default: the OS config folder)").env(
        "PERPETUANET_DATA_DIR",
      ),
    )
    .addOption(new Option("--no-xdg-mime", "only write the desktop entry; do not make it the default"))
    .action((o: HandlerFlags) => {
      if (process.platform !== "linux") {
        console.error(
          "perpetuanet install-handler is for Linux; on Windows and macOS the Electron app registers itself.",
        );
        process.exit(2);
      }
      const apps = join(process.env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "applications");
      const command = [process.execPath, CLI_MAIN, "open", ...(o.dataDir ? ["--data-dir", o.dataDir] : [])];
      mkdirSync(apps, { recursive: true });
      const file = join(apps, DESKTOP_FILE);
      writeFileSync(file, desktopEntry(command));
      console.log(`Wrote ${file}`);
      if (!o.xdgMime) return;
      const r = spawnSync("xdg-mime", ["default", DESKTOP_FILE, ...HANDLED_TYPES], { encoding: "utf8" });
      if (r.error || r.status !== 0) {
        console.error(
          `perpetuanet install-handler: xdg-mime failed (${r.error?.message ?? r.stderr.trim()}); install xdg-utils, or choose PerpetuaNet for magnet links in your desktop's settings.`,
        );
        process.exit(1);
      }
      console.log(`PerpetuaNet now opens ${HANDLED_TYPES.join(" and ")}.`);
    });
}
