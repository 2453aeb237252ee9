import "@mantine/core/styles.css";
import { MantineProvider, NumberInput, createTheme } from "@mantine/core";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider, createBrowserRouter } from "react-router";
import { App } from "./App";
import { SessionProvider } from "./session";

const theme = createTheme({
  primaryColor: "indigo",
  defaultRadius: "md",
  components: {
    // A number out of range stays as typed, and the API's refusal is shown at the field: clamped, a "0"
    // typed as "no limit" was saved as a limit of 1 with only "Saved." to say so.
    NumberInput: NumberInput.extend({ defaultProps: { clampBehavior: "none" } }),
  },
});

// A data router, for its navigation blocker (an editor asks before its unsaved changes are left); the
// screens themselves are routed by <App />'s own <Routes>.
const router = createBrowserRouter(
  [
    {
      path: "*",
      element: (
        <SessionProvider>
          <App />
        </SessionProvider>
      ),
    },
  ],
  { basename: "/console" },
);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <MantineProvider theme={theme}>
      <RouterProvider router={router} />
    </MantineProvider>
  </StrictMode>,
);
