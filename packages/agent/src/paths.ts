/** Where the encrypted database lives: per-OS config folder, overridable by --data-dir or PERPETUANET_DATA_DIR. */
import { homedir } from "node:os";
import { join, win32 } from "node:path";

export function defaultDataDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): string {
  if (platform === "win32") return win32.join(env.ProgramData ?? "C:\\ProgramData", "PerpetuaNet");
  if (platform === "darwin") return join(home, "Library", "Application Support", "PerpetuaNet");
  const config = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.length > 0 ? env.XDG_CONFIG_HOME : join(home, ".config");
  return join(config, "perpetuanet");
}

export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag && flag.length > 0) return flag;
  if (env.PERPETUANET_DATA_DIR && env.PERPETUANET_DATA_DIR.length > 0) return env.PERPETUANET_DATA_DIR;
  return defaultDataDir(process.platform, env);
}
