#!/usr/bin/env node
/** Standalone entry point: `node packages/server/src/main.ts [options]` (same options as `perpetuanet server`). */
import { serverCommand } from "./index.ts";

await serverCommand().name("perpetuanet-server").parseAsync(process.argv);
