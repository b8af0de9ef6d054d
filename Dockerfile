# syntax=docker/dockerfile:1
# The waiting-room server. Debian (glibc) rather than Alpine: uWebSockets.js ships glibc binaries.
# `docker build -t waiting-room-server .` — docker-compose.yml builds it for its two nodes.

# 1. Production dependencies only: the server workspace and the root (tsx runs the TypeScript).
FROM node:20.19.5-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY server/package.json server/
COPY client-sdk/package.json client-sdk/
COPY loadtest/package.json loadtest/
RUN npm ci --omit=dev --workspace server --include-workspace-root --no-audit --no-fund \
  && npm cache clean --force

# 2. The runtime: sources read-only (owned by root), the process runs as the unprivileged `node` user.
FROM node:20.19.5-bookworm-slim AS runtime
# glibc's malloc, as `npm start` and the benchmark run it: the server hands glibc's free pages back
# after major collections (MALLOC_TRIM, through koffi). jemalloc (`--allocator jemalloc` in the
# benchmark) joined no faster once the join path lost its per-event overhead, and its memory
# readings never settle enough to compare (docs/PERFORMANCE.md).
ENV NODE_ENV=production \
    PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY server/package.json server/
COPY server/src server/src
# The server builds the browser SDK bundle in memory at start-up (/sdk/waiting-room.js).
COPY client-sdk/package.json client-sdk/tsconfig.json client-sdk/tsconfig.build.json client-sdk/
COPY client-sdk/src client-sdk/src
COPY client-sdk/build client-sdk/build
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# What `npm start` runs, without npm in between (npm does not pass SIGTERM on for a clean drain).
CMD ["node_modules/.bin/tsx", "server/src/main.ts"]
