export * from "./crypto.ts";
export * from "./hlc.ts";
export type * from "./local-api.ts";
export * from "./merge.ts";
export * from "./messages.ts";
export * from "./records.ts";
export * from "./sync.ts";
