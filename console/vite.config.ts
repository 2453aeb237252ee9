import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Served by the local runtime (and CloudFront) under /console/; the App API is on the same origin, so
// the dev server proxies /v1 to a running `nudge local` (http://127.0.0.1:4000, its default port).
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
    rollupOptions: {
      output: {
        // React and Mantine change rarely: their own hashed chunks stay cached across console releases.
        manualChunks: {
          react: ["react", "react-dom", "react-router"],
          mantine: ["@mantine/core", "@mantine/hooks"],
        },
      },
    },
  },
  server: {
    proxy: { "/v1": "http://127.0.0.1:4000" },
  },
});
