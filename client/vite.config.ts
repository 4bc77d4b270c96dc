import path from 'node:path';
import { defineConfig } from 'vite';

const root = path.dirname(new URL(import.meta.url).pathname);

export default defineConfig({
  root,
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    sourcemap: true,
    // mermaid's own chunks are large, but they load only on pages with diagrams.
    chunkSizeWarningLimit: 2500,
  },
  server: {
    // `npm run dev:client` proxies the API to a running `kubedojo serve`.
    proxy: { '/api': 'http://127.0.0.1:8080', '/socket.io': { target: 'http://127.0.0.1:8080', ws: true } },
  },
});
