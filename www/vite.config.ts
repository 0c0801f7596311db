import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The UI is served by the web server at "/" next to the API ("/api/") and the app previews
// ("/preview/"). `npm run dev` proxies both to a running dev stack (contrib/second-dev start,
// port 8080 unless SECOND_HTTP_PORT says otherwise).
const backend = "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod's sources carry /*@__PURE__*/ comments in places Rollup ignores; harmless.
        if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("/node_modules/")) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: {
      "/api": { target: backend, changeOrigin: false },
      "/preview": { target: backend, changeOrigin: false },
    },
  },
});
