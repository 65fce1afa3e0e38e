import react from "@vitejs/plugin-react";
import { defineConfig, type PluginOption } from "vite";

// The agent serves dist/ at `/` on 127.0.0.1; relative asset URLs keep the build location-independent.
export default defineConfig({
  root: import.meta.dirname,
  base: "./",
  // @vitejs/plugin-react is typed against the hoisted vite (vitest's); this package builds with its own.
  plugins: [react() as unknown as PluginOption],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
    // One JS file on purpose: a single request on loopback; ~170 KiB gzipped, most of it React DOM and Mantine.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npm run dev -w @perpetuanet/ui` against a running agent: PERPETUANET_AGENT=http://127.0.0.1:PORT
    proxy: process.env.PERPETUANET_AGENT ? { "/api": process.env.PERPETUANET_AGENT } : undefined,
  },
});
