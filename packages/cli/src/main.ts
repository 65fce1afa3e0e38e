#!/usr/bin/env node
/** The `perpetuanet` command: one binary for every part of the system. */
import { adminCommand, serverCommand } from "@perpetuanet/server";
import { Command } from "commander";
import { agentCommand } from "./agent-command.ts";
import { installHandlerCommand } from "./handler-command.ts";
import { openCommand } from "./open-command.ts";
import { startCommand } from "./start-command.ts";

const program = new Command("perpetuanet")
  .description("PerpetuaNet: your library of links and your downloads, alive on every PC you own.")
  .addCommand(startCommand(), { isDefault: true })
  .addCommand(agentCommand())
  .addCommand(openCommand())
  .addCommand(installHandlerCommand())
  .addCommand(serverCommand())
  .addCommand(adminCommand());

await program.parseAsync(process.argv);
