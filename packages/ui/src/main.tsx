import "./mantine-styles.ts";
import "./app.css";
import { createTheme, MantineProvider } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import { initToken, setToken } from "./api.ts";
import { AgentProvider } from "./state.tsx";

const { token, view } = initToken({
  location: window.location,
  storage: window.sessionStorage,
  replaceUrl: (url) => window.history.replaceState(null, "", url),
});
setToken(token);

const theme = createTheme({ primaryColor: "indigo", defaultRadius: "md", respectReducedMotion: true });

const root = document.getElementById("root");
if (!root) throw new Error("#root is missing from index.html");
createRoot(root).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto">
      <AgentProvider>
        <App initialView={view} />
      </AgentProvider>
    </MantineProvider>
  </StrictMode>,
);
